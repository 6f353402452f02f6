"""Carry VecNormalize statistics from the source run to the target: freeze, update or re-estimate."""

from __future__ import annotations

import copy

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sim2real.errors import ConfigError
from sim2real.transfer.adapters import IndexMap

__all__ = ["carry_normalization", "find_vec_normalize"]


def find_vec_normalize(env: VecEnv | None) -> VecNormalize | None:
    """The VecNormalize layer of a vec-env stack, if any."""
    while env is not None:
        if isinstance(env, VecNormalize):
            return env
        env = getattr(env, "venv", None)
    return None


def _remap_rms(rms: RunningMeanStd, m: IndexMap | None) -> RunningMeanStd:
    out = copy.deepcopy(rms)
    if m is None or m.is_identity:
        return out
    n = len(m.target_of)
    out.mean = np.zeros(n, dtype=rms.mean.dtype)
    out.var = np.ones(n, dtype=rms.var.dtype)
    for j, i in enumerate(m.target_of):
        if i >= 0:
            out.mean[j], out.var[j] = rms.mean[i], rms.var[i]
    return out


def carry_normalization(
    source: VecNormalize | None,
    target_env: VecEnv | None,
    mode: str,
    obs_map: IndexMap | None = None,
) -> str:
    """Apply ``mode`` (``freeze`` | ``update`` | ``reestimate``) to the target's VecNormalize.

    Returns a one-line description for the transfer log.

    Raises:
        ConfigError: source and target disagree about normalization in a way that would feed
            the transferred layers inputs on a different scale.
    """
    target = find_vec_normalize(target_env)
    if source is None and target is None:
        return "none (neither source nor target normalizes observations)"
    if target is None:
        raise ConfigError(
            "the source policy was trained on VecNormalize-d observations but the target env has "
            "no VecNormalize: set normalize: true in the transfer config so its statistics are "
            "carried over"
        )
    if source is None:
        if mode != "reestimate":
            raise ConfigError(
                "the target normalizes observations but the source has no VecNormalize "
                "statistics: set transfer.normalization=reestimate or normalize: false"
            )
        target.training = True
        return "re-estimated on the target (source had none)"
    if mode == "reestimate":
        target.obs_rms = _fresh_obs_statistics(target)  # type: ignore[assignment]
        target.ret_rms = RunningMeanStd(shape=())
        target.training = True
        return "re-estimated on the target from scratch"
    target.obs_rms = _remap_rms(source.obs_rms, obs_map)  # type: ignore[arg-type,assignment]
    target.ret_rms = copy.deepcopy(source.ret_rms)
    target.clip_obs, target.epsilon = source.clip_obs, source.epsilon
    target.training = mode == "update"
    return f"carried over from the source and {'updated' if mode == 'update' else 'frozen'}"


def _fresh_obs_statistics(target: VecNormalize) -> RunningMeanStd | dict[str, RunningMeanStd]:
    """Empty observation statistics, per key for a Dict space (a privileged critic's)."""
    space = target.observation_space
    if isinstance(space, spaces.Dict):
        return {k: RunningMeanStd(shape=space[k].shape or ()) for k in target.norm_obs_keys or []}
    return RunningMeanStd(shape=space.shape or ())
