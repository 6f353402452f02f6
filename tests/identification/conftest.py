"""Synthetic recordings of our own envs under known dynamics (random actions, fixed seeds)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim2real.controller.recording import RolloutDataset
from sim2real.envs import make_env
from sim2real.identification.record import RecordRollouts, recorder_for


def synthetic(
    env_name: str, truth: dict[str, Any], episodes: int, steps: int, seed: int = 0
) -> RolloutDataset:
    """``episodes`` episodes of ``steps`` uniformly random actions on ``env_name`` with the
    dynamics ``truth`` (episode ``i`` resets with seed ``seed + i``)."""
    env = make_env(env_name, max_episode_steps=steps)
    env.unwrapped.set_dynamics(truth)
    rec = recorder_for(env, {"env": env_name})
    wrapped = RecordRollouts(env, rec)
    rng = np.random.default_rng(seed)
    for ep in range(episodes):
        wrapped.reset(seed=seed + ep)
        done = False
        while not done:
            _, _, term, trunc, _ = wrapped.step(rng.uniform(-1, 1, env.action_space.shape))
            done = term or trunc
    env.close()
    return rec.dataset()
