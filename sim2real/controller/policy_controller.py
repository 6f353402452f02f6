"""``PolicyController``: load an exported policy and turn observations into safe actions.

Only numpy (and onnxruntime for the ``onnxruntime`` backend) is imported: no torch, SB3,
gymnasium or pybullet, and no pickle (``np.load(allow_pickle=False)``, JSON metadata).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sim2real.controller.adaptation import AdaptedPolicy
from sim2real.controller.artifact import history_of, load_verified, read_verified
from sim2real.controller.history import HistoryBuffer, HistorySpec
from sim2real.controller.numpy_backend import NumpyPolicy, _clip
from sim2real.controller.onnx_backend import OnnxPolicy
from sim2real.controller.weights import MlpPolicyWeights
from sim2real.errors import ModelFileError, SpaceMismatchError

__all__ = ["Backend", "NonFinitePolicy", "PolicyController"]

# the finiteness checks compute 0 * inf for infinite entries, and absurd (finite) observations
# overflow the float32 layers: numpy's "invalid value"/"overflow" warnings are the very
# conditions ``act`` handles (safe action, counted), not problems to report
warnings.filterwarnings(
    "ignore", "(invalid value|overflow) encountered", RuntimeWarning, r"sim2real\.controller\."
)

Backend = Literal["numpy", "onnxruntime"]
NonFinitePolicy = Literal["zeros", "hold_last"]


class PolicyController:
    """A deployed policy: ``act(obs)`` returns an action inside the bounds, every time.

    Guards, in order: shape/dtype check (raises), non-finite observation (returns the safe
    action and counts it in :attr:`nonfinite_count`), policy (a non-finite output, e.g. when
    an absurd observation overflows the float32 onnxruntime graph, is handled the same way; the
    numpy backend clips raw observations to +-1e15 and proves from the weights that a finite
    observation cannot overflow, so it skips this check), optional rate limit
    (``|a_t - a_{t-1}| <= max_delta``, per entry), clip to the action bounds. With a rate limit or
    ``hold_last`` the output is always checked, so the held action can never be non-finite.
    :meth:`reset` between episodes.

    A policy exported with an observation history (metadata ``history``) takes the robot's
    observation alone: the controller keeps the past observations and its own past actions
    (:class:`~sim2real.controller.history.HistoryBuffer`, cleared by :meth:`reset`). A
    non-finite observation is replaced in the history by the last finite one, and the safe
    action sent instead is recorded, so the history stays aligned step by step.

    Use :meth:`load`; the constructor takes an already-built backend.
    """

    def __init__(
        self,
        policy: Any,
        metadata: dict[str, Any],
        *,
        on_nonfinite: NonFinitePolicy = "zeros",
        max_delta: float | Sequence[float] | None = None,
    ) -> None:
        if on_nonfinite not in ("zeros", "hold_last"):
            raise ValueError(f"on_nonfinite must be 'zeros' or 'hold_last', not {on_nonfinite!r}")
        self.metadata = metadata
        self._policy = policy
        self.input_names: list[str] = list(metadata["observation"]["names"])
        """Names of the model's input entries (with a history: the past entries too)."""
        self.action_names: list[str] = list(metadata["action"]["names"])
        spec = history_of(metadata)
        n_robot = len(self.input_names) if spec is None else metadata["history"]["observation_size"]
        if metadata.get("adaptation"):  # RMA: the base network's last inputs are the latent
            n_robot = int(metadata["adaptation"]["observations"])
        self._adapted = policy if isinstance(policy, AdaptedPolicy) else None
        self.observation_names: list[str] = self.input_names[:n_robot]
        """Names of the observation :meth:`act` takes (what the robot measures)."""
        self.obs_shape = (n_robot,)
        self._history = (
            None if spec is None else HistoryBuffer(spec, n_robot, len(self.action_names))
        )
        self.action_low = np.asarray(metadata["action"]["low"], dtype=np.float32)
        self.action_high = np.asarray(metadata["action"]["high"], dtype=np.float32)
        n_act = len(self.action_names)
        self.on_nonfinite = on_nonfinite
        if max_delta is None:
            self.max_delta: np.ndarray | None = None
        else:
            self.max_delta = np.broadcast_to(np.asarray(max_delta, np.float32), (n_act,)).copy()
            if np.any(self.max_delta < 0) or not np.all(np.isfinite(self.max_delta)):
                raise ValueError("max_delta must be finite and >= 0")
        # the "zeros" safe action is 0 clipped into the bounds
        self.safe_action = np.clip(np.zeros(n_act, np.float32), self.action_low, self.action_high)
        self._zeros: dict[np.dtype, np.ndarray] = {
            np.dtype(t): np.zeros(self.obs_shape, t) for t in (np.float32, np.float64)
        }
        self._action = np.zeros(n_act, np.float32)  # the last action (rate limit, hold_last)
        self._new_action = np.zeros(n_act, np.float32)
        self._act_zeros = np.zeros(n_act, np.float32)
        self._lo = np.zeros(n_act, np.float32)
        self._hi = np.zeros(n_act, np.float32)
        self.nonfinite_count = 0
        self.steps = 0
        # a finite observation can never give a non-finite action (NumpyPolicy proves it from
        # the weights): only the input needs checking
        self._output_finite = bool(getattr(policy, "output_finite", False))
        # no rate limit, nothing held and no output check: act keeps no state between calls
        self._stateless = (
            self._output_finite
            and max_delta is None
            and on_nonfinite == "zeros"
            and self._history is None
        )
        self._has_last = False
        self._last_obs = np.zeros(self.obs_shape, np.float32)

    # ------------------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        backend: Backend = "numpy",
        on_nonfinite: NonFinitePolicy = "zeros",
        max_delta: float | Sequence[float] | None = None,
    ) -> PolicyController:
        """Load an exported policy folder (or a file in it) after checking sha256 and metadata.

        Raises:
            ModelFileError: missing/corrupt/tampered files or inconsistent metadata.
        """
        if backend not in ("numpy", "onnxruntime"):
            raise ValueError(f"backend must be 'numpy' or 'onnxruntime', not {backend!r}")
        verified = load_verified(path)  # every file's sha256 and the metadata, for any backend
        meta = verified.metadata
        if backend == "numpy":
            policy: Any = NumpyPolicy(verified.weights)
        else:
            if verified.artifact_format != "onnx":
                raise ModelFileError(
                    f"{meta['_dir']}: the onnxruntime backend needs an ONNX export "
                    "(`sim2real export ... --format onnx`); use backend='numpy' for this one"
                )

            n_obs, n_act = verified.weights.obs_dim, verified.weights.action_dim
            policy = OnnxPolicy(verified.artifact_path, n_obs, n_act, model=verified.artifact)
        if meta.get("adaptation"):
            policy = _adapted(policy, meta, verified.weights)
        return cls(policy, meta, on_nonfinite=on_nonfinite, max_delta=max_delta)

    # ------------------------------------------------------------------------------ control
    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action (float32, inside the bounds) for one observation of shape ``(obs_dim,)``.

        An ndarray subclass is read as a plain array; the masked entries of a
        ``numpy.ma.MaskedArray`` count as missing (non-finite) readings.

        Raises:
            SpaceMismatchError: ``obs`` is not a float32/float64 array of the expected shape
                (lists, ``np.matrix`` and other dtypes included).
        """
        if type(obs) is not np.ndarray:  # subclasses may override dot, masks hide NaN
            obs = self._plain(obs)
        try:
            zeros = self._zeros[obs.dtype]
            ok = obs.shape == self.obs_shape
        except (AttributeError, KeyError, TypeError):
            ok = False
        if not ok:
            self._bad_input(obs)
        self.steps += 1
        if obs.dot(zeros) != 0.0:  # nan (from nan, or 0 * inf) iff some entry is not finite
            return self._missing_reading()
        self._last_obs = obs
        if self._stateless:  # the default: 1 numpy call besides the network and the check above
            return _clip(self._policy(obs), self.action_low, self.action_high, dtype=np.float32)
        if self._history is not None:
            return self._record(self._act_on(self._history.observe(obs)))
        if self._adapted is not None:  # RMA: the pair keeps its own history
            action = self._act_on(obs)
            self._adapted.record(action)
            return action
        return self._act_on(obs)

    def _act_on(self, model_input: np.ndarray) -> np.ndarray:
        """The guarded action for one (checked, finite) model input."""
        raw = self._policy(model_input)
        new = self._new_action
        if self.max_delta is None or not self._has_last:
            _clip(raw, self.action_low, self.action_high, new)
        else:
            np.subtract(self._action, self.max_delta, self._lo)
            np.add(self._action, self.max_delta, self._hi)
            _clip(raw, self._lo, self._hi, new)
            _clip(new, self.action_low, self.action_high, new)
        if new.dot(self._act_zeros) != 0.0:  # the held action must stay finite, whatever the
            # backend claims (onnxruntime: absurdly large observations overflow the graph)
            return self._fallback()
        np.copyto(self._action, new)
        self._has_last = True
        return new.copy()

    def _plain(self, obs: Any) -> np.ndarray:
        """A plain ndarray for an ndarray subclass (masked entries become NaN: missing readings).

        Raises:
            SpaceMismatchError: ``obs`` is not an ndarray (lists too: convert them yourself).
        """
        if not isinstance(obs, np.ndarray) or isinstance(obs, np.matrix):
            self._bad_input(obs)
        if isinstance(obs, np.ma.MaskedArray):
            if obs.dtype not in self._zeros:
                self._bad_input(obs)
            obs = obs.filled(np.nan)
        plain = np.asarray(obs).view(np.ndarray)
        if type(plain) is not np.ndarray:
            self._bad_input(obs)
        return plain

    def _record(self, action: np.ndarray) -> np.ndarray:
        """The action sent after the last observation enters the history (if any)."""
        if self._history is not None:
            self._history.record(action)
        return action

    def _fallback(self) -> np.ndarray:
        self.nonfinite_count += 1
        if self.on_nonfinite == "zeros" or not self._has_last:
            np.copyto(self._action, self.safe_action)
        # hold_last: leave the previous action in place
        self._has_last = True
        return self._action.copy()

    def _missing_reading(self) -> np.ndarray:
        """A non-finite observation: the fallback action; the history (if any) holds the last
        finite observation for this step and records the action sent."""
        history = self._history
        if history is not None and history.started:
            history.observe(history.input[: history.n_obs].copy())
        return self._record(self._fallback())

    def warm(self) -> None:
        """Run the policy once on the last observation without changing any state.

        Call it just before a control tick (``ControlLoop(..., warmup=controller.warm)``) so
        that the real :meth:`act` finds its code and buffers in the CPU caches.
        """
        if self._adapted is not None:
            self._adapted.warm(self._last_obs)
            return
        self._policy(self._last_obs if self._history is None else self._history.input)

    def reset(self) -> None:
        """Forget the previous action (rate limit and ``hold_last`` start afresh) and the
        observation history (the next observation starts it)."""
        self._has_last = False
        self._action.fill(0.0)
        if self._history is not None:
            self._history.clear()
        if self._adapted is not None:
            self._adapted.reset()

    def stats(self) -> dict[str, int]:
        """Counters since load: steps taken and observations replaced for being non-finite."""
        return {"steps": self.steps, "nonfinite_observations": self.nonfinite_count}

    def _bad_input(self, obs: Any) -> None:
        dtype = getattr(obs, "dtype", type(obs).__name__)
        shape = getattr(obs, "shape", None)
        raise SpaceMismatchError(
            f"observation must be a float32/float64 numpy array of shape {self.obs_shape} "
            f"({', '.join(self.observation_names)}), got {dtype} with shape {shape}; "
            "pass np.asarray(obs, dtype=np.float32)"
        )

    def __repr__(self) -> str:
        m = self.metadata
        return (
            f"PolicyController({m.get('algorithm')} on {m.get('source', {}).get('env_id')}, "
            f"obs {self.obs_shape[0]} -> actions {len(self.action_names)}, "
            f"backend {type(self._policy).__name__})"
        )


def _adapted(base: Any, meta: dict[str, Any], weights: MlpPolicyWeights) -> AdaptedPolicy:
    """The base backend wrapped with the (sha256-checked) adaptation module of an RMA export.

    Raises:
        ModelFileError: missing/tampered adaptation file or an inconsistent ``adaptation`` block.
    """
    block = meta["adaptation"]
    path, data = read_verified(meta, "adaptation")
    module = MlpPolicyWeights.load(path, data=data)
    try:
        spec = HistorySpec.from_dict(block["history"])
        n_obs, latent = int(block["observations"]), int(block["latent_dim"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{meta['_dir']}: bad adaptation block in metadata ({exc})") from None
    n_act = weights.action_dim
    if (module.obs_dim, module.action_dim) != (spec.input_size(n_obs, n_act), latent) or (
        weights.obs_dim != n_obs + latent
    ):
        raise ModelFileError(
            f"{path}: adaptation module sizes do not match the metadata; re-export the policy"
        )
    return AdaptedPolicy(base, NumpyPolicy(module), spec, n_obs, n_act, latent)
