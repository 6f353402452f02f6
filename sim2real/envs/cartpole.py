"""Cart-pole family on the MJCF inverted pendulum of ``pybullet_data``: balance and swing-up.

Same model, timestep, actuator (100 N on the slider) and rewards as pybullet-envs-gymnasium's
``InvertedPendulumBulletEnv-v0`` / ``InvertedPendulumSwingupBulletEnv-v0``, so returns compare.
The task (observation, initial state, reward) is :mod:`sim2real.envs.cartpole_task`, shared with
the MuJoCo twins; this module reads and drives the PyBullet joints.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.cartpole_task import CartPoleTask

__all__ = ["CartPoleBalanceEnv", "CartPoleSwingUpEnv"]


class CartPoleBalanceEnv(CartPoleTask, BulletRobotEnv):
    """Keep the pole upright by pushing the cart (task: ``cartpole_task.CartPoleTask``)."""

    physics_timestep: ClassVar[float] = 0.0165
    default_frame_skip: ClassVar[int] = 1

    def _load(self) -> BodyDynamics:
        p = self._p
        _rail, self._cart = p.loadMJCF("mjcf/inverted_pendulum.xml")
        names = {
            p.getJointInfo(self._cart, j)[1].decode(): j for j in range(p.getNumJoints(self._cart))
        }
        self._slider, self._hinge = names["slider"], names["hinge"]
        self._joints = [self._slider, self._hinge]
        self._actuated_joints = [self._slider]
        # disable PyBullet's default velocity motors so torque control acts alone
        p.setJointMotorControlArray(self._cart, self._joints, p.VELOCITY_CONTROL, forces=[0.0, 0.0])
        return BodyDynamics(p, self._cart, joints=self._joints)

    def _cart_pole(self) -> tuple[float, float, float, float]:
        (x, vx, *_), (theta, theta_dot, *_) = _pb.getJointStates(
            self._cart, self._joints, physicsClientId=self._client_id
        )
        return x, vx, theta, theta_dot

    def _set_cart_pole(self, x: float, vx: float, theta: float, theta_dot: float) -> None:
        self._p.resetJointState(self._cart, self._slider, x, vx)
        self._p.resetJointState(self._cart, self._hinge, theta, theta_dot)

    def _apply_action(self, action: np.ndarray) -> None:
        force = self.max_force * float(self._motor_strength[0]) * float(action[0])
        _pb.setJointMotorControl2(
            self._cart,
            self._slider,
            _pb.TORQUE_CONTROL,
            force=force,
            physicsClientId=self._client_id,
        )

    def _camera_target(self) -> list[float]:
        return [0.0, 0.0, 0.0]


class CartPoleSwingUpEnv(CartPoleBalanceEnv):
    """Swing the pole up from hanging down and hold it: reward ``cos(theta)`` per step.

    Same observation and action as :class:`CartPoleBalanceEnv`; no early termination.
    """

    swing_up: ClassVar[bool] = True
