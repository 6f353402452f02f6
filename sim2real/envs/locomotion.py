"""MuJoCo-style walkers on PyBullet: Hopper, HalfCheetah and Ant from ``pybullet_data/mjcf``.

Model, floor, engine settings (timestep 0.0165/4 s, 4 substeps, 5 solver iterations, contact ERP
0.9, gravity 9.8), actuator torques, observation content and reward terms follow
pybullet-envs-gymnasium's ``HopperBulletEnv-v0`` / ``HalfCheetahBulletEnv-v0`` /
``AntBulletEnv-v0`` (``robot_locomotors.py``, ``gym_locomotion_envs.py``), so returns compare.

The observation layout, reward terms and health rules are engine-agnostic and live in
:mod:`sim2real.envs.walker_task` (shared with the MuJoCo twins); this module reads torso, joints
and contacts from PyBullet.

Differences from pybullet-envs-gymnasium, all deliberate (the physics is identical, step for
step): progress is measured on the torso rather than on the mean of the robot's n parts and the
floor (one PyBullet query instead of one per link; the floor in their mean scales progress by
n/(n+1), a factor we keep so returns compare); the contact flags are those of the step just
simulated (theirs lag one step); the costs use the clipped action; the feet-collision cost
(always 0 there) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.walker_task import AntTask, HalfCheetahTask, HopperTask, WalkerTask

__all__ = ["AntEnv", "HalfCheetahEnv", "HopperEnv", "WalkerEnv"]

#: ``loadMJCF`` flags used by pybullet-envs-gymnasium (self-collision except parent/child, colours).
MJCF_FLAGS = (
    _pb.URDF_USE_SELF_COLLISION
    | _pb.URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS
    | _pb.URDF_GOOGLEY_UNDEFINED_COLORS
)


class WalkerEnv(WalkerTask, BulletRobotEnv):
    """Shared PyBullet walker: torque-controlled MJCF robot on a floor, run toward +x.

    Subclasses set ``model_file`` and the task (a :class:`~sim2real.envs.walker_task.WalkerTask`
    subclass listed first among the bases).
    """

    model_file: ClassVar[str]
    physics_timestep: ClassVar[float] = 0.0165 / 4
    default_frame_skip: ClassVar[int] = 4
    floor_friction: ClassVar[float] = 0.8
    floor_restitution: ClassVar[float] = 0.5

    # ------------------------------------------------------------------ loading
    def _load(self) -> BodyDynamics:
        p = self._p
        p.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        p.setDefaultContactERP(0.9)
        self._floor = p.loadSDF("plane_stadium.sdf")[0]
        p.changeDynamics(
            self._floor, -1, lateralFriction=self.floor_friction, restitution=self.floor_restitution
        )
        robot = self._robot = p.loadMJCF(f"mjcf/{self.model_file}", flags=MJCF_FLAGS)[0]
        infos = [p.getJointInfo(robot, j) for j in range(p.getNumJoints(robot))]
        joint_of = {info[1].decode(): j for j, info in enumerate(infos)}
        link_of = {info[12].decode(): j for j, info in enumerate(infos)}
        self._joints = [joint_of[name] for name in self.motor_torques]
        self._actuated_joints = self._joints
        low = np.array([infos[j][8] for j in self._joints])
        high = np.array([infos[j][9] for j in self._joints])
        self._init_walker(low, high)
        self._torso = link_of.get(self.torso_name, -1)  # -1: the torso is the base
        # pybullet-envs measures progress on the mean x/y of the robot's n parts (its links, plus
        # the base when that is the torso) *and the floor*, which scales it by n / (n + 1); we
        # measure it on the torso (one query instead of all links) and keep that scale
        n_parts = len(infos) + (self._torso == -1)
        if n_parts != self.progress_parts:
            raise RuntimeError(
                f"{self.model_file}: {n_parts} parts, the task says {self.progress_parts}"
            )
        self._contact_slot = {link_of[name]: i for i, name in enumerate(self.contact_links)}
        movable = [j for j, info in enumerate(infos) if info[2] != p.JOINT_FIXED]
        p.setJointMotorControlArray(robot, movable, p.VELOCITY_CONTROL, forces=[0.0] * len(movable))
        self._initial_state = p.saveState()
        return BodyDynamics(p, robot, joints=self._joints)

    # ------------------------------------------------------------------ hooks
    def _reset_state(self) -> None:
        p = self._p
        p.restoreState(self._initial_state)  # also clears contact caches: same seed, same episode
        q0 = self.np_random.uniform(-0.1, 0.1, size=self._n_act)
        for j, q in zip(self._joints, q0.tolist()):
            p.resetJointState(self._robot, j, q, 0.0)
        self._start_episode()

    def _apply_action(self, action: np.ndarray) -> None:
        _pb.setJointMotorControlArray(
            self._robot,
            self._joints,
            _pb.TORQUE_CONTROL,
            forces=(self._torque_scale * action).tolist(),
            physicsClientId=self._client_id,
        )

    def _torso_pose(self) -> tuple[Sequence[float], Sequence[float], Sequence[float]]:
        """Torso CoM position, roll/pitch/yaw and linear velocity (one or two PyBullet queries)."""
        robot, cid = self._robot, self._client_id
        if self._torso >= 0:
            state = _pb.getLinkState(robot, self._torso, 1, physicsClientId=cid)
            pos, orn, vel = state[0], state[1], state[6]
        else:
            pos, orn = _pb.getBasePositionAndOrientation(robot, physicsClientId=cid)
            vel = _pb.getBaseVelocity(robot, physicsClientId=cid)[0]
        return pos, _pb.getEulerFromQuaternion(orn), vel

    def _joint_states(self) -> Sequence[Sequence[float]]:
        return _pb.getJointStates(self._robot, self._joints, physicsClientId=self._client_id)

    def _floor_contacts(self) -> list[float]:
        contacts = [0.0] * len(self.contact_links)
        slot = self._contact_slot
        for c in _pb.getContactPoints(self._robot, self._floor, physicsClientId=self._client_id):
            i = slot.get(c[3])
            if i is not None:
                contacts[i] = 1.0
        return contacts

    def _camera_target(self) -> list[float]:
        if self._torso >= 0:
            return list(self._p.getLinkState(self._robot, self._torso)[0])
        return super()._camera_target()


class HopperEnv(HopperTask, WalkerEnv):
    """One-legged hopper on PyBullet (task: :class:`~sim2real.envs.walker_task.HopperTask`)."""

    model_file: ClassVar[str] = "hopper.xml"


class HalfCheetahEnv(HalfCheetahTask, WalkerEnv):
    """Planar cheetah on PyBullet (task: :class:`~sim2real.envs.walker_task.HalfCheetahTask`)."""

    model_file: ClassVar[str] = "half_cheetah.xml"


class AntEnv(AntTask, WalkerEnv):
    """Four-legged ant on PyBullet (task: :class:`~sim2real.envs.walker_task.AntTask`)."""

    model_file: ClassVar[str] = "ant.xml"

    def _camera_distance(self) -> float:
        return 3.5
