"""Reacher: a planar 2-link arm moves its fingertip to a random target (``mjcf/reacher.xml``).

Model, timestep (0.0165 s, one substep), zero gravity, actuator torques (0.05 N*m) and reward
follow pybullet-envs-gymnasium's ``ReacherBulletEnv-v0``, so returns compare. The task
(observation, initial draw, reward terms) is :mod:`sim2real.envs.reacher_task`, shared with the
MuJoCo twin; this module places, reads and drives the PyBullet bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.locomotion import MJCF_FLAGS
from sim2real.envs.reacher_task import ReacherTask

__all__ = ["ReacherEnv"]


class ReacherEnv(ReacherTask, BulletRobotEnv):
    """The reacher on PyBullet (task: :class:`~sim2real.envs.reacher_task.ReacherTask`)."""

    physics_timestep: ClassVar[float] = 0.0165
    default_frame_skip: ClassVar[int] = 1

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
        self._arm_id, j0 = joint_of["joint0"]
        _, j1 = joint_of["joint1"]
        self._joints = self._actuated_joints = [j0, j1]
        self._target_body, tx = joint_of["target_x"]
        _, ty = joint_of["target_y"]
        self._target_joints = (tx, ty)
        _, self._fingertip = link_of["fingertip"]
        _, self._target_link = link_of["target"]
        self._initial_state = p.saveState()
        self._torque_scale = np.full(2, self.max_torque)
        self._target = (0.0, 0.0, 0.0)
        self._distance = 0.0
        return BodyDynamics(p, self._arm_id, joints=self._joints)

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        self._torque_scale = self.max_torque * self._motor_strength

    def _place(self, target_xy: tuple[float, float], joints: Sequence[float]) -> Sequence[float]:
        p = self._p
        p.restoreState(self._initial_state)
        p.resetJointState(self._target_body, self._target_joints[0], target_xy[0], 0.0)
        p.resetJointState(self._target_body, self._target_joints[1], target_xy[1], 0.0)
        for j, q in zip(self._joints, joints):
            p.resetJointState(self._arm_id, j, q, 0.0)
        return p.getLinkState(self._target_body, self._target_link)[0]

    def _apply_action(self, action: np.ndarray) -> None:
        _pb.setJointMotorControlArray(
            self._arm_id,
            self._joints,
            _pb.TORQUE_CONTROL,
            forces=(self._torque_scale * action).tolist(),
            physicsClientId=self._client_id,
        )

    def _arm(self) -> tuple[float, float, float, float, Sequence[float]]:
        cid = self._client_id
        (q0, v0, _, _), (q1, v1, _, _) = _pb.getJointStates(
            self._arm_id, self._joints, physicsClientId=cid
        )
        tip = _pb.getLinkState(self._arm_id, self._fingertip, physicsClientId=cid)[0]
        return q0, v0, q1, v1, tip

    def _camera_target(self) -> list[float]:
        return [0.0, 0.0, 0.0]

    def _camera_distance(self) -> float:
        return 0.9
