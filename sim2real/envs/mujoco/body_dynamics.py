"""Dynamics parameters of a MuJoCo model's robot: the PyBullet ``BodyDynamics`` names, on MuJoCo fields.

:class:`MujocoBodyDynamics` offers the same parameter names, units and entity names as
:class:`sim2real.envs.body_dynamics.BodyDynamics`, so a domain file written for the PyBullet twin
applies unchanged, and writes them to the compiled ``mujoco.MjModel``:

=====================  =====================================================================
``mass_scale``         ``model.body_mass`` (x nominal, per body)
``inertia_scale``      ``model.body_inertia`` (principal inertia, x nominal, per body); MuJoCo
                       never recomputes inertia from mass, so the two are independent
``lateral_friction``   ``model.geom_friction[:, 0]`` of the body's geoms (sliding)
``spinning_friction``  ``model.geom_friction[:, 1]`` (torsional, m; acts only where a contact has
                       ``condim >= 4``: Gymnasium's models use ``condim=3``, so it has no effect)
``rolling_friction``   ``model.geom_friction[:, 2]`` (m; acts only with ``condim = 6``)
``joint_damping``      ``model.dof_damping`` of the joint's dof (N*m*s/rad)
``armature``           ``model.dof_armature`` (kg*m^2, kg for sliders; reflected rotor inertia)
=====================  =====================================================================

``restitution`` is not offered: MuJoCo's soft contacts have no coefficient of restitution (the
bounce follows from ``solref``), and a parameter that is silently ignored would make a domain
look applied when it is not; a domain that names it fails with the list of known parameters.

Friction: MuJoCo combines two geoms' friction by the element-wise maximum, so with the floor's
friction 1.0 a lower robot value would have no effect. :meth:`prepare_contacts` therefore folds
the floor's friction into the robot's geoms (geom = max(geom, floor), which leaves every
robot-floor contact exactly as the model had it), and :meth:`apply` keeps the floor's value at
or below every robot geom's (floor = min(nominal floor, lowest robot value)), so a body's
friction is its floor contacts' friction. Robot-robot contacts keep the maximum rule (in
Gymnasium's models they are frictionless, ``condim=1``, or filtered out). The nominal friction
reported per body is that effective value (its first geom's).

Mass and inertia changes do not call ``mj_setConst``: the constraint solver's ``invweight0``
scaling stays at the nominal model's (as in common MuJoCo randomization practice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim2real.envs.parameters import ParameterSpec

__all__ = ["MUJOCO_BODY_PARAMETERS", "MujocoBodyDynamics"]

#: Parameter names handled by :class:`MujocoBodyDynamics`.
MUJOCO_BODY_PARAMETERS = (
    "mass_scale",
    "inertia_scale",
    "lateral_friction",
    "spinning_friction",
    "rolling_friction",
    "joint_damping",
    "armature",
)
_FRICTION_AXIS = {"lateral_friction": 0, "spinning_friction": 1, "rolling_friction": 2}


class MujocoBodyDynamics:
    """Read nominal dynamics of some bodies and joints of ``model`` and apply parameter values.

    Args:
        model: the compiled ``mujoco.MjModel`` (changed in place).
        data: its ``mujoco.MjData`` (for pushes).
        bodies: body ids whose mass/inertia/friction are parameters, in entity order.
        link_names: one entity name per body (the PyBullet twin's link names).
        joints: joint ids whose damping/armature are parameters.
        joint_names: one entity name per joint.
    """

    def __init__(
        self,
        model: Any,
        data: Any,
        bodies: Sequence[int],
        link_names: Sequence[str],
        joints: Sequence[int],
        joint_names: Sequence[str],
    ) -> None:
        self.model, self.data = model, data
        self.links = list(bodies)
        self.link_names = tuple(link_names)
        self.joints = list(joints)
        self.joint_names = tuple(joint_names)
        self._dofs = [int(model.jnt_dofadr[j]) for j in self.joints]
        self._geoms = [np.flatnonzero(model.geom_bodyid == b) for b in self.links]
        self.nominal_mass = model.body_mass[self.links].copy()
        self.nominal_inertia = model.body_inertia[self.links].copy()
        self.nominal_joint_damping = model.dof_damping[self._dofs].copy()
        self.nominal_armature = model.dof_armature[self._dofs].copy()
        self._read_nominal_friction()
        self._floor: list[int] = []
        self.pushed = False

    def _read_nominal_friction(self) -> None:
        friction = self.model.geom_friction
        self.nominal_friction = np.array(
            [friction[g[0]] if len(g) else np.zeros(3) for g in self._geoms]
        )

    def prepare_contacts(self, floor_geoms: Sequence[int]) -> None:
        """Make the bodies' friction decide their contacts with ``floor_geoms``, nothing else
        changing (see the module docstring)."""
        m = self.model
        self._floor = list(floor_geoms)
        if not self._floor:
            return
        self._floor_nominal = m.geom_friction[self._floor].min(axis=0)
        floor_friction = m.geom_friction[self._floor].max(axis=0)
        for geoms in self._geoms:
            m.geom_friction[geoms] = np.maximum(m.geom_friction[geoms], floor_friction)
        self._read_nominal_friction()

    def specs(self) -> list[ParameterSpec]:
        """Parameter specs with nominal values read from the model."""
        links, joints = self.link_names, self.joint_names
        f = self.nominal_friction

        def scale(name: str, what: str) -> ParameterSpec:
            return ParameterSpec(
                name, np.ones(len(links)), 0.05, 20.0, "x nominal", what, links, is_scale=True
            )

        return [
            scale("mass_scale", "link mass multiplier (model.body_mass)"),
            scale("inertia_scale", "link inertia (principal) multiplier (model.body_inertia)"),
            ParameterSpec(
                "lateral_friction",
                f[:, 0],
                0.0,
                5.0,
                "",
                "sliding friction of the link's geoms (decides their floor contacts)",
                links,
            ),
            ParameterSpec(
                "spinning_friction",
                f[:, 1],
                0.0,
                1.0,
                "m",
                "torsional friction of the link's geoms (acts with condim >= 4)",
                links,
            ),
            ParameterSpec(
                "rolling_friction",
                f[:, 2],
                0.0,
                1.0,
                "m",
                "rolling friction of the link's geoms (acts with condim 6)",
                links,
            ),
            ParameterSpec(
                "joint_damping",
                self.nominal_joint_damping,
                0.0,
                50.0,
                "N*m*s/rad",
                "viscous joint damping (model.dof_damping)",
                joints,
            ),
            ParameterSpec(
                "armature",
                self.nominal_armature,
                0.0,
                10.0,
                "kg*m^2 (kg for sliders)",
                "joint armature, reflected rotor inertia (model.dof_armature)",
                joints,
            ),
        ]

    def apply(self, name: str, value: np.ndarray) -> None:
        """Write parameter ``name`` (one of :data:`MUJOCO_BODY_PARAMETERS`) to the model."""
        m = self.model
        if name == "mass_scale":
            m.body_mass[self.links] = self.nominal_mass * value
        elif name == "inertia_scale":
            m.body_inertia[self.links] = self.nominal_inertia * np.asarray(value)[:, None]
        elif name in _FRICTION_AXIS:
            axis = _FRICTION_AXIS[name]
            for geoms, v in zip(self._geoms, np.asarray(value).tolist()):
                m.geom_friction[geoms, axis] = v
            if self._floor:  # the floor never above any robot geom: max(geom, floor) = geom
                robot = np.concatenate(self._geoms)
                lowest = float(m.geom_friction[robot, axis].min()) if len(robot) else np.inf
                m.geom_friction[self._floor, axis] = min(self._floor_nominal[axis], lowest)
        elif name == "joint_damping":
            m.dof_damping[self._dofs] = value
        elif name == "armature":
            m.dof_armature[self._dofs] = value
        else:
            raise KeyError(name)

    def push(self, link: int, force: Sequence[float]) -> None:
        """Apply ``force`` (N, world frame) at the CoM of body ``link`` during the next step."""
        self.data.xfrc_applied[link, :3] = force
        self.pushed = True

    def clear_pushes(self) -> None:
        """Remove the forces of :meth:`push` (the env calls this after each step)."""
        if self.pushed:
            self.data.xfrc_applied[:] = 0.0
            self.pushed = False

    def read_back(self) -> dict[str, np.ndarray]:
        """Values as the MuJoCo model holds them now (for tests and ``info``)."""
        m = self.model
        mass = m.body_mass[self.links].copy()
        inertia = m.body_inertia[self.links].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.nominal_inertia > 0, inertia / self.nominal_inertia, np.nan)
        friction = np.array([m.geom_friction[g[0]] if len(g) else np.zeros(3) for g in self._geoms])
        return {
            "mass": mass,
            "mass_scale": np.where(self.nominal_mass > 0, mass / self.nominal_mass, 1.0),
            "inertia": inertia,
            "inertia_scale": np.array([np.nanmean(r) if np.any(r == r) else 1.0 for r in ratio]),
            "lateral_friction": friction[:, 0],
            "spinning_friction": friction[:, 1],
            "rolling_friction": friction[:, 2],
            "joint_damping": m.dof_damping[self._dofs].copy(),
            "armature": m.dof_armature[self._dofs].copy(),
        }
