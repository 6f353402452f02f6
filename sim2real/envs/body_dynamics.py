"""Dynamics parameters of one PyBullet multibody: masses, inertias, friction, restitution, damping.

:class:`BodyDynamics` reads the nominal values from the loaded model (``getDynamicsInfo`` /
``getJointInfo``) and writes changed values back with ``changeDynamics``. Mass and inertia are
independent parameters: ``changeDynamics(mass=...)`` alone makes PyBullet recompute the link
inertia from its collision shape, so a mass change always rewrites the inertia
(``nominal inertia x inertia_scale``) in the same call, and either parameter may be applied
first with the same result. ``armature`` (reflected rotor inertia, kg*m^2, the MuJoCo twins'
native parameter) has no PyBullet counterpart and is emulated: a revolute joint's armature is
added to the inertia diagonal of the link it drives about the joint axis (expressed in that
link's inertial frame), a slider's to the link's mass; approximate where the link's parent
rotates or the axis is not principal (docs/actuators.md). It knows nothing about
the env around it, so it serves our own robots and third-party PyBullet envs alike (see
``sim2real.randomization.adapters``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim2real.envs.parameters import ParameterSpec

__all__ = ["BODY_PARAMETERS", "BodyDynamics"]

#: Parameter names handled by :class:`BodyDynamics`.
BODY_PARAMETERS = (
    "mass_scale",
    "inertia_scale",
    "lateral_friction",
    "spinning_friction",
    "rolling_friction",
    "restitution",
    "joint_damping",
    "armature",
)


class BodyDynamics:
    """Read nominal dynamics of ``body_id`` and apply parameter values to it.

    Args:
        client: a ``pybullet_utils.bullet_client.BulletClient`` (or the ``pybullet`` module).
        body_id: the multibody's unique id.
        links: link indices whose mass/inertia/contact properties are parameters (``-1`` is the
            base). Default: the base and every link.
        joints: joint indices whose damping is a parameter. Default: every non-fixed joint.
        link_names / joint_names: entity names; default read from the model.
    """

    def __init__(
        self,
        client: Any,
        body_id: int,
        links: Sequence[int] | None = None,
        joints: Sequence[int] | None = None,
        link_names: Sequence[str] | None = None,
        joint_names: Sequence[str] | None = None,
    ) -> None:
        self.client = client
        self.body_id = body_id
        n_joints = client.getNumJoints(body_id)
        infos = [client.getJointInfo(body_id, j) for j in range(n_joints)]
        if links is None:  # every link with mass (massless MJCF helper links carry nothing)
            candidates = [-1, *range(n_joints)]
            links = [i for i in candidates if client.getDynamicsInfo(body_id, i)[0] > 0]
            links = links or candidates
        if joints is None:
            joints = [j for j, info in enumerate(infos) if info[2] != client.JOINT_FIXED]
        self.links = list(links)
        self.joints = list(joints)

        def _link_name(link: int) -> str:
            if link == -1:
                return client.getBodyInfo(body_id)[0].decode() or "base"
            return infos[link][12].decode()

        self.link_names = tuple(link_names or [_link_name(i) for i in self.links])
        self.joint_names = tuple(joint_names or [infos[j][1].decode() for j in self.joints])
        dyn = [client.getDynamicsInfo(body_id, link) for link in self.links]
        self.nominal_mass = np.array([d[0] for d in dyn])
        self.nominal_inertia = np.array([d[2] for d in dyn], dtype=np.float64)
        self.nominal_lateral_friction = np.array([d[1] for d in dyn])
        self.nominal_restitution = np.array([d[5] for d in dyn])
        self.nominal_rolling_friction = np.array([d[6] for d in dyn])
        self.nominal_spinning_friction = np.array([d[7] for d in dyn])
        self.nominal_joint_damping = np.array([infos[j][6] for j in self.joints])
        # joint damping is a property of the child link of the joint in changeDynamics;
        # getJointInfo keeps reporting the model's value, so the applied one is tracked here
        self._damping_link = list(self.joints)
        self.applied_joint_damping = self.nominal_joint_damping.copy()
        # the inertia scale in force, rewritten with every mass change (see the module docstring)
        self._inertia_scale = np.ones(len(self.links))
        self._init_armature(infos)

    def _init_armature(self, infos: Sequence[Any]) -> None:
        """Where each joint's armature goes: the inertia diagonal of the first link with a mass
        parameter rigidly attached to the joint's child (the child itself, or in PyBullet's MJCF
        import the link behind its massless joint link), about the joint axis (module docstring)."""
        fixed_children: dict[int, list[int]] = {}
        for j, info in enumerate(infos):
            if info[2] == self.client.JOINT_FIXED:
                fixed_children.setdefault(int(info[16]), []).append(j)
        position = {link: i for i, link in enumerate(self.links)}
        self._armature_link: list[int] = []
        axes = []
        for j in self.joints:
            link = j
            while link not in position and len(fixed_children.get(link, [])) == 1:
                link = fixed_children[link][0]
            self._armature_link.append(position.get(link, -1))
            if infos[j][2] == self.client.JOINT_REVOLUTE:
                axes.append(self._axis_in_inertial_frame(j, link, infos[j][13]) ** 2)
            else:  # a slider's armature is a mass (kg)
                axes.append(np.full(3, np.nan))
        # row k: diag(n n^T), n = joint k's unit axis in the target link's inertial frame;
        # NaN for a slider, whose armature goes into the link's mass
        self._armature_axes = np.array(axes).reshape(len(self.joints), 3)
        self.nominal_armature = np.zeros(len(self.joints))
        self.applied_armature = self.nominal_armature.copy()
        # inertia and mass added to each parameter link by the armature of the joints driving it
        self._added_inertia = np.zeros((len(self.links), 3))
        self._added_mass = np.zeros(len(self.links))
        self._mass_scale = np.ones(len(self.links))

    def _axis_in_inertial_frame(self, joint: int, link: int, axis: Sequence[float]) -> np.ndarray:
        """Unit axis of ``joint`` (given in its link frame) in the inertial frame of ``link``."""
        p, body = self.client, self.body_id
        axis_local = np.array(axis, dtype=np.float64)
        norm = float(np.linalg.norm(axis_local))
        if norm == 0 or link < 0:
            return np.zeros(3)
        frame = p.getLinkState(body, joint, computeForwardKinematics=1)[5]
        inertial = p.getLinkState(body, link, computeForwardKinematics=1)[1]
        to_world = np.array(p.getMatrixFromQuaternion(frame)).reshape(3, 3)
        from_world = np.array(p.getMatrixFromQuaternion(inertial)).reshape(3, 3).T
        return from_world @ to_world @ (axis_local / norm)

    def _inertia(self) -> np.ndarray:
        """Inertia diagonal to write per link: nominal x inertia scale + armature (if any)."""
        return self.nominal_inertia * self._inertia_scale[:, None] + self._added_inertia

    def _mass(self) -> np.ndarray:
        """Mass to write per link: nominal x mass scale + sliders' armature (if any)."""
        return self.nominal_mass * self._mass_scale + self._added_mass

    def specs(self) -> list[ParameterSpec]:
        """Parameter specs with nominal values read from the model."""
        links, joints = self.link_names, self.joint_names
        return [
            ParameterSpec(
                "mass_scale",
                np.ones(len(links)),
                0.05,
                20.0,
                "x nominal",
                "link mass multiplier",
                links,
                is_scale=True,
            ),
            ParameterSpec(
                "inertia_scale",
                np.ones(len(links)),
                0.05,
                20.0,
                "x nominal",
                "link inertia (diagonal) multiplier",
                links,
                is_scale=True,
            ),
            ParameterSpec(
                "lateral_friction",
                self.nominal_lateral_friction,
                0.0,
                5.0,
                "",
                "Coulomb friction coefficient of the link's contacts",
                links,
            ),
            ParameterSpec(
                "spinning_friction",
                self.nominal_spinning_friction,
                0.0,
                1.0,
                "m",
                "torsional friction around the contact normal",
                links,
            ),
            ParameterSpec(
                "rolling_friction",
                self.nominal_rolling_friction,
                0.0,
                1.0,
                "m",
                "rolling resistance of the link's contacts",
                links,
            ),
            ParameterSpec(
                "restitution",
                self.nominal_restitution,
                0.0,
                1.0,
                "",
                "coefficient of restitution (bounciness)",
                links,
            ),
            ParameterSpec(
                "joint_damping",
                self.nominal_joint_damping,
                0.0,
                50.0,
                "N*m*s/rad",
                "viscous joint damping",
                joints,
            ),
            ParameterSpec(
                "armature",
                self.nominal_armature,
                0.0,
                10.0,
                "kg*m^2 (kg for sliders)",
                "joint armature, reflected rotor inertia (PyBullet: added to the driven link's "
                "inertia about the joint axis, or mass for a slider; approximate: "
                "docs/actuators.md)",
                joints,
            ),
        ]

    def apply(self, name: str, value: np.ndarray) -> None:
        """Write parameter ``name`` (one of :data:`BODY_PARAMETERS`) to the physics."""
        change = self.client.changeDynamics
        body = self.body_id
        if name == "mass_scale":
            self._mass_scale = np.array(value, dtype=np.float64)
            for link, m, inertia in zip(self.links, self._mass(), self._inertia()):
                change(body, link, mass=float(m), localInertiaDiagonal=inertia.tolist())
        elif name == "inertia_scale":
            self._inertia_scale = np.array(value, dtype=np.float64)
            for link, inertia in zip(self.links, self._inertia()):
                change(body, link, localInertiaDiagonal=inertia.tolist())
        elif name == "armature":
            self._apply_armature(np.asarray(value, dtype=np.float64))
        elif name == "lateral_friction":
            for link, v in zip(self.links, value):
                change(body, link, lateralFriction=float(v))
        elif name == "spinning_friction":
            for link, v in zip(self.links, value):
                change(body, link, spinningFriction=float(v))
        elif name == "rolling_friction":
            for link, v in zip(self.links, value):
                change(body, link, rollingFriction=float(v))
        elif name == "restitution":
            for link, v in zip(self.links, value):
                change(body, link, restitution=float(v))
        elif name == "joint_damping":
            for link, v in zip(self._damping_link, value):
                change(body, link, jointDamping=float(v))
            self.applied_joint_damping = np.array(value, dtype=np.float64)
        else:
            raise KeyError(name)

    def _apply_armature(self, value: np.ndarray) -> None:
        if not (np.any(value) or np.any(self.applied_armature)):
            return  # nominal and unchanged: the links stay exactly as loaded
        inertia, mass = np.zeros_like(self._added_inertia), np.zeros_like(self._added_mass)
        for name, k, a, axis in zip(
            self.joint_names, self._armature_link, value, self._armature_axes
        ):
            if a and k < 0:
                raise ValueError(f"armature: joint {name!r} drives no link with a mass parameter")
            if np.isnan(axis[0]):
                mass[k] += a
            else:
                inertia[k] += a * axis
        changed = np.flatnonzero(
            np.any(inertia != self._added_inertia, axis=1) | (mass != self._added_mass)
        ).tolist()
        self._added_inertia, self._added_mass = inertia, mass
        self.applied_armature = value.copy()
        masses, inertias = self._mass(), self._inertia()
        for k in changed:
            self.client.changeDynamics(
                self.body_id,
                self.links[k],
                mass=float(masses[k]),
                localInertiaDiagonal=inertias[k].tolist(),
            )

    def push(self, link: int, force: Sequence[float]) -> None:
        """Apply ``force`` (N, world frame) at the CoM of ``link`` during the next step."""
        p, body = self.client, self.body_id
        pos = (
            p.getBasePositionAndOrientation(body)[0]
            if link == -1
            else p.getLinkState(body, link)[0]
        )
        p.applyExternalForce(body, link, list(force), pos, p.WORLD_FRAME)

    def read_back(self) -> dict[str, np.ndarray]:
        """Values as the physics reports them now (for tests and ``info``)."""
        dyn = [self.client.getDynamicsInfo(self.body_id, link) for link in self.links]
        mass = np.array([d[0] for d in dyn])
        inertia = np.array([d[2] for d in dyn], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mass_scale = np.where(self.nominal_mass > 0, mass / self.nominal_mass, 1.0)
            ratio = np.where(self.nominal_inertia > 0, inertia / self.nominal_inertia, np.nan)
        return {
            "mass": mass,
            "mass_scale": mass_scale,
            "inertia": inertia,
            # mean over the diagonal entries with a nonzero nominal value
            "inertia_scale": np.array([np.nanmean(r) if np.any(r == r) else 1.0 for r in ratio]),
            "lateral_friction": np.array([d[1] for d in dyn]),
            "restitution": np.array([d[5] for d in dyn]),
            "rolling_friction": np.array([d[6] for d in dyn]),
            "spinning_friction": np.array([d[7] for d in dyn]),
            # PyBullet has no getter for applied damping: this is the value last written
            "joint_damping": self.applied_joint_damping.copy(),
            # the armature as applied (the link inertia above includes it)
            "armature": self.applied_armature.copy(),
        }
