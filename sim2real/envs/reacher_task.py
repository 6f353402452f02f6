"""The reacher task, engine-agnostic: observation, initial draw, reward terms.

Shared by the PyBullet reacher (:mod:`sim2real.envs.reacher`) and its MuJoCo twin
(:mod:`sim2real.envs.mujoco.reacher`); the engine places the target and the arm
(:meth:`ReacherTask._place`) and reads the joints and the fingertip (:meth:`ReacherTask._arm`).

Observation: ``target_x``, ``target_y`` (m), ``to_target_x``, ``to_target_y`` (fingertip minus
target, m), ``joint0_cos``, ``joint0_sin`` (shoulder angle), ``joint0_vel`` (0.1 x rad/s),
``joint1_pos`` (elbow angle / 3 rad, i.e. scaled to [-1, 1] between its limits), ``joint1_vel``
(0.1 x rad/s). pybullet-envs feeds the shoulder angle through its limit scaling although the joint
is unlimited (it observes cos/sin of ``1 - 2*theta``); here it is the true angle.

Reward: ``progress`` (decrease of 100 x fingertip-target distance) + ``electricity_cost``
(-0.1 sum|a * joint_vel| - 0.01 sum|a|) + ``stuck_joint_cost`` (-0.1 with the elbow at its limit).
No termination; the registered time limit is 150 steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from sim2real.envs.robot_env import RobotEnv

__all__ = ["ReacherTask"]


class ReacherTask(RobotEnv):
    """Reach a target drawn uniformly in a 0.54 m square around the arm's base."""

    observation_names: ClassVar[tuple[str, ...]] = (
        "target_x",
        "target_y",
        "to_target_x",
        "to_target_y",
        "joint0_cos",
        "joint0_sin",
        "joint0_vel",
        "joint1_pos",
        "joint1_vel",
    )
    action_names: ClassVar[tuple[str, ...]] = ("joint0", "joint1")
    nominal_gravity: ClassVar[tuple[float, float, float]] = (0.0, 0.0, 0.0)
    max_torque: ClassVar[float] = 0.05
    target_limit: ClassVar[float] = 0.27

    def _place(self, target_xy: tuple[float, float], joints: Sequence[float]) -> Sequence[float]:
        """Put the target at ``target_xy`` and the arm at ``joints`` at rest; return the target's
        world position (x, y, z)."""
        raise NotImplementedError

    def _arm(self) -> tuple[float, float, float, float, Sequence[float]]:
        """``(q0, v0, q1, v1, fingertip world position)``."""
        raise NotImplementedError

    def _reset_state(self) -> None:
        rng, lim = self.np_random, self.target_limit
        tx, ty = rng.uniform(-lim, lim), rng.uniform(-lim, lim)
        joints = [rng.uniform(-3.14, 3.14) for _ in self.action_names]
        # the target is a marker: it stays where it was put (its joints are not actuated)
        self._target = tuple(self._place((tx, ty), joints))
        self._target_xy = (tx, ty)
        self._distance = -1.0  # set by the first _observe

    def _task_state(self) -> list[float]:
        return [*self._target, *self._target_xy, self._distance]

    def _set_task_state(self, values: np.ndarray) -> None:
        v = values.tolist()
        self._target, self._target_xy, self._distance = tuple(v[0:3]), tuple(v[3:5]), v[5]

    def _observe(self) -> np.ndarray:
        q0, v0, q1, v1, tip = self._arm()
        tgt = self._target
        dx, dy, dz = tip[0] - tgt[0], tip[1] - tgt[1], tip[2] - tgt[2]
        distance = math.sqrt(dx * dx + dy * dy + dz * dz)
        if self._distance < 0.0:
            self._distance = distance
        self._new_distance = distance
        self._vel = (0.1 * v0, 0.1 * v1)
        self._elbow = q1 / 3.0
        tx, ty = self._target_xy
        return np.array([tx, ty, dx, dy, math.cos(q0), math.sin(q0), 0.1 * v0, q1 / 3.0, 0.1 * v1])

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        a0, a1 = action.tolist()
        progress = 100.0 * (self._distance - self._new_distance)
        self._distance = self._new_distance
        electricity = -0.1 * (abs(a0 * self._vel[0]) + abs(a1 * self._vel[1])) - 0.01 * (
            abs(a0) + abs(a1)
        )
        stuck = -0.1 if abs(abs(self._elbow) - 1.0) < 0.01 else 0.0
        info = {
            "progress": progress,
            "electricity_cost": electricity,
            "stuck_joint_cost": stuck,
            "distance": self._new_distance,
        }
        return progress + electricity + stuck, False, info
