"""A domain compiled against an env's parameter specs: checked once, then sampled fast.

:class:`DomainSampler` resolves parameter names and entities, checks every distribution's
support against the parameter's physically valid range (so a target may lie outside the source
ranges but never below a zero mass), and turns each term into a small closure-free plan that
draws a full value array per parameter from the env's ``np_random``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim2real.envs.parameters import ParameterSpec
from sim2real.errors import DomainError
from sim2real.randomization.distributions import Choice, Normal, Uniform, _Dist
from sim2real.randomization.domain import Domain, ParameterTerm

__all__ = ["DomainSampler", "plain_values"]


def plain_values(
    values: Mapping[str, np.ndarray], specs: Mapping[str, ParameterSpec]
) -> dict[str, float | dict[str, float]]:
    """``{param: number}`` for scalars, ``{param: {entity: number}}`` otherwise (JSON-ready)."""
    out: dict[str, float | dict[str, float]] = {}
    for name, value in values.items():
        ents = specs[name].entities
        out[name] = dict(zip(ents, value.tolist())) if ents else float(value)
    return out


class _Term:
    """One parameter term bound to its spec."""

    def __init__(self, name: str, term: ParameterTerm, spec: ParameterSpec, where: str) -> None:
        self.name = name
        self.spec = spec
        self.resample = term.resample
        self.interval = term.interval or 0
        self.scale = term.mode == "scale"
        self.nominal = np.array(spec.nominal, dtype=np.float64)
        n = len(spec.entities)
        key = f"{where}.parameters.{name}"
        if term.distribution is not None:
            if term.per_entity and not spec.entities:
                raise DomainError(f"{key}.per_entity: {name} is a scalar parameter")
            self.parts: list[tuple[int | None, _Dist]] = [(None, term.distribution)]
            self.per_entity = term.per_entity
        else:
            if not spec.entities:
                raise DomainError(f"{key}.entities: {name} is a scalar parameter (no entities)")
            self.per_entity = False
            ents = term.entities
            if isinstance(ents, list):
                if len(ents) != n:
                    raise DomainError(
                        f"{key}.entities: {len(ents)} entries for {n} entities "
                        f"({', '.join(spec.entities)}); give one per entity or use names"
                    )
                self.parts = list(enumerate(ents))
            else:
                index = {e: i for i, e in enumerate(spec.entities)}
                self.parts = []
                for ent, dist in (ents or {}).items():
                    if ent not in index:
                        raise DomainError(
                            f"{key}.entities.{ent}: unknown entity of {name}; choose from "
                            f"{', '.join(spec.entities)}"
                        )
                    self.parts.append((index[ent], dist))
        for idx, part in self.parts:
            self._check(idx, part, key if idx is None else f"{key}.entities.{spec.entities[idx]}")
        self.random = any(d.is_random for _, d in self.parts)
        self._n = n
        # bounded supports were checked against the physical range above: only an unbounded
        # normal can leave it, so only then is clipping needed
        self._clip = any(isinstance(d, Normal) and d.std > 0 for _, d in self.parts)
        self._int_uniform = (
            spec.integer and not self.scale and isinstance(self.parts[0][1], Uniform)
        )
        self.const: np.ndarray | None = None
        if not self.random:
            self.const = self.draw(np.random.default_rng(0))

    def _check(self, idx: int | None, dist: _Dist, key: str) -> None:
        spec = self.spec
        nominal = self.nominal.ravel() if idx is None else self.nominal.ravel()[idx : idx + 1]
        if self.scale and nominal.size and not np.any(nominal):
            raise DomainError(
                f"{key}.mode: scale of a nominal value 0 has no effect; use mode: absolute"
            )
        lo, hi = dist.support()
        if isinstance(dist, Normal) and dist.std > 0:
            lo = hi = dist.mean  # unbounded: draws are clipped; the mean must be valid
        ends = np.concatenate([nominal * lo, nominal * hi]) if self.scale else np.array([lo, hi])
        bad = ends[(ends < spec.low) | (ends > spec.high)]
        if bad.size:
            raise DomainError(
                f"{key}: {dist.describe()}{' x nominal' if self.scale else ''} reaches "
                f"{bad[0]:g}, outside the physical range {spec.range_text()} of {self.name}"
            )
        if (
            spec.integer
            and not self.scale
            and isinstance(dist, Choice)
            and any(v != round(v) for v in dist.values)
        ):
            raise DomainError(f"{key}: {self.name} takes whole numbers only")

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """A full value array (every entity) for this parameter."""
        if self.const is not None:
            return self.const
        spec = self.spec
        if self.parts[0][0] is None:
            dist = self.parts[0][1]
            size = self._n if self.per_entity else None
            if self._int_uniform:
                assert isinstance(dist, Uniform)
                x = rng.integers(math.ceil(dist.low), math.floor(dist.high) + 1, size)
            else:
                x = dist.sample(rng, size)
            if self.scale:
                value = np.asarray(self.nominal * x, dtype=np.float64)
            elif size is None:
                value = np.full(self.nominal.shape, float(x))
            else:
                value = np.asarray(x, dtype=np.float64)
        else:
            value = self.nominal.copy()
            for idx, dist in self.parts:
                x = dist.sample(rng)
                value[idx] = self.nominal[idx] * x if self.scale else x
        if self._clip:
            np.clip(value, spec.low, spec.high, out=value)
        if spec.integer:
            np.rint(value, out=value)
        return value


class DomainSampler:
    """Draw full parameter values of ``domain`` for an env with parameter ``specs``.

    Raises:
        DomainError: unknown parameter or entity, or a distribution reaching outside the
            physical range; the message starts with ``where`` (file and section).
    """

    def __init__(self, domain: Domain, specs: Mapping[str, ParameterSpec], where: str = "") -> None:
        self.domain = domain
        self.specs = dict(specs)
        where = where or (f"domain {domain.name}" if domain.name else "domain")
        self.terms: list[_Term] = []
        for name, term in domain.parameters.items():
            if name not in self.specs:
                raise DomainError(
                    f"{where}.parameters.{name}: unknown parameter for this env; known: "
                    f"{', '.join(self.specs)}"
                )
            self.terms.append(_Term(name, term, self.specs[name], where))
        self.interval_terms = [t for t in self.terms if t.resample == "interval"]
        self._once: dict[str, np.ndarray] = {}

    def sample_reset(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Values at an episode reset (``once`` terms are drawn only the first time)."""
        out: dict[str, np.ndarray] = {}
        for t in self.terms:
            if t.resample == "once":
                if t.name not in self._once:
                    self._once[t.name] = t.draw(rng)
                out[t.name] = self._once[t.name]
            else:
                out[t.name] = t.draw(rng)
        return out

    def sample_step(self, rng: np.random.Generator, step: int) -> dict[str, np.ndarray]:
        """Values of ``interval`` terms due at episode step ``step`` (empty if none)."""
        return {t.name: t.draw(rng) for t in self.interval_terms if step % t.interval == 0}

    def describe(self) -> list[dict[str, Any]]:
        """Rows ``{parameter, applies_to, distribution, mode, resample}`` for display."""
        rows = []
        for t in self.terms:
            if t.parts[0][0] is None:
                applies = "each entity" if t.per_entity else ("all" if t.spec.entities else "-")
                dist = t.parts[0][1].describe()
            else:
                applies = ", ".join(t.spec.entities[i] for i, _ in t.parts)  # type: ignore[index]
                dist = ", ".join(d.describe() for _, d in t.parts)
            rows.append(
                {
                    "parameter": t.name,
                    "applies_to": applies,
                    "distribution": dist,
                    "mode": "scale" if t.scale else "absolute",
                    "resample": t.resample + (f" {t.interval}" if t.interval else ""),
                }
            )
        return rows
