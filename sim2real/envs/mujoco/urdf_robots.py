"""The A1 quadruped and the KUKA iiwa arm in MuJoCo: the twins' URDFs, tasks and PD semantics.

``quadruped@mujoco`` and ``manipulator@mujoco`` load the same ``pybullet_data`` URDFs as
:class:`~sim2real.envs.quadruped.A1Env` and :class:`~sim2real.envs.manipulator.KukaReachEnv`
(compiled by :mod:`sim2real.envs.mujoco.urdf`), and share their task code
(:class:`~sim2real.envs.quadruped.A1Task`, :class:`~sim2real.envs.manipulator.KukaReachTask`):
the same observation names and scales, action scaling, ``info`` reward terms and termination.
The joints follow PyBullet's PD motor law, computed per substep
(:mod:`sim2real.envs.mujoco.pd`), with the twins' dimensionless gains (``kp_scale`` /
``kd_scale`` parameters), torque limits (times ``motor_strength``), physics timestep (1/240 s)
and frame skip. What differs is the engine: MuJoCo's soft contacts, its solver and integrator,
and the link inertias, which MuJoCo takes from the URDF while PyBullet's ``loadURDF``
recomputes them from the collision shapes (``inertia = "pybullet"`` on a subclass copies
PyBullet's, for parity checks).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import mujoco
import numpy as np

from sim2real.envs.manipulator import KukaReachTask
from sim2real.envs.mujoco.base import MujocoRobotEnv
from sim2real.envs.mujoco.body_dynamics import MujocoBodyDynamics
from sim2real.envs.mujoco.pd import MujocoJointPD
from sim2real.envs.mujoco.urdf import UrdfModel, new_model
from sim2real.envs.pd_robot import PDControlled
from sim2real.envs.quadruped import CONTACT_LINKS, A1Task

__all__ = ["A1MujocoEnv", "KukaReachMujocoEnv", "UrdfMujocoEnv"]


_PD_DIFFERENCE = (
    "PD: PyBullet's motor law per substep (pd.py), with one correction for the contact forces "
    "where PyBullet's solver iterates motor and contact rows together"
)
_ENGINE_DIFFERENCE = (
    "engine: MuJoCo Euler (joint damping explicit, as PyBullet), Newton solver, pyramidal "
    "cone, soft contacts (default solref/solimp); PyBullet: rigid contacts, PGS"
)


class UrdfMujocoEnv(PDControlled, MujocoRobotEnv):
    """A MuJoCo env of a ``pybullet_data`` URDF robot under PyBullet's PD motor law.

    Subclasses set :meth:`_urdf_model` and the task hooks; ``_load`` calls :meth:`_load_robot`.
    """

    #: Link inertias: ``"urdf"`` (MuJoCo's reading of the URDF) or ``"pybullet"`` (the twin's).
    inertia: ClassVar[Literal["urdf", "pybullet"]] = "urdf"
    #: Contact corrections of the PD torques per substep (``MujocoJointPD``; 0: free-space law).
    #: One brings the A1's standing height within 7 mm of PyBullet's (2 cm without) and still
    #: steps faster than the PyBullet twin; the fixed-base arm has no contacts to correct for.
    contact_iterations: ClassVar[int] = 1
    _pd: MujocoJointPD

    @classmethod
    def _urdf_model(cls) -> UrdfModel:
        raise NotImplementedError

    def _build_model(self) -> Any:
        return new_model(self._urdf_model())  # a copy of the model compiled once per process

    def _load_robot(self, kp: float | np.ndarray, kd: float | np.ndarray) -> MujocoBodyDynamics:
        """Create the PD motors; return the body dynamics of every link with mass.

        The robot's geoms already decide their floor contacts (``urdf`` gives them priority
        and the twin's friction), so ``prepare_contacts`` is not called.
        """
        m, joints = self.model, self.action_names
        ids, self._qadr, self._dadr = self._joint_addresses(joints)
        self._joint_ids = ids
        limits = m.actuator_forcerange[:, 1].copy()
        self._pd = MujocoJointPD(
            m, self.data, joints, kp, kd, limits, contact_iterations=self.contact_iterations
        )
        bodies, names = self._robot_bodies({})
        return MujocoBodyDynamics(m, self.data, bodies, names, ids, joints)

    def _advance(self) -> None:
        # the motor law needs each substep's mass matrix: mj_step1 / law / mj_step2 (pd.py)
        self._pd.step(self._frame_skip)

    def _simulate(self) -> None:
        super()._simulate()
        mujoco.mj_kinematics(self.model, self.data)  # link frames of the new state

    def _reset_joints(self, q0: np.ndarray) -> None:
        """Reset the model to its initial state with the actuated joints at ``q0``, at rest."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._qadr] = q0
        mujoco.mj_forward(self.model, self.data)


