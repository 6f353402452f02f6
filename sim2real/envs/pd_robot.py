"""Base class of PD-controlled robots: wires a :class:`JointPDController` into the env.

Subclasses create ``self._pd`` in ``_load``; this class exposes its ``kp_scale``/``kd_scale``
parameters and keeps its torque limits in step with ``motor_strength`` and ``frame_skip``.
"""

from __future__ import annotations

import numpy as np

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.parameters import ParameterSpec
from sim2real.envs.pd_control import PD_PARAMETERS, JointPDController

__all__ = ["PDRobotEnv"]


class PDRobotEnv(BulletRobotEnv):
    """A :class:`BulletRobotEnv` whose joints are driven by PyBullet PD motors."""

    _pd: JointPDController

    def _robot_parameters(self) -> list[ParameterSpec]:
        return self._pd.specs()

    def _apply_extra(self, name: str, value: np.ndarray) -> None:
        if name not in PD_PARAMETERS:
            raise KeyError(name)
        self._pd.apply(name, value)

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        self._pd.set_strength(self._motor_strength, self._frame_skip)
