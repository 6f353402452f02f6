"""MuJoCo-style walkers on PyBullet: Hopper, HalfCheetah and Ant from ``pybullet_data/mjcf``.

Model, floor, engine settings (timestep 0.0165/4 s, 4 substeps, 5 solver iterations, contact ERP
0.9, gravity 9.8), actuator torques, observation content and reward terms follow
pybullet-envs-gymnasium's ``HopperBulletEnv-v0`` / ``HalfCheetahBulletEnv-v0`` /
``AntBulletEnv-v0`` (``robot_locomotors.py``, ``gym_locomotion_envs.py``), so returns compare.

Observation (clipped to [-5, 5], names in ``observation_names``):

========================  ==============================================================
``torso_dz``              torso height minus its height at reset (m)
``target_angle_sin/cos``  direction to the walk target (1 km ahead on +x) in the torso's yaw frame
``torso_vx/vy/vz``        0.3 x torso linear velocity (m/s) in the yaw frame
``torso_roll/pitch``      torso attitude (rad)
``<joint>_pos``           joint angle scaled to [-1, 1] between the joint limits
``<joint>_vel``           0.1 x joint velocity (rad/s)
``<link>_contact``        1.0 if the link touches the floor, else 0.0
========================  ==============================================================

Reward per step: ``alive`` (+1 healthy, -1 not) + ``progress`` (decrease of the torso's distance
to the walk target per second, x n/(n+1), see below) + ``electricity_cost``
(-2 mean|a * joint_vel| - 0.1 mean a^2) + ``joints_at_limit_cost`` (-0.1 per joint beyond 99% of
its range). The terms are reported in ``info``.

Differences from pybullet-envs-gymnasium, all deliberate (the physics is identical, step for
step): progress is measured on the torso rather than on the mean of the robot's n parts and the
floor (one PyBullet query instead of one per link; the floor in their mean scales progress by
n/(n+1), a factor we keep so returns compare); the contact flags are those of the step just
simulated (theirs lag one step); the costs use the clipped action; the feet-collision cost
(always 0 there) is left out.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.base import BulletRobotEnv
from sim2real.envs.body_dynamics import BodyDynamics

__all__ = ["AntEnv", "HalfCheetahEnv", "HopperEnv", "WalkerEnv"]

_TORSO_OBS = (
    "torso_dz",
    "target_angle_sin",
    "target_angle_cos",
    "torso_vx",
    "torso_vy",
    "torso_vz",
    "torso_roll",
    "torso_pitch",
)
#: ``loadMJCF`` flags used by pybullet-envs-gymnasium (self-collision except parent/child, colours).
MJCF_FLAGS = (
    _pb.URDF_USE_SELF_COLLISION
    | _pb.URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS
    | _pb.URDF_GOOGLEY_UNDEFINED_COLORS
)


class WalkerEnv(BulletRobotEnv):
    """Shared walker: torque-controlled MJCF robot on a floor, run toward a target on +x.

    Subclasses set ``model_file``, ``motor_torques`` (actuated joint -> max torque in N*m, in
    action order), ``contact_links`` and :meth:`_healthy`; names are derived from them.
    """

    model_file: ClassVar[str]
    motor_torques: ClassVar[dict[str, float]]
    contact_links: ClassVar[tuple[str, ...]]
    torso_name: ClassVar[str] = "torso"
    physics_timestep: ClassVar[float] = 0.0165 / 4
    default_frame_skip: ClassVar[int] = 4
    nominal_gravity: ClassVar[tuple[float, float, float]] = (0.0, 0.0, -9.8)
    terminate_when_unhealthy: ClassVar[bool] = True
    walk_target: ClassVar[tuple[float, float]] = (1000.0, 0.0)
    electricity_cost: ClassVar[float] = -2.0
    stall_torque_cost: ClassVar[float] = -0.1
    joints_at_limit_cost: ClassVar[float] = -0.1
    floor_friction: ClassVar[float] = 0.8
    floor_restitution: ClassVar[float] = 0.5

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "motor_torques" in cls.__dict__:
            joints = tuple(cls.motor_torques)
            cls.action_names = joints
            cls.observation_names = (
                *_TORSO_OBS,
                *(f"{j}_{kind}" for j in joints for kind in ("pos", "vel")),
                *(f"{link}_contact" for link in cls.contact_links),
            )

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
        low = np.array([infos[j][8] for j in self._joints])
        high = np.array([infos[j][9] for j in self._joints])
        self._joint_mid = ((low + high) / 2).tolist()
        self._joint_inv_half = (2.0 / (high - low)).tolist()
        self._max_torque = np.array(list(self.motor_torques.values()))
        self._torque_scale = self._max_torque.copy()
        self._torso = link_of.get(self.torso_name, -1)  # -1: the torso is the base
        # pybullet-envs measures progress on the mean x/y of the robot's n parts (its links, plus
        # the base when that is the torso) *and the floor*, which scales it by n / (n + 1); we
        # measure it on the torso (one query instead of all links) and keep that scale
        n_parts = len(infos) + (self._torso == -1)
        self._progress_scale = n_parts / (n_parts + 1)
        self._contact_slot = {link_of[name]: i for i, name in enumerate(self.contact_links)}
        self._n_act = len(self._joints)
        movable = [j for j, info in enumerate(infos) if info[2] != p.JOINT_FIXED]
        p.setJointMotorControlArray(robot, movable, p.VELOCITY_CONTROL, forces=[0.0] * len(movable))
        self._initial_state = p.saveState()
        self._contacts = [0.0] * len(self.contact_links)
        self._initial_z: float | None = None
        return BodyDynamics(p, robot, joints=self._joints)

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        self._torque_scale = self._max_torque * self._motor_strength

    # ------------------------------------------------------------------ hooks
    def _reset_state(self) -> None:
        p = self._p
        p.restoreState(self._initial_state)  # also clears contact caches: same seed, same episode
        q0 = self.np_random.uniform(-0.1, 0.1, size=self._n_act)
        for j, q in zip(self._joints, q0.tolist()):
            p.resetJointState(self._robot, j, q, 0.0)
        self._initial_z = None
        self._contacts = [0.0] * len(self.contact_links)

    def _task_state(self) -> list[float]:
        return [self._initial_z if self._initial_z is not None else math.nan, self._distance]

    def _set_task_state(self, values: np.ndarray) -> None:
        z, distance = values.tolist()
        self._initial_z = None if math.isnan(z) else z
        self._distance = distance

    def _apply_action(self, action: np.ndarray) -> None:
        _pb.setJointMotorControlArray(
            self._robot,
            self._joints,
            _pb.TORQUE_CONTROL,
            forces=(self._torque_scale * action).tolist(),
            physicsClientId=self._client_id,
        )

    def _torso_state(self) -> tuple[Any, Any, Any]:
        """Torso CoM position, orientation and linear velocity (one or two PyBullet queries)."""
        robot, cid = self._robot, self._client_id
        if self._torso >= 0:
            state = _pb.getLinkState(robot, self._torso, 1, physicsClientId=cid)
            return state[0], state[1], state[6]
        pos, orn = _pb.getBasePositionAndOrientation(robot, physicsClientId=cid)
        return pos, orn, _pb.getBaseVelocity(robot, physicsClientId=cid)[0]

    def _observe(self) -> np.ndarray:
        robot, cid = self._robot, self._client_id
        joints = _pb.getJointStates(robot, self._joints, physicsClientId=cid)
        (x, y, z), orn, (vx, vy, vz) = self._torso_state()
        roll, pitch, yaw = _pb.getEulerFromQuaternion(orn)
        dx, dy = self.walk_target[0] - x, self.walk_target[1] - y
        angle = math.atan2(dy, dx) - yaw
        cos_yaw, sin_yaw = math.cos(yaw), math.sin(yaw)
        if self._initial_z is None:  # just reset: no step simulated, no contacts yet
            self._initial_z = z
            self._distance = math.hypot(dx, dy)
        else:
            contacts = [0.0] * len(self.contact_links)
            slot = self._contact_slot
            for c in _pb.getContactPoints(robot, self._floor, physicsClientId=cid):
                i = slot.get(c[3])
                if i is not None:
                    contacts[i] = 1.0
            self._contacts = contacts
        obs = [
            z - self._initial_z,
            math.sin(angle),
            math.cos(angle),
            0.3 * (cos_yaw * vx + sin_yaw * vy),
            0.3 * (cos_yaw * vy - sin_yaw * vx),
            0.3 * vz,
            roll,
            pitch,
        ]
        append = obs.append
        for s, mid, inv_half in zip(joints, self._joint_mid, self._joint_inv_half):
            append((s[0] - mid) * inv_half)
            append(0.1 * s[1])
        self._joint_pos, self._joint_vel = obs[8::2], obs[9::2]  # 8 torso entries, then pairs
        obs += self._contacts
        self._z, self._pitch, self._x = z, pitch, x
        self._new_distance = math.hypot(dx, dy)
        arr = np.array(obs)
        if max(obs) > 5.0 or min(obs) < -5.0:  # rare; np.clip on every step costs ~5 us
            np.minimum(np.maximum(arr, -5.0, out=arr), 5.0, out=arr)
        return arr

    def _healthy(self) -> bool:
        """Whether the robot is upright (uses the state cached by :meth:`_observe`)."""
        raise NotImplementedError

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        healthy = self._healthy()
        alive = 1.0 if healthy else -1.0
        progress = self._progress_scale * (self._distance - self._new_distance) / self.control_dt
        self._distance = self._new_distance
        act = action.tolist()
        n = self._n_act
        electricity = (
            self.electricity_cost * sum(abs(a * v) for a, v in zip(act, self._joint_vel)) / n
            + self.stall_torque_cost * sum(a * a for a in act) / n
        )
        at_limit = self.joints_at_limit_cost * sum(abs(q) > 0.99 for q in self._joint_pos)
        info = {
            "alive": alive,
            "progress": progress,
            "electricity_cost": electricity,
            "joints_at_limit_cost": at_limit,
            "x_position": self._x,
        }
        terminated = self.terminate_when_unhealthy and not healthy
        return alive + progress + electricity + at_limit, terminated, info

    def _camera_target(self) -> list[float]:
        if self._torso >= 0:
            return list(self._p.getLinkState(self._robot, self._torso)[0])
        return super()._camera_target()


class HopperEnv(WalkerEnv):
    """One-legged hopper (planar): hop forward without falling.

    Actions: ``thigh_joint``, ``leg_joint``, ``foot_joint`` torques, [-1, 1] x 75 N*m.
    Healthy while torso z > 0.8 m and |pitch| < 1 rad; the episode terminates otherwise.
    """

    model_file: ClassVar[str] = "hopper.xml"
    motor_torques: ClassVar[dict[str, float]] = {
        "thigh_joint": 75.0,
        "leg_joint": 75.0,
        "foot_joint": 75.0,
    }
    contact_links: ClassVar[tuple[str, ...]] = ("foot",)

    def _healthy(self) -> bool:
        return self._z > 0.8 and abs(self._pitch) < 1.0


class HalfCheetahEnv(WalkerEnv):
    """Planar cheetah: run forward. Never terminates early.

    Actions: back/front thigh, shin, foot torques, [-1, 1] x (108, 81, 54, 126, 54, 27) N*m.
    Healthy (+1, else -1) while |pitch| < 1 rad and no thigh or shin touches the floor.
    """

    model_file: ClassVar[str] = "half_cheetah.xml"
    motor_torques: ClassVar[dict[str, float]] = {
        "bthigh": 108.0,
        "bshin": 81.0,
        "bfoot": 54.0,
        "fthigh": 126.0,
        "fshin": 54.0,
        "ffoot": 27.0,
    }
    contact_links: ClassVar[tuple[str, ...]] = (
        "ffoot",
        "fshin",
        "fthigh",
        "bfoot",
        "bshin",
        "bthigh",
    )
    terminate_when_unhealthy: ClassVar[bool] = False

    def _healthy(self) -> bool:
        c = self._contacts
        return abs(self._pitch) < 1.0 and not (c[1] or c[2] or c[4] or c[5])


class AntEnv(WalkerEnv):
    """Four-legged ant: walk forward.

    Actions: hip and ankle torques of the four legs, [-1, 1] x 250 N*m.
    Healthy while torso z > 0.26 m; the episode terminates otherwise.
    """

    model_file: ClassVar[str] = "ant.xml"
    motor_torques: ClassVar[dict[str, float]] = {
        f"{kind}_{i}": 250.0 for i in range(1, 5) for kind in ("hip", "ankle")
    }
    contact_links: ClassVar[tuple[str, ...]] = (
        "front_left_foot",
        "front_right_foot",
        "left_back_foot",
        "right_back_foot",
    )

    def _healthy(self) -> bool:
        return self._z > 0.26

    def _camera_distance(self) -> float:
        return 3.5
