"""PolicyController guards: validation, non-finite observations, bounds, rate limit, tampering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim2real.controller import MlpPolicyWeights, PolicyController
from sim2real.errors import ModelFileError, SpaceMismatchError
from tests._export_policies import exported

pytestmark = pytest.mark.filterwarnings(
    "ignore:(invalid value|overflow) encountered:RuntimeWarning"
)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A private copy of an exported policy (tests may damage it)."""
    return Path(shutil.copytree(exported("ppo", True), tmp_path / "policy"))


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


CONTROLLERS = {
    "ppo_clip": lambda: PolicyController.load(exported("ppo", True)),
    "sac_unscale_pendulum": lambda: PolicyController.load(
        exported("sac", True, "onnx", "Pendulum-v1")
    ),
    "td3_raw_hold": lambda: PolicyController.load(
        exported("td3", False), on_nonfinite="hold_last", max_delta=0.1
    ),
}


@pytest.mark.parametrize("name", CONTROLLERS)
def test_fuzzed_observations_give_finite_in_bounds_actions(name: str) -> None:
    ctrl = CONTROLLERS[name]()
    n = ctrl.obs_shape[0]
    floats = st.floats(allow_nan=True, allow_infinity=True, width=32)

    @settings(max_examples=300, deadline=None)
    @given(arrays(st.sampled_from([np.float32, np.float64]), n, elements=floats))
    def check(obs: np.ndarray) -> None:
        action = ctrl.act(obs)
        assert action.dtype == np.float32 and action.shape == (len(ctrl.action_names),)
        assert np.all(np.isfinite(action))
        assert np.all(action >= ctrl.action_low) and np.all(action <= ctrl.action_high)
        if not np.all(np.isfinite(obs)):
            assert ctrl.nonfinite_count > 0

    check()


def test_nonfinite_policies_and_counter() -> None:
    path = exported("ppo", True)
    good = np.array([0.1, 0.0, 1.0, 0.05, 0.0], np.float32)
    for bad_value in (np.nan, np.inf, -np.inf):
        bad = good.copy()
        bad[3] = bad_value
        zeros = PolicyController.load(path)
        zeros.act(good)
        np.testing.assert_array_equal(zeros.act(bad), zeros.safe_action)
        assert zeros.stats() == {"steps": 2, "nonfinite_observations": 1}
        hold = PolicyController.load(path, on_nonfinite="hold_last")
        first = hold.act(good)
        np.testing.assert_array_equal(hold.act(bad), first)
        hold.reset()
        np.testing.assert_array_equal(
            hold.act(bad), hold.safe_action
        )  # nothing to hold after reset
    with pytest.raises(ValueError, match="on_nonfinite"):
        PolicyController.load(path, on_nonfinite="panic")  # type: ignore[arg-type]


def test_rate_limit_and_reset() -> None:
    path = exported("sac", True, "onnx", "Pendulum-v1")
    free = PolicyController.load(path)
    limited = PolicyController.load(path, max_delta=0.05)
    rng = np.random.default_rng(0)
    obs = (rng.standard_normal((200, 3)) * 3).astype(np.float32)
    free_actions = np.stack([free.act(o) for o in obs])
    assert np.abs(np.diff(free_actions, axis=0)).max() > 0.05  # the limit has work to do
    actions = np.stack([limited.act(o) for o in obs])
    assert np.abs(np.diff(actions, axis=0)).max() <= 0.05 + 1e-6
    np.testing.assert_allclose(actions[0], free_actions[0])  # the first action is not limited
    limited.reset()
    np.testing.assert_allclose(limited.act(obs[5]), free_actions[5])


@pytest.mark.parametrize(
    "obs",
    [np.zeros(4, np.float32), np.zeros((1, 5), np.float32), np.zeros(5, np.int64), [0.0] * 5, None],
    ids=["short", "batched", "int", "list", "none"],
)
def test_bad_observation_is_one_clear_line(obs: object) -> None:
    ctrl = PolicyController.load(exported("ppo", True))
    with pytest.raises(SpaceMismatchError) as info:
        ctrl.act(obs)  # type: ignore[arg-type]
    assert "shape (5,)" in _one_line(info) and "cart_x" in str(info.value)


@pytest.mark.parametrize("backend,file", [("numpy", "weights.npz"), ("onnxruntime", "policy.onnx")])
def test_tampered_file_is_rejected(policy_copy: Path, backend: str, file: str) -> None:
    PolicyController.load(policy_copy, backend=backend)  # fine before
    data = bytearray((policy_copy / file).read_bytes())
    data[len(data) // 2] ^= 0x01
    (policy_copy / file).write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as info:
        PolicyController.load(policy_copy, backend=backend)
    assert "sha256" in _one_line(info)


def test_truncated_and_corrupt_files(policy_copy: Path) -> None:
    from sim2real.controller import sha256_file

    meta_path = policy_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    weights = policy_copy / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:300])  # truncated, and metadata updated to match
    meta["files"]["weights"]["sha256"] = sha256_file(weights)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError) as info:
        PolicyController.load(policy_copy)
    assert "truncated or corrupt" in _one_line(info)
    meta_path.write_text(meta_path.read_text()[:40])
    with pytest.raises(ModelFileError) as info:
        PolicyController.load(policy_copy)
    assert "metadata" in _one_line(info)
    meta_path.unlink()
    with pytest.raises(ModelFileError) as info:
        PolicyController.load(policy_copy)
    assert "not an exported policy" in _one_line(info)
    with pytest.raises(ModelFileError, match="no such"):
        PolicyController.load(policy_copy / "nope")


