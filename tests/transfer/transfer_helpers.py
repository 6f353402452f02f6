"""Helpers of the transfer tests: tiny PPO/SAC/TD3 sources on the cart-pole for the transfer tests (net_arch=[16, 8], 1 env)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv

import sim2real.envs  # noqa: F401  (registers the ids)

ENV_ID = "sim2real/CartPole-v0"
ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC, "td3": TD3}
CARTPOLE_OBS = ["cart_x", "cart_vx", "cos_theta", "sin_theta", "theta_dot"]


def algo_kwargs(algo: str) -> dict[str, Any]:
    """Small, fast hyperparameters."""
    if algo == "ppo":
        return {"n_steps": 64, "batch_size": 32, "n_epochs": 2}
    return {"learning_starts": 32, "buffer_size": 2000, "batch_size": 32}


def vec_env(seed: int = 0, wrapper: Callable[[gym.Env], gym.Env] | None = None) -> VecEnv:
    """One cart-pole env in a DummyVecEnv."""
    return make_vec_env(ENV_ID, n_envs=1, seed=seed, wrapper_class=wrapper)


_CACHE: dict[str, BaseAlgorithm] = {}


def make_source(algo: str) -> BaseAlgorithm:
    """A briefly trained source (weights differ from init), cached per algorithm."""
    if algo not in _CACHE:
        cls = ALGOS[algo]
        model = cls(
            "MlpPolicy",
            vec_env(0),
            policy_kwargs={"net_arch": [16, 8]},
            seed=0,
            device="cpu",
            **algo_kwargs(algo),
        )
        model.learn(128)
        _CACHE[algo] = model
    return _CACHE[algo]


class SensorLayout(gym.ObservationWrapper):
    """Cart-pole with a different sensor layout: named entries picked from the original ones
    (``None`` = a new sensor reading a constant)."""

    def __init__(self, env: gym.Env, names: list[str], new_value: float = 0.5) -> None:
        super().__init__(env)
        self.observation_names = tuple(names)
        self._index = [CARTPOLE_OBS.index(n) if n in CARTPOLE_OBS else None for n in names]
        self._new = new_value
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (len(names),), np.float32)

    def observation(self, obs: np.ndarray) -> np.ndarray:
        return np.array(
            [obs[i] if i is not None else self._new for i in self._index], dtype=np.float32
        )
