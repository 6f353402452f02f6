"""Typed dynamics parameters: specifications with nominal values, units and physically valid bounds.

A parameter is either a scalar (``gravity_z``-style, ``entities == ()``) or one value per named
entity (per link, per joint, per observation entry). Values are validated against the bounds
before they reach the physics; an invalid value raises :class:`~sim2real.errors.ParameterError`
naming the parameter and its valid range.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from sim2real.errors import ParameterError

__all__ = [
    "ParameterSet",
    "ParameterSpec",
    "ParameterValue",
]

#: What a user may pass for a parameter: a scalar (broadcast to every entity), one value per
#: entity (sequence/array), or a mapping ``{entity_name: value}`` that changes only those entities.
ParameterValue = Union[float, int, Iterable[float], np.ndarray, Mapping[str, float]]


@dataclass(frozen=True)
class ParameterSpec:
    """Specification of one dynamics parameter.

    Attributes:
        name: parameter name, e.g. ``"mass_scale"``.
        nominal: nominal value per entity (shape ``(len(entities),)``) or a 0-d array for scalars.
        low: smallest physically valid value (inclusive).
        high: largest physically valid value (inclusive).
        unit: unit of the value (``"x nominal"`` for scales).
        description: one-line description.
        entities: names of the links/joints/observation entries the values apply to; ``()`` for
            a scalar parameter.
        integer: the value is a whole number (frame skip, latency in control steps).
        is_scale: the value multiplies a nominal physical quantity (nominal is then 1).
    """

    name: str
    nominal: np.ndarray
    low: float
    high: float
    unit: str
    description: str
    entities: tuple[str, ...] = ()
    integer: bool = False
    is_scale: bool = False
    _entity_index: dict[str, int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        nominal = np.array(self.nominal, dtype=np.float64)
        if self.entities and nominal.ndim == 0:
            nominal = np.full(len(self.entities), float(nominal))
        expected = (len(self.entities),) if self.entities else ()
        if nominal.shape != expected:
            raise ValueError(f"{self.name}: nominal shape {nominal.shape} != {expected}")
        if self.low > self.high:
            raise ValueError(f"{self.name}: low {self.low} > high {self.high}")
        nominal.setflags(write=False)
        object.__setattr__(self, "nominal", nominal)
        self._entity_index.update({e: i for i, e in enumerate(self.entities)})

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the value array: ``()`` for scalars, ``(n_entities,)`` otherwise."""
        return self.nominal.shape

    def range_text(self) -> str:
        """Human-readable valid range, e.g. ``[0.05, 20] x nominal``."""
        return f"[{self.low:g}, {self.high:g}] {self.unit}".rstrip()

    def coerce(self, value: ParameterValue, current: np.ndarray | None = None) -> np.ndarray:
        """Turn ``value`` into a validated array of this parameter's shape.

        A mapping changes only the named entities of ``current`` (default: nominal).

        Raises:
            ParameterError: unknown entity, wrong length, non-finite or out-of-range value.
        """
        base = self.nominal if current is None else current
        if (
            isinstance(value, np.ndarray)
            and value.dtype == np.float64
            and value.shape == self.nominal.shape
        ):  # fast path: what samplers produce
            out = value.copy()
        elif isinstance(value, Mapping):
            if not self.entities:
                raise ParameterError(
                    f"{self.name} is a scalar parameter; give a number, not a mapping"
                )
            out = np.array(base, dtype=np.float64, copy=True)
            for key, item in value.items():
                if key not in self._entity_index:
                    raise ParameterError(
                        f"{self.name}: unknown entity {key!r}; choose from {list(self.entities)}"
                    )
                out[self._entity_index[key]] = float(item)
        else:
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"{self.name}: {value!r} is not a number or a list of numbers"
                ) from None
            if arr.ndim == 0:
                out = np.full(self.shape, float(arr)) if self.entities else arr.copy()
            elif arr.shape == self.shape:
                out = arr.copy()
            else:
                raise ParameterError(
                    f"{self.name}: expected a number or {len(self.entities)} values "
                    f"(one per {', '.join(self.entities)}), got shape {arr.shape}"
                )
        self._check(out)
        return out

    def _check(self, arr: np.ndarray) -> None:
        lo, hi = (float(arr.min()), float(arr.max())) if arr.ndim else (float(arr), float(arr))
        if lo >= self.low and hi <= self.high:  # False for NaN too
            if self.integer and np.any(arr != np.round(arr)):
                raise ParameterError(f"{self.name} must be a whole number, got {arr.tolist()}")
            return
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{self.name}: value must be finite, got {arr.tolist()}")
        bad = (arr < self.low) | (arr > self.high)
        if np.any(bad):
            shown = arr[bad].ravel()[0] if arr.ndim else float(arr)
            raise ParameterError(
                f"{self.name}={shown:g} is outside the valid range {self.range_text()}"
            )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description (used by ``sim2real envs show --json``)."""
        return {
            "name": self.name,
            "nominal": self.nominal.tolist(),
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "description": self.description,
            "entities": list(self.entities),
            "integer": self.integer,
            "is_scale": self.is_scale,
        }


class ParameterSet:
    """Current values of a set of parameters, with validation and change tracking.

    ``set`` validates everything first and only then commits, so a bad value leaves the set
    unchanged. ``pop_dirty`` returns the names changed since the last call: the env applies only
    those to the physics, which keeps domain application cheap.

    Application order: ``pop_dirty`` always lists names in the order the specs were declared
    (never in hash order), so every process applies the same parameters in the same order. The
    envs declare the body parameters first (``mass_scale``, ``inertia_scale``, friction, ...),
    then gravity, motor strength, frame skip, latency and observation noise, then the robot's
    own (PD gains). Each applied value is final whatever else changes: a mass change rewrites
    the link inertia from ``inertia_scale`` in the same ``changeDynamics`` call (see
    :meth:`~sim2real.envs.body_dynamics.BodyDynamics.apply`).
    """

    def __init__(self, specs: Iterable[ParameterSpec]) -> None:
        self.specs: dict[str, ParameterSpec] = {s.name: s for s in specs}
        self._values: dict[str, np.ndarray] = {
            n: np.array(s.nominal, copy=True) for n, s in self.specs.items()
        }
        self._dirty: builtins.set[str] = builtins.set(self.specs)

    def spec(self, name: str) -> ParameterSpec:
        """The spec of ``name``; raises :class:`ParameterError` listing the known names."""
        try:
            return self.specs[name]
        except KeyError:
            raise ParameterError(
                f"unknown dynamics parameter {name!r}; known: {', '.join(sorted(self.specs))}"
            ) from None

    def get(self, name: str) -> np.ndarray:
        """Current value (a copy) of ``name``."""
        return self._values[self.spec(name).name].copy()

    def values(self) -> dict[str, np.ndarray]:
        """Copies of all current values."""
        return {n: v.copy() for n, v in self._values.items()}

    def set(self, values: Mapping[str, ParameterValue]) -> None:
        """Validate and set several parameters at once (all or nothing)."""
        staged = {
            name: self.spec(name).coerce(value, self._values[name])
            for name, value in values.items()
        }
        for name, arr in staged.items():
            if arr.tobytes() != self._values[name].tobytes():
                self._values[name] = arr
                self._dirty.add(name)

    def reset(self, names: Iterable[str] | None = None) -> None:
        """Restore nominal values (all parameters, or only ``names``)."""
        self.set({n: self.specs[n].nominal for n in (names if names is not None else self.specs)})

    def pop_dirty(self) -> tuple[str, ...]:
        """Names changed since the previous call (all on the first call), in declaration order."""
        dirty, self._dirty = self._dirty, builtins.set()
        return tuple(n for n in self.specs if n in dirty)

    def as_plain(self) -> dict[str, float | list[float]]:
        """Values as JSON-ready floats/lists."""
        return {n: (v.tolist() if v.ndim else float(v)) for n, v in self._values.items()}
