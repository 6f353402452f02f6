"""The controller's guarantees (issue 12, section 2).

* ``act`` on *any* input returns a finite action inside the bounds or raises
  :class:`SpaceMismatchError`: masked arrays, ndarray subclasses, lists, NaN/inf anywhere, huge
  values, any dtype or shape; on both backends; and the rate limiter never holds a non-finite
  value (after a bad observation the next good one gives a finite action).
* every backend (and ``deploy``) verifies every file's sha256 and the metadata before ``act``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim2real.controller import PolicyController
from sim2real.errors import ModelFileError, SpaceMismatchError
from tests._export_policies import exported
from tests.cli_runner import error_line, invoke

pytestmark = pytest.mark.filterwarnings(
    "ignore:(invalid value|overflow) encountered:RuntimeWarning",
    "ignore::numpy.exceptions.ComplexWarning",
    "ignore:the matrix subclass:PendingDeprecationWarning",
)

BACKENDS = ("numpy", "onnxruntime")
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class ZeroDot(np.ndarray):
    """An ndarray subclass whose ``dot`` lies (a finiteness check built on it sees no NaN)."""

    def dot(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return 0.0


class LyingMasked(np.ma.MaskedArray):
    """A masked-array subclass whose ``filled`` ignores the mask and whose ``dot`` lies."""

    def filled(self, fill_value: Any = None) -> Any:  # type: ignore[override]
        return np.asarray(self.data)

    def dot(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return 0.0


def _masked(values: np.ndarray, mask: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.masked_array(values, mask=mask)


def _check_action(ctrl: PolicyController, action: Any) -> np.ndarray:
    assert type(action) is np.ndarray and action.dtype == np.float32
    assert action.shape == (len(ctrl.action_names),)
    assert np.all(np.isfinite(action)), action
    assert np.all(action >= ctrl.action_low) and np.all(action <= ctrl.action_high)
    return action


def _act_or_documented_error(ctrl: PolicyController, obs: Any) -> np.ndarray | None:
    """The action, or None if ``act`` raised the documented one-line SpaceMismatchError."""
    try:
        action = ctrl.act(obs)
    except SpaceMismatchError as exc:
        assert "\n" not in str(exc) and "observation must be" in str(exc)
        return None
    return _check_action(ctrl, action)


def _policy(name: str) -> Path:
    return {"ppo_norm": exported("ppo", True), "td3_raw": exported("td3", False)}[name]


CONFIGS = {
    "stateless": {},
    "rate_limited": {"max_delta": 0.05},
    "hold_last_rate_limited": {"on_nonfinite": "hold_last", "max_delta": 0.2},
}


# ------------------------------------------------------------------- masked arrays, subclasses
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", CONFIGS)
def test_masked_nan_gives_the_safe_action_and_never_sticks(backend: str, config: str) -> None:
    ctrl = PolicyController.load(exported("ppo", True), backend=backend, **CONFIGS[config])
    good = np.array([0.1, 0.0, 1.0, 0.05, 0.0], np.float32)
    first = _check_action(ctrl, ctrl.act(good))
    values = good.copy()
    values[3] = np.nan
    masked = _masked(values, [False, False, False, True, False])
    _check_action(ctrl, ctrl.act(masked))
    assert ctrl.nonfinite_count == 1  # a masked entry is a missing reading
    for _ in range(3):
        _check_action(ctrl, ctrl.act(good))
    # nothing masked: the same as the plain array
    ctrl.reset()
    np.testing.assert_array_equal(ctrl.act(_masked(good, [False] * 5)), first)


@pytest.mark.parametrize("backend", BACKENDS)
def test_subclass_with_a_lying_dot_cannot_bypass_the_check(backend: str) -> None:
    ctrl = PolicyController.load(exported("td3", False), backend=backend, max_delta=0.1)
    obs = np.array([0.1, np.nan, 1.0, np.inf, 0.0]).view(ZeroDot)
    np.testing.assert_array_equal(_check_action(ctrl, ctrl.act(obs)), ctrl.safe_action)
    assert ctrl.nonfinite_count == 1
    _check_action(ctrl, ctrl.act(np.zeros(5)))


def test_rate_limiter_cannot_hold_a_nonfinite_value() -> None:
    """A backend that wrongly claims finite outputs returns NaN once: later actions stay finite."""

    class Flaky:
        output_finite = True  # a false claim
        calls = 0

        def __call__(self, obs: np.ndarray) -> np.ndarray:
            self.calls += 1
            return np.full(2, np.nan if self.calls == 2 else 0.5, np.float32)

    meta = {
        "observation": {"names": ["a", "b"]},
        "action": {"names": ["u", "v"], "low": [-1, -1], "high": [1, 1]},
    }
    for on_nonfinite in ("zeros", "hold_last"):
        ctrl = PolicyController(Flaky(), meta, on_nonfinite=on_nonfinite, max_delta=0.1)  # type: ignore[arg-type]
        for _ in range(4):
            _check_action(ctrl, ctrl.act(np.zeros(2)))
        assert ctrl.nonfinite_count == 1


# ----------------------------------------------------------------------------------- fuzzing
def _dtypes() -> st.SearchStrategy[Any]:
    """Half the draws a valid dtype (float32/float64), half any other."""
    valid = st.sampled_from([np.float32, np.float64])
    return st.one_of(valid, _other_dtypes())


def _other_dtypes() -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            np.dtype(">f8"),
            np.float16,
            np.longdouble,
            np.int8,
            np.int64,
            np.uint8,
            np.bool_,
            np.complex64,
            np.complex128,
            object,
            "U8",
            "S8",
        ]
    )


_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 3.4e38, -3.4e38, 1e15, 0.0, -0.0]),
    st.floats(-10, 10),
)


KINDS = (
    "plain",
    "plain",
    "plain",
    "masked",
    "lying_masked",
    "subclass",
    "matrix",
    "strided",
    "readonly",
    "list",
    "other",
)


@st.composite
def observations(draw: st.DrawFn, n: int) -> Any:
    """Anything a caller might pass as an observation."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "other":
        return draw(
            st.sampled_from(
                [None, 1.0, "obs", b"\x00" * 40, {"x": 1}, (0.0,) * n, np.float64(1), np.ma.masked]
            )
        )
    shape = draw(st.sampled_from([(n,)] * 6 + [(n - 1,), (n + 1,), (1, n), (n, 1), (), (0,)]))
    size = int(np.prod(shape))
    values = np.array(draw(st.lists(_FLOATS, min_size=size, max_size=size)), np.float64)
    values = values.reshape(shape)
    dtype = draw(_dtypes())
    with np.errstate(all="ignore"):
        arr = values.astype(dtype)
    if kind == "list":
        return arr.tolist()
    if kind in ("masked", "lying_masked"):
        mask = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool)
        if mask.any() and arr.dtype.kind == "f" and draw(st.booleans()):
            arr.ravel()[np.flatnonzero(mask)[0]] = np.nan  # a NaN under the mask
        masked = _masked(arr, mask.reshape(shape))
        return masked.view(LyingMasked) if kind == "lying_masked" else masked
    if kind == "subclass":
        return arr.view(ZeroDot)
    if kind == "readonly":
        arr.flags.writeable = False
        return arr
    if kind == "matrix" and arr.ndim <= 2:
        return np.asmatrix(arr)
    if kind == "strided" and arr.ndim == 1:
        wide = np.zeros(2 * size, arr.dtype)
        wide[::2] = arr
        return wide[::2]
    return arr


