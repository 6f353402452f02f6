"""URDF robots of ``pybullet_data`` compiled into MuJoCo models (the A1 and KUKA iiwa targets).

MuJoCo reads the same URDF file as the PyBullet twin (its URDF importer, through
:class:`mujoco.MjSpec`), with a ``<mujoco><compiler .../></mujoco>`` block that points it at the
URDF's meshes (``.obj`` visuals, ``.obj``/``.stl`` collision meshes, both of which MuJoCo reads)
and keeps fixed-joint links as their own bodies (``fusestatic="false"``), so links correspond one
to one with PyBullet's. The spec then gets what a URDF cannot carry:

* a floor plane (``floor=True``) and a free joint on the root link (``floating_base=True``);
  otherwise the root link is welded to the world, as ``useFixedBase=True`` does;
* contacts as in PyBullet's ``loadURDF`` without ``URDF_USE_SELF_COLLISION``: robot geoms touch
  the floor, never each other (``contype``/``conaffinity`` bits), or nothing (``collide=False``);
* one ``motor`` actuator (gear 1, torque = control) per actuated joint, its ``forcerange`` the
  torque limit; :mod:`sim2real.envs.mujoco.pd` computes the PD torque of every substep;
* the physics timestep of the twin, and the twin's nominal friction and joint damping: every
  robot geom has ``priority=1`` (and the floor friction 0), so a contact's friction is the robot
  link's own coefficient, which equals PyBullet's product of link (0.5) and ``plane.urdf`` (1.0)
  frictions, and the ``lateral_friction`` parameter acts on it directly.

Inertia: MuJoCo takes the URDF's ``<inertial>`` tensors (``inertia="urdf"``, the default: the
model as MuJoCo users load it). PyBullet's ``loadURDF`` without ``URDF_USE_INERTIA_FROM_FILE``,
as the twins load it, ignores them and uses the inertia of the collision shapes' bounding box
(masses and centres of mass are the URDF's in both). ``inertia="pybullet"`` copies PyBullet's
diagonal instead, for parity checks; :func:`inertia_report` lists the differences.

Compiling takes ~0.2 s, so each :class:`UrdfModel` is compiled once per process
(:func:`compiled_model`) and every env gets its own copy (:func:`new_model`), whose fields the
dynamics parameters then change.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from dataclasses import dataclass
from typing import Literal

import mujoco
import numpy as np

from sim2real.envs.base import pybullet, pybullet_data  # imported quietly there

__all__ = ["UrdfModel", "compiled_model", "inertia_report", "new_model", "pybullet_links"]

#: ``contype``/``conaffinity`` bits: robot geoms (2/1) collide with the floor (1/2), not each other.
_ROBOT_BITS = (2, 1)
_FLOOR_BITS = (1, 2)


@dataclass(frozen=True)
class UrdfModel:
    """How one ``pybullet_data`` URDF becomes a MuJoCo model (hashable: the compile-cache key).

    Attributes:
        urdf: path inside ``pybullet_data`` (``a1/a1.urdf``).
        joints: actuated joint names, in action order (one motor actuator each).
        max_torque: torque limit per actuated joint (N*m), the actuators' ``forcerange``; None
            takes the URDF's ``effort`` limits (as PyBullet's ``getJointInfo`` reports them).
        timestep: physics substep (s), the twin's ``physics_timestep``.
        floating_base: give the root link a free joint (else it is fixed to the world).
        floor: add a ground plane at z = 0 (friction 0: the robot's geoms decide).
        base_height: initial height of the root link (m), its ``qpos0``.
        friction: sliding friction of every robot geom (PyBullet's default link friction 0.5).
        joint_damping: damping of the actuated joints (N*m*s/rad); None keeps the URDF's.
        inertia: ``"urdf"`` (the URDF's tensors) or ``"pybullet"`` (what PyBullet uses).
        collide: robot-floor contacts (False: no contacts at all, as a lone fixed arm in PyBullet).
    """

    urdf: str
    joints: tuple[str, ...]
    max_torque: tuple[float, ...] | None
    timestep: float
    floating_base: bool = False
    floor: bool = False
    base_height: float = 0.0
    friction: float = 0.5
    joint_damping: float | None = None
    inertia: Literal["urdf", "pybullet"] = "urdf"
    collide: bool = True


def _urdf_spec(urdf: str) -> mujoco.MjSpec:
    path = os.path.join(pybullet_data.getDataPath(), urdf)
    with open(path, encoding="utf-8") as f:
        xml = f.read()
    block = (
        f'<mujoco><compiler meshdir="{os.path.dirname(path)}" balanceinertia="true" '
        'discardvisual="false" fusestatic="false"/></mujoco>'
    )
    xml, n = re.subn(r"(<robot\b[^>]*>)", lambda m: m.group(1) + block, xml, count=1)
    if n != 1:
        raise ValueError(f"{urdf}: no <robot> element")
    return mujoco.MjSpec.from_string(xml)


def _root_body(spec: mujoco.MjSpec) -> mujoco.MjsBody:
    root = spec.worldbody.first_body()
    if root is None:
        raise ValueError("the URDF has no links")
    return root


def _set_contacts(spec: mujoco.MjSpec, build: UrdfModel) -> None:
    for geom in spec.geoms:
        geom.friction = [build.friction, 0.0, 0.0]  # visual geoms too: a link reads as one value
        if geom.contype == 0 and geom.conaffinity == 0:
            continue  # a visual geom
        geom.contype, geom.conaffinity = _ROBOT_BITS if build.collide else (0, 0)
        geom.priority = 1
        geom.condim = 3


def _add_floor(spec: mujoco.MjSpec) -> None:
    floor = spec.worldbody.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0.0, 0.0, 0.05]
    )
    floor.contype, floor.conaffinity = _FLOOR_BITS
    floor.friction = [0.0, 0.0, 0.0]  # the robot's friction decides, with priority or without
    floor.rgba = [0.8, 0.8, 0.8, 1.0]


def _add_motors(spec: mujoco.MjSpec, build: UrdfModel) -> None:
    limits = build.max_torque or (None,) * len(build.joints)
    if len(limits) != len(build.joints):
        raise ValueError("max_torque needs one value per joint")
    for name, limit in zip(build.joints, limits):
        joint = spec.joint(name)
        if joint is None:
            raise ValueError(f"{build.urdf} has no joint {name!r}")
        if build.joint_damping is not None:
            joint.damping = [build.joint_damping, 0.0, 0.0]  # linear term only
        if limit is None:
            limit = float(joint.actfrcrange[1])  # the URDF's effort
        # the limit lives in the actuator alone, so motor_strength may raise it
        joint.actfrclimited = mujoco.mjtLimited.mjLIMITED_FALSE
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_motor()
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-limit, limit]


@functools.cache
def pybullet_links(urdf: str, fixed_base: bool) -> dict[str, tuple[float, tuple[float, ...]]]:
    """``{link name: (mass, local inertia diagonal)}`` as PyBullet's ``loadURDF`` reads them."""
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        pybullet.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
        body = pybullet.loadURDF(urdf, useFixedBase=fixed_base, physicsClientId=cid)
        out = {}
        for link in range(-1, pybullet.getNumJoints(body, physicsClientId=cid)):
            if link == -1:
                name = pybullet.getBodyInfo(body, physicsClientId=cid)[0].decode()
            else:
                name = pybullet.getJointInfo(body, link, physicsClientId=cid)[12].decode()
            info = pybullet.getDynamicsInfo(body, link, physicsClientId=cid)
            out[name] = (float(info[0]), tuple(float(v) for v in info[2]))
        return out
    finally:
        pybullet.disconnect(physicsClientId=cid)


def _use_pybullet_inertia(spec: mujoco.MjSpec, build: UrdfModel) -> None:
    links = pybullet_links(build.urdf, not build.floating_base)
    for body in spec.bodies:
        if body.name in links and links[body.name][0] > 0:
            ixx, iyy, izz = links[body.name][1]
            # PyBullet's diagonal is in the URDF inertial frame (no rotation in these URDFs)
            body.fullinertia = [ixx, iyy, izz, 0.0, 0.0, 0.0]


@functools.cache
def compiled_model(build: UrdfModel) -> mujoco.MjModel:
    """The compiled model of ``build``, compiled once per process; do not modify it (see
    :func:`new_model`).

    Raises:
        ValueError: a joint of ``build.joints`` is not in the URDF, or the URDF has no links.
    """
    spec = _urdf_spec(build.urdf)
    spec.option.timestep = build.timestep
    # joint damping as an explicit torque, as PyBullet applies it (see sim2real.envs.mujoco.pd)
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    root = _root_body(spec)
    if build.floating_base:
        root.add_freejoint(name="root")
        root.pos = [0.0, 0.0, build.base_height]
    if build.inertia == "pybullet":
        _use_pybullet_inertia(spec, build)
    _set_contacts(spec, build)
    if build.floor:
        _add_floor(spec)
    _add_motors(spec, build)
    return spec.compile()


def new_model(build: UrdfModel) -> mujoco.MjModel:
    """A fresh copy of the compiled model of ``build``, for one env to own and change."""
    return copy.deepcopy(compiled_model(build))


def inertia_report(build: UrdfModel) -> list[tuple[str, float, float, np.ndarray, np.ndarray]]:
    """Per link with mass: ``(name, MuJoCo mass, PyBullet mass, MuJoCo principal inertia,
    PyBullet inertia diagonal)``, both inertias sorted ascending (their frames differ)."""
    model = compiled_model(build)
    links = pybullet_links(build.urdf, not build.floating_base)
    rows = []
    for b in range(1, model.nbody):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b)
        if name in links and links[name][0] > 0:
            pb_mass, pb_inertia = links[name]
            rows.append(
                (
                    name,
                    float(model.body_mass[b]),
                    pb_mass,
                    np.sort(model.body_inertia[b]),
                    np.sort(np.array(pb_inertia)),
                )
            )
    return rows
