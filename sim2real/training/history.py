"""``HistoryObservation``: a Gymnasium wrapper that feeds the policy its last ``k`` observations
and actions (layout, names and reset rule: :mod:`sim2real.controller.history`).

The env factory (:func:`sim2real.training.vec_env.make_vec_env`) adds it when the experiment
config has a ``history`` block, so pretraining, transfer and the benchmark train on the same
input; evaluation and deployment keep the same buffer on the agent's side (``SB3Agent``,
``PolicyController``), so they run on plain target envs.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from sim2real.controller.history import HistoryBuffer, HistorySpec

__all__ = ["HistoryObservation", "history_spec_of"]


def history_spec_of(config: Any) -> HistorySpec | None:
    """The :class:`HistorySpec` of an experiment config (``None``: no history)."""
    block = getattr(config, "history", None)
    return None if block is None else HistorySpec(block.length, block.actions)


class HistoryObservation(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Observation = current observation + the past ``spec.length`` observations (and actions).

    The past entries' bounds are the base observation's and the action space's; the names
    (``observation_names``) extend the env's own (``obs[t-1].NAME``, ``act[t-1].NAME``).
    """

    def __init__(self, env: gym.Env, spec: HistorySpec) -> None:
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(f"history needs a flat Box observation space, got {obs_space}")
        if not isinstance(act_space, gym.spaces.Box) or len(act_space.shape) != 1:
            raise ValueError(f"history needs a flat Box action space, got {act_space}")
        super().__init__(env)
        self.history = spec
        n_obs, n_act = obs_space.shape[0], act_space.shape[0]
        self._buffer = HistoryBuffer(spec, n_obs, n_act, obs_space.dtype)
        self.observation_space = gym.spaces.Box(
            self._stack(obs_space.low, act_space.low),
            self._stack(obs_space.high, act_space.high),
            dtype=obs_space.dtype,
        )

    def _stack(self, obs_bound: np.ndarray, act_bound: np.ndarray) -> np.ndarray:
        """A bound of the policy input: the observation's bound, then per past step both."""
        past = [obs_bound, act_bound] if self.history.actions else [obs_bound]
        return np.concatenate([obs_bound, *past * self.history.length]).astype(obs_bound.dtype)

    @property
    def observation_names(self) -> list[str]:
        """Names of the policy input entries."""
        from sim2real.envs.external import env_names

        obs_names, act_names = env_names(self.env)
        return self.history.names(obs_names, act_names)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the env and fill the history with its first observation and zero actions."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._buffer.clear()
        return self._buffer.observe(obs).copy(), info

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and age the history by one step (``action`` becomes ``act[t-1]``)."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        space = self.action_space
        self._buffer.record(np.clip(action, space.low, space.high))  # type: ignore[attr-defined]
        return self._buffer.observe(obs).copy(), reward, terminated, truncated, info
