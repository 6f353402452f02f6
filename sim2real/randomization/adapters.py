"""Bring your own PyBullet env: give a third-party Gymnasium env sim2real's dynamics interface.

:class:`PyBulletDynamicsAdapter` wraps an env written directly on PyBullet, finds its physics
client and robot body after the first reset, and exposes ``dynamics_specs`` / ``get_dynamics`` /
``set_dynamics`` / ``reset_dynamics`` and ``robot`` (a
:class:`~sim2real.envs.body_dynamics.BodyDynamics`) with the body parameters (mass, inertia,
friction, restitution, joint damping per link/joint) plus ``gravity``. The
:class:`~sim2real.randomization.wrapper.DomainRandomizationWrapper` then works on it unchanged::

    env = gym.make("HopperBulletEnv-v0")
    env = DomainRandomizationWrapper(PyBulletDynamicsAdapter(env), domain)

Many such envs reset gravity (or more) in their own ``reset``; the adapter re-applies every
current value after each inner reset. Values are applied in the order the parameters are
declared (body parameters, then gravity, then a subclass's extras), as in sim2real's own envs,
and a mass change keeps the inertia scale in force. See ``docs/adapters.md`` for writing a ``locate`` function
or a subclass with robot-specific parameters (e.g. motor strength).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from sim2real.envs.body_dynamics import BODY_PARAMETERS, BodyDynamics
from sim2real.envs.bullet_state import (
    WorldLayout,
    read_world,
    world_layout,
    world_size,
    write_world,
)
from sim2real.envs.parameters import ParameterSet, ParameterSpec, ParameterValue
from sim2real.errors import DomainError

__all__ = ["PyBulletDynamicsAdapter", "locate_bullet_body"]

#: Attributes under which PyBullet envs commonly keep their client.
CLIENT_ATTRS = ("bullet_client", "_p", "_pybullet_client", "pybullet_client", "client", "p")
#: Attributes under which PyBullet envs commonly keep the robot's body id.
BODY_ATTRS = ("robot_id", "body_id", "robot_uid", "_robot_id", "robot_uid_", "quadruped")


def locate_bullet_body(env: gym.Env) -> tuple[Any, int]:
    """Find ``(bullet_client, robot_body_id)`` of a PyBullet env (after its first reset).

    Looks for a client under :data:`CLIENT_ATTRS`; the robot as pybullet-envs' ``robot.robot_body``,
    an integer attribute in :data:`BODY_ATTRS` of the env or its ``robot``, or else the body
    with the most joints.

    Raises:
        DomainError: no client found (pass ``locate=`` to the adapter).
    """
    client = next(
        (
            c
            for c in (getattr(env, a, None) for a in CLIENT_ATTRS)
            if c is not None and hasattr(c, "getNumBodies")
        ),
        None,
    )
    if client is None:
        raise DomainError(
            f"{type(env).__name__}: no PyBullet client found (looked for {', '.join(CLIENT_ATTRS)});"
            " reset the env first or pass locate=... to PyBulletDynamicsAdapter"
        )
    robot = getattr(env, "robot", None)
    part = getattr(robot, "robot_body", None)
    if part is not None and hasattr(part, "bodies"):  # pybullet-envs(-gymnasium) convention
        return client, int(part.bodies[part.bodyIndex])
    for owner in (env, robot):
        for attr in BODY_ATTRS:
            value = getattr(owner, attr, None)
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                return client, int(value)
    bodies = [client.getBodyUniqueId(i) for i in range(client.getNumBodies())]
    if not bodies:
        raise DomainError(f"{type(env).__name__}: the physics world has no bodies yet")
    return client, max(bodies, key=client.getNumJoints)


class PyBulletDynamicsAdapter(gym.Wrapper[Any, Any, Any, Any]):
    """The sim2real dynamics interface for a third-party PyBullet env.

    Args:
        env: the third-party env.
        locate: ``env.unwrapped -> (bullet_client, body_id)``; default :func:`locate_bullet_body`.
        links / joints: link and joint indices to expose (default: every massive link, every
            movable joint), as in :class:`BodyDynamics`.
    """

    def __init__(
        self,
        env: gym.Env,
        locate: Callable[[gym.Env], tuple[Any, int]] | None = None,
        links: Sequence[int] | None = None,
        joints: Sequence[int] | None = None,
    ) -> None:
        super().__init__(env)
        self._locate = locate or locate_bullet_body
        self._links, self._joints = links, joints
        self._robot: BodyDynamics | None = None
        self._world: WorldLayout | None = None
        self.parameters: ParameterSet | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env, (re)locate the robot, re-apply the current dynamics."""
        obs, info = self.env.reset(seed=seed, options=options)
        client, body = self._locate(self.env.unwrapped)
        robot = self._robot
        if robot is None or robot.client is not client or robot.body_id != body:
            previous = self.parameters.values() if self.parameters is not None else None
            self._robot = BodyDynamics(client, body, self._links, self._joints)
            self._world = world_layout(client)
            self.parameters = ParameterSet([*self._robot.specs(), *self._extra_specs()])
            if previous is not None:
                self.parameters.set(
                    {k: v for k, v in previous.items() if k in self.parameters.specs}
                )
        assert self.parameters is not None
        self.parameters.pop_dirty()
        self._apply(self.parameters.specs)  # the env's reset may have restored gravity etc.
        return obs, info

    # ------------------------------------------------------------------ extension points
    def _extra_specs(self) -> list[ParameterSpec]:
        """Parameters besides the body ones (default: gravity). Override to add your own."""
        assert self._robot is not None
        params = self._robot.client.getPhysicsEngineParameters()
        nominal = [params[f"gravityAcceleration{a}"] for a in "XYZ"]
        return [
            ParameterSpec(
                "gravity",
                np.array(nominal),
                -30.0,
                30.0,
                "m/s^2",
                "gravity vector",
                ("x", "y", "z"),
            )
        ]

    def _apply_extra(self, name: str, value: np.ndarray) -> None:
        """Apply a parameter of :meth:`_extra_specs` (default: gravity)."""
        assert self._robot is not None
        if name == "gravity":
            self._robot.client.setGravity(*value.tolist())
        else:
            raise KeyError(name)

    # ------------------------------------------------------------------ dynamics interface
    def _require(self) -> ParameterSet:
        if self.parameters is None:
            raise DomainError(
                f"{type(self.env.unwrapped).__name__}: reset the env once before using its "
                "dynamics (third-party envs create their physics on the first reset)"
            )
        return self.parameters

    @property
    def robot(self) -> BodyDynamics:
        """The located robot's body dynamics."""
        self._require()
        assert self._robot is not None
        return self._robot

    @property
    def bullet_client(self) -> Any:
        """The env's PyBullet client."""
        return self.robot.client

    def dynamics_specs(self) -> dict[str, ParameterSpec]:
        """Specs of every exposed parameter."""
        return dict(self._require().specs)

    def get_dynamics(self) -> dict[str, np.ndarray]:
        """Current parameter values."""
        return self._require().values()

    def set_dynamics(self, values: Mapping[str, ParameterValue]) -> None:
        """Validate and apply values now (they are re-applied after every reset)."""
        params = self._require()
        params.set(values)
        self._apply(params.pop_dirty())

    def reset_dynamics(self) -> None:
        """Restore the nominal values."""
        params = self._require()
        params.reset()
        self._apply(params.pop_dirty())

    # ------------------------------------------------------------------ simulator state
    def get_sim_state(self) -> np.ndarray:
        """The physics world's state as a flat float64 vector: every body's base pose and
        velocity and every movable joint's position and velocity (the env's own Python-side
        variables are not part of it). System identification resets the world to such states."""
        self._require()
        assert self._world is not None
        return np.array(read_world(self.robot.client, self._world), dtype=np.float64)

    def set_sim_state(self, state: np.ndarray) -> None:
        """Put the physics world into ``state`` (from :meth:`get_sim_state` of this env).

        Raises:
            ValueError: ``state`` has the wrong length for this env's world.
        """
        self._require()
        assert self._world is not None
        values = np.asarray(state, dtype=np.float64).ravel().tolist()
        expected = world_size(self._world)
        if len(values) != expected:
            raise ValueError(
                f"{type(self.env.unwrapped).__name__}: a sim state has {expected} values, got "
                f"{len(values)}; record it with the same env"
            )
        write_world(self.robot.client, self._world, values)

    def _apply(self, names: Iterable[str]) -> None:
        """Apply ``names`` (declaration order: from ``pop_dirty`` or the specs) to the physics."""
        params = self._require()
        for name in names:
            value = params.get(name)
            if name in BODY_PARAMETERS:
                self.robot.apply(name, value)
            else:
                self._apply_extra(name, value)
