"""The cart-pole tasks, engine-agnostic: observation, initial state, reward and termination.

Shared by the PyBullet cart-poles (:mod:`sim2real.envs.cartpole`) and their MuJoCo twins
(:mod:`sim2real.envs.mujoco.cartpole`); an engine subclass reads and writes the slider and hinge
(:meth:`CartPoleTask._cart_pole`, :meth:`CartPoleTask._set_cart_pole`) and drives the slider.

Observation: ``cart_x`` (m), ``cart_vx`` (m/s), ``cos_theta``, ``sin_theta``, ``theta_dot``
(rad/s); theta is 0 upright. Action: ``slider_force`` in [-1, 1] x 100 N. Balance: +1 per step
while |theta| <= 0.2 rad, terminating beyond. Swing-up: starts hanging (theta = pi +- 0.1),
reward ``cos(theta)`` per step, no early termination.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from sim2real.envs.robot_env import RobotEnv

__all__ = ["CartPoleTask"]


class CartPoleTask(RobotEnv):
    """Keep the pole upright by pushing the cart (``swing_up``: swing it up from hanging first)."""

    observation_names: ClassVar[tuple[str, ...]] = (
        "cart_x",
        "cart_vx",
        "cos_theta",
        "sin_theta",
        "theta_dot",
    )
    action_names: ClassVar[tuple[str, ...]] = ("slider_force",)
    max_force: ClassVar[float] = 100.0
    swing_up: ClassVar[bool] = False

    def _cart_pole(self) -> tuple[float, float, float, float]:
        """``(x, vx, theta, theta_dot)`` of slider and hinge."""
        raise NotImplementedError

    def _set_cart_pole(self, x: float, vx: float, theta: float, theta_dot: float) -> None:
        """Put slider and hinge into this state."""
        raise NotImplementedError

    def _reset_state(self) -> None:
        u = self.np_random.uniform(-0.1, 0.1)
        theta0 = np.pi + u if self.swing_up else u
        self._set_cart_pole(0.0, 0.0, theta0, 0.0)

    def state_from_observation(self, obs: np.ndarray) -> np.ndarray:
        """The cart-pole state is its observation: slider and hinge position and velocity."""
        x, vx, cos_t, sin_t, theta_dot = np.asarray(obs, dtype=np.float64).tolist()
        self._set_cart_pole(x, vx, math.atan2(sin_t, cos_t), theta_dot)
        return self.get_sim_state()

    def _observe(self) -> np.ndarray:
        x, vx, theta, theta_dot = self._cart_pole()
        self._theta = theta
        return np.array([x, vx, math.cos(theta), math.sin(theta), theta_dot])

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        if self.swing_up:
            return math.cos(self._theta), False, {}
        return 1.0, bool(abs(self._theta) > 0.2), {}
