"""MuJoCo targets: sim2real's robots on Gymnasium's own MuJoCo models (needs ``sim2real[mujoco]``).

Each class presents its PyBullet twin's observation and action layout, reward terms and dynamics
interface (same parameter names and entities, plus MuJoCo-only ``armature``), so a policy trained
on the PyBullet source runs on it unchanged and domain files apply to it. Registered as
``<robot>@mujoco`` (e.g. ``hopper@mujoco``, Gymnasium id ``sim2real/Hopper-mujoco-v0``).

Importing ``sim2real.envs`` on Linux without ``DISPLAY`` sets ``MUJOCO_GL=egl`` (unless already
set) so ``render()`` works headless; MuJoCo reads it when first imported, so import sim2real
before mujoco (or set ``MUJOCO_GL`` yourself).
"""

from __future__ import annotations

from sim2real.envs.mujoco.base import MujocoRobotEnv, gymnasium_asset
from sim2real.envs.mujoco.body_dynamics import MUJOCO_BODY_PARAMETERS, MujocoBodyDynamics

__all__ = ["MUJOCO_BODY_PARAMETERS", "MujocoBodyDynamics", "MujocoRobotEnv", "gymnasium_asset"]