def test_inconsistent_metadata_is_rejected(policy_copy: Path) -> None:
    meta_path = policy_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["observation"]["names"] = meta["observation"]["names"][:-1]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="inconsistent"):
        PolicyController.load(policy_copy)


def test_onnxruntime_backend_needs_an_onnx_export() -> None:
    with pytest.raises(ModelFileError, match="ONNX export"):
        PolicyController.load(exported("td3", False, "torchscript"), backend="onnxruntime")


def test_weights_reference_forward_matches_compiled_backend() -> None:
    ctrl = PolicyController.load(exported("sac", True, "onnx", "Pendulum-v1"))
    weights = MlpPolicyWeights.load(exported("sac", True, "onnx", "Pendulum-v1") / "weights.npz")
    obs = (np.random.default_rng(3).standard_normal((100, 3)) * 4).astype(np.float32)
    np.testing.assert_allclose(
        np.stack([ctrl.act(o) for o in obs]), weights.forward(obs), atol=1e-5
    )


@pytest.mark.parametrize(
    "kind", ["relu", "elu", "leaky_relu", "sigmoid", "silu", "gelu", "gelu_tanh", "hardtanh"]
)
def test_every_activation_matches_torch(kind: str, tmp_path: Path) -> None:
    """Each op of the numpy backend against torch's module (through a full export + verify)."""
    import torch
    from stable_baselines3 import TD3

    activation = {
        "relu": torch.nn.ReLU,
        "elu": torch.nn.ELU,
        "leaky_relu": torch.nn.LeakyReLU,
        "sigmoid": torch.nn.Sigmoid,
        "silu": torch.nn.SiLU,
        "gelu": torch.nn.GELU,
        "gelu_tanh": lambda: torch.nn.GELU(approximate="tanh"),
        "hardtanh": torch.nn.Hardtanh,
    }[kind]
    from sim2real.export import export_policy

    model = TD3(
        "MlpPolicy",
        "Pendulum-v1",
        policy_kwargs={"net_arch": [32, 32], "activation_fn": activation},
        device="cpu",
        seed=0,
    )
    out = export_policy(model, "onnx", tmp_path / kind, rollout_steps=0)  # raises if unequal
    assert (
        kind.split("_")[0] in json.loads((out / "metadata.json").read_text())["network"]["ops"][1]
    )


def test_warm_changes_no_state() -> None:
    path = exported("td3", False)
    a = PolicyController.load(path, on_nonfinite="hold_last", max_delta=0.05)
    b = PolicyController.load(path, on_nonfinite="hold_last", max_delta=0.05)
    obs = (np.random.default_rng(2).standard_normal((30, 5)) * 2).astype(np.float32)
    b.warm()  # before any observation
    for o in obs:
        b.warm()
        np.testing.assert_array_equal(a.act(o), b.act(o))
        b.warm()
    assert a.stats() == b.stats()


def test_absurd_finite_observations_stay_safe_on_both_backends() -> None:
    """A raw-observation ReLU policy fed +-3e38 and 3e307 (finite, absurd).

    numpy backend: the guard clip keeps every value finite (proved from the weights at load),
    so the action is the saturated policy output, in bounds, and nothing is counted.
    onnxruntime backend: the float32 graph overflows; the output check returns the safe action.
    """
    path = exported("td3", False)
    ctrl = PolicyController.load(path)
    assert ctrl._policy.output_finite
    huge32 = np.array([3e38, -3e38, 3e38, -3e38, 3e38], np.float32)
    huge64 = huge32.astype(np.float64) * 1e269
    assert np.all(np.isfinite(huge64))
    for obs in (huge32, -huge32, huge64):
        action = ctrl.act(obs)
        assert np.all(np.isfinite(action)) and np.all(np.abs(action) <= 1.0)
    assert ctrl.nonfinite_count == 0
    ort = PolicyController.load(path, backend="onnxruntime")
    broken = 0
    for obs in (huge32, huge64):  # huge64 turns into inf in the float32 graph input
        broken += not np.all(np.isfinite(ort._policy(obs)))
        action = ort.act(obs)
        assert np.all(np.isfinite(action)) and np.all(np.abs(action) <= 1.0)
    assert broken >= 1  # the graph really overflowed at least once...
    assert ort.stats() == {"steps": 2, "nonfinite_observations": broken}  # ...and each was caught


def test_output_bound_detects_networks_that_can_overflow() -> None:
    """Weights large enough to overflow from a guard-sized input disable the fast path."""
    from sim2real.controller.numpy_backend import NumpyPolicy
    from sim2real.controller.weights import LayerOp

    def weights(scale: float) -> MlpPolicyWeights:
        w = np.full((4, 3), scale)
        return MlpPolicyWeights(
            ops=[
                LayerOp("linear", w, np.zeros(4)),
                LayerOp("relu"),
                LayerOp("linear", np.array([[scale, -scale] * 2] * 2), np.zeros(2)),
            ],
            action_low=np.full(2, -1.0),
            action_high=np.full(2, 1.0),
        )

    assert NumpyPolicy(weights(1.0)).output_finite
    big = NumpyPolicy(weights(1e150))  # 1e15 * 3e150 -> inf - inf in the last layer
    assert not big.output_finite
    ctrl = PolicyController(
        big,
        {
            "observation": {"names": ["a", "b", "c"]},
            "action": {"names": ["u", "v"], "low": [-1, -1], "high": [1, 1]},
        },
    )
    huge = np.full(3, 1e300)
    np.testing.assert_array_equal(ctrl.act(huge), ctrl.safe_action)  # overflowed: safe action
    assert ctrl.stats() == {"steps": 1, "nonfinite_observations": 1}
    np.testing.assert_allclose(ctrl.act(np.array([1e-150, 0.0, 0.0])), [0.0, 0.0], atol=1e-6)