def _valid(obs: Any, n: int) -> bool:
    """True for inputs ``act`` must accept (float32/float64 arrays of shape (n,))."""
    return (
        isinstance(obs, np.ndarray)
        and not isinstance(obs, np.matrix)
        and obs.shape == (n,)
        and obs.dtype in (np.dtype(np.float32), np.dtype(np.float64))
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["ppo_norm", "td3_raw"])
def test_fuzzed_inputs_give_a_safe_action_or_the_documented_error(
    backend: str, policy: str
) -> None:
    ctrl = PolicyController.load(_policy(policy), backend=backend)
    n = ctrl.obs_shape[0]

    @FUZZ
    @given(observations(n))
    def check(obs: Any) -> None:
        action = _act_or_documented_error(ctrl, obs)
        if _valid(obs, n):
            assert action is not None, "a float array of the right shape must be accepted"

    check()


def _values(obs: Any) -> np.ndarray:
    """The numbers inside ``obs`` (masked entries included), as float64 where possible."""
    data = obs.data if isinstance(obs, np.ma.MaskedArray) else obs
    with np.errstate(all="ignore"):
        return np.asarray(data).astype(np.float64, casting="unsafe").ravel()


def _valid_dtype_and_shape(obs: Any, n: int = 5) -> bool:
    return (
        isinstance(obs, np.ndarray) and obs.dtype in (np.float32, np.float64) and obs.shape == (n,)
    )


