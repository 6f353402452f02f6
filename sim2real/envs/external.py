"""Envs sim2real did not write: a registered Gymnasium id or a ``module:Class`` entry point.

A config names any env (as rl-zoo3's ``--env`` / ``--gym-packages``)::

    env: HopperBulletEnv-v0            # a Gymnasium id ...
    gym_packages: [pybullet_envs_gymnasium]   # ... registered by importing these first
    env_kwargs: {render_mode: null}    # constructor arguments
    dynamics: auto                     # env | pybullet | none | my_pkg.dyn:MyAdapter

or ``env: my_pkg.robot:MyRobotEnv`` (a ``gymnasium.Env`` subclass). :func:`register_external`
records these settings for the process (config validation calls it), so every
``resolve_env(name)`` / ``make_env(name)`` afterwards sees the same env; the entry itself is
picklable and re-registers in worker processes (:func:`ensure_registered`).

``dynamics`` says how the domain wrapper reaches the dynamics parameters: ``env`` (the env
implements ``dynamics_specs``/``get_dynamics``/``set_dynamics``/``reset_dynamics`` itself),
``pybullet`` (:class:`~sim2real.randomization.adapters.PyBulletDynamicsAdapter`, found
automatically for PyBullet envs), ``none`` (no parameters: only ``nominal`` domains), or a
``module:Class`` wrapper taking the env. ``auto`` picks the first that applies.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec

from sim2real.envs.registry import ENVS, EnvEntry
from sim2real.errors import UnknownEnvError

__all__ = [
    "DYNAMICS_CHOICES",
    "REGISTERED",
    "ExternalEnvEntry",
    "NoDynamics",
    "control_period_of",
    "dynamics_specs_of",
    "ensure_registered",
    "env_names",
    "external_entry",
    "import_gym_packages",
    "make_external",
    "register_external",
    "registered",
    "split_env_target",
]

DYNAMICS_CHOICES = ("auto", "env", "pybullet", "none")
"""Named ``dynamics:`` choices; anything else must be a ``module:Class`` wrapper."""
_DYNAMICS_METHODS = ("dynamics_specs", "get_dynamics", "set_dynamics", "reset_dynamics")
_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class ExternalEnvEntry(EnvEntry):
    """A third-party env (or one of ours with ``env_kwargs``), as :func:`resolve_env` returns it.

    An :class:`~sim2real.envs.registry.EnvEntry` (``name`` is the string the user wrote, so it
    resolves back to this entry) plus how to build it.
    """

    gym_packages: tuple[str, ...] = ()
    dynamics: str = "auto"
    kind: str = "gym"
    """``gym`` (a registered id), ``class`` (a ``module:Class``) or ``sim2real`` (ours + kwargs)."""


REGISTERED: dict[str, ExternalEnvEntry] = {}
"""Entries recorded by :func:`register_external` (and resolved on their own) in this process."""


def _own(name: str) -> EnvEntry | None:
    """A sim2real catalogue entry by short name, id or id stem (as ``resolve_env``)."""
    key = name.strip().lower()
    for entry in ENVS.values():
        stem = entry.env_id.split("/", 1)[1].rsplit("-v", 1)[0].lower()
        if key in (entry.env_id.lower(), stem, entry.name.lower()):
            return entry
    return None


def import_gym_packages(packages: Sequence[str]) -> None:
    """Import each package (registering its Gymnasium ids), as rl-zoo3's ``--gym-packages``.

    Raises:
        UnknownEnvError: a package cannot be imported (names it and the reason).
    """
    for pkg in packages:
        try:
            importlib.import_module(pkg)
        except Exception as exc:  # a broken package raises anything at import
            raise UnknownEnvError(
                f"gym_packages: cannot import {pkg!r} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); install it or fix the name"
            ) from None


def _import_object(spec: str, what: str) -> Any:
    module, _, attr = spec.partition(":")
    try:
        mod = importlib.import_module(module)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise UnknownEnvError(f"{what} {spec!r}: cannot import {module!r} ({reason})") from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise UnknownEnvError(f"{what} {spec!r}: module {module!r} has no {attr!r}") from None


def _env_class(spec: str) -> type[gym.Env]:
    cls = _import_object(spec, "env")
    if not (isinstance(cls, type) and issubclass(cls, gym.Env)):
        raise UnknownEnvError(
            f"env {spec!r}: {type(cls).__name__ if not isinstance(cls, type) else cls.__name__} "
            "is not a gymnasium.Env subclass; point env: at the env class"
        )
    return cls


def _check_dynamics(dynamics: str) -> None:
    if dynamics in DYNAMICS_CHOICES:
        return
    if not _ENTRY_POINT.match(dynamics):
        raise UnknownEnvError(
            f"dynamics {dynamics!r}: use one of {', '.join(DYNAMICS_CHOICES)} or a "
            "module:Class wrapper"
        )
    obj = _import_object(dynamics, "dynamics")
    if not callable(obj):
        raise UnknownEnvError(f"dynamics {dynamics!r}: not a class (it must take the env)")


def external_entry(
    name: str,
    gym_packages: Sequence[str] = (),
    env_kwargs: Mapping[str, Any] | None = None,
    dynamics: str = "auto",
) -> ExternalEnvEntry | None:
    """The entry for ``name`` (a ``module:Class`` or a Gymnasium id), ``None`` if it is neither.

    Raises:
        UnknownEnvError: an import fails, the class is not an Env, a bad ``dynamics``.
    """
    import_gym_packages(gym_packages)
    kwargs = dict(env_kwargs or {})
    common: dict[str, Any] = {
        "kwargs": kwargs,
        "gym_packages": tuple(gym_packages),
        "dynamics": dynamics,
    }
    if _ENTRY_POINT.match(name):
        cls = _env_class(name)
        _check_dynamics(dynamics)
        steps = getattr(cls, "max_episode_steps", None)
        doc = (cls.__doc__ or "").strip().splitlines()
        return ExternalEnvEntry(
            name, name, name, int(steps) if isinstance(steps, int) else 0,
            doc[0] if doc else f"{cls.__name__} (user env)", kind="class", **common,
        )  # fmt: skip
    if name in gym.registry:
        spec = gym.registry[name]
        _check_dynamics(dynamics)
        entry_point = spec.entry_point if isinstance(spec.entry_point, str) else name
        return ExternalEnvEntry(
            name, name, entry_point, int(spec.max_episode_steps or 0),
            f"Gymnasium env {name}", **common,
        )  # fmt: skip
    return None


def register_external(
    name: str,
    gym_packages: Sequence[str] = (),
    env_kwargs: Mapping[str, Any] | None = None,
    dynamics: str = "auto",
) -> None:
    """Record how ``name`` is built for this process (what a config's env settings say).

    sim2real names keep their catalogue entry (with ``env_kwargs`` if given, for the robot in
    both engines: a twin runs the same task code, so ``quadruped@mujoco`` evaluates a policy
    trained on ``quadruped`` with its ``gait``); anything else must be a ``module:Class`` or,
    after importing ``gym_packages``, a registered Gymnasium id.

    Raises:
        UnknownEnvError: unknown id, failed import, not an Env class, bad ``dynamics``.
    """
    REGISTERED.pop(name, None)
    own = _own(name)
    if own is not None:
        import_gym_packages(gym_packages)
        if dynamics not in ("auto", "env"):
            raise UnknownEnvError(
                f"dynamics {dynamics!r}: sim2real env {own.name!r} has its own dynamics "
                "interface; leave dynamics: auto"
            )
        for twin in (e for e in ENVS.values() if e.domains == own.domains):  # one per engine
            REGISTERED.pop(twin.name, None)
            if env_kwargs:
                REGISTERED[twin.name] = _own_with_kwargs(twin, env_kwargs, gym_packages)
        if env_kwargs:
            REGISTERED[name] = REGISTERED[own.name]
        return
    entry = external_entry(name, gym_packages, env_kwargs, dynamics)
    if entry is None:
        known = f"not a sim2real env ({', '.join(ENVS)}), a module:Class"
        raise UnknownEnvError(
            f"unknown env {name!r}: not registered after importing {', '.join(gym_packages)}, "
            f"{known}"
            if gym_packages
            else f"unknown env {name!r}: {known} or a registered Gymnasium id; if a package "
            "registers it, list it under gym_packages:"
        )
    REGISTERED[name] = entry


def _own_with_kwargs(
    base: EnvEntry, env_kwargs: Mapping[str, Any], gym_packages: Sequence[str]
) -> ExternalEnvEntry:
    """The catalogue entry ``base`` built with ``env_kwargs`` on top of its own."""
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return ExternalEnvEntry(
        **{**fields, "kwargs": {**base.kwargs, **dict(env_kwargs)}},
        gym_packages=tuple(gym_packages),
        kind="sim2real",
    )


def registered(name: str) -> ExternalEnvEntry | None:
    """The entry :func:`register_external` recorded for ``name``, or one resolvable on its own."""
    found = REGISTERED.get(name)
    if found is not None:
        return found
    if _ENTRY_POINT.match(name) or name in gym.registry:
        try:
            entry = external_entry(name)
        except UnknownEnvError:
            return None
        if entry is not None and not entry.env_id.startswith("sim2real/"):
            REGISTERED[name] = entry
            return entry
    return None


def ensure_registered(entry: Any) -> None:
    """Re-register an entry in this process (a worker that unpickled it)."""
    if isinstance(entry, ExternalEnvEntry) and entry.name not in REGISTERED:
        import_gym_packages(entry.gym_packages)
        REGISTERED[entry.name] = entry


def split_env_target(text: str) -> tuple[str, str]:
    """``ENV:TARGET`` -> ``(ENV, TARGET)`` where ENV may itself hold a colon (``module:Class``)
    and TARGET may be ``file.yaml:NAME``; ``("", TARGET)`` when no env is given."""
    for name in sorted(REGISTERED, key=len, reverse=True):
        if text == name:
            return name, ""
        if text.startswith(name + ":"):
            return name, text[len(name) + 1 :]
    head, sep, rest = text.partition(":")
    if not sep:
        return "", text
    if head.endswith((".yaml", ".yml")):  # a bare file.yaml:NAME
        return "", text
    if _own(head) is None and head not in gym.registry:
        cls, _, after = rest.partition(":")
        if _ENTRY_POINT.match(f"{head}:{cls}") and _module_exists(head):
            return f"{head}:{cls}", after
    return head, rest


def _module_exists(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------------- building
class NoDynamics(gym.Wrapper[Any, Any, Any, Any]):
    """The dynamics interface with no parameters (``dynamics: none``): only nominal domains."""

    def dynamics_specs(self) -> dict[str, Any]:
        """No parameters."""
        return {}

    def get_dynamics(self) -> dict[str, np.ndarray]:
        """No values."""
        return {}

    def set_dynamics(self, values: Mapping[str, Any]) -> None:
        """Only an empty mapping is accepted."""
        if values:
            from sim2real.errors import ParameterError

            raise ParameterError(
                f"{type(self.env.unwrapped).__name__} exposes no dynamics parameters "
                f"(dynamics: none); cannot set {', '.join(values)}"
            )

    def reset_dynamics(self) -> None:
        """Nothing to reset."""


def _is_pybullet(base: gym.Env) -> bool:
    from sim2real.randomization.adapters import CLIENT_ATTRS

    module = type(base).__module__.lower()
    return "bullet" in module or any(
        hasattr(getattr(base, a, None), "getNumBodies") for a in CLIENT_ATTRS
    )


def _with_dynamics(env: gym.Env, entry: ExternalEnvEntry) -> gym.Env:
    base = env.unwrapped
    choice = entry.dynamics
    own = all(callable(getattr(base, m, None)) for m in _DYNAMICS_METHODS)
    if choice == "auto":
        choice = "env" if own else "pybullet" if _is_pybullet(base) else "none"
    if choice == "env":
        if not own:
            env.close()
            raise UnknownEnvError(
                f"dynamics: env: {type(base).__name__} lacks {', '.join(_DYNAMICS_METHODS)}; "
                "use dynamics: pybullet, none or a module:Class wrapper"
            )
        return env
    if choice == "pybullet":
        from sim2real.randomization.adapters import PyBulletDynamicsAdapter

        return PyBulletDynamicsAdapter(env)
    if choice == "none":
        return NoDynamics(env)
    wrapped = _import_object(choice, "dynamics")(env)
    if not all(callable(getattr(wrapped, m, None)) for m in _DYNAMICS_METHODS):
        env.close()
        raise UnknownEnvError(
            f"dynamics {choice!r}: the wrapper lacks {', '.join(_DYNAMICS_METHODS)}"
        )
    return wrapped


def make_external(entry: ExternalEnvEntry, **kwargs: Any) -> gym.Env:
    """Build the env of ``entry`` (``kwargs`` over its ``env_kwargs``) with its dynamics access."""
    ensure_registered(entry)
    merged = {**entry.kwargs, **kwargs}
    if entry.kind == "sim2real":
        try:
            return gym.make(entry.env_id, **merged)
        except (TypeError, ValueError) as exc:  # our constructors check their arguments
            if not merged:
                raise
            raise UnknownEnvError(f"env {entry.name!r}: bad env_kwargs ({exc})") from None
    try:
        if entry.kind == "class":
            spec = EnvSpec(
                id=entry.name,
                entry_point=_env_class(entry.name),  # type: ignore[arg-type]
                max_episode_steps=entry.max_episode_steps or None,
            )
            env = gym.make(spec, **merged)
        else:
            env = gym.make(entry.env_id, **merged)
    except UnknownEnvError:
        raise
    except TypeError as exc:
        raise UnknownEnvError(f"env {entry.name!r}: bad env_kwargs ({exc})") from None
    return _with_dynamics(env, entry)


def dynamics_specs_of(env: gym.Env) -> dict[str, Any]:
    """The dynamics specs of a built env (resetting it first if the adapter needs that)."""
    from sim2real.errors import DomainError

    try:
        return dict(env.get_wrapper_attr("dynamics_specs")())
    except DomainError:
        env.reset(seed=0)
        return dict(env.get_wrapper_attr("dynamics_specs")())


def _names(env: gym.Env, attr: str, info: Mapping[str, Any], size: int, generic: str) -> list[str]:
    for source in (lambda: env.get_wrapper_attr(attr), lambda: info.get(attr)):
        try:
            names = source()
        except AttributeError:
            continue
        if names is not None and not isinstance(names, str):
            names = [str(n) for n in names]
            if len(names) == size:
                return names
    return [f"{generic}[{i}]" for i in range(size)]


def env_names(env: gym.Env, info: Mapping[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """Observation and action names: the env's ``observation_names``/``action_names`` (an
    attribute, or a key of the reset ``info``), else ``obs[i]``/``action[i]``."""
    info = info or {}
    n_obs = int(np.prod(env.observation_space.shape or (0,)))
    n_act = int(np.prod(env.action_space.shape or (0,)))
    return (
        _names(env, "observation_names", info, n_obs, "obs"),
        _names(env, "action_names", info, n_act, "action"),
    )


def entry_with_kwargs(entry: ExternalEnvEntry, **kwargs: Any) -> ExternalEnvEntry:
    """A copy with extra constructor arguments."""
    return replace(entry, kwargs={**entry.kwargs, **kwargs})


def control_period_of(env: gym.Env) -> float | None:
    """Seconds per ``step``: the env's ``control_dt`` or ``dt`` (pybullet-envs: ``scene.dt``)."""
    base = env.unwrapped
    for value in (
        getattr(base, "control_dt", None),
        getattr(base, "dt", None),
        getattr(getattr(base, "scene", None), "dt", None),
    ):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None
