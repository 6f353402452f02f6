"""Domains as data: the source randomization and the named target shifts of an env.

A domain file (``envs/<env>.yaml``, or a user's own file) holds a ``source`` domain (a
distribution over dynamics, used for training), optionally further named training distributions
(``sources``, e.g. ``source_actuators``) and ``targets`` (fixed, shifted dynamics standing in for
the real robot). Every domain has the same shape::

    description: heavier pole, weaker motor
    parameters:                      # env dynamics parameters (``sim2real envs show ENV``)
      mass_scale: {dist: uniform, low: 0.8, high: 1.2, per_entity: true}
      motor_strength: 0.5            # a bare number is a constant
      joint_damping:                 # per entity; mode scale multiplies the nominal value
        entities: {hinge: {dist: normal, mean: 1.0, std: 0.1}}
        mode: scale
      action_latency: {dist: choice, values: [0, 1, 2], resample: interval, interval: 200}
    pushes: {interval: 200, force: {dist: uniform, low: 0, high: 20}, link: pole, axes: [x]}
    action_noise: {std: 0.05}

Validation is two-staged: the structure here (pydantic, on load), the parameter names, entities
and physical bounds against the env's parameter specs in :mod:`sim2real.randomization.sampler`.
Both raise :class:`~sim2real.errors.DomainError` with one line naming file, key and problem.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError, model_validator

from sim2real.envs.registry import make_env, resolve_env
from sim2real.errors import DomainError
from sim2real.randomization.distributions import DIST_KEYS, Constant, Distribution, dist_to_plain
from sim2real.resources import data_dir
from sim2real.strict import StrictModel

__all__ = [
    "ActionNoise",
    "Domain",
    "DomainFile",
    "ParameterTerm",
    "PushConfig",
    "domain_file_path",
    "domain_names",
    "env_specs",
    "load_domain",
    "load_domain_file",
]

Mode = Literal["scale", "absolute"]
Resample = Literal["reset", "interval", "once"]
Axis = Literal["x", "y", "z"]
_HORIZONTAL: tuple[Axis, ...] = ("x", "y")


def _dist_shorthand(value: Any) -> Any:
    """A bare number means a constant; a mapping without ``dist`` but with ``value`` too."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number or a distribution")
    if isinstance(value, (int, float)):
        return {"dist": "constant", "value": value}
    if isinstance(value, dict) and "dist" not in value:
        if set(value) == {"value"}:
            return {"dist": "constant", **value}
        raise ValueError(
            "missing 'dist' (one of uniform, log_uniform, normal, truncated_normal, choice, "
            "constant)"
        )
    return value


class _Strict(StrictModel):
    model_config = ConfigDict(frozen=True)


