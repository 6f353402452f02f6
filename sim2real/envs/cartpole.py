"""Cart-pole family on the MJCF inverted pendulum of ``pybullet_data``: balance and swing-up.

Same model, timestep, actuator (100 N on the slider) and rewards as pybullet-envs-gymnasium's
``InvertedPendulumBulletEnv-v0`` / ``InvertedPendulumSwingupBulletEnv-v0``, so returns compare.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics

__all__ = ["CartPoleBalanceEnv", "CartPoleSwingUpEnv"]


class CartPoleBalanceEnv(BulletRobotEnv):
    """Keep the pole upright by pushing the cart.

    Observation: ``cart_x`` (m), ``cart_vx`` (m/s), ``cos_theta``, ``sin_theta``,
    ``theta_dot`` (rad/s); theta is 0 upright. Action: ``slider_force`` in [-1, 1] x 100 N.
    Reward: +1 per step while |theta| <= 0.2 rad; the episode terminates beyond that.
    """

    observation_names: ClassVar[tuple[str, ...]] = (
        "cart_x",
        "cart_vx",
        "cos_theta",
        "sin_theta",
        "theta_dot",
    )
    action_names: ClassVar[tuple[str, ...]] = ("slider_force",)
    physics_timestep: ClassVar[float] = 0.0165
    default_frame_skip: ClassVar[int] = 1
    max_force: ClassVar[float] = 100.0
    swing_up: ClassVar[bool] = False

    def _load(self) -> BodyDynamics:
        p = self._p
        _rail, self._cart = p.loadMJCF("mjcf/inverted_pendulum.xml")
        names = {
            p.getJointInfo(self._cart, j)[1].decode(): j for j in range(p.getNumJoints(self._cart))
        }
        self._slider, self._hinge = names["slider"], names["hinge"]
        self._joints = [self._slider, self._hinge]
        # disable PyBullet's default velocity motors so torque control acts alone
        p.setJointMotorControlArray(self._cart, self._joints, p.VELOCITY_CONTROL, forces=[0.0, 0.0])
        return BodyDynamics(p, self._cart, joints=self._joints)

    def _reset_state(self) -> None:
        u = self.np_random.uniform(-0.1, 0.1)
        theta0 = np.pi + u if self.swing_up else u
        self._p.resetJointState(self._cart, self._slider, 0.0, 0.0)
        self._p.resetJointState(self._cart, self._hinge, theta0, 0.0)

    def state_from_observation(self, obs: np.ndarray) -> np.ndarray:
        """The cart-pole state is its observation: slider and hinge position and velocity."""
        x, vx, cos_t, sin_t, theta_dot = np.asarray(obs, dtype=np.float64).tolist()
        self._p.resetJointState(self._cart, self._slider, x, vx)
        self._p.resetJointState(self._cart, self._hinge, math.atan2(sin_t, cos_t), theta_dot)
        return self.get_sim_state()

    def _apply_action(self, action: np.ndarray) -> None:
        force = self.max_force * float(self._motor_strength[0]) * float(action[0])
        _pb.setJointMotorControl2(
            self._cart,
            self._slider,
            _pb.TORQUE_CONTROL,
            force=force,
            physicsClientId=self._client_id,
        )

    def _observe(self) -> np.ndarray:
        (x, vx, *_), (theta, theta_dot, *_) = _pb.getJointStates(
            self._cart, self._joints, physicsClientId=self._client_id
        )
        self._theta = theta
        return np.array([x, vx, math.cos(theta), math.sin(theta), theta_dot])

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        terminated = abs(self._theta) > 0.2
        return 1.0, bool(terminated), {}

    def _camera_target(self) -> list[float]:
        return [0.0, 0.0, 0.0]


class CartPoleSwingUpEnv(CartPoleBalanceEnv):
    """Swing the pole up from hanging down and hold it: reward ``cos(theta)`` per step.

    Same observation and action as :class:`CartPoleBalanceEnv`; no early termination.
    """

    swing_up: ClassVar[bool] = True

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        return math.cos(self._theta), False, {}
