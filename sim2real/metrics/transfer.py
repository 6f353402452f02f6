"""Transfer metrics of each arm against training from scratch, aggregated over seeds with CIs.

Taylor & Stone (2009), "Transfer Learning for Reinforcement Learning Domains: A Survey":
jumpstart, asymptotic performance, total reward (area under the curve) and transfer ratio,
time to threshold. Every metric is given for target samples only and again counting the
source pretraining samples ("total time" scenario). Statistics: per-seed values, point
estimate with the chosen aggregate (IQM by default, as rliable recommends), stratified
percentile-bootstrap CIs, and a negative-transfer flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from functools import partial
from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim2real.metrics.curves import (
    area_under_curve,
    asymptotic_performance,
    delayed_area,
    fine_tuning_dip,
    initial_performance,
    time_to_threshold,
)
from sim2real.metrics.stats import Aggregate, Estimate, aggregate, bootstrap

__all__ = [
    "ArmCurves",
    "ArmStats",
    "Comparison",
    "MetricOptions",
    "SeedStats",
    "SpeedupBound",
    "TransferMetrics",
    "align_curves",
    "compare_arms",
    "resolve_threshold",
]

Curve = tuple[ArrayLike, ArrayLike]
ThresholdReference = Literal["final", "gain"]
AucReference = Literal["zero", "scratch_initial"]


class BootArgs(TypedDict):
    """Keyword arguments of :func:`~sim2real.metrics.stats.bootstrap`."""

    n_boot: int
    confidence: float
    seed: int


@dataclass(frozen=True)
class ArmCurves:
    """The learning curves of one arm: one row per seed on a shared step grid.

    Attributes:
        steps: target-environment steps of the evaluations, shape ``(n_evals,)``.
        values: mean evaluation return, shape ``(n_seeds, n_evals)``.
        source_steps: samples spent pretraining the source (0 for scratch).
        seeds: the seed of each row (for the report).
    """

    steps: NDArray[np.float64]
    values: NDArray[np.float64]
    source_steps: float = 0.0
    seeds: tuple[int, ...] = field(default_factory=tuple)

    @classmethod
    def from_runs(
        cls, runs: Sequence[Curve], *, source_steps: float = 0.0, seeds: Sequence[int] = ()
    ) -> ArmCurves:
        """Build from per-seed ``(steps, values)`` pairs, aligned with :func:`align_curves`."""
        steps, values = align_curves(runs)
        return cls(steps, values, float(source_steps), tuple(int(s) for s in seeds))


@dataclass(frozen=True)
class MetricOptions:
    """How the metrics are computed (recorded in the report).

    Attributes:
        threshold: absolute return threshold; ``None`` derives it from scratch (below).
        threshold_fraction: fraction used when deriving the threshold.
        threshold_reference: ``final``: fraction x scratch's aggregate final return;
            ``gain``: scratch initial + fraction x (final - initial), for returns that can be
            negative.
        last_k: the asymptotic (final) performance is the mean of the last ``k`` evaluations.
        auc_reference: AUCs measured above 0 (``zero``) or above scratch's initial return
            (``scratch_initial``, meaningful ratios for negative returns).
        aggregate: seed aggregate of point estimates and bootstrap replicates.
        n_boot, confidence, seed: percentile bootstrap settings.
    """

    threshold: float | None = None
    threshold_fraction: float = 0.8
    threshold_reference: ThresholdReference = "final"
    last_k: int = 1
    auc_reference: AucReference = "zero"
    aggregate: Aggregate = "iqm"
    n_boot: int = 2000
    confidence: float = 0.95
    seed: int = 0


def align_curves(runs: Sequence[Curve]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Put per-seed curves on one step grid: the first run's steps up to the shortest run's end.

    Curves evaluated at the same steps are stacked unchanged; otherwise each is linearly
    interpolated onto the grid.
    """
    if not runs:
        raise ValueError("an arm needs at least one run")
    pairs = [
        (np.asarray(s, dtype=np.float64).reshape(-1), np.asarray(v, dtype=np.float64).reshape(-1))
        for s, v in runs
    ]
    for s, v in pairs:
        if s.size == 0 or s.size != v.size or np.any(np.diff(s) <= 0):
            raise ValueError("each run needs strictly increasing steps and one value per step")
    end = min(s[-1] for s, _ in pairs)
    grid = pairs[0][0][pairs[0][0] <= end]
    rows = [
        v[: grid.size]
        if s.size >= grid.size and np.array_equal(s[: grid.size], grid)
        else np.interp(grid, s, v)
        for s, v in pairs
    ]
    return grid, np.vstack(rows)


def resolve_threshold(scratch: ArmCurves, opts: MetricOptions) -> float:
    """The return threshold: ``opts.threshold`` or derived from the scratch arm's curves."""
    if opts.threshold is not None:
        return float(opts.threshold)
    final = aggregate([asymptotic_performance(r, opts.last_k) for r in scratch.values], "mean")
    if opts.threshold_reference == "final":
        return float(opts.threshold_fraction * final)
    start = aggregate(scratch.values[:, 0], "mean")
    return float(start + opts.threshold_fraction * (final - start))


