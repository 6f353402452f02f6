"""Reacher: a planar 2-link arm moves its fingertip to a random target (``mjcf/reacher.xml``).

Model, timestep (0.0165 s, one substep), zero gravity, actuator torques (0.05 N*m) and reward
follow pybullet-envs-gymnasium's ``ReacherBulletEnv-v0``, so returns compare.

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
from typing import Any, ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.locomotion import MJCF_FLAGS

__all__ = ["ReacherEnv"]


class ReacherEnv(BulletRobotEnv):
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
    physics_timestep: ClassVar[float] = 0.0165
    default_frame_skip: ClassVar[int] = 1
    nominal_gravity: ClassVar[tuple[float, float, float]] = (0.0, 0.0, 0.0)
    max_torque: ClassVar[float] = 0.05
    target_limit: ClassVar[float] = 0.27

    def _load(self) -> BodyDynamics:
        p = self._p
        p.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        p.setDefaultContactERP(0.9)
        bodies = p.loadMJCF("mjcf/reacher.xml", flags=MJCF_FLAGS)
        joint_of: dict[str, tuple[int, int]] = {}
        link_of: dict[str, tuple[int, int]] = {}
        for body in bodies:
            for j in range(p.getNumJoints(body)):
                info = p.getJointInfo(body, j)
                joint_of[info[1].decode()] = (body, j)
                link_of[info[12].decode()] = (body, j)
                if info[2] != p.JOINT_FIXED:  # no default velocity motors
                    p.setJointMotorControl2(body, j, p.VELOCITY_CONTROL, force=0.0)
        self._arm, j0 = joint_of["joint0"]
        _, j1 = joint_of["joint1"]
        self._joints = [j0, j1]
        self._target_body, tx = joint_of["target_x"]
        _, ty = joint_of["target_y"]
        self._target_joints = (tx, ty)
        _, self._fingertip = link_of["fingertip"]
        _, self._target_link = link_of["target"]
        self._initial_state = p.saveState()
        self._torque_scale = np.full(2, self.max_torque)
        self._target = (0.0, 0.0, 0.0)
        self._distance = 0.0
        return BodyDynamics(p, self._arm, joints=self._joints)

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        self._torque_scale = self.max_torque * self._motor_strength

    def _reset_state(self) -> None:
        p, rng = self._p, self.np_random
        p.restoreState(self._initial_state)
        lim = self.target_limit
        tx, ty = rng.uniform(-lim, lim), rng.uniform(-lim, lim)
        p.resetJointState(self._target_body, self._target_joints[0], tx, 0.0)
        p.resetJointState(self._target_body, self._target_joints[1], ty, 0.0)
        for j in self._joints:
            p.resetJointState(self._arm, j, rng.uniform(-3.14, 3.14), 0.0)
        # the target is a marker: it stays where it was put (its joints are not actuated)
        self._target = p.getLinkState(self._target_body, self._target_link)[0]
        self._target_xy = (tx, ty)
        self._distance = -1.0  # set by the first _observe

    def _task_state(self) -> list[float]:
        return [*self._target, *self._target_xy, self._distance]

    def _set_task_state(self, values: np.ndarray) -> None:
        v = values.tolist()
        self._target, self._target_xy, self._distance = tuple(v[0:3]), tuple(v[3:5]), v[5]

    def _apply_action(self, action: np.ndarray) -> None:
        _pb.setJointMotorControlArray(
            self._arm,
            self._joints,
            _pb.TORQUE_CONTROL,
            forces=(self._torque_scale * action).tolist(),
            physicsClientId=self._client_id,
        )

    def _observe(self) -> np.ndarray:
        cid = self._client_id
        (q0, v0, _, _), (q1, v1, _, _) = _pb.getJointStates(
            self._arm, self._joints, physicsClientId=cid
        )
        tip = _pb.getLinkState(self._arm, self._fingertip, physicsClientId=cid)[0]
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

    def _camera_target(self) -> list[float]:
        return [0.0, 0.0, 0.0]

    def _camera_distance(self) -> float:
        return 0.9
