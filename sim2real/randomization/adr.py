"""Automatic Domain Randomization (OpenAI et al. 2019, "Solving Rubik's Cube with a Robot Hand").

Each ADR parameter has a range ``[low, high]`` that starts at its nominal value. At every episode
reset, with probability ``boundary_prob`` (p_b) one parameter is pinned to one of its boundaries
(the others are drawn uniformly from their ranges). The return of a pinned episode goes to that
boundary's buffer; when the buffer holds ``buffer_size`` (m) results, their mean decides: expand the
boundary outwards by ``delta`` if mean >= ``threshold_high``, shrink it inwards by ``delta`` if
mean <= ``threshold_low`` (never past the nominal value, never beyond the hard limits), then the
buffer is cleared.

Split of work: :class:`ADRState` is the pure algorithm (tested on synthetic performance streams);
the :class:`~sim2real.randomization.wrapper.DomainRandomizationWrapper` samples from its copy of
the ranges and reports pinned episodes in ``info["adr"]``; ``ADRCallback`` (SB3, in
:mod:`sim2real.randomization.callbacks`) owns the
authoritative state, feeds it those reports, pushes changed ranges to every env (works across
``SubprocVecEnv``), logs ``dr/adr/*`` and saves/restores it with checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from sim2real.envs.parameters import ParameterSpec
from sim2real.errors import CheckpointError, DomainError
from sim2real.strict import StrictModel

__all__ = ["ADRBinding", "ADRConfig", "ADRParameter", "ADRState"]

Boundary = Literal["low", "high"]
#: Width floor (in parameter units) used in the entropy of a zero-width range.
MIN_WIDTH = 1e-6


class ADRParameter(StrictModel):
    """Hard limits and step of one ADR-controlled parameter (``param`` or ``param/entity``)."""

    low: float
    """Hard lower limit of the range (in ``mode`` units)."""
    high: float
    """Hard upper limit of the range."""
    delta: float = Field(gt=0)
    """Step by which a boundary expands or shrinks."""
    mode: Literal["scale", "absolute"] = "scale"
    """``scale``: values multiply the nominal value (range starts at 1); ``absolute``: values in
    the parameter's unit (range starts at the nominal value)."""

    @model_validator(mode="after")
    def _ordered(self) -> ADRParameter:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} > high {self.high:g}")
        return self


class ADRConfig(StrictModel):
    """Automatic domain randomization settings (a training option: ``adr:`` in a config)."""

    parameters: dict[str, ADRParameter] = Field(min_length=1)
    """ADR parameters by ``name`` (all entities) or ``name/entity``."""
    boundary_prob: float = Field(0.5, ge=0, le=1)
    """p_b: probability that an episode pins one parameter to one boundary."""
    buffer_size: int = Field(10, ge=1)
    """m: pinned-episode returns collected per boundary before a decision."""
    threshold_low: float
    """t_L: shrink a boundary when the mean return there is <= this."""
    threshold_high: float
    """t_H: expand a boundary when the mean return there is >= this."""

    @model_validator(mode="after")
    def _thresholds(self) -> ADRConfig:
        if self.threshold_low >= self.threshold_high:
            raise ValueError(
                f"threshold_low {self.threshold_low:g} must be < threshold_high "
                f"{self.threshold_high:g}"
            )
        return self


