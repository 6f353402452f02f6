"""Record rollouts of an agent on a simulated target (``evaluate --record``, the ``identify`` arm).

:class:`RecordRollouts` is a Gymnasium wrapper that feeds every reset and step, with the
simulator's full state, into a :class:`~sim2real.controller.recording.RolloutRecorder`; the
episodes themselves run in the one evaluation loop (``sim2real.evaluation.evaluate_env``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from sim2real.controller.recording import RolloutDataset, RolloutRecorder

__all__ = ["RecordRollouts", "record_episodes", "recorder_for"]


def recorder_for(env: gym.Env, meta: dict[str, Any] | None = None) -> RolloutRecorder:
    """A recorder with ``env``'s names, control period and (if it or a wrapper such as the
    PyBullet dynamics adapter has one) simulator state."""
    from sim2real.envs.external import control_period_of, env_names

    try:
        get_state = env.get_wrapper_attr("get_sim_state")
    except AttributeError:
        get_state = None
    dt = control_period_of(env) or 1.0
    names, actions = env_names(env)
    return RolloutRecorder(
        names,
        actions,
        meta={"control_dt": dt, **(meta or {})},
        state_fn=get_state,
        dt=dt,
    )


class RecordRollouts(gym.Wrapper[Any, Any, Any, Any]):
    """Record every transition of ``env`` into ``recorder`` (outermost wrapper: the states and
    observations are those the agent sees, after the domain was applied)."""

    def __init__(self, env: gym.Env, recorder: RolloutRecorder) -> None:
        super().__init__(env)
        self.recorder = recorder
        self._t = 0.0
        self._dt = recorder.dt

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset and start a recorded episode."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.recorder.start_episode(obs, self._t)
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step and record the transition."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += self._dt
        self.recorder.add_step(
            np.asarray(action), obs, float(reward), terminated, truncated, self._t
        )
        return obs, reward, terminated, truncated, info


def record_episodes(
    agent: Any,
    env: str,
    target: str,
    *,
    episodes: int,
    seed: int,
    path: str | Path | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[RolloutDataset, Any]:
    """Run ``episodes`` evaluation episodes of ``agent`` on ``env:target`` and record them.

    Returns the dataset (also appended to ``path`` if given) and the ``EvalResult``.
    """
    from sim2real.evaluation import evaluate_env, make_target_env

    gym_env = make_target_env(env, target)
    provenance = {"env": env, "target": target, "policy": agent.name, "seed": seed}
    recorder = recorder_for(gym_env, {**provenance, **(meta or {})})
    try:
        if path is not None:
            recorder.check_appendable(path)
        result = evaluate_env(
            agent, RecordRollouts(gym_env, recorder), env, target, episodes=episodes, seed=seed
        )
    finally:
        gym_env.close()
    data = recorder.dataset()
    if path is not None:
        data.save(path)
    return data, result
