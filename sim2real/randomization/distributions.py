"""Probability distributions of domain parameters, as validated data (pydantic).

Each distribution is a small model tagged by ``dist`` (``uniform``, ``log_uniform``, ``normal``,
``truncated_normal``, ``choice``, ``constant``) with a vectorized :meth:`sample` that draws from a
NumPy ``Generator`` (the env's ``np_random``) and a :meth:`support` used to check a domain against
the physically valid range of its parameter before anything is simulated.

In YAML a bare number is shorthand for ``{dist: constant, value: number}``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from sim2real.strict import StrictModel

__all__ = [
    "DIST_KEYS",
    "Choice",
    "Constant",
    "Distribution",
    "LogUniform",
    "Normal",
    "TruncatedNormal",
    "Uniform",
    "dist_to_plain",
]


class _Dist(StrictModel):
    model_config = ConfigDict(frozen=True)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        """One draw (``size=None``, a float) or ``size`` independent draws (an array)."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (``-inf``/``inf`` if unbounded)."""
        raise NotImplementedError

    @property
    def is_random(self) -> bool:
        """False for a constant (no random numbers are consumed)."""
        return True

    def describe(self) -> str:
        """Short human-readable form, e.g. ``U(0.8, 1.2)``."""
        raise NotImplementedError


class Uniform(_Dist):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} > high {self.high:g}")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        return rng.uniform(self.low, self.high, size)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def describe(self) -> str:
        return f"U({self.low:g}, {self.high:g})"


class LogUniform(_Dist):
    """Log-uniform on ``[low, high]`` (``low > 0``): uniform in ``log(x)``, for scale factors."""

    dist: Literal["log_uniform"] = "log_uniform"
    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LogUniform:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} > high {self.high:g}")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        return np.exp(rng.uniform(math.log(self.low), math.log(self.high), size))

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def describe(self) -> str:
        return f"logU({self.low:g}, {self.high:g})"


class Normal(_Dist):
    """Gaussian ``N(mean, std^2)``; draws are clipped to the parameter's physical bounds."""

    dist: Literal["normal"] = "normal"
    mean: float
    std: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        return rng.normal(self.mean, self.std, size)

    def support(self) -> tuple[float, float]:
        if self.std == 0:
            return self.mean, self.mean
        return -math.inf, math.inf

    def describe(self) -> str:
        return f"N({self.mean:g}, {self.std:g})"


class TruncatedNormal(_Dist):
    """Gaussian ``N(mean, std^2)`` restricted to ``[low, high]`` (rejection sampling)."""

    dist: Literal["truncated_normal"] = "truncated_normal"
    mean: float
    std: float = Field(gt=0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> TruncatedNormal:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} > high {self.high:g}")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        n = 1 if size is None else size
        out = rng.normal(self.mean, self.std, n)
        bad = (out < self.low) | (out > self.high)
        for _ in range(100):  # acceptance >= ~5% for any sane truncation: converges fast
            if not bad.any():
                break
            out[bad] = rng.normal(self.mean, self.std, int(bad.sum()))
            bad = (out < self.low) | (out > self.high)
        if bad.any():  # pathological truncation far in a tail: fall back to uniform
            out[bad] = rng.uniform(self.low, self.high, int(bad.sum()))
        return float(out[0]) if size is None else out

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def describe(self) -> str:
        return f"TN({self.mean:g}, {self.std:g}; {self.low:g}..{self.high:g})"


class Choice(_Dist):
    """One of ``values`` (optionally with ``weights``, normalized to probabilities)."""

    dist: Literal["choice"] = "choice"
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"{len(self.weights)} weights for {len(self.values)} values; give one each"
                )
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        # rng.choice re-validates p on every call (~4x slower than this)
        n = len(self.values)
        if self.weights is None:
            idx = rng.integers(n, size=size)
        else:
            cdf = np.cumsum(self.weights) / sum(self.weights)
            idx = np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), n - 1)
        if size is None:
            return float(self.values[int(idx)])
        return np.asarray(self.values, dtype=np.float64)[idx]

    def support(self) -> tuple[float, float]:
        return min(self.values), max(self.values)

    def describe(self) -> str:
        return "{" + ", ".join(f"{v:g}" for v in self.values) + "}"


class Constant(_Dist):
    """Always ``value`` (a fixed shift; targets are made of these)."""

    dist: Literal["constant"] = "constant"
    value: float

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        return self.value if size is None else np.full(size, self.value)

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    @property
    def is_random(self) -> bool:
        return False

    def describe(self) -> str:
        return f"{self.value:g}"


#: Any distribution, discriminated by its ``dist`` field.
Distribution = Annotated[
    Union[Uniform, LogUniform, Normal, TruncatedNormal, Choice, Constant],
    Field(discriminator="dist"),
]

#: Keys that belong to a distribution (the rest of a parameter entry configures the term).
DIST_KEYS = frozenset({"dist", "low", "high", "mean", "std", "values", "weights", "value"})


def dist_to_plain(dist: _Dist) -> Any:
    """YAML-ready form: a bare number for a constant, else a dict with ``dist`` first."""
    if isinstance(dist, Constant):
        return dist.value
    data = dist.model_dump(exclude_none=True)
    return {"dist": data.pop("dist"), **data}
