"""The walkers' task, engine-agnostic: observation layout and scaling, reward terms, health rule.

One implementation serves both engines: the PyBullet walkers (:mod:`sim2real.envs.locomotion`)
and their MuJoCo twins (:mod:`sim2real.envs.mujoco.locomotion`) subclass these classes and only
say how to read the torso, the joints and the floor contacts from their physics.

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
to the walk target per second, x ``progress_parts / (progress_parts + 1)``, the scale
pybullet-envs' mean over the robot's parts and the floor gives it) + ``electricity_cost``
(-2 mean|a * joint_vel| - 0.1 mean a^2) + ``joints_at_limit_cost`` (-0.1 per joint beyond 99% of
its range). The terms are reported in ``info``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from sim2real.envs.robot_env import RobotEnv

__all__ = ["AntTask", "HalfCheetahTask", "HopperTask", "WalkerTask"]

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


class WalkerTask(RobotEnv):
    """Torque-controlled walker run toward a target on +x; the engine supplies three readers.

    Subclasses set ``motor_torques`` (actuated joint -> max torque in N*m, in action order),
    ``contact_links``, ``progress_parts`` and :meth:`_healthy`; names are derived from them. The
    engine subclass implements :meth:`_torso_pose`, :meth:`_joint_states` and
    :meth:`_floor_contacts`, and calls :meth:`_init_walker` from its ``_load``.
    """

    motor_torques: ClassVar[dict[str, float]]
    contact_links: ClassVar[tuple[str, ...]]
    #: Parts pybullet-envs averages the progress over (the twin's links); scales ``progress``.
    progress_parts: ClassVar[int]
    torso_name: ClassVar[str] = "torso"
    nominal_gravity: ClassVar[tuple[float, float, float]] = (0.0, 0.0, -9.8)
    terminate_when_unhealthy: ClassVar[bool] = True
    walk_target: ClassVar[tuple[float, float]] = (1000.0, 0.0)
    electricity_cost: ClassVar[float] = -2.0
    stall_torque_cost: ClassVar[float] = -0.1
    joints_at_limit_cost: ClassVar[float] = -0.1

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

    # ------------------------------------------------------------------ engine readers
    def _torso_pose(self) -> tuple[Sequence[float], Sequence[float], Sequence[float]]:
        """Torso CoM position, (roll, pitch, yaw) and CoM linear velocity, world frame."""
        raise NotImplementedError

    def _joint_states(self) -> Sequence[Sequence[float]]:
        """``(position, velocity, ...)`` of each actuated joint, in action order."""
        raise NotImplementedError

    def _floor_contacts(self) -> list[float]:
        """1.0/0.0 per ``contact_links`` entry: the link touches the floor after the last step."""
        raise NotImplementedError

    def _init_walker(self, low: np.ndarray, high: np.ndarray) -> None:
        """Set the task's constants from the actuated joints' limits (called in ``_load``)."""
        self._joint_mid = ((low + high) / 2).tolist()
        self._joint_inv_half = (2.0 / (high - low)).tolist()
        self._max_torque = np.array(list(self.motor_torques.values()))
        self._torque_scale = self._max_torque.copy()
        self._progress_scale = self.progress_parts / (self.progress_parts + 1)
        self._n_act = len(self.motor_torques)
        self._contacts = [0.0] * len(self.contact_links)
        self._initial_z: float | None = None
        self._distance = 0.0

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        self._torque_scale = self._max_torque * self._motor_strength

    def _start_episode(self) -> None:
        """Forget the previous episode (call at the end of ``_reset_state``)."""
        self._initial_z = None
        self._contacts = [0.0] * len(self.contact_links)

    # ------------------------------------------------------------------ task
    def _task_state(self) -> list[float]:
        return [self._initial_z if self._initial_z is not None else math.nan, self._distance]

    def _set_task_state(self, values: np.ndarray) -> None:
        z, distance = values.tolist()
        self._initial_z = None if math.isnan(z) else z
        self._distance = distance

    def _observe(self) -> np.ndarray:
        joints = self._joint_states()
        (x, y, z), (roll, pitch, yaw), (vx, vy, vz) = self._torso_pose()
        dx, dy = self.walk_target[0] - x, self.walk_target[1] - y
        angle = math.atan2(dy, dx) - yaw
        cos_yaw, sin_yaw = math.cos(yaw), math.sin(yaw)
        if self._initial_z is None:  # just reset: no step simulated, no contacts yet
            self._initial_z = z
            self._distance = math.hypot(dx, dy)
        else:
            self._contacts = self._floor_contacts()
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


class HopperTask(WalkerTask):
    """One-legged hopper (planar): hop forward without falling.

    Actions: ``thigh_joint``, ``leg_joint``, ``foot_joint`` torques, [-1, 1] x 75 N*m.
    Healthy while torso z > 0.8 m and |pitch| < 1 rad; the episode terminates otherwise.
    """

    motor_torques: ClassVar[dict[str, float]] = {
        "thigh_joint": 75.0,
        "leg_joint": 75.0,
        "foot_joint": 75.0,
    }
    contact_links: ClassVar[tuple[str, ...]] = ("foot",)
    progress_parts: ClassVar[int] = 10

    def _healthy(self) -> bool:
        return self._z > 0.8 and abs(self._pitch) < 1.0


class HalfCheetahTask(WalkerTask):
    """Planar cheetah: run forward. Never terminates early.

    Actions: back/front thigh, shin, foot torques, [-1, 1] x (108, 81, 54, 126, 54, 27) N*m.
    Healthy (+1, else -1) while |pitch| < 1 rad and no thigh or shin touches the floor.
    """

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
    progress_parts: ClassVar[int] = 16
    terminate_when_unhealthy: ClassVar[bool] = False

    def _healthy(self) -> bool:
        c = self._contacts
        return abs(self._pitch) < 1.0 and not (c[1] or c[2] or c[4] or c[5])


class AntTask(WalkerTask):
    """Four-legged ant: walk forward.

    Actions: hip and ankle torques of the four legs, [-1, 1] x 250 N*m.
    Healthy while torso z > 0.26 m; the episode terminates otherwise.
    """

    motor_torques: ClassVar[dict[str, float]] = {
        f"{kind}_{i}": 250.0 for i in range(1, 5) for kind in ("hip", "ankle")
    }
    contact_links: ClassVar[tuple[str, ...]] = (
        "front_left_foot",
        "front_right_foot",
        "left_back_foot",
        "right_back_foot",
    )
    progress_parts: ClassVar[int] = 21

    def _healthy(self) -> bool:
        return self._z > 0.26
