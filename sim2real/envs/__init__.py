"""sim2real's environments (PyBullet robots, MuJoCo twins). Importing this package registers them
under ``sim2real/``."""

from __future__ import annotations

# first: picks MuJoCo's headless GL backend before anything imports mujoco
from sim2real.envs import _headless  # noqa: F401  isort: skip
from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.parameters import ParameterSet, ParameterSpec, ParameterValue
from sim2real.envs.registry import ENVS, EnvEntry, make_env, register_envs, resolve_env
from sim2real.envs.robot_env import RobotEnv

__all__ = [
    "ENVS",
    "BodyDynamics",
    "BulletRobotEnv",
    "EnvEntry",
    "ParameterSet",
    "ParameterSpec",
    "ParameterValue",
    "RobotEnv",
    "make_env",
    "register_envs",
    "resolve_env",
]

register_envs()