class ParameterTerm(_Strict):
    """How one dynamics parameter is drawn: a distribution for every entity, or per entity."""

    distribution: Distribution | None = None
    """Applied to every entity of the parameter (one shared draw unless ``per_entity``)."""
    entities: dict[str, Distribution] | list[Distribution] | None = None
    """Per-entity distributions, by entity name or as a list in entity order."""
    mode: Mode = "absolute"
    """``absolute``: draws are values in the parameter's unit; ``scale``: multiples of nominal."""
    per_entity: bool = False
    """With ``distribution``: draw independently for each entity instead of once for all."""
    resample: Resample = "reset"
    """When to draw: each episode ``reset``, every ``interval`` steps, or ``once`` per env."""
    interval: int | None = Field(None, ge=1)
    """Steps between draws for ``resample: interval``."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, (int, float, bool)):
            return {"distribution": _dist_shorthand(data)}
        if isinstance(data, list):
            return {"entities": [_dist_shorthand(v) for v in data]}
        if not isinstance(data, dict):
            return data
        data = dict(data)
        dist_part = {k: data.pop(k) for k in list(data) if k in DIST_KEYS}
        if dist_part:
            if "distribution" in data:
                raise ValueError("give the distribution inline or under 'distribution', not both")
            data["distribution"] = _dist_shorthand(dist_part)
        ents = data.get("entities")
        if isinstance(ents, dict):
            data["entities"] = {k: _dist_shorthand(v) for k, v in ents.items()}
        elif isinstance(ents, list):
            data["entities"] = [_dist_shorthand(v) for v in ents]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ParameterTerm:
        if (self.distribution is None) == (self.entities is None):
            raise ValueError("give either a distribution (dist: ...) or entities, not both/neither")
        if self.per_entity and self.entities is not None:
            raise ValueError("per_entity applies to an all-entity distribution, not to entities")
        if self.resample == "interval" and self.interval is None:
            raise ValueError("resample: interval needs interval: STEPS")
        if self.interval is not None and self.resample != "interval":
            raise ValueError("interval is only used with resample: interval")
        return self

    def dists(self) -> list[Distribution]:
        """Every distribution of this term."""
        if self.distribution is not None:
            return [self.distribution]
        ents = self.entities or []
        return list(ents.values()) if isinstance(ents, dict) else list(ents)

    @property
    def is_random(self) -> bool:
        """Whether a draw consumes random numbers."""
        return any(d.is_random for d in self.dists())

    def to_plain(self) -> Any:
        """YAML-ready form, using the shorthands where they apply (inverse of loading)."""
        extras: dict[str, Any] = {}
        if self.mode != "absolute":
            extras["mode"] = self.mode
        if self.per_entity:
            extras["per_entity"] = True
        if self.resample != "reset":
            extras["resample"] = self.resample
        if self.interval is not None:
            extras["interval"] = self.interval
        if self.distribution is not None:
            plain = dist_to_plain(self.distribution)
            if not extras and not isinstance(plain, dict):
                return plain
            body = plain if isinstance(plain, dict) else {"dist": "constant", "value": plain}
            return {**body, **extras}
        ents = self.entities
        if isinstance(ents, list):
            items: Any = [dist_to_plain(d) for d in ents]
            if not extras and all(isinstance(d, Constant) for d in ents):
                return items
        else:
            items = {k: dist_to_plain(d) for k, d in (ents or {}).items()}
        return {"entities": items, **extras}


class PushConfig(_Strict):
    """Random pushes: an external force on one link every ``interval`` steps for ``duration``."""

    interval: int = Field(ge=1)
    """Control steps between the starts of two pushes (the first comes at a random step)."""
    force: Distribution
    """Force magnitude in N (a number or a distribution), drawn per push."""
    duration: int = Field(1, ge=1)
    """Control steps the force acts."""
    link: str | None = None
    """Link (entity of ``mass_scale``) pushed at its center of mass; default the base/first link."""
    axes: list[Axis] = Field(default_factory=lambda: list(_HORIZONTAL), min_length=1)
    """World axes spanning the random push direction."""

    @model_validator(mode="before")
    @classmethod
    def _force_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "force" in data:
            data = {**data, "force": _dist_shorthand(data["force"])}
        return data

    def to_plain(self) -> dict[str, Any]:
        """YAML-ready form."""
        out: dict[str, Any] = {"interval": self.interval, "force": dist_to_plain(self.force)}
        if self.duration != 1:
            out["duration"] = self.duration
        if self.link is not None:
            out["link"] = self.link
        if self.axes != ["x", "y"]:
            out["axes"] = list(self.axes)
        return out


class ActionNoise(_Strict):
    """Zero-mean Gaussian noise added to every action (in the normalized [-1, 1] units)."""

    std: float = Field(ge=0, le=1)
    """Standard deviation of the noise."""

    def to_plain(self) -> dict[str, Any]:
        """YAML-ready form."""
        return {"std": self.std}


class Domain(_Strict):
    """One named domain: parameter distributions (or fixed values) plus pushes and action noise.

    A target is a domain whose distributions are all constants. ``name`` and ``env`` say where
    it came from; they are not part of the YAML body.
    """

    name: str = Field(default="", exclude=True)
    env: str = Field(default="", exclude=True)
    description: str = ""
    parameters: dict[str, ParameterTerm] = Field(default_factory=dict)
    pushes: PushConfig | None = None
    action_noise: ActionNoise | None = None

    @property
    def is_random(self) -> bool:
        """Whether sampling this domain consumes random numbers (False for targets)."""
        return (
            any(t.is_random for t in self.parameters.values())
            or self.pushes is not None
            or self.action_noise is not None
        )

    def to_plain(self) -> dict[str, Any]:
        """YAML-ready dict (what :meth:`from_plain` reads back into an equal domain)."""
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        if self.parameters:
            out["parameters"] = {k: t.to_plain() for k, t in self.parameters.items()}
        if self.pushes is not None:
            out["pushes"] = self.pushes.to_plain()
        if self.action_noise is not None:
            out["action_noise"] = self.action_noise.to_plain()
        return out

    def to_yaml(self) -> str:
        """The domain body as YAML."""
        return yaml.safe_dump(self.to_plain(), sort_keys=False)

    @classmethod
    def from_plain(
        cls, data: Any, *, name: str = "", env: str = "", origin: str = "<domain>"
    ) -> Domain:
        """Validate a plain dict (e.g. parsed YAML); errors raise a one-line :class:`DomainError`."""
        try:
            dom = cls.model_validate(data if data is not None else {})
        except ValidationError as exc:
            raise _domain_error(origin, exc) from None
        return dom.model_copy(update={"name": name, "env": env})


class DomainFile(_Strict):
    """A domain file: ``source`` randomization, further named ``sources`` and ``targets`` of one env."""

    env: str | None = None
    description: str = ""
    source: Domain | None = None
    sources: dict[str, Domain] = Field(default_factory=dict)
    """Further training distributions, selected by name like ``source`` (e.g.
    ``source_actuators``: the source plus actuator models); not evaluated as targets."""
    targets: dict[str, Domain] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_names(self) -> DomainFile:
        clash = sorted(n for n in self.sources if n in self.targets or n in ("source", "nominal"))
        if clash:
            raise ValueError(
                f"sources: {clash[0]!r} is also a target or a reserved name; rename it"
            )
        return self

    def to_plain(self) -> dict[str, Any]:
        """YAML-ready dict."""
        out: dict[str, Any] = {}
        if self.env is not None:
            out["env"] = self.env
        if self.description:
            out["description"] = self.description
        if self.source is not None:
            out["source"] = self.source.to_plain()
        if self.sources:
            out["sources"] = {k: d.to_plain() for k, d in self.sources.items()}
        if self.targets:
            out["targets"] = {k: d.to_plain() for k, d in self.targets.items()}
        return out

    def to_yaml(self) -> str:
        """The file as YAML (comments are not kept)."""
        return yaml.safe_dump(self.to_plain(), sort_keys=False)


def _domain_error(origin: str, exc: ValidationError) -> DomainError:
    errors = exc.errors()
    first = errors[0]
    # drop union-tag segments pydantic inserts (e.g. 'uniform', 'function-after[...]')
    loc = [
        str(p)
        for p in first["loc"]
        if not (isinstance(p, str) and ("[" in p or p in _TAGS or p == "distribution"))
    ]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return DomainError(f"{origin}: {'.'.join(loc) or '<top>'}: {msg}{more}")


_TAGS = frozenset(
    {"uniform", "log_uniform", "normal", "truncated_normal", "choice", "constant", "list", "dict"}
)


def _nonfinite(data: Any, loc: str) -> str | None:
    """Key path of the first NaN/inf number in parsed YAML, or None."""
    if isinstance(data, float) and not math.isfinite(data):
        return loc or "<top>"
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        found = _nonfinite(value, f"{loc}.{key}" if loc else str(key))
        if found is not None:
            return found
    return None


def load_domain_file(path: str | Path) -> DomainFile:
    """Read and validate a domain file (structure only; see :func:`load_domain` for specs)."""
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise DomainError(f"{path}: cannot read domain file (not a UTF-8 text file)") from None
    except OSError as exc:
        raise DomainError(f"{path}: cannot read domain file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise DomainError(f"{path}: invalid YAML (nesting too deep)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise DomainError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DomainError(f"{path}: expected a mapping with 'source' and/or 'targets'")
    bad = _nonfinite(data, "")
    if bad is not None:
        raise DomainError(f"{path}: {bad}: not a finite number; use a finite value")
    try:
        return DomainFile.model_validate(data)
    except ValidationError as exc:
        raise _domain_error(str(path), exc) from None


def domain_file_path(env: str) -> Path:
    """``envs/<name>.yaml`` of a registered env (may not exist); a twin in another engine
    (``hopper@mujoco``) reads the file of the robot it mirrors (``envs/hopper.yaml``)."""

    return data_dir("envs") / f"{resolve_env(env).domains}.yaml"


@functools.lru_cache(maxsize=32)
def env_specs(env: str) -> dict[str, Any]:
    """Dynamics parameter specs of a registered env (builds one instance, cached per process)."""

    from sim2real.envs.external import dynamics_specs_of

    e = make_env(env)
    try:
        return dynamics_specs_of(e)  # third-party envs: through their dynamics adapter
    finally:
        e.close()


def _split_which(which: str) -> tuple[Path | None, str]:
    if ":" in which:
        path, _, name = which.rpartition(":")
        if path.endswith((".yaml", ".yml")):
            return Path(path), name
    if which.endswith((".yaml", ".yml")):
        raise DomainError(f"domain {which!r}: name the domain in the file, e.g. {which}:source")
    return None, which


def load_domain(env: str, which: str) -> Domain:
    """The domain ``which`` of ``env``, validated against the env's parameters.

    Args:
        env: short name or Gymnasium id of a registered env.
        which: ``source``, ``nominal`` (no randomization), a named source (``sources``) or a
            target name from ``envs/<env>.yaml``, or ``path/to/file.yaml:NAME`` (NAME is
            ``source``, a named source or a target).

    Raises:
        DomainError: one line naming the file, the key and the problem.
    """
    from sim2real.randomization.sampler import DomainSampler

    short = resolve_env(env).name
    path, name = _split_which(which.strip())
    if path is None and name == "nominal":
        return Domain(name="nominal", env=short, description="nominal dynamics")
    if path is None:
        path = domain_file_path(short)
        if not path.is_file():
            raise DomainError(
                f"env {short!r} has no domain file {path}; use domain 'nominal' or "
                "'my_file.yaml:NAME'"
            )
    file = load_domain_file(path)
    if file.env is not None and resolve_env(file.env).domains != resolve_env(short).domains:
        raise DomainError(f"{path}: env: the file is for {file.env!r}, not {short!r}")
    if name == "source":
        if file.source is None:
            raise DomainError(f"{path}: source: missing (the file defines no source domain)")
        dom, where = file.source, "source"
    elif name in file.sources:
        dom, where = file.sources[name], f"sources.{name}"
    elif name in file.targets:
        dom, where = file.targets[name], f"targets.{name}"
    else:
        known = (["source"] if file.source is not None else []) + list(file.sources)
        known += list(file.targets)
        raise DomainError(
            f"{path}: no domain {name!r}; available: {', '.join(known) or 'none'} (or nominal)"
        )
    dom = dom.model_copy(update={"name": name, "env": short})
    DomainSampler(dom, env_specs(short), where=f"{path}: {where}")  # checks against the specs
    return dom


def domain_names(env: str) -> dict[str, Any]:
    """``{"source": bool, "sources": [names], "targets": [names]}`` from ``envs/<env>.yaml``
    (empty if no file)."""
    path = domain_file_path(env)
    if not path.is_file():
        return {"source": False, "sources": [], "targets": []}
    file = load_domain_file(path)
    return {
        "source": file.source is not None,
        "sources": list(file.sources),
        "targets": list(file.targets),
    }
