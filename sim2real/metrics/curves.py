"""Per-run learning-curve metrics (Taylor & Stone 2009) on plain arrays.

A learning curve is two 1-D arrays of equal length: ``steps`` (environment samples on the
target, strictly increasing) and ``values`` (mean evaluation return at those steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Crossing",
    "area_under_curve",
    "as_curve",
    "asymptotic_performance",
    "delayed_area",
    "fine_tuning_dip",
    "initial_performance",
    "time_to_threshold",
]

FloatArray = NDArray[np.float64]


def as_curve(steps: ArrayLike, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate and convert a learning curve to float arrays.

    Raises:
        ValueError: if the arrays are empty, of different length, not finite, or the steps
            are not strictly increasing.
    """
    s = np.asarray(steps, dtype=np.float64).reshape(-1)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if s.size == 0 or s.size != v.size:
        raise ValueError(
            f"a curve needs equal, non-zero numbers of steps and values, got {s.size} and {v.size}"
        )
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(v))):
        raise ValueError("a curve's steps and values must be finite")
    if np.any(np.diff(s) <= 0):
        raise ValueError("a curve's steps must be strictly increasing")
    return s, v


def initial_performance(values: ArrayLike) -> float:
    """Performance at the first evaluation (before any target training when it is at step 0)."""
    return float(np.asarray(values, dtype=np.float64).reshape(-1)[0])


def asymptotic_performance(values: ArrayLike, last_k: int = 1) -> float:
    """Final performance: the mean of the last ``last_k`` evaluations (all of them if fewer)."""
    if last_k < 1:
        raise ValueError(f"last_k must be >= 1, got {last_k}")
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return float(v[-last_k:].mean())


def area_under_curve(
    steps: ArrayLike,
    values: ArrayLike,
    *,
    horizon: tuple[float, float] | None = None,
    normalize: bool = True,
) -> float:
    """Trapezoidal area under the curve over environment steps.

    Args:
        horizon: ``(start, end)`` to integrate over; the curve is linearly interpolated inside
            its range and held constant (first/last value) outside it. Default: the curve's range.
        normalize: divide by the horizon length, giving the time-averaged return (same unit as
            the returns, comparable across budgets). ``False`` gives return x steps.
    """
    s, v = as_curve(steps, values)
    lo, hi = (s[0], s[-1]) if horizon is None else (float(horizon[0]), float(horizon[1]))
    if hi < lo:
        raise ValueError(f"horizon end {hi} is before its start {lo}")
    if hi == lo:
        return float(np.interp(lo, s, v)) if normalize else 0.0
    inner = s[(s > lo) & (s < hi)]
    grid = np.concatenate(([lo], inner, [hi]))
    y = np.interp(grid, s, v)
    area = float(np.sum(np.diff(grid) * (y[1:] + y[:-1])) / 2.0)
    return area / (hi - lo) if normalize else area


@dataclass(frozen=True)
class Crossing:
    """When a run first reached the threshold.

    Attributes:
        step: interpolated step of the first crossing; for a censored run, the last evaluated
            step (the true crossing time is *at least* this).
        censored: ``True`` if the run never reached the threshold within its budget.
    """

    step: float
    censored: bool


def time_to_threshold(steps: ArrayLike, values: ArrayLike, threshold: float) -> Crossing:
    """Steps until the curve first reaches ``threshold``, interpolating linearly between evals.

    If the first evaluation already reaches it the time is that evaluation's step. A run that
    never reaches it is right-censored at its last evaluated step.
    """
    s, v = as_curve(steps, values)
    hits = np.flatnonzero(v >= threshold)
    if hits.size == 0:
        return Crossing(step=float(s[-1]), censored=True)
    i = int(hits[0])
    if i == 0:
        return Crossing(step=float(s[0]), censored=False)
    s0, s1, v0, v1 = s[i - 1], s[i], v[i - 1], v[i]
    frac = (threshold - v0) / (v1 - v0)  # v0 < threshold <= v1, so v1 > v0
    return Crossing(step=float(s0 + frac * (s1 - s0)), censored=False)


def delayed_area(
    steps: ArrayLike, values: ArrayLike, *, delay: float, end: float, fill: float
) -> float:
    """Normalized area over ``[0, end]`` of a curve whose learning started ``delay`` steps late.

    Used to count source pretraining samples: during the first ``delay`` steps the learner has
    performance ``fill`` (no target learning yet, e.g. scratch's initial return); after that it
    follows its own curve, shifted right by ``delay``. If ``delay >= end`` the area is ``fill``.
    """
    if delay < 0 or end <= 0:
        raise ValueError(f"need delay >= 0 and end > 0, got delay={delay}, end={end}")
    s, v = as_curve(steps, values)
    waited = min(delay, end)
    area = float(fill) * waited
    if end > delay:
        area += area_under_curve(s, v, horizon=(s[0], s[0] + end - delay), normalize=False)
    return area / end


DIP_FRACTION = 0.25
"""Share of the budget over which the fine-tuning dip is measured."""


def fine_tuning_dip(
    steps: ArrayLike,
    values: ArrayLike,
    reference: float,
    *,
    end: float | None = None,
    fraction: float = DIP_FRACTION,
) -> float:
    """The fine-tuning dip: ``min (return - reference)`` over the evaluations in the first
    ``fraction`` of the budget (from the first step to ``end``, default the last step).

    With ``reference`` the source's zero-shot return on the target, a negative dip is how far
    fine-tuning first falls below what the source already did; 0 or more: no dip. The first
    evaluation (step 0) counts, so a run that only improves has dip ``values[0] - reference``.
    """
    s, v = as_curve(steps, values)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    stop = s[0] + fraction * ((s[-1] if end is None else float(end)) - s[0])
    window = v[s <= stop + 1e-9]
    return float(np.min(window) - reference)
