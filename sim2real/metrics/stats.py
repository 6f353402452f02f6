"""Aggregate statistics over seeds: IQM (as in rliable) and stratified percentile bootstrap CIs.

Each arm's runs are one stratum: a bootstrap replicate resamples the seeds *within* each arm
with replacement, so arms keep their number of runs (rliable's ``StratifiedBootstrap``).
All randomness comes from an explicit seed, so reports are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "Estimate",
    "aggregate",
    "bootstrap",
    "curve_band",
    "iqm",
]

Aggregate = Literal["mean", "iqm", "median"]
AGGREGATES: tuple[str, ...] = ("mean", "iqm", "median")


def iqm(x: ArrayLike, axis: int = -1) -> NDArray[np.float64] | float:
    """Interquartile mean: the mean of the middle 50 % of the values along ``axis``.

    Same convention as ``scipy.stats.trim_mean(x, 0.25)`` used by rliable: with ``n`` values,
    ``floor(n / 4)`` are cut from each end (so with fewer than 4 values it is the plain mean).
    """
    a = np.sort(np.asarray(x, dtype=np.float64), axis=axis)
    n = a.shape[axis]
    cut = int(0.25 * n)
    out = np.take(a, np.arange(cut, n - cut), axis=axis).mean(axis=axis)
    return float(out) if np.ndim(out) == 0 else out


def aggregate(x: ArrayLike, how: Aggregate = "mean", axis: int = -1) -> NDArray[np.float64] | float:
    """Aggregate values along ``axis`` with ``mean``, ``iqm`` or ``median``."""
    if how == "mean":
        out = np.mean(np.asarray(x, dtype=np.float64), axis=axis)
    elif how == "median":
        out = np.median(np.asarray(x, dtype=np.float64), axis=axis)
    elif how == "iqm":
        return iqm(x, axis=axis)
    else:
        raise ValueError(f"unknown aggregate {how!r}; use one of {', '.join(AGGREGATES)}")
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap confidence interval.

    ``lo``/``hi`` are NaN when the interval is undefined (e.g. a single seed).
    """

    value: float
    lo: float
    hi: float

    def excludes(self, x: float) -> bool:
        """True if the whole interval lies strictly above or strictly below ``x``."""
        return bool(self.lo > x or self.hi < x)

    def to_dict(self) -> dict[str, float | None]:
        """JSON-able form (NaN/inf become ``None``)."""
        return {k: (v if np.isfinite(v) else None) for k, v in vars(self).items()}


def bootstrap(
    statistic: Callable[..., NDArray[np.float64]],
    samples: Sequence[ArrayLike],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Stratified percentile bootstrap of ``statistic(*samples)``.

    Args:
        statistic: vectorized over a leading replicate axis: called once with the original
            samples each shaped ``(1, n_i)`` and once with resamples shaped ``(n_boot, n_i)``;
            returns one value per row.
        samples: one 1-D array of per-seed values per stratum (arm); each is resampled with
            replacement on its own.
        confidence: two-sided coverage of the percentile interval.
        seed: seed of the resampling generator (fixed: same inputs, same interval).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1) for s in samples]
    if any(a.size == 0 for a in arrays):
        raise ValueError("every bootstrap stratum needs at least one value")
    point = float(np.asarray(statistic(*(a[None, :] for a in arrays))).reshape(-1)[0])
    if all(a.size < 2 for a in arrays) or n_boot < 1:
        return Estimate(point, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    resampled = [a[rng.integers(0, a.size, size=(n_boot, a.size))] for a in arrays]
    reps = np.asarray(statistic(*resampled), dtype=np.float64).reshape(-1)
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return Estimate(point, float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2.0
    # "nearest" keeps infinite replicates (e.g. a speedup when a run starts above threshold)
    if np.all(np.isfinite(reps)):
        lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    else:
        lo, hi = np.quantile(reps, [alpha, 1.0 - alpha], method="nearest")
    return Estimate(point, float(lo), float(hi))


def curve_band(
    values: ArrayLike,
    how: Aggregate = "mean",
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-evaluation aggregate of seed curves ``(n_seeds, n_evals)`` with a bootstrap band.

    Seeds are resampled as whole curves (one index set per replicate for every evaluation).
    Returns ``(point, lo, hi)``; with a single seed the band collapses to the curve.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"expected values shaped (n_seeds, n_evals), got {v.shape}")
    point = np.asarray(aggregate(v, how, axis=0))
    if v.shape[0] < 2:
        return point, point.copy(), point.copy()
    idx = np.random.default_rng(seed).integers(0, v.shape[0], size=(n_boot, v.shape[0]))
    reps = np.asarray(aggregate(v[idx], how, axis=1))  # (n_boot, n_evals)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha], axis=0)
    return point, lo, hi
