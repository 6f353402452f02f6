"""Prove an export equal to SB3: ``predict(deterministic=True)`` on VecNormalize'd observations."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces as gym_spaces

from sim2real.errors import ModelFileError
from sim2real.training.privileged import OBSERVATION_KEY, actor_space

__all__ = ["compare", "reference_actions", "run_artifact", "sample_observations"]


def sample_observations(
    obs_space: Any, vec_normalize: Any | None, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` observations covering the policy's input range, float32.

    With VecNormalize statistics: mean +- 3 std, and a tenth of them beyond ``clip_obs`` std so
    the clip is exercised. Otherwise uniform in finite bounds, else standard normal x 3.
    """
    obs_space = actor_space(obs_space)  # a privileged critic's inputs are never exported
    dim = obs_space.shape[0]
    if vec_normalize is not None and getattr(vec_normalize, "norm_obs", False):
        rms = actor_rms(vec_normalize)
        mean = rms.mean
        std = np.sqrt(rms.var + vec_normalize.epsilon)
        z = rng.standard_normal((n, dim)) * 3.0
        far = rng.random(n) < 0.1
        z[far] = np.sign(z[far]) * (vec_normalize.clip_obs + 2.0 + np.abs(z[far]))
        obs = mean + std * z
    else:
        low, high = obs_space.low.astype(np.float64), obs_space.high.astype(np.float64)
        obs = rng.standard_normal((n, dim)) * 3.0
        finite = np.isfinite(low) & np.isfinite(high)
        obs[:, finite] = rng.uniform(low[finite], high[finite], (n, int(finite.sum())))
    return obs.astype(np.float32)


def actor_rms(vec_normalize: Any) -> Any:
    """The running statistics of what the actor reads (a privileged critic's: ``observation``)."""
    rms = vec_normalize.obs_rms
    return rms[OBSERVATION_KEY] if isinstance(rms, dict) else rms


def reference_actions(
    model: Any, vec_normalize: Any | None, obs: np.ndarray, seed: int = 0
) -> np.ndarray:
    """What SB3 does at evaluation: ``model.predict(vec_normalize.normalize_obs(obs), deterministic=True)``.

    For a policy with a privileged critic (Dict observations) the critic-only entries are
    uniform random in their bounds: an export (which has no such input) can only match if the
    actor ignores them.
    """
    x: Any = obs
    space = model.observation_space
    if isinstance(space, gym_spaces.Dict):
        rng = np.random.default_rng(seed)
        x = {
            k: obs if k == OBSERVATION_KEY else _uniform(sub, len(obs), rng)
            for k, sub in space.items()
        }
    x = vec_normalize.normalize_obs(x) if vec_normalize is not None else x
    actions, _ = model.predict(x, deterministic=True)
    return np.asarray(actions, dtype=np.float64)


def _uniform(space: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    low = np.nan_to_num(space.low, neginf=-10.0)
    high = np.nan_to_num(space.high, posinf=10.0)
    return rng.uniform(low, high, (n, *space.shape)).astype(np.float32)


def run_artifact(path: Path, fmt: str, obs: np.ndarray) -> np.ndarray:
    """Run the written ONNX (onnxruntime) or TorchScript (``torch.jit.load``) file on a batch."""
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(["actions"], {"obs": obs})[0], dtype=np.float64)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load deprecation notice
        module = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        return module(torch.from_numpy(obs)).numpy().astype(np.float64)


def compare(
    label: str,
    actual: np.ndarray,
    reference: np.ndarray,
    tolerance: float,
) -> float:
    """Max abs difference; raises if any entry differs by more than ``tolerance * max(1, |ref|)``.

    Raises:
        ModelFileError: the export is not equal to SB3 (nothing is written in that case).
    """
    diff = np.abs(actual - reference)
    limit = tolerance * np.maximum(1.0, np.abs(reference))
    bad = ~(diff <= limit)  # also catches NaN
    if np.any(bad):
        n_bad = int(np.any(bad, axis=-1).sum())
        raise ModelFileError(
            f"export verification failed: {label} differs from SB3 predict(deterministic=True) "
            f"by up to {np.nanmax(diff):.3g} (> {tolerance:g}) on {n_bad}/{len(reference)} "
            "sampled observations; nothing was written (please report this as a bug)"
        )
    return float(diff.max(initial=0.0))


def controller_actions(
    policy: Callable[[np.ndarray], np.ndarray],
    obs: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """Actions of a one-observation-at-a-time backend for a batch, clipped to ``[low, high]``
    as :class:`~sim2real.controller.PolicyController` clips them (the backend itself does not,
    and SB3's ``predict`` does: a saturating policy differs from SB3 only before the clip)."""
    raw = np.stack([np.array(policy(row), dtype=np.float64) for row in obs])
    return np.clip(raw, low, high)
