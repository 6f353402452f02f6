"""Tiny trained SB3 policies and their exports, shared by tests/export, tests/controller, tests/evaluation.

Trained once per test process (a few hundred steps, ``net_arch=[16]``) and cached.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ALGOS = ("ppo", "sac", "td3")


@dataclass
class Trained:
    """An SB3 model, its (frozen) VecNormalize or None, and the env it was trained on."""

    model: Any
    vec_normalize: Any | None
    env: str

    def reference(self, obs: np.ndarray) -> np.ndarray:
        """SB3's deterministic action on (batched) raw observations."""
        x = self.vec_normalize.normalize_obs(obs) if self.vec_normalize is not None else obs
        return self.model.predict(x, deterministic=True)[0]


def trained(algo: str, normalize: bool, env: str = "sim2real/CartPole-v0") -> Trained:
    """Train ``algo`` for 128 steps (cached per process)."""
    return _trained(algo, normalize, env)


@functools.cache
def _trained(algo: str, normalize: bool, env: str) -> Trained:
    from stable_baselines3 import PPO, SAC, TD3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import sim2real.envs  # noqa: F401

    venv = make_vec_env(env, n_envs=1, seed=0)
    vn = VecNormalize(venv, norm_reward=False, clip_obs=5.0) if normalize else None
    common = {"policy_kwargs": {"net_arch": [16]}, "device": "cpu", "seed": 0}
    if algo == "ppo":
        model: Any = PPO("MlpPolicy", vn or venv, n_steps=64, batch_size=32, n_epochs=1, **common)
    else:
        cls = SAC if algo == "sac" else TD3
        model = cls("MlpPolicy", vn or venv, learning_starts=64, batch_size=32, **common)
    model.learn(128)
    if vn is not None:
        vn.training = False
    return Trained(model, vn, env)


_EXPORT_ROOT = Path(tempfile.mkdtemp(prefix="sim2real-export-tests-"))
atexit.register(shutil.rmtree, _EXPORT_ROOT, ignore_errors=True)


def exported(
    algo: str, normalize: bool, fmt: str = "onnx", env: str = "sim2real/CartPole-v0"
) -> Path:
    """Export :func:`trained` once per process; returns the policy folder (do not modify it)."""
    return _exported(algo, normalize, fmt, env)


@functools.cache
def _exported(algo: str, normalize: bool, fmt: str, env: str) -> Path:
    from sim2real.export import export_policy

    t = trained(algo, normalize, env)
    name = f"{algo}-{'norm' if normalize else 'raw'}-{fmt}-{env.replace('/', '_')}"
    return export_policy(t.model, fmt, _EXPORT_ROOT / name, vec_normalize=t.vec_normalize, env=env)


def sample_obs(n: int, dim: int = 5, seed: int = 1) -> np.ndarray:
    """Observations around the cart-pole's range (float32)."""
    return (np.random.default_rng(seed).standard_normal((n, dim)) * 2.0).astype(np.float32)