class A1MujocoEnv(A1Task, UrdfMujocoEnv):
    """The A1 walking task (:class:`~sim2real.envs.quadruped.A1Task`) in MuJoCo."""

    model_differences: ClassVar[tuple[str, ...]] = (
        "model: the same a1/a1.urdf; timestep 1/240 s, frame skip 4, torque limits 20/55/55 N*m",
        "inertia: the URDF's tensors; PyBullet recomputes them from collision bounding boxes "
        "(MuJoCo/PyBullet: trunk 0.8-1.7x, thighs 1.5-7.9x, calves 2.9-5.3x)",
        "friction: 0.5 on the robot geoms, which decide (floor 0), as PyBullet's link 0.5 x "
        "plane 1.0; no restitution",
        _PD_DIFFERENCE + ": the standing trunk holds 0.303 m (PyBullet 0.310 m)",
        _ENGINE_DIFFERENCE,
    )

    @classmethod
    def _urdf_model(cls) -> UrdfModel:
        return UrdfModel(
            cls.model_file,
            cls.action_names,
            None,  # the URDF's effort limits, as the twin reads them
            cls.physics_timestep,
            floating_base=True,
            floor=True,
            base_height=cls.initial_height,
            inertia=cls.inertia,
        )

    def _load(self) -> MujocoBodyDynamics:
        dynamics = self._load_robot(self.nominal_kp, self.nominal_kd)
        m = self.model
        self._trunk = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "trunk")
        # slot of each geom's body in CONTACT_LINKS, or len(CONTACT_LINKS); -1 marks the floor
        body_slot = np.full(m.nbody, len(CONTACT_LINKS))
        for slot, name in enumerate(CONTACT_LINKS):
            body_slot[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name)] = slot
        self._geom_slot = body_slot[m.geom_bodyid]
        self._geom_slot[m.geom_bodyid == 0] = -1
        self._forces = np.zeros(len(CONTACT_LINKS) + 1)
        self._wrench = np.zeros(6)
        self._init_task()
        return dynamics

    def _reset_state(self) -> None:
        self._reset_joints(self._reset_task(self.np_random))

    def _base_state(self) -> tuple[float, ...]:
        # PyBullet's base pose and velocity are those of the trunk's centre of mass
        d, b = self.data, self._trunk
        rot = d.xmat[b].tolist()
        r0, r1, r2, r3, r4, r5, r6, r7, r8 = rot
        ox, oy, oz = (d.xipos[b] - d.xpos[b]).tolist()
        vx, vy, vz, lx, ly, lz = d.qvel[:6].tolist()  # origin velocity (world), spin (trunk)
        wx, wy, wz = (
            r0 * lx + r1 * ly + r2 * lz,
            r3 * lx + r4 * ly + r5 * lz,
            r6 * lx + r7 * ly + r8 * lz,
        )
        vx, vy, vz = vx + wy * oz - wz * oy, vy + wz * ox - wx * oz, vz + wx * oy - wy * ox
        x, _, z = d.xipos[b].tolist()
        return (x, z, *rot, vx, vy, vz, wx, wy, wz)

    def _contact_forces(self) -> np.ndarray:
        m, d, forces, slots = self.model, self.data, self._forces, self._geom_slot
        forces.fill(0.0)
        for i in range(d.ncon):
            contact = d.contact[i]
            a, b = slots[contact.geom1], slots[contact.geom2]
            if a == -1 or b == -1:  # a robot-floor contact
                mujoco.mj_contactForce(m, d, i, self._wrench)
                forces[b if a == -1 else a] += self._wrench[0]
        return forces[:-1]

    def _camera_distance(self) -> float:
        return 1.2


class KukaReachMujocoEnv(KukaReachTask, UrdfMujocoEnv):
    """The KUKA reaching task (:class:`~sim2real.envs.manipulator.KukaReachTask`) in MuJoCo."""

    model_differences: ClassVar[tuple[str, ...]] = (
        "model: the same kuka_iiwa/model.urdf, fixed base, no contacts (as PyBullet without "
        "self-collision); timestep 1/240 s, frame skip 6; joint damping 0.1 (the twin's)",
        "inertia: the URDF's tensors; PyBullet recomputes them from collision bounding boxes "
        "(MuJoCo/PyBullet 0.6-2.7x per axis)",
        "PD: PyBullet's motor law per substep (pd.py), exact here (no contacts)",
        _ENGINE_DIFFERENCE,
    )

    @classmethod
    def _urdf_model(cls) -> UrdfModel:
        return UrdfModel(
            cls.model_file,
            cls.action_names,
            cls.max_torques,
            cls.physics_timestep,
            joint_damping=cls.joint_damping,
            inertia=cls.inertia,
            collide=False,  # a lone fixed arm without self-collision touches nothing
        )

    def _load(self) -> MujocoBodyDynamics:
        dynamics = self._load_robot(self.nominal_kp, np.array(self.nominal_kd))
        self._ee = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "lbr_iiwa_link_7")
        ranges = self.model.jnt_range[self._joint_ids]
        self._init_task(ranges[:, 0].copy(), ranges[:, 1].copy())
        return dynamics

    def _reset_state(self) -> None:
        self._reset_joints(self._reset_task(self.np_random))

    def _ee_position(self) -> tuple[float, float, float]:
        x, y, z = self.data.xpos[self._ee].tolist()
        return x, y, z

    def _camera_distance(self) -> float:
        return 1.8
