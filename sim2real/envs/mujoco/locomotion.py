"""The walkers on Gymnasium's own MuJoCo models: ``hopper.xml``, ``half_cheetah.xml``, ``ant.xml``.

Same task as the PyBullet walkers (:mod:`sim2real.envs.walker_task`: observation names, scales
and clipping, reward terms in ``info``, health and termination rule), on the models
Gymnasium's ``Hopper-v5`` / ``HalfCheetah-v5`` / ``Ant-v5`` simulate, loaded from the installed
gymnasium package. What the bridge sets, programmatically on the compiled model:

* ``opt.timestep`` = 16.5 ms / n (n = 9 for the hopper, whose model step is 2 ms; n = 2 for the
  cheetah and the ant, 10 ms), so the control period equals the PyBullet twin's 16.5 ms;
* the hopper only: MuJoCo's default (semi-implicit) Euler integrator instead of the file's RK4.
  RK4 costs four model evaluations per substep: at 9 substeps it stepped at ~0.45x the PyBullet
  twin's rate (measured side by side, 2,160 vs 4,300-5,000 steps/s), Euler at ~1.2x;
* ``actuator_gear`` = the twin's max torque per joint (hopper 75, cheetah 108/81/54/126/54/27,
  ant 250 N*m) x ``motor_strength``: a control in [-1, 1] asks for the same torque in both
  engines (Gymnasium's gears are 200, 120/90/60/120/60/30 and 150);
* the robot's geoms get priority over the floor with the floor's friction/condim folded in
  (no change to any nominal contact; see :mod:`sim2real.envs.mujoco.body_dynamics`).

Torso readings: position and linear velocity of the torso body's centre of mass
(``xipos``, ``mj_objectVelocity``), attitude from the body frame (``xquat``) in PyBullet's
roll/pitch/yaw convention. Readings are taken after ``mj_forward`` on the new state, so
positions and contacts are those of the state the step ended in (as PyBullet's queries are).
Contact flags: a contact MuJoCo reports between the link's geoms and the floor (within the
geoms' margin). Initial state: the twin's rule (actuated joints uniform in +-0.1 rad, root at the
model's initial pose, zero velocity), not Gymnasium's reset noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import mujoco
import numpy as np

from sim2real.envs._quiet import quiet_c_output
from sim2real.envs.mujoco.base import MujocoRobotEnv, euler_from_quat
from sim2real.envs.mujoco.body_dynamics import MujocoBodyDynamics
from sim2real.envs.walker_task import AntTask, HalfCheetahTask, HopperTask, WalkerTask

__all__ = ["AntMujocoEnv", "HalfCheetahMujocoEnv", "HopperMujocoEnv", "MujocoWalkerEnv"]

_BODY, _GEOM = mujoco.mjtObj.mjOBJ_BODY, mujoco.mjtObj.mjOBJ_GEOM


class MujocoWalkerEnv(WalkerTask, MujocoRobotEnv):
    """Shared MuJoCo walker: Gymnasium's model, sim2real's walker task (listed first in bases).

    Subclasses set ``model_file``, ``physics_timestep``/``default_frame_skip`` (see the module
    docstring) and ``link_renames`` (MuJoCo body name -> the twin's link name, where they differ).
    """

    link_renames: ClassVar[dict[str, str]] = {}
    floor_geom: ClassVar[str] = "floor"

    def _load(self) -> MujocoBodyDynamics:
        m = self.model
        joints = list(self.motor_torques)
        ids, self._qadr, self._dadr = self._joint_addresses(joints)
        self._init_walker(m.jnt_range[ids, 0].copy(), m.jnt_range[ids, 1].copy())
        self._bind_actuators(joints, list(self.motor_torques.values()))
        self._torso = self._id(_BODY, self.torso_name)
        self._floor = self._id(_GEOM, self.floor_geom)
        bodies, names = self._robot_bodies(self.link_renames)
        self._contact_slot = {bodies[names.index(n)]: i for i, n in enumerate(self.contact_links)}
        self._vel6 = np.zeros(6)
        robot = MujocoBodyDynamics(m, self.data, bodies, names, ids, joints)
        robot.prepare_contacts([self._floor])
        return robot

    def _reset_state(self) -> None:
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self._qadr] = self.np_random.uniform(-0.1, 0.1, size=self._n_act)
        mujoco.mj_forward(m, d)
        self._start_episode()

    def _simulate(self) -> None:
        super()._simulate()
        mujoco.mj_forward(self.model, self.data)

    def _torso_pose(self) -> tuple[Sequence[float], Sequence[float], Sequence[float]]:
        d, t = self.data, self._torso
        mujoco.mj_objectVelocity(self.model, d, _BODY, t, self._vel6, 0)
        w, x, y, z = d.xquat[t].tolist()
        return d.xipos[t].tolist(), euler_from_quat(w, x, y, z), self._vel6[3:].tolist()

    def _joint_states(self) -> Sequence[Sequence[float]]:
        d = self.data
        return list(zip(d.qpos[self._qadr].tolist(), d.qvel[self._dadr].tolist()))

    def _floor_contacts(self) -> list[float]:
        contacts = [0.0] * len(self.contact_links)
        n = self.data.ncon
        if n:
            c, body_of, floor, slot = self.data.contact, self.model.geom_bodyid, self._floor, None
            slot = self._contact_slot
            for g1, g2 in zip(c.geom1[:n].tolist(), c.geom2[:n].tolist()):
                other = g2 if g1 == floor else g1 if g2 == floor else -1
                i = slot.get(int(body_of[other])) if other >= 0 else None
                if i is not None:
                    contacts[i] = 1.0
        return contacts


class HopperMujocoEnv(HopperTask, MujocoWalkerEnv):
    """Hopper on Gymnasium's ``hopper.xml`` (task: :class:`~sim2real.envs.walker_task.HopperTask`)."""

    model_file: ClassVar[str] = "hopper.xml"
    physics_timestep: ClassVar[float] = 0.0165 / 9
    default_frame_skip: ClassVar[int] = 9
    integrator: ClassVar[str | None] = "EULER"
    model_differences: ClassVar[tuple[str, ...]] = (
        "joint armature 1 and damping 1 on thigh/leg/foot (PyBullet twin: 0 and 0)",
        "friction: torso/thigh/leg 1.0 (floor's), foot 2.0 (twin: 0.8 x floor 0.8, product)",
        "MuJoCo soft contacts (solref 0.02 1, solimp 0.8 0.8 0.01), no restitution "
        "(twin: floor restitution 0.5, contact ERP 0.9)",
        "Euler integrator (file: RK4), 9 substeps of 1.83 ms "
        "(twin: 4 substeps of 4.125 ms, 5 solver iterations)",
        "gravity 9.8 m/s^2 as the twin (Gymnasium: 9.81)",
    )


class HalfCheetahMujocoEnv(HalfCheetahTask, MujocoWalkerEnv):
    """Cheetah on Gymnasium's ``half_cheetah.xml`` (task: ``walker_task.HalfCheetahTask``)."""

    model_file: ClassVar[str] = "half_cheetah.xml"
    physics_timestep: ClassVar[float] = 0.0165 / 2
    default_frame_skip: ClassVar[int] = 2
    model_differences: ClassVar[tuple[str, ...]] = (
        "joint stiffness 240/180/120/180/120/60 N*m/rad, damping 6/4.5/3/4.5/3/1.5, armature 0.1 "
        "(PyBullet twin: none)",
        "total mass 14 kg (settotalmass), friction 0.4 (floor 1.0: contacts use 1.0)",
        "MuJoCo soft contacts, no restitution; Euler integrator, 2 substeps of 8.25 ms "
        "(twin: 4 of 4.125 ms)",
    )

    def _build_model(self) -> mujoco.MjModel:
        # the file's settotalmass="14" compiles as before, but MuJoCo >= 3.3 prints a C-level
        # deprecation warning for it on every env made (into CLI and --json output)
        with quiet_c_output():
            return super()._build_model()


class AntMujocoEnv(AntTask, MujocoWalkerEnv):
    """Ant on Gymnasium's ``ant.xml`` (task: :class:`~sim2real.envs.walker_task.AntTask`).

    Entities: Gymnasium's ``back_leg`` is the twin's ``left_back_leg``; its unnamed lower legs are
    the twin's ``front_left_foot``, ``front_right_foot``, ``left_back_foot``, ``right_back_foot``.
    """

    model_file: ClassVar[str] = "ant.xml"
    physics_timestep: ClassVar[float] = 0.0165 / 2
    default_frame_skip: ClassVar[int] = 2
    link_renames: ClassVar[dict[str, str]] = {
        "back_leg": "left_back_leg",
        "aux_1/": "front_left_foot",
        "aux_2/": "front_right_foot",
        "aux_3/": "left_back_foot",
        "aux_4/": "right_back_foot",
    }
    model_differences: ClassVar[tuple[str, ...]] = (
        "joint armature 1 and damping 1 (PyBullet twin: 0 and 0)",
        "joint ranges: hips +-30 deg, ankles 30-70 deg (twin: +-40, 30-100)",
        "density 5 (total mass ~0.9 kg), friction 1 / 0.5 / 0.5, contact margin 0.01",
        "MuJoCo soft contacts, no restitution; RK4, 2 substeps of 8.25 ms (twin: 4 of 4.125 ms)",
    )
