"""The catalogue of sim2real environments and their Gymnasium registration (``sim2real/`` namespace)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from sim2real.errors import UnknownEnvError

__all__ = ["ENVS", "EnvEntry", "engine_available", "make_env", "register_envs", "resolve_env"]


@dataclass(frozen=True)
class EnvEntry:
    """One registered environment.

    Attributes:
        name: short name used on the command line and in ``envs/<name>.yaml`` (e.g. ``hopper``).
        env_id: Gymnasium id, e.g. ``sim2real/Hopper-v0``.
        entry_point: ``module:Class``.
        max_episode_steps: time limit applied by ``gymnasium.make``.
        description: one line for ``sim2real envs list``.
        domains: the ``envs/<domains>.yaml`` file of its domains: its own name, or for a twin in
            another engine (``hopper@mujoco``) the name of the robot it mirrors (``hopper``).
    """

    name: str
    env_id: str
    entry_point: str
    max_episode_steps: int
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    domains: str = ""

    def __post_init__(self) -> None:
        if not self.domains:
            object.__setattr__(self, "domains", self.name.partition("@")[0])

    @property
    def engine(self) -> str:
        """``pybullet``, or the engine after ``@`` in the name (``hopper@mujoco``)."""
        return self.name.partition("@")[2] or "pybullet"


_M = "sim2real.envs"
ENVS: dict[str, EnvEntry] = {
    e.name: e
    for e in [
        EnvEntry(
            "cartpole",
            "sim2real/CartPole-v0",
            f"{_M}.cartpole:CartPoleBalanceEnv",
            1000,
            "cart-pole balance (InvertedPendulum), fast smoke-test and quickstart task",
        ),
        EnvEntry(
            "cartpole_swingup",
            "sim2real/CartPoleSwingUp-v0",
            f"{_M}.cartpole:CartPoleSwingUpEnv",
            1000,
            "cart-pole swing-up from hanging, reward cos(theta)",
        ),
        EnvEntry(
            "reacher",
            "sim2real/Reacher-v0",
            f"{_M}.reacher:ReacherEnv",
            150,
            "2-link planar arm reaching a random target (ReacherBulletEnv rewards)",
        ),
        EnvEntry(
            "hopper",
            "sim2real/Hopper-v0",
            f"{_M}.locomotion:HopperEnv",
            1000,
            "one-legged hopper running forward (HopperBulletEnv rewards)",
        ),
        EnvEntry(
            "halfcheetah",
            "sim2real/HalfCheetah-v0",
            f"{_M}.locomotion:HalfCheetahEnv",
            1000,
            "planar cheetah running forward (HalfCheetahBulletEnv rewards)",
        ),
        EnvEntry(
            "ant",
            "sim2real/Ant-v0",
            f"{_M}.locomotion:AntEnv",
            1000,
            "four-legged ant walking forward (AntBulletEnv rewards)",
        ),
        EnvEntry(
            "quadruped",
            "sim2real/A1-v0",
            f"{_M}.quadruped:A1Env",
            1000,
            "Unitree A1 quadruped walking forward under PD joint position control",
        ),
        EnvEntry(
            "manipulator",
            "sim2real/KukaReach-v0",
            f"{_M}.manipulator:KukaReachEnv",
            200,
            "KUKA iiwa arm reaching a random 3-D target under PD joint control, with gravity",
        ),
    ]
}

#: MuJoCo twins (``sim2real.envs.mujoco``, needs the ``mujoco`` package): robot -> class, model.
_MJ = "sim2real.envs.mujoco"
_MUJOCO_TWINS = {
    "cartpole": ("cartpole:CartPoleBalanceMujocoEnv", "CartPole", "inverted_pendulum.xml"),
    "cartpole_swingup": (
        "cartpole:CartPoleSwingUpMujocoEnv",
        "CartPoleSwingUp",
        "inverted_pendulum.xml, hinge limit removed",
    ),
    "reacher": ("reacher:ReacherMujocoEnv", "Reacher", "reacher.xml"),
    "hopper": ("locomotion:HopperMujocoEnv", "Hopper", "hopper.xml"),
    "halfcheetah": ("locomotion:HalfCheetahMujocoEnv", "HalfCheetah", "half_cheetah.xml"),
    "ant": ("locomotion:AntMujocoEnv", "Ant", "ant.xml"),
}
for _robot, (_entry, _stem, _xml) in _MUJOCO_TWINS.items():
    _twin = ENVS[_robot]
    ENVS[f"{_robot}@mujoco"] = EnvEntry(
        f"{_robot}@mujoco",
        f"sim2real/{_stem}-mujoco-v0",
        f"{_MJ}.{_entry}",
        _twin.max_episode_steps,
        f"{_robot} on Gymnasium's MuJoCo {_xml} (sim2sim target)",
    )
#: URDF twins (``sim2real.envs.mujoco.urdf_robots``): the same pybullet_data URDF in MuJoCo.
_MUJOCO_URDF_TWINS = {
    "quadruped": ("A1MujocoEnv", "A1", "a1/a1.urdf"),
    "manipulator": ("KukaReachMujocoEnv", "KukaReach", "kuka_iiwa/model.urdf"),
}
for _robot, (_cls, _stem, _urdf) in _MUJOCO_URDF_TWINS.items():
    ENVS[f"{_robot}@mujoco"] = EnvEntry(
        f"{_robot}@mujoco",
        f"sim2real/{_stem}-mujoco-v0",
        f"{_MJ}.urdf_robots:{_cls}",
        ENVS[_robot].max_episode_steps,
        f"{_robot}: the twin's {_urdf} in MuJoCo, PyBullet's PD motor law (sim2sim target)",
    )


def register_envs() -> None:
    """Register every env in :data:`ENVS` with Gymnasium (idempotent)."""
    for entry in ENVS.values():
        if entry.env_id not in gym.registry:
            gym.register(
                id=entry.env_id,
                entry_point=entry.entry_point,
                max_episode_steps=entry.max_episode_steps,
                kwargs=dict(entry.kwargs),
            )


def resolve_env(name: str) -> EnvEntry:
    """Find an env by short name (``hopper``), Gymnasium id (``sim2real/Hopper-v0``) or id stem.

    Raises:
        UnknownEnvError: with the list of known names.
    """
    from sim2real.envs import external  # third-party envs: Gymnasium ids, module:Class

    key = name.strip()
    if key in external.REGISTERED:
        return external.REGISTERED[key]
    if key in ENVS:
        return ENVS[key]
    lowered = key.lower()
    for entry in ENVS.values():
        stem = entry.env_id.split("/", 1)[1].rsplit("-v", 1)[0].lower()
        if lowered in (entry.env_id.lower(), stem, entry.name.lower()):
            return entry
    found = external.registered(key)
    if found is not None:
        return found
    raise UnknownEnvError(
        f"unknown env {name!r}; known envs: {', '.join(ENVS)} (see `sim2real envs list`), "
        "a Gymnasium id (with gym_packages: [its package]) or module:Class"
    )


def engine_available(entry: EnvEntry) -> bool:
    """Whether the physics engine of ``entry`` is installed (PyBullet always is)."""
    return entry.engine == "pybullet" or importlib.util.find_spec(entry.engine) is not None


def make_env(name: str, **kwargs: Any) -> gym.Env:
    """``gymnasium.make`` for a short name or id, with the registered time limit.

    Raises:
        UnknownEnvError: unknown name, or its engine is not installed (names the extra).
    """
    from sim2real.envs.external import ExternalEnvEntry, make_external

    register_envs()
    entry = resolve_env(name)
    if isinstance(entry, ExternalEnvEntry):
        return make_external(entry, **kwargs)
    if not engine_available(entry):
        raise UnknownEnvError(
            f"env {entry.name!r} needs the {entry.engine} package: "
            f"pip install 'sim2real[{entry.engine}]'"
        )
    return gym.make(entry.env_id, **kwargs)
