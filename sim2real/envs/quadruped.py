"""Unitree A1 quadruped (``a1/a1.urdf`` from ``pybullet_data``) walking forward on a plane.

Control: the 12 actions in [-1, 1] are joint position offsets around a nominal standing pose,
``q_target = q_nominal + 0.4 rad * action``, tracked by the PD joint motors of
:mod:`sim2real.envs.pd_control` (torque limits 20 N*m hips, 55 N*m thighs/calves, from the
URDF) in every physics substep. Physics runs at 1/240 s with 4 substeps per control step
(60 Hz control) and 10 solver iterations. Nominal pose (hip, thigh, calf) = (0, 0.8, -1.5) rad
per leg (trunk ~0.31 m high); PD gains kp = 0.1, kd = 0.5 (~76 rad/s servo, damping ratio ~0.8).

A1 rather than Laikago or Minitaur: its URDF is z-up (Laikago's needs a rotated base), has joint
and torque limits, and collides through primitives only (boxes, cylinders, sphere feet), which
keeps contacts cheap. An open-loop trot walks it forward at ~0.6 m/s (see the tests).

Observation (48 entries, names in ``observation_names``):

=====================  ===================================================================
``base_height``        height of the trunk above the floor (m)
``gravity_x/y/z``      unit gravity vector in the trunk frame ((0, 0, -1) when level)
``base_vx/vy/vz``      trunk linear velocity in the trunk frame (m/s)
``base_wx/wy/wz``      trunk angular velocity in the trunk frame (rad/s)
``<joint>_pos``        joint angle minus its nominal standing angle (rad)
``<joint>_vel``        joint velocity (rad/s)
``<joint>_prev_act``   the action executed in the previous control step (after latency)
``command_vx``         the commanded forward speed (m/s; drawn per episode from
                       ``command_range``)
``command_wz``         the commanded yaw rate (rad/s): legged_gym's heading command,
                       ``clip(0.5 * wrap(0 - yaw), -1, 1)``, which steers back to +x
``gait_sin/cos``       with ``gait="trot"`` only: sine and cosine of the trot's phase at the
                       next control step (a clock the robot's controller keeps)
=====================  ===================================================================

Gait (``gait=`` constructor argument): ``none`` (default) is the plain position control above.
``trot`` adds an open-loop trot to the action, so the policy learns a feedback correction around a
gait instead of a gait from nothing: ``q_target = q_nominal + 0.4 rad * (action + trot(t))``,
with ``trot`` the diagonal-pair pattern of the tests (2.5 Hz; thigh ``0.5 sin(phase)``, calf
``0.5 sin(phase + pi/2)``; FR/RL in phase, FL/RR half a period later) and ``t`` the control step
times the control period. This is the decomposition of Tan et al., "Sim-to-Real: Learning Agile
Locomotion For Quadruped Robots" (RSS 2018; open-loop reference plus learned feedback), a fixed
form of Iscen et al.'s "Policies Modulating Trajectory Generators" (CoRL 2018). On the robot the
controller adds the same ``trot(t)`` to the exported policy's action and feeds the phase clock.

Reward (``reward=`` constructor argument; terms in ``info`` as ``reward_<term>``, summing to
the reward):

* ``legged_gym`` (default): track the commanded forward speed, with legged_gym's penalties on
  vertical and rolling motion, tilt, trunk height, torques, joint velocities and accelerations,
  action rate, a feet-air-time reward and a collision penalty on thighs and calves
  (:mod:`sim2real.envs.legged_reward` lists each term and its source). The episode also ends
  when the trunk touches the floor.
* ``forward``: run as fast as possible, in the style of Minitaur/PyBullet locomotion work:
  ``forward`` = world-frame forward velocity vx (m/s); ``alive`` = +0.25; ``energy`` =
  -0.0005 * sum|tau * qdot| (W); ``drift`` = -0.5 * vy^2; ``orientation`` = -0.5 * (gx^2 + gy^2).

With either reward the episode terminates when the trunk drops below 0.15 m or its z axis tilts
more than 0.8 rad from vertical (roll, pitch or both). In both, ``info`` also carries the
world-frame forward velocity ``x_velocity`` (m/s), the trunk's ``x_position`` (m; it starts at
0) and ``mean_x_velocity``, the forward speed averaged over the episode so far (m/s).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.legged_reward import LeggedGymReward, LeggedGymScales, LeggedState
from sim2real.envs.parameters import ParameterValue
from sim2real.envs.pd_control import JointPDController
from sim2real.envs.pd_robot import PDRobotEnv

__all__ = ["A1Env", "A1Task"]

_LEGS = ("FR", "FL", "RR", "RL")
_JOINTS = tuple(f"{leg}_{part}_joint" for leg in _LEGS for part in ("hip", "upper", "lower"))
#: Links whose floor contacts the reward reads: trunk, thighs, calves, feet (the URDF's names).
CONTACT_LINKS = ("trunk", *(f"{leg}_{part}" for part in ("upper", "lower", "toe") for leg in _LEGS))
A1Reward = Literal["legged_gym", "forward"]
A1Gait = Literal["none", "trot"]
#: Trot phase offset of each leg (FR, FL, RR, RL): diagonal pairs in phase.
_TROT_LEG_PHASE = np.array([0.0, np.pi, np.pi, 0.0])


class A1Task:
    """The A1 walking task without its engine: constants, action scaling, observation, reward.

    An engine's env class derives from it and from its PD robot base, and provides
    ``self._pd`` (``command``/``read`` of a :class:`~sim2real.envs.pd_control.PDGains` motor),
    :meth:`_base_state`, the scene (``_load`` calls :meth:`_init_task`) and ``_reset_state``
    (which calls :meth:`_reset_task`). Both engines thereby share names, scales and formulas.
    """

    action_names: ClassVar[tuple[str, ...]] = _JOINTS
    observation_names: ClassVar[tuple[str, ...]] = (
        "base_height",
        "gravity_x",
        "gravity_y",
        "gravity_z",
        "base_vx",
        "base_vy",
        "base_vz",
        "base_wx",
        "base_wy",
        "base_wz",
        *(f"{j}_pos" for j in _JOINTS),
        *(f"{j}_vel" for j in _JOINTS),
        *(f"{j}_prev_act" for j in _JOINTS),
        "command_vx",
        "command_wz",
    )
    physics_timestep: ClassVar[float] = 1.0 / 240.0
    default_frame_skip: ClassVar[int] = 4
    model_file: ClassVar[str] = "a1/a1.urdf"
    #: Nominal standing pose per leg (hip, thigh, calf), rad.
    nominal_leg_pose: ClassVar[tuple[float, float, float]] = (0.0, 0.8, -1.5)
    #: Joint target range around the nominal pose for actions of +-1, rad.
    action_range: ClassVar[float] = 0.4
    #: Nominal PD gains (PyBullet motor gains, see ``pd_control``): ~25 rad/s, damping ratio ~0.7.
    nominal_kp: ClassVar[float] = 0.1
    nominal_kd: ClassVar[float] = 0.5
    initial_height: ClassVar[float] = 0.30
    reset_noise: ClassVar[float] = 0.05
    alive_bonus: ClassVar[float] = 0.25
    energy_weight: ClassVar[float] = 5e-4
    drift_weight: ClassVar[float] = 0.5
    orientation_weight: ClassVar[float] = 0.5
    #: Heading command: yaw-rate command per rad of heading error, and its limit (rad/s), as
    #: legged_gym's ``0.5 * wrap_to_pi(heading error)`` clipped to its ang_vel_yaw range.
    heading_gain: ClassVar[float] = 0.5
    max_yaw_rate_command: ClassVar[float] = 1.0
    min_height: ClassVar[float] = 0.15
    max_tilt: ClassVar[float] = 0.8
    #: Scales of the ``legged_gym`` reward.
    legged_gym_scales: ClassVar[LeggedGymScales] = LeggedGymScales()
    #: ``gait="trot"``: frequency (Hz) and thigh/calf amplitude (action units) of the trot.
    trot_frequency: ClassVar[float] = 2.5
    trot_amplitude: ClassVar[float] = 0.5

    _pd: Any  # the engine's PD motors: command(targets), read() -> (3, n) q, qdot, tau

    def __init__(
        self,
        render_mode: str | None = None,
        dynamics: Mapping[str, ParameterValue] | None = None,
        reward: A1Reward = "legged_gym",
        command_range: tuple[float, float] = (0.7, 0.7),
        gait: A1Gait = "none",
    ) -> None:
        """``reward``: ``legged_gym`` (track ``command_vx``) or ``forward`` (module docstring);
        ``command_range``: low and high of the commanded forward speed (m/s), drawn uniformly
        per episode (a fixed speed when equal); ``gait``: ``none`` or ``trot`` (an open-loop
        trot under the policy's action, module docstring)."""
        if reward not in ("legged_gym", "forward"):
            raise ValueError(
                f"reward={reward!r} is not an A1 reward; use 'legged_gym' or 'forward'"
            )
        if gait not in ("none", "trot"):
            raise ValueError(f"gait={gait!r} is not an A1 gait; use 'none' or 'trot'")
        self.gait = gait
        if gait == "trot":  # the layout of this instance: the class's plus the phase clock
            names = (*type(self).observation_names, "gait_sin", "gait_cos")
            self.observation_names = names  # type: ignore[misc]
        low, high = (float(v) for v in command_range)
        if not -2.0 <= low <= high <= 2.0:
            raise ValueError(
                f"command_range={command_range!r}: expected low <= high within [-2, 2] m/s"
            )
        self.reward_kind, self.command_range = reward, (low, high)
        super().__init__(render_mode=render_mode, dynamics=dynamics)  # type: ignore[call-arg]

    def _init_task(self) -> None:
        """Allocate the task's buffers (called from ``_load``)."""
        n = len(_JOINTS)
        self._nominal = np.tile(np.array(self.nominal_leg_pose), len(_LEGS))
        self._target = np.empty(n)
        self._joint_buf = np.zeros((3, n))
        self._prev_action = np.zeros(n)
        self._obs = np.zeros(len(self.observation_names))
        self._command_index = len(A1Task.observation_names) - 2  # command_vx, then command_wz
        self._yaw_rate_command = 0.0
        self._trot = np.zeros((len(_LEGS), 3))  # (hip, thigh, calf) offsets per leg, action units
        self._power = np.zeros(n)
        self._base = (self.initial_height, 0.0, 0.0, 1.0, 0.0, 0.0)
        self._cos_max_tilt = float(np.cos(self.max_tilt))
        self._x = 0.0
        self._command = self.command_range[0]
        self._base_frame = (0.0,) * 8  # trunk-frame vx, vy, vz, wx, wy, wz, gx, gy
        self._legged = LeggedGymReward(
            n, 4, self.physics_timestep * self.default_frame_skip, self.legged_gym_scales
        )

    def _reset_task(self, rng: np.random.Generator) -> np.ndarray:
        """Command the nominal pose, clear the action history; return the initial joint angles
        (nominal plus uniform noise drawn from ``rng``)."""
        noise = rng.uniform(-self.reset_noise, self.reset_noise, size=len(_JOINTS))
        self._pd.command(self._nominal.tolist())
        self._prev_action.fill(0.0)
        self._joint_buf.fill(0.0)
        self._legged.reset()
        low, high = self.command_range
        self._command = float(rng.uniform(low, high)) if high > low else low
        return self._nominal + noise

    def _base_state(self) -> tuple[float, ...]:
        """Trunk position x and height z, its rotation matrix (world from trunk, row major:
        r0..r8), world linear velocity (vx, vy, vz) and world angular velocity (wx, wy, wz):
        17 numbers."""
        raise NotImplementedError

    def _contact_forces(self) -> np.ndarray:
        """Normal force (N) the floor exerts on each of :data:`CONTACT_LINKS` now."""
        raise NotImplementedError

    def _task_state(self) -> list[float]:
        return [self._command, *self._prev_action.tolist(), *self._legged.state()]

    def _set_task_state(self, values: np.ndarray) -> None:
        n = len(_JOINTS)
        self._command = float(values[0])
        self._prev_action[:] = values[1 : 1 + n]
        self._legged.set_state(values[1 + n : 1 + n + self._legged.state_size])

    def _trot_phase(self) -> float:
        """Phase (rad) of the trot at the coming control step."""
        return 2.0 * np.pi * self.trot_frequency * self._elapsed_steps * self.control_dt  # type: ignore[attr-defined]

    def _trot_offsets(self) -> np.ndarray:
        """The open-loop trot at the coming control step (12 joint offsets, action units)."""
        phase = self._trot_phase() + _TROT_LEG_PHASE
        self._trot[:, 1] = np.sin(phase)
        self._trot[:, 2] = np.sin(phase + np.pi / 2)
        self._trot *= self.trot_amplitude
        return self._trot.ravel()

    def _apply_action(self, action: np.ndarray) -> None:
        if self.gait == "trot":
            np.add(action, self._trot_offsets(), out=self._target)
            self._target *= self.action_range
        else:
            np.multiply(action, self.action_range, out=self._target)
        self._target += self._nominal
        self._pd.command(self._target.tolist())
        self._prev_action[:] = action

    def _observe(self) -> np.ndarray:
        obs, n = self._obs, len(_JOINTS)
        x, z, r0, r1, r2, r3, r4, r5, r6, r7, r8, vx, vy, vz, wx, wy, wz = self._base_state()
        self._joint_buf = self._pd.read()
        self._x = x
        self._base = (z, r6, r7, r8, vx, vy)  # for _reward; r8 = cos(tilt)
        obs[:10] = (
            z,
            -r6,
            -r7,
            -r8,
            r0 * vx + r3 * vy + r6 * vz,
            r1 * vx + r4 * vy + r7 * vz,
            r2 * vx + r5 * vy + r8 * vz,
            r0 * wx + r3 * wy + r6 * wz,
            r1 * wx + r4 * wy + r7 * wz,
            r2 * wx + r5 * wy + r8 * wz,
        )
        np.subtract(self._joint_buf[0], self._nominal, out=obs[10 : 10 + n])
        obs[10 + n : 10 + 2 * n] = self._joint_buf[1]
        obs[10 + 2 * n : 10 + 3 * n] = self._prev_action
        heading_error = -math.atan2(r3, r0)  # target heading +x; in (-pi, pi]: wrapped
        limit = self.max_yaw_rate_command
        self._yaw_rate_command = min(max(self.heading_gain * heading_error, -limit), limit)
        obs[self._command_index] = self._command
        obs[self._command_index + 1] = self._yaw_rate_command
        if self.gait == "trot":
            phase = self._trot_phase()
            obs[-2:] = (np.sin(phase), np.cos(phase))
        self._base_frame = (*obs[4:10].tolist(), float(obs[1]), float(obs[2]))
        return obs.copy()

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        if self.reward_kind == "forward":
            reward, terminated, info = self._forward_reward()
        else:
            reward, terminated, info = self._legged_gym_reward()
        info["x_position"] = self._x
        info["mean_x_velocity"] = self._x / (self._elapsed_steps * self.control_dt)  # type: ignore[attr-defined]
        return reward, terminated, info

    def _fallen(self) -> bool:
        z, _, _, cos_tilt, _, _ = self._base
        return z < self.min_height or cos_tilt < self._cos_max_tilt

    def _legged_gym_reward(self) -> tuple[float, bool, dict[str, Any]]:
        vx, vy, vz, wx, wy, wz, gx, gy = self._base_frame
        forces = self._contact_forces()
        self._legged.dt = self.control_dt  # type: ignore[attr-defined]
        state = LeggedState(
            height=self._base[0],
            velocity=(vx, vy, vz),
            angular_velocity=(wx, wy, wz),
            gravity_xy=(gx, gy),
            joint_torque=self._joint_buf[2],
            joint_velocity=self._joint_buf[1],
            action=self._prev_action,
            feet_force=forces[9:13],
            leg_force=forces[1:9],
            command=self._command,
            yaw_rate_command=self._yaw_rate_command,
        )
        reward, info = self._legged(state)
        base_contact = bool(forces[0] > self.legged_gym_scales.contact_force)
        info["x_velocity"] = self._base[4]
        return reward, base_contact or self._fallen(), info

    def _forward_reward(self) -> tuple[float, bool, dict[str, Any]]:
        _, r6, r7, _, vx, vy = self._base
        np.multiply(self._joint_buf[1], self._joint_buf[2], out=self._power)
        power = float(np.abs(self._power, out=self._power).sum())
        energy = -self.energy_weight * power
        drift = -self.drift_weight * vy * vy
        orientation = -self.orientation_weight * (r6 * r6 + r7 * r7)
        reward = vx + self.alive_bonus + energy + drift + orientation
        info = {
            "reward_forward": vx,
            "reward_alive": self.alive_bonus,
            "reward_energy": energy,
            "reward_drift": drift,
            "reward_orientation": orientation,
            "x_velocity": vx,
        }
        return reward, self._fallen(), info

    def _camera_distance(self) -> float:
        return 1.2


class A1Env(A1Task, PDRobotEnv):
    """Walk forward (+x) with the A1 quadruped under PD joint control: at the commanded speed
    (``reward="legged_gym"``) or as fast as possible (``reward="forward"``)."""

    #: 10 solver iterations: with 5 the feet chatter (calf joints jump ~1 rad/s while standing).
    solver_iterations: ClassVar[int] = 10

    def _load(self) -> BodyDynamics:
        p = self._p
        self._cid = p._client
        p.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        self._floor = p.loadURDF("plane.urdf")
        robot = self._robot = p.loadURDF(
            self.model_file, [0.0, 0.0, self.initial_height], useFixedBase=False
        )
        infos = [p.getJointInfo(robot, j) for j in range(p.getNumJoints(robot))]
        index = {info[1].decode(): j for j, info in enumerate(infos)}
        self._joints = [index[name] for name in _JOINTS]
        links = {info[12].decode(): j for j, info in enumerate(infos)} | {"trunk": -1}
        # slot of each link index + 1 (the trunk is -1) in CONTACT_LINKS, or len(CONTACT_LINKS)
        self._contact_slot = np.full(len(infos) + 1, len(CONTACT_LINKS))
        for slot, name in enumerate(CONTACT_LINKS):
            self._contact_slot[links[name] + 1] = slot
        self._forces = np.zeros(len(CONTACT_LINKS) + 1)
        self._init_task()
        self._pd = JointPDController(
            self._cid,
            robot,
            self._joints,
            _JOINTS,
            kp=self.nominal_kp,
            kd=self.nominal_kd,
            max_torque=np.array([infos[j][10] for j in self._joints]),
        )
        self._initial_state = p.saveState()
        return BodyDynamics(p, robot, joints=self._joints)

    def _reset_state(self) -> None:
        p, robot = self._p, self._robot
        p.restoreState(self._initial_state)  # also clears contact caches: same seed, same episode
        q0 = self._reset_task(self.np_random)
        for j, q in zip(self._joints, q0.tolist()):
            p.resetJointState(robot, j, q, 0.0)

    def _base_state(self) -> tuple[float, ...]:
        robot, cid = self._robot, self._cid
        (x, _, z), orn = _pb.getBasePositionAndOrientation(robot, physicsClientId=cid)
        lin, ang = _pb.getBaseVelocity(robot, physicsClientId=cid)
        return (x, z, *_pb.getMatrixFromQuaternion(orn), *lin, *ang)

    def _contact_forces(self) -> np.ndarray:
        forces, slots = self._forces, self._contact_slot
        forces.fill(0.0)
        points = _pb.getContactPoints(self._robot, self._floor, physicsClientId=self._cid)
        for point in points:
            forces[slots[point[3] + 1]] += point[9]
        return forces[:-1]