#: every kind of input the issue names, and a predicate that recognizes a drawn example of it
COVERAGE: dict[str, Any] = {
    "masked array hiding a NaN": lambda o: (
        isinstance(o, np.ma.MaskedArray)
        and type(o) is np.ma.MaskedArray
        and _valid_dtype_and_shape(o)
        and bool(np.any(np.ma.getmaskarray(o) & np.isnan(o.data)))
    ),
    "masked array hiding a finite value": lambda o: (
        type(o) is np.ma.MaskedArray
        and _valid_dtype_and_shape(o)
        and bool(np.any(np.ma.getmaskarray(o) & np.isfinite(o.data)))
    ),
    "masked subclass that lies": lambda o: (
        isinstance(o, LyingMasked) and _valid_dtype_and_shape(o) and bool(np.isnan(o.data).any())
    ),
    "ndarray subclass with NaN": lambda o: (
        isinstance(o, ZeroDot)
        and _valid_dtype_and_shape(o)
        and bool(np.isnan(o.view(np.ndarray)).any())
    ),
    "np.matrix": lambda o: isinstance(o, np.matrix),
    "NaN in a valid array": lambda o: (
        type(o) is np.ndarray and _valid_dtype_and_shape(o) and bool(np.isnan(o).any())
    ),
    "+inf in a valid array": lambda o: (
        type(o) is np.ndarray and _valid_dtype_and_shape(o) and bool(np.isposinf(o).any())
    ),
    "-inf in a valid array": lambda o: (
        type(o) is np.ndarray and _valid_dtype_and_shape(o) and bool(np.isneginf(o).any())
    ),
    "huge finite values in a valid array": lambda o: (
        type(o) is np.ndarray
        and _valid_dtype_and_shape(o)
        and bool(np.isfinite(o).all())
        and float(np.abs(o).max()) > 1e30
    ),
    "read-only valid array": lambda o: (
        type(o) is np.ndarray and _valid_dtype_and_shape(o) and not o.flags.writeable
    ),
    "non-contiguous valid array": lambda o: (
        type(o) is np.ndarray and _valid_dtype_and_shape(o) and not o.flags.c_contiguous
    ),
    "integer dtype": lambda o: isinstance(o, np.ndarray) and o.dtype.kind in "iu",
    "bool dtype": lambda o: isinstance(o, np.ndarray) and o.dtype.kind == "b",
    "complex dtype": lambda o: isinstance(o, np.ndarray) and o.dtype.kind == "c",
    "float16 / longdouble": lambda o: (
        isinstance(o, np.ndarray) and o.dtype in (np.float16, np.longdouble)
    ),
    "big-endian float64": lambda o: isinstance(o, np.ndarray) and o.dtype == np.dtype(">f8"),
    "object / string dtype": lambda o: isinstance(o, np.ndarray) and o.dtype.kind in "OUS",
    "too short": lambda o: isinstance(o, np.ndarray) and o.shape == (4,),
    "too long": lambda o: isinstance(o, np.ndarray) and o.shape == (6,),
    "2-d": lambda o: isinstance(o, np.ndarray) and o.ndim == 2,
    "0-d": lambda o: isinstance(o, np.ndarray) and o.ndim == 0,
    "empty": lambda o: isinstance(o, np.ndarray) and o.size == 0 and o.ndim == 1,
    "list": lambda o: isinstance(o, list),
    "tuple": lambda o: isinstance(o, tuple),
    "None": lambda o: o is None,
    "the masked constant": lambda o: o is np.ma.masked,
}


def test_the_fuzzer_draws_every_kind_of_input() -> None:
    """The fuzz tests (both backends) only find what the strategy draws: 1000 derandomized
    draws must include every kind the issue names."""
    from hypothesis import Phase

    seen: set[str] = set()

    @settings(max_examples=1000, derandomize=True, database=None, phases=[Phase.generate])
    @given(observations(5))
    def draw(obs: Any) -> None:
        seen.update(kind for kind, matches in COVERAGE.items() if matches(obs))

    draw()
    assert sorted(set(COVERAGE) - seen) == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("max_delta", [None, 0.1])
