"""The cart-poles on Gymnasium's own MuJoCo model ``inverted_pendulum.xml`` (``InvertedPendulum-v5``).

Same task as the PyBullet cart-poles (:mod:`sim2real.envs.cartpole_task`). Edits, made
programmatically on the compiled model: ``opt.timestep`` = 16.5 ms (one substep; the file's step
is 20 ms), so the control period equals the twin's; ``actuator_gear`` = 100 N x
``motor_strength`` with the control in [-1, 1] (the file's control range is +-3 at gear 100);
and, for the swing-up only, the hinge's +-90 degree limit removed (``jnt_limited = 0``), so the
pole can hang and swing over, the one edit the task needs.
"""

from __future__ import annotations

from typing import ClassVar

import mujoco

from sim2real.envs.cartpole_task import CartPoleTask
from sim2real.envs.mujoco.base import MujocoRobotEnv
from sim2real.envs.mujoco.body_dynamics import MujocoBodyDynamics

__all__ = ["CartPoleBalanceMujocoEnv", "CartPoleSwingUpMujocoEnv"]

_JOINT = mujoco.mjtObj.mjOBJ_JOINT


class CartPoleBalanceMujocoEnv(CartPoleTask, MujocoRobotEnv):
    """Cart-pole balance on Gymnasium's model (task: ``cartpole_task.CartPoleTask``)."""

    model_file: ClassVar[str] = "inverted_pendulum.xml"
    physics_timestep: ClassVar[float] = 0.0165
    default_frame_skip: ClassVar[int] = 1
    model_differences: ClassVar[tuple[str, ...]] = (
        "joint damping 1 on slider and hinge (PyBullet twin: 0)",
        "hinge limited to +-90 deg (twin: not enforced)",
        "RK4 integrator, one 16.5 ms step (file: 20 ms; twin: one 16.5 ms step)",
    )

    def _load(self) -> MujocoBodyDynamics:
        m = self.model
        ids, self._qadr, self._dadr = self._joint_addresses(["slider", "hinge"])
        if self._qadr != [0, 1] or self._dadr != [0, 1] or m.nq != 2:
            raise RuntimeError(f"{self.model_file}: expected the joints slider, hinge only")
        if self.swing_up:
            m.jnt_limited[ids[1]] = 0
        self._bind_actuators(["slider"], [self.max_force])
        bodies, names = self._robot_bodies({})
        return MujocoBodyDynamics(m, self.data, bodies, names, ids, ["slider", "hinge"])

    def _cart_pole(self) -> tuple[float, float, float, float]:
        # the model's only joints are slider then hinge (checked in _load): no fancy indexing
        x, theta = self.data.qpos.tolist()
        vx, theta_dot = self.data.qvel.tolist()
        return x, vx, theta, theta_dot

    def _set_cart_pole(self, x: float, vx: float, theta: float, theta_dot: float) -> None:
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self._qadr] = (x, theta)
        d.qvel[self._dadr] = (vx, theta_dot)
        mujoco.mj_forward(m, d)


class CartPoleSwingUpMujocoEnv(CartPoleBalanceMujocoEnv):
    """Cart-pole swing-up on Gymnasium's model, hinge limit removed, starting hanging."""

    swing_up: ClassVar[bool] = True
    model_differences: ClassVar[tuple[str, ...]] = (
        "joint damping 1 on slider and hinge (PyBullet twin: 0)",
        "hinge limit removed (the swing-up edit), slider limited to +-1 m as in the twin's file",
        "RK4 integrator, one 16.5 ms step (file: 20 ms; twin: one 16.5 ms step)",
    )