def _per_seed(
    arm: ArmCurves,
    end: float,
    threshold: float,
    fill: float,
    opts: MetricOptions,
    zero_shot: float | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Per-seed metrics of one arm (arrays of length n_seeds)."""
    crossings = [time_to_threshold(arm.steps, row, threshold) for row in arm.values]
    ref = fill if opts.auc_reference == "scratch_initial" else 0.0
    auc = [
        area_under_curve(arm.steps, row, horizon=(arm.steps[0], end)) - ref for row in arm.values
    ]
    auc_total = [
        delayed_area(
            arm.steps - arm.steps[0], row, delay=arm.source_steps, end=end - arm.steps[0], fill=fill
        )
        - ref
        for row in arm.values
    ]
    time = np.array([c.step for c in crossings])
    dip = (
        {"dip": np.array([fine_tuning_dip(arm.steps, r, zero_shot, end=end) for r in arm.values])}
        if zero_shot is not None
        else {}
    )
    return {
        **dip,
        "initial": np.array([initial_performance(r) for r in arm.values]),
        "final": np.array([asymptotic_performance(r, opts.last_k) for r in arm.values]),
        "auc": np.array(auc),
        "auc_with_source": np.array(auc_total),
        "time_to_threshold": time,
        "time_to_threshold_with_source": time + arm.source_steps,
        "censored": np.array([c.censored for c in crossings], dtype=np.float64),
    }


def _agg(x: NDArray[np.float64], how: Aggregate) -> NDArray[np.float64]:
    return np.asarray(aggregate(x, how, axis=-1))


def _diff(t: NDArray[np.float64], s: NDArray[np.float64], how: Aggregate) -> NDArray[np.float64]:
    return _agg(t, how) - _agg(s, how)


def _ratio(
    num: NDArray[np.float64], den: NDArray[np.float64], how: Aggregate
) -> NDArray[np.float64]:
    n, d = _agg(num, how), _agg(den, how)
    safe = np.where(d != 0, d, 1.0)
    return np.where(d != 0, n / safe, np.where(n > 0, np.inf, np.nan))


SpeedupBound = Literal["exact", "lower", "upper", "undefined", "infinite"]


def _bound(scratch_censored: int, transfer_censored: int) -> SpeedupBound:
    """What a speedup from censored times means: exact, a lower/upper bound, or undefined."""
    if scratch_censored and transfer_censored:
        return "undefined"
    if scratch_censored:
        return "lower"
    return "upper" if transfer_censored else "exact"


def _jsonable(value: Any) -> Any:
    """JSON form of a result tree: estimates via ``Estimate.to_dict``, tuples as lists."""
    if isinstance(value, Estimate):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class SeedStats:
    """One metric of one arm: the per-seed values and their mean, IQM and median with
    bootstrap CIs (every aggregate a benchmark may report)."""

    per_seed: tuple[float, ...]
    mean: Estimate
    iqm: Estimate
    median: Estimate

    def estimate(self, how: Aggregate) -> Estimate:
        """The estimate of aggregate ``how`` (``mean``, ``iqm`` or ``median``)."""
        if how not in ("mean", "iqm", "median"):
            raise ValueError(f"per-arm statistics hold mean, iqm and median, not {how!r}")
        estimate: Estimate = getattr(self, how)
        return estimate


@dataclass(frozen=True)
class ArmStats:
    """Per-seed metrics of one arm (target samples, and counting the source's samples)."""

    seeds: tuple[int, ...]
    source_steps: float
    n_censored: int
    initial: SeedStats
    final: SeedStats
    auc: SeedStats
    auc_with_source: SeedStats
    time_to_threshold: SeedStats
    time_to_threshold_with_source: SeedStats
    censored: tuple[bool, ...]
    dip: SeedStats | None = None
    """Fine-tuning dip (min over the first 25 % of the budget of return - zero-shot return);
    ``None`` when the zero-shot return is unknown."""


@dataclass(frozen=True)
class Comparison:
    """One arm against the baseline (see :func:`compare_arms` for the meaning of each field)."""

    jumpstart: Estimate
    asymptotic_gap: Estimate
    auc_difference: Estimate
    auc_ratio: Estimate
    transfer_ratio: Estimate
    speedup: Estimate
    speedup_bound: SpeedupBound
    auc_ratio_with_source: Estimate
    speedup_with_source: Estimate
    speedup_with_source_bound: SpeedupBound
    negative_transfer: bool


@dataclass(frozen=True)
class TransferMetrics:
    """Every arm's statistics and every transfer arm's comparison with the baseline."""

    threshold: float
    horizon: tuple[float, float]
    options: MetricOptions
    arms: dict[str, ArmStats]
    comparisons: dict[str, Comparison]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the ``metrics`` block of ``report.json``; NaN/inf become ``null``)."""
        return _jsonable(self)


def _arm_stats(arm: ArmCurves, ps: dict[str, NDArray[np.float64]], boot: BootArgs) -> ArmStats:
    """Statistics of one arm from its per-seed metrics."""

    def stats(vals: NDArray[np.float64]) -> SeedStats:
        return SeedStats(
            per_seed=tuple(vals.tolist()),
            mean=bootstrap(partial(_agg, how="mean"), [vals], **boot),
            iqm=bootstrap(partial(_agg, how="iqm"), [vals], **boot),
            median=bootstrap(partial(_agg, how="median"), [vals], **boot),
        )

    censored = ps["censored"]
    return ArmStats(
        seeds=arm.seeds,
        source_steps=arm.source_steps,
        n_censored=int(censored.sum()),
        censored=tuple(bool(c) for c in censored),
        **{key: stats(vals) for key, vals in ps.items() if key != "censored"},
    )


def _compare(
    t: dict[str, NDArray[np.float64]],
    s: dict[str, NDArray[np.float64]],
    how: Aggregate,
    boot: BootArgs,
) -> Comparison:
    """Transfer arm ``t`` against baseline ``s`` (per-seed metrics of each)."""
    diff = partial(_diff, how=how)
    ratio = partial(_ratio, how=how)
    gap = bootstrap(diff, [t["final"], s["final"]], **boot)
    auc_diff = bootstrap(diff, [t["auc"], s["auc"]], **boot)
    auc_ratio = bootstrap(ratio, [t["auc"], s["auc"]], **boot)
    censor_bound = _bound(int(s["censored"].sum()), int(t["censored"].sum()))
    speedup = bootstrap(ratio, [s["time_to_threshold"], t["time_to_threshold"]], **boot)
    with_source = [s["time_to_threshold"], t["time_to_threshold_with_source"]]
    return Comparison(
        jumpstart=bootstrap(diff, [t["initial"], s["initial"]], **boot),
        asymptotic_gap=gap,
        auc_difference=auc_diff,
        auc_ratio=auc_ratio,
        transfer_ratio=Estimate(auc_ratio.value - 1, auc_ratio.lo - 1, auc_ratio.hi - 1),
        speedup=speedup,
        # inf: the arm is above the threshold from its first evaluation
        speedup_bound="infinite" if np.isinf(speedup.value) else censor_bound,
        auc_ratio_with_source=bootstrap(ratio, [t["auc_with_source"], s["auc"]], **boot),
        speedup_with_source=bootstrap(ratio, with_source, **boot),
        speedup_with_source_bound=censor_bound,
        negative_transfer=bool(gap.hi < 0 or auc_diff.hi < 0),
    )


def compare_arms(
    arms: Mapping[str, ArmCurves],
    *,
    baseline: str = "scratch",
    options: MetricOptions | None = None,
    zero_shot: float | None = None,
) -> TransferMetrics:
    """All transfer metrics of every arm against ``baseline``.

    Returns:
        The threshold, the horizon, the options, per-arm statistics (``per_seed`` values and
        ``mean``/``iqm`` estimates with CIs) and, per transfer arm, a :class:`Comparison`:
        ``jumpstart``, ``asymptotic_gap``, ``auc_difference``, ``auc_ratio``,
        ``transfer_ratio`` (T&S: ratio - 1), ``speedup`` (scratch time / transfer time, with
        ``speedup_bound`` saying whether censoring makes it a lower or upper bound, or
        ``infinite`` when the arm starts above the threshold), their ``*_with_source``
        versions, and ``negative_transfer`` (CI of the final or AUC difference entirely
        below 0). With ``zero_shot`` (the source's return on the target) every arm also has its
        fine-tuning ``dip`` (:func:`~sim2real.metrics.curves.fine_tuning_dip`). ``to_dict()``
        gives the JSON form.
    """
    opts = options or MetricOptions()
    if baseline not in arms:
        raise ValueError(f"baseline arm {baseline!r} missing; arms: {', '.join(arms)}")
    scratch = arms[baseline]
    end = float(min(a.steps[-1] for a in arms.values()))
    threshold = resolve_threshold(scratch, opts)
    fill = float(aggregate(scratch.values[:, 0], "mean"))
    per_seed = {
        name: _per_seed(a, end, threshold, fill, opts, zero_shot) for name, a in arms.items()
    }
    boot: BootArgs = {"n_boot": opts.n_boot, "confidence": opts.confidence, "seed": opts.seed}
    return TransferMetrics(
        threshold=threshold,
        horizon=(float(scratch.steps[0]), end),
        options=opts,
        arms={name: _arm_stats(arms[name], ps, boot) for name, ps in per_seed.items()},
        comparisons={
            name: _compare(t, per_seed[baseline], opts.aggregate, boot)
            for name, t in per_seed.items()
            if name != baseline
        },
    )
