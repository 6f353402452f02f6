"""Which dynamics parameters a fit estimates, their search ranges and the unit-cube coordinates.

``--params mass_scale,motor_strength,mass_scale.torso,lateral_friction=0.2:2`` selects:

* ``NAME``: one value for the parameter (shared by all its entities, as ``NAME: value`` in a
  domain file);
* ``NAME.ENTITY``: that entity alone; ``NAME.*``: every entity separately;
* ``=LOW:HIGH``: the search range (default: scales ``[0.2, 5]`` x nominal searched in log space,
  whole numbers such as ``action_latency`` over their valid range, other quantities from their
  lower bound to ``max(4 x nominal, 1)``), always inside the physical bounds.

The optimizer works in ``[0, 1]`` per parameter; :class:`FitParameter` maps both ways.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim2real.envs.parameters import ParameterSpec
from sim2real.errors import ParameterError

__all__ = ["DEFAULT_PARAMS", "FitParameter", "dynamics_values", "parse_params"]

DEFAULT_PARAMS = "mass_scale,motor_strength"
#: Stochastic parameters: their effect is what the fitted spread explains, not a value to fit.
_NOT_FITTABLE = {"obs_noise_std": "observation noise is what the fit's spread and likelihood model"}


@dataclass(frozen=True)
class FitParameter:
    """One fitted quantity: a parameter (one shared value) or one entity of it."""

    name: str
    entity: str | None
    low: float
    high: float
    nominal: float
    log: bool
    integer: bool
    unit: str

    @property
    def key(self) -> str:
        """``name`` or ``name.entity``."""
        return self.name if self.entity is None else f"{self.name}.{self.entity}"

    def to_physical(self, u: float) -> float:
        """Unit coordinate (clipped to [0, 1]) -> physical value (rounded if integer)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return float(round(x)) if self.integer else x

    def to_unit(self, x: float) -> float:
        """Physical value -> unit coordinate."""
        x = min(max(float(x), self.low), self.high)
        if self.log:
            return (math.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)

    def physical_spread(self, u: float, spread_u: float) -> float:
        """A spread in unit coordinates at ``u`` as a physical standard deviation (delta method)."""
        if self.log:
            return abs(self._raw(u)) * (math.log(self.high) - math.log(self.low)) * spread_u
        return (self.high - self.low) * spread_u

    def _raw(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


def _default_range(spec: ParameterSpec, nominal: float) -> tuple[float, float, bool]:
    if spec.integer:
        return spec.low, min(spec.high, 10.0), False
    if spec.is_scale:
        return max(spec.low, 0.2), min(spec.high, 5.0), True
    if nominal >= 0:
        return spec.low, min(spec.high, max(4.0 * nominal, 1.0)), False
    return spec.low, spec.high, False


def _parse_range(item: str, text: str) -> tuple[float, float]:
    try:
        lo_text, hi_text = text.split(":")
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        raise ParameterError(f"--params {item}: write the range as NAME=LOW:HIGH") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ParameterError(f"--params {item}: need finite LOW < HIGH")
    return lo, hi


def _one(item: str, spec: ParameterSpec, entity: str | None, rng: str | None) -> FitParameter:
    index = spec.entities.index(entity) if entity is not None else None
    nominal_arr = spec.nominal if index is None else spec.nominal[index : index + 1]
    nominal = float(np.mean(nominal_arr)) if nominal_arr.size else float(spec.nominal)
    low, high, log = _default_range(spec, nominal)
    if rng is not None:
        low, high = _parse_range(item, rng)
        if low < spec.low or high > spec.high:
            raise ParameterError(
                f"--params {item}: the range must lie inside {spec.name}'s valid range "
                f"{spec.range_text()}"
            )
        log = spec.is_scale and low > 0
    return FitParameter(spec.name, entity, low, high, nominal, log, spec.integer, spec.unit)


def parse_params(
    text: str | Sequence[str], specs: Mapping[str, ParameterSpec]
) -> list[FitParameter]:
    """Parse ``--params`` against the env's specs.

    Raises:
        ParameterError: unknown parameter or entity, a scalar with an entity, overlapping or
            repeated selections, a bad range (one line naming the item and the fix).
    """
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    items = [s for s in items if s]
    if not items:
        raise ParameterError(f"--params: name at least one parameter, e.g. {DEFAULT_PARAMS}")
    out: list[FitParameter] = []
    for item in items:
        target, _, rng = item.partition("=")
        name, _, entity = target.strip().partition(".")
        if name not in specs:
            raise ParameterError(
                f"--params {item}: unknown dynamics parameter {name!r}; known: "
                f"{', '.join(sorted(specs))} (see `sim2real envs show ENV`)"
            )
        if name in _NOT_FITTABLE:
            raise ParameterError(f"--params {item}: not fitted ({_NOT_FITTABLE[name]})")
        spec = specs[name]
        if entity and not spec.entities:
            raise ParameterError(f"--params {item}: {name} is a scalar parameter (no entities)")
        if entity and entity != "*" and entity not in spec.entities:
            raise ParameterError(
                f"--params {item}: unknown entity {entity!r} of {name}; choose from "
                f"{', '.join(spec.entities)}"
            )
        entities: list[str | None] = list(spec.entities) if entity == "*" else [entity or None]
        out += [_one(item, spec, e, rng or None) for e in entities]
    _check_overlap(out)
    return out


def _check_overlap(params: list[FitParameter]) -> None:
    seen: dict[str, set[str | None]] = {}
    for p in params:
        have = seen.setdefault(p.name, set())
        if p.entity in have or (p.entity is None and have) or (None in have):
            raise ParameterError(
                f"--params: {p.key} is selected twice (or together with {p.name} as a whole); "
                "give each parameter once, either shared or per entity"
            )
        have.add(p.entity)


def dynamics_values(params: Sequence[FitParameter], values: Sequence[float]) -> dict[str, Any]:
    """Physical values -> the mapping ``set_dynamics`` takes (``{name: v}`` or
    ``{name: {entity: v}}``)."""
    out: dict[str, Any] = {}
    for p, v in zip(params, values):
        if p.entity is None:
            out[p.name] = float(v)
        else:
            out.setdefault(p.name, {})[p.entity] = float(v)
    return out