class ADRState:
    """Ranges and per-boundary performance buffers (the ADR algorithm, no env involved).

    Args:
        config: the ADR settings.
        init: starting (nominal) value of each parameter key, in its ``mode`` units.
    """

    def __init__(self, config: ADRConfig, init: Mapping[str, float]) -> None:
        self.config = config
        missing = set(config.parameters) - set(init)
        if missing:
            raise DomainError(f"adr: no nominal value for {', '.join(sorted(missing))}")
        self.init = {k: float(init[k]) for k in config.parameters}
        for key, p in config.parameters.items():
            if not p.low <= self.init[key] <= p.high:
                raise DomainError(
                    f"adr.parameters.{key}: nominal {self.init[key]:g} is outside the hard "
                    f"limits [{p.low:g}, {p.high:g}]"
                )
        self.ranges: dict[str, list[float]] = {k: [v, v] for k, v in self.init.items()}
        self.buffers: dict[str, dict[str, list[float]]] = {
            k: {"low": [], "high": []} for k in self.init
        }
        self.n_updates = 0

    # -------------------------------------------------------------- algorithm
    def sample(self, rng: np.random.Generator) -> tuple[dict[str, float], tuple[str, str] | None]:
        """Values for one episode and the pinned ``(key, boundary)`` (or ``None``)."""
        keys = list(self.ranges)
        pinned: tuple[str, str] | None = None
        if rng.random() < self.config.boundary_prob:
            key = keys[int(rng.integers(len(keys)))]
            pinned = (key, "low" if rng.random() < 0.5 else "high")
        values = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in self.ranges.items()}
        if pinned is not None:
            values[pinned[0]] = self.boundary_value(*pinned)
        return values, pinned

    def boundary_value(self, key: str, boundary: str) -> float:
        """Current value of one boundary."""
        return self.ranges[key][0 if boundary == "low" else 1]

    def record(
        self, key: str, boundary: str, performance: float, value: float | None = None
    ) -> bool:
        """Add a pinned episode's performance; return True if a range changed.

        ``value`` is the boundary value the episode ran with: results for a boundary that has
        moved since (episodes already running when the range changed) are discarded.
        """
        if key not in self.ranges or boundary not in ("low", "high"):
            return False
        if value is not None and not math.isclose(
            value, self.boundary_value(key, boundary), rel_tol=1e-9, abs_tol=1e-12
        ):
            return False
        buf = self.buffers[key][boundary]
        buf.append(float(performance))
        if len(buf) < self.config.buffer_size:
            return False
        mean = float(np.mean(buf))
        buf.clear()
        p, cfg = self.config.parameters[key], self.config
        lo, hi = self.ranges[key]
        init = self.init[key]
        if boundary == "high":
            if mean >= cfg.threshold_high:
                hi = min(hi + p.delta, p.high)
            elif mean <= cfg.threshold_low:
                hi = max(hi - p.delta, init)
        else:
            if mean >= cfg.threshold_high:
                lo = max(lo - p.delta, p.low)
            elif mean <= cfg.threshold_low:
                lo = min(lo + p.delta, init)
        changed = [lo, hi] != self.ranges[key]
        self.ranges[key] = [lo, hi]
        self.n_updates += int(changed)
        return changed

    def entropy(self) -> float:
        """ADR entropy in nats per dimension: mean of ``log(high - low)`` (widths floored)."""
        widths = [max(hi - lo, MIN_WIDTH) for lo, hi in self.ranges.values()]
        return float(np.mean(np.log(widths)))

    # -------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """JSON-serializable state (config, nominal values, ranges, buffers)."""
        return {
            "config": self.config.model_dump(mode="json"),
            "init": dict(self.init),
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "buffers": {k: {b: list(v) for b, v in d.items()} for k, d in self.buffers.items()},
            "n_updates": self.n_updates,
        }

    @classmethod
    def from_state_dict(cls, data: Mapping[str, Any], config: ADRConfig | None = None) -> ADRState:
        """Rebuild from :meth:`state_dict` (``config`` defaults to the saved one)."""
        try:
            cfg = config or ADRConfig.model_validate(data["config"])
            state = cls(cfg, data["init"])
            for key in state.ranges:
                lo, hi = (float(x) for x in data["ranges"][key])
                state.ranges[key] = [lo, hi]
                state.buffers[key] = {
                    b: [float(x) for x in data["buffers"][key][b]] for b in ("low", "high")
                }
            state.n_updates = int(data.get("n_updates", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"ADR state does not match the ADR config ({type(exc).__name__}: {exc}); "
                "resume with the config the run was started with"
            ) from None
        return state


class ADRBinding:
    """ADR parameter keys resolved against an env's parameter specs."""

    def __init__(self, config: ADRConfig, specs: Mapping[str, ParameterSpec]) -> None:
        self.items: list[tuple[str, ParameterSpec, int | None, bool]] = []
        self.init: dict[str, float] = {}
        for key, p in config.parameters.items():
            where = f"adr.parameters.{key}"
            name, _, ent = key.partition("/")
            if name not in specs:
                raise DomainError(f"{where}: unknown parameter; known: {', '.join(specs)}")
            spec = specs[name]
            idx: int | None = None
            if ent:
                if ent not in spec.entities:
                    raise DomainError(
                        f"{where}: unknown entity {ent!r}; choose from {', '.join(spec.entities)}"
                    )
                idx = spec.entities.index(ent)
            nominal = spec.nominal.ravel() if idx is None else spec.nominal.ravel()[idx : idx + 1]
            scale = p.mode == "scale"
            if scale:
                if nominal.size and not np.any(nominal):
                    raise DomainError(f"{where}: scale of a nominal value 0; use mode: absolute")
                init = 1.0
                ends = np.concatenate([nominal * p.low, nominal * p.high])
            else:
                if nominal.size and not np.all(nominal == nominal.ravel()[0]):
                    raise DomainError(
                        f"{where}: entities have different nominal values; name one entity "
                        f"({name}/ENTITY) or use mode: scale"
                    )
                init = float(nominal.ravel()[0]) if nominal.size else float(spec.nominal)
                ends = np.array([p.low, p.high])
            bad = ends[(ends < spec.low) | (ends > spec.high)]
            if bad.size:
                raise DomainError(
                    f"{where}: hard limit reaches {bad[0]:g}, outside the physical range "
                    f"{spec.range_text()}"
                )
            self.items.append((key, spec, idx, scale))
            self.init[key] = init

    def apply(self, values: dict[str, np.ndarray], xs: Mapping[str, float]) -> None:
        """Write ADR draws ``xs`` (by key) into full parameter arrays ``values`` (in place)."""
        for key, spec, idx, scale in self.items:
            arr = values.get(spec.name)
            arr = np.array(spec.nominal if arr is None else arr, dtype=np.float64)
            x = xs[key]
            if idx is None:
                arr[...] = spec.nominal * x if scale else x
            else:
                arr[idx] = spec.nominal[idx] * x if scale else x
            np.clip(arr, spec.low, spec.high, out=arr)
            if spec.integer:
                np.rint(arr, out=arr)
            values[spec.name] = arr
