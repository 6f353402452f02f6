"""Dynamics parameters of one PyBullet multibody: masses, inertias, friction, restitution, damping.

:class:`BodyDynamics` reads the nominal values from the loaded model (``getDynamicsInfo`` /
``getJointInfo``) and writes changed values back with ``changeDynamics``. Mass and inertia are
independent parameters: ``changeDynamics(mass=...)`` alone makes PyBullet recompute the link
inertia from its collision shape, so a mass change always rewrites the inertia
(``nominal inertia x inertia_scale``) in the same call, and either parameter may be applied
first with the same result. It knows nothing about
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
        ]

    def apply(self, name: str, value: np.ndarray) -> None:
        """Write parameter ``name`` (one of :data:`BODY_PARAMETERS`) to the physics."""
        change = self.client.changeDynamics
        body = self.body_id
        if name == "mass_scale":
            inertias = self.nominal_inertia * self._inertia_scale[:, None]
            for link, m, inertia in zip(self.links, self.nominal_mass * value, inertias):
                change(body, link, mass=float(m), localInertiaDiagonal=inertia.tolist())
        elif name == "inertia_scale":
            self._inertia_scale = np.array(value, dtype=np.float64)
            for link, inertia, s in zip(self.links, self.nominal_inertia, value):
                change(body, link, localInertiaDiagonal=(inertia * s).tolist())
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
        }
