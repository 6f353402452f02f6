"""KUKA LBR iiwa (``kuka_iiwa/model.urdf`` from ``pybullet_data``) reaching a random target.

The arm is fixed to the world and acts against gravity. Control: the 7 actions in [-1, 1] move
the joint position targets, ``q_target += 0.05 rad * action`` per control step (clipped to the
joint limits; at reset the targets are the initial joint angles), tracked by the PD joint
motors of :mod:`sim2real.envs.pd_control` with the torque limits of the LBR iiwa 7 R800
(176, 176, 110, 110, 110, 40, 40 N*m). Physics runs at 1/240 s with 6 substeps per control step
(40 Hz control; a 200-step episode lasts 5 s).

Observation (30 entries, names in ``observation_names``):

=====================  ===================================================================
``<joint>_pos``        joint angle (rad)
``<joint>_vel``        joint velocity (rad/s)
``<joint>_cmd``        joint position target minus joint angle (rad): the servo error; the
                       targets integrate the actions, so the policy needs them to be Markov
``ee_x/y/z``           end-effector (flange frame of ``lbr_iiwa_link_7``) position (m)
``target_x/y/z``       target position (m), uniform in x [0.3, 0.7], y [-0.4, 0.4],
                       z [0.15, 0.75] (every point is reachable)
``delta_x/y/z``        target minus end-effector position (m)
=====================  ===================================================================

Reward per step: ``-distance`` (m) ``- 0.01 * |action|^2``; ``info["is_success"]`` is true when
the end effector is within 5 cm of the target. No early termination (200 steps per episode).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.pd_control import JointPDController
from sim2real.envs.pd_robot import PDRobotEnv

__all__ = ["KukaReachEnv", "KukaReachTask"]

_JOINTS = tuple(f"lbr_iiwa_joint_{i}" for i in range(1, 8))


class KukaReachTask:
    """The reaching task without its engine: constants, action integration, observation, reward.

    An engine's env class derives from it and from its PD robot base, and provides
    ``self._pd`` (``command``/``read`` of a :class:`~sim2real.envs.pd_control.PDGains` motor),
    :meth:`_ee_position`, :meth:`_show_goal`, the scene (``_load`` calls :meth:`_init_task` with
    the joint limits) and ``_reset_state`` (which calls :meth:`_reset_task`).
    """

    action_names: ClassVar[tuple[str, ...]] = _JOINTS
    observation_names: ClassVar[tuple[str, ...]] = (
        *(f"{j}_pos" for j in _JOINTS),
        *(f"{j}_vel" for j in _JOINTS),
        *(f"{j}_cmd" for j in _JOINTS),
        "ee_x",
        "ee_y",
        "ee_z",
        "target_x",
        "target_y",
        "target_z",
        "delta_x",
        "delta_y",
        "delta_z",
    )
    physics_timestep: ClassVar[float] = 1.0 / 240.0
    default_frame_skip: ClassVar[int] = 6
    model_file: ClassVar[str] = "kuka_iiwa/model.urdf"
    #: LBR iiwa 7 R800 joint torque limits (N*m).
    max_torques: ClassVar[tuple[float, ...]] = (176.0, 176.0, 110.0, 110.0, 110.0, 40.0, 40.0)
    initial_pose: ClassVar[tuple[float, ...]] = (0.0, 0.4, 0.0, -1.5, 0.0, 0.6, 0.0)
    reset_noise: ClassVar[float] = 0.1
    #: Joint target change per control step for an action of +-1 (rad).
    action_step: ClassVar[float] = 0.05
    nominal_kp: ClassVar[float] = 0.1
    #: Velocity gains: the last link is light (inertia 6e-4 kg*m^2), and PyBullet's explicit joint
    #: damping destabilizes its servo unless the motor removes the velocity it keeps (kd near 1).
    nominal_kd: ClassVar[tuple[float, ...]] = (0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0)
    #: Nominal joint damping (N*m*s/rad); the URDF's 0.5 is unstable on the last link at 1/240 s
    #: (0.5 * dt / I > 2).
    joint_damping: ClassVar[float] = 0.1
    target_low: ClassVar[tuple[float, float, float]] = (0.3, -0.4, 0.15)
    target_high: ClassVar[tuple[float, float, float]] = (0.7, 0.4, 0.75)
    success_distance: ClassVar[float] = 0.05
    action_cost: ClassVar[float] = 0.01

    _pd: Any  # the engine's PD motors: command(targets), read() -> (3, n) q, qdot, tau

    def _init_task(self, low: np.ndarray, high: np.ndarray) -> None:
        """Allocate the task's buffers; ``low``/``high`` are the joint limits (rad)."""
        margin = 0.01
        self._q_low, self._q_high = low + margin, high - margin
        n = len(_JOINTS)
        self._target_q = np.zeros(n)
        self._delta_q = np.zeros(n)
        self._goal = np.zeros(3)
        self._goal_xyz: tuple[float, ...] = (0.0, 0.0, 0.0)
        self._joint_buf = np.zeros((3, n))
        self._obs = np.zeros(len(self.observation_names))
        self._distance = 0.0

    def _reset_task(self, rng: np.random.Generator) -> np.ndarray:
        """Draw the initial joint angles (returned; also the targets) and the goal from ``rng``."""
        noise = rng.uniform(-self.reset_noise, self.reset_noise, size=len(_JOINTS))
        q0 = np.clip(np.array(self.initial_pose) + noise, self._q_low, self._q_high)
        self._target_q[:] = q0
        self._pd.command(q0.tolist())
        self.set_goal(rng.uniform(self.target_low, self.target_high))
        return q0

    def set_goal(self, goal: np.ndarray) -> None:
        """Move the target to ``goal`` (x, y, z in m); for scripted tests and demos."""
        self._goal[:] = goal
        self._goal_xyz = tuple(self._goal.tolist())
        self._show_goal(self._goal_xyz)

    def _show_goal(self, goal: tuple[float, ...]) -> None:
        """Move the target marker (if the engine draws one)."""

    def _ee_position(self) -> tuple[float, float, float]:
        """End-effector (flange frame of ``lbr_iiwa_link_7``) position now (m)."""
        raise NotImplementedError

    def _task_state(self) -> list[float]:
        return [*self._target_q.tolist(), *self._goal.tolist()]

    def _set_task_state(self, values: np.ndarray) -> None:
        n = len(self._target_q)
        self._target_q[:] = values[:n]
        self.set_goal(values[n : n + 3])

    def _apply_action(self, action: np.ndarray) -> None:
        tq = self._target_q
        np.multiply(action, self.action_step, out=self._delta_q)
        tq += self._delta_q
        np.maximum(tq, self._q_low, out=tq)  # np.clip is several times slower on small arrays
        np.minimum(tq, self._q_high, out=tq)
        self._pd.command(tq.tolist())

    def _observe(self) -> np.ndarray:
        obs, n = self._obs, len(_JOINTS)
        joints = self._joint_buf = self._pd.read()
        ex, ey, ez = self._ee_position()
        gx, gy, gz = self._goal_xyz
        dx, dy, dz = gx - ex, gy - ey, gz - ez
        obs[: 2 * n] = joints[:2].ravel()
        np.subtract(self._target_q, joints[0], out=obs[2 * n : 3 * n])
        obs[3 * n :] = (ex, ey, ez, gx, gy, gz, dx, dy, dz)
        self._distance = math.sqrt(dx * dx + dy * dy + dz * dz)
        return obs.copy()

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        ctrl = -self.action_cost * float(action @ action)
        info = {
            "is_success": self._distance < self.success_distance,
            "distance": self._distance,
            "reward_distance": -self._distance,
            "reward_ctrl": ctrl,
        }
        return -self._distance + ctrl, False, info

    def _camera_target(self) -> list[float]:
        return [0.3, 0.0, 0.5]

    def _camera_distance(self) -> float:
        return 1.8


