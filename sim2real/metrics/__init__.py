"""Transfer metrics and bootstrap statistics on plain arrays (numpy only: no torch, no SB3).

Per-run curve metrics live in :mod:`~sim2real.metrics.curves`, seed statistics in
:mod:`~sim2real.metrics.stats`, and the arm-vs-scratch comparison in
:mod:`~sim2real.metrics.transfer`.
"""

from __future__ import annotations

from sim2real.metrics.curves import (
    Crossing,
    area_under_curve,
    as_curve,
    asymptotic_performance,
    delayed_area,
    fine_tuning_dip,
    initial_performance,
    time_to_threshold,
)
from sim2real.metrics.stats import (
    AGGREGATES,
    Aggregate,
    Estimate,
    aggregate,
    bootstrap,
    curve_band,
    iqm,
)
from sim2real.metrics.transfer import (
    ArmCurves,
    ArmStats,
    Comparison,
    MetricOptions,
    SeedStats,
    SpeedupBound,
    TransferMetrics,
    align_curves,
    compare_arms,
    resolve_threshold,
)

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "ArmCurves",
    "ArmStats",
    "Comparison",
    "Crossing",
    "Estimate",
    "MetricOptions",
    "SeedStats",
    "SpeedupBound",
    "TransferMetrics",
    "aggregate",
    "align_curves",
    "area_under_curve",
    "as_curve",
    "asymptotic_performance",
    "bootstrap",
    "compare_arms",
    "curve_band",
    "delayed_area",
    "fine_tuning_dip",
    "initial_performance",
    "iqm",
    "resolve_threshold",
    "time_to_threshold",
]
