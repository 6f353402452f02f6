"""Describe registered envs as plain data (what ``sim2real envs list/show`` print)."""

from __future__ import annotations

from typing import Any

from sim2real.envs.registry import ENVS, engine_available, make_env, register_envs, resolve_env
from sim2real.envs.robot_env import RobotEnv

__all__ = ["describe_env", "list_envs"]


def describe_env(name: str, with_parameters: bool = True) -> dict[str, Any]:
    """Id, spaces, observation/action layout, control period and dynamics parameters of an env."""
    register_envs()
    entry = resolve_env(name)
    env = make_env(entry.name)
    try:
        base = env.unwrapped
        assert isinstance(base, RobotEnv)
        out: dict[str, Any] = {
            "name": entry.name,
            "id": entry.env_id,
            "description": entry.description,
            "obs_size": len(base.observation_names),
            "action_size": len(base.action_names),
            "max_episode_steps": entry.max_episode_steps,
            "control_dt": base.control_dt,
            "observation_names": list(base.observation_names),
            "action_names": list(base.action_names),
            "engine": base.engine,
            "model_differences": list(getattr(base, "model_differences", ())),
        }
        if with_parameters:
            out["parameters"] = [s.to_dict() for s in base.dynamics_specs().values()]
        return out
    finally:
        env.close()


def list_envs() -> list[dict[str, Any]]:
    """Short description of every registered env whose engine is installed."""
    return [
        describe_env(name, with_parameters=False)
        for name, entry in ENVS.items()
        if engine_available(entry)
    ]