def test_a_lying_masked_subclass_cannot_pass_a_nan(backend: str, max_delta: float | None) -> None:
    """Its ``filled`` ignores the mask and its ``dot`` says 0: the NaN inside is still caught."""
    ctrl = PolicyController.load(_policy("ppo_norm"), backend=backend, max_delta=max_delta)
    values = np.array([0.1, np.nan, 1.0, 0.0, 0.0])
    obs = _masked(values, [False, True, False, False, False]).view(LyingMasked)
    np.testing.assert_array_equal(_check_action(ctrl, ctrl.act(obs)), ctrl.safe_action)
    assert ctrl.nonfinite_count == 1
    _check_action(ctrl, ctrl.act(np.zeros(5, np.float32)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["ppo_norm", "td3_raw"])
@pytest.mark.parametrize("config", ["rate_limited", "hold_last_rate_limited"])
def test_fuzzed_sequences_with_rate_limit_recover_after_bad_observations(
    backend: str, policy: str, config: str
) -> None:
    ctrl = PolicyController.load(_policy(policy), backend=backend, **CONFIGS[config])
    n = ctrl.obs_shape[0]
    limit = float(CONFIGS[config]["max_delta"])  # type: ignore[arg-type]
    good = st.lists(st.floats(-5, 5), min_size=n, max_size=n).map(lambda v: np.array(v, np.float32))

    @FUZZ
    @given(st.lists(st.one_of(observations(n), good), min_size=2, max_size=12), st.booleans())
    def check(sequence: list[Any], reset: bool) -> None:
        if reset:
            ctrl.reset()
        previous: np.ndarray | None = None
        for obs in sequence:
            count = ctrl.nonfinite_count
            action = _act_or_documented_error(ctrl, obs)
            if action is None:
                continue
            if previous is not None and ctrl.nonfinite_count == count:  # not a fallback
                assert np.all(np.abs(action - previous) <= limit + 1e-6)
            previous = action
        after = _act_or_documented_error(ctrl, np.zeros(n, np.float32))  # a good observation
        assert after is not None

    check()


# ------------------------------------------------------------------- artifact integrity
@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A private copy of an exported ONNX policy (tests damage it)."""
    return Path(shutil.copytree(exported("ppo", True), tmp_path / "policy"))


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_metadata(folder: Path, edit: Any) -> None:
    meta_path = folder / "metadata.json"
    meta = json.loads(meta_path.read_text())
    edit(meta)
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("file", ["weights.npz", "policy.onnx"])
def test_every_backend_checks_every_file(policy_copy: Path, backend: str, file: str) -> None:
    PolicyController.load(policy_copy, backend=backend)  # fine before
    _flip_byte(policy_copy / file)
    with pytest.raises(ModelFileError, match="sha256") as info:
        PolicyController.load(policy_copy, backend=backend)
    assert "\n" not in str(info.value) and file in str(info.value)


def _set(keys: tuple[str, ...], value: Any) -> Any:
    def edit(meta: dict[str, Any]) -> None:
        node = meta
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


METADATA_EDITS = {
    "wider_bounds": (lambda m: m["action"].update(low=[-5.0], high=[5.0]), "bounds"),
    "narrower_high": (lambda m: m["action"].update(high=[0.5]), "bounds"),
    "string_bounds": (lambda m: m["action"].update(low=["-1"], high=["1"]), "inconsistent"),
    "nan_bound": (lambda m: m["action"].update(high=[float("nan")]), "inconsistent"),
    "obs_shape": (
        lambda m: m["observation"].update(shape=[4], names=m["observation"]["names"][:4]),
        "4 -> 1",  # io's [batch, 5] or the network's 5 inputs disagree
    ),
    # format version 2: the io block a C++ stack reads
    "io_missing": (lambda m: m.pop("io"), "io: missing"),
    "io_no_batch_dim": (_set(("io", "inputs"), [{"name": "obs", "shape": [5]}]), "io: shapes"),
    "io_nan_scale": (
        lambda m: m["io"]["observation"][0].update(scale=float("nan")),
        "io: a scale or offset",
    ),
    "io_entries_out_of_order": (lambda m: m["io"]["action"].clear(), "io: action entries"),
    "io_negative_period": (_set(("io", "control_period"), -1.0), "io: control_period"),
    "files_not_a_dict": (_set(("files",), ["weights.npz"]), "files"),
    "no_weights_entry": (lambda m: m["files"].pop("weights"), "weights"),
    "escaping_file_name": (_set(("files", "weights", "file"), "../policy/weights.npz"), "file"),
    "sha_not_a_string": (_set(("files", "artifact", "sha256"), 7), "sha256"),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("edit", METADATA_EDITS)
def test_every_backend_checks_the_metadata(policy_copy: Path, backend: str, edit: str) -> None:
    change, words = METADATA_EDITS[edit]
    _edit_metadata(policy_copy, change)
    with pytest.raises(ModelFileError) as info:
        PolicyController.load(policy_copy, backend=backend)
    assert "\n" not in str(info.value) and words in str(info.value)


def test_numpy_backend_checks_a_torchscript_artifact(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(exported("td3", False, "torchscript"), tmp_path / "ts"))
    PolicyController.load(folder)
    _flip_byte(folder / "policy.pt")
    with pytest.raises(ModelFileError, match="sha256"):
        PolicyController.load(folder)


@pytest.mark.parametrize("backend", BACKENDS)
def test_deploy_runs_the_same_check(policy_copy: Path, backend: str) -> None:
    from sim2real.evaluation import deploy

    _flip_byte(policy_copy / "weights.npz")
    with pytest.raises(ModelFileError, match="sha256"):
        deploy(policy_copy, "cartpole", backend=backend, seconds=0.05)
    proc = invoke("deploy", str(policy_copy), "--backend", backend, "--seconds", "0.05")
    assert "sha256" in error_line(proc)
    assert proc.stdout == ""