class KukaReachEnv(KukaReachTask, PDRobotEnv):
    """Bring the KUKA iiwa's end effector to a random target under PD joint control."""

    def _load(self) -> BodyDynamics:
        p = self._p
        self._cid = p._client
        robot = self._robot = p.loadURDF(self.model_file, useFixedBase=True)
        infos = [p.getJointInfo(robot, j) for j in range(p.getNumJoints(robot))]
        index = {info[1].decode(): j for j, info in enumerate(infos)}
        self._joints = [index[name] for name in _JOINTS]
        self.ee_link = self._joints[-1]
        low = np.array([infos[j][8] for j in self._joints])
        high = np.array([infos[j][9] for j in self._joints])
        self._pd = JointPDController(
            self._cid,
            robot,
            self._joints,
            _JOINTS,
            kp=self.nominal_kp,
            kd=np.array(self.nominal_kd),
            max_torque=np.array(self.max_torques),
        )
        marker = p.createVisualShape(p.GEOM_SPHERE, radius=0.03, rgbaColor=[0.1, 0.9, 0.1, 0.6])
        self._marker = p.createMultiBody(baseMass=0.0, baseVisualShapeIndex=marker)
        self._initial_state = p.saveState()
        self._init_task(low, high)
        dynamics = BodyDynamics(p, robot, joints=self._joints)
        dynamics.nominal_joint_damping = np.full(
            len(_JOINTS), self.joint_damping
        )  # applied by the base
        return dynamics

    def _reset_state(self) -> None:
        p, robot = self._p, self._robot
        p.restoreState(self._initial_state)
        q0 = self._reset_task(self.np_random)
        for j, q in zip(self._joints, q0.tolist()):
            p.resetJointState(robot, j, q, 0.0)

    def _show_goal(self, goal: tuple[float, ...]) -> None:
        self._p.resetBasePositionAndOrientation(self._marker, goal, [0.0, 0.0, 0.0, 1.0])

    def _ee_position(self) -> tuple[float, float, float]:
        # forward kinematics: the cached link frames lag the joint state by one substep
        ex, ey, ez = _pb.getLinkState(
            self._robot, self.ee_link, computeForwardKinematics=1, physicsClientId=self._cid
        )[4]
        return ex, ey, ez
