"""PD-controlled robots: wires a PD motor (:class:`~sim2real.envs.pd_control.PDGains`) into an env.

Subclasses create ``self._pd`` in ``_load``; :class:`PDControlled` exposes its
``kp_scale``/``kd_scale`` parameters and keeps its torque limits in step with ``motor_strength``
and ``frame_skip``, whatever the engine: :class:`PDRobotEnv` is the PyBullet robot base, the
MuJoCo targets (:mod:`sim2real.envs.mujoco.urdf_robots`) combine it with their engine base.
"""

from __future__ import annotations

import numpy as np

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.parameters import ParameterSpec
from sim2real.envs.pd_control import PD_PARAMETERS, PDGains
from sim2real.envs.robot_env import RobotEnv

__all__ = ["PDControlled", "PDRobotEnv"]


class PDControlled(RobotEnv):
    """A :class:`RobotEnv` whose joints are driven by the PD motor ``self._pd``."""

    _pd: PDGains
    #: position targets, not torques: PyBullet's solver makes the torque (no torque-speed limit)
    torque_actuated = False

    def _robot_parameters(self) -> list[ParameterSpec]:
        return self._pd.specs()

    def _apply_extra(self, name: str, value: np.ndarray) -> None:
        if name not in PD_PARAMETERS:
            raise KeyError(name)
        self._pd.apply(name, value)

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        self._pd.set_strength(self._motor_strength, self._frame_skip)


class PDRobotEnv(PDControlled, BulletRobotEnv):
    """A :class:`BulletRobotEnv` whose joints are driven by PyBullet PD motors."""
