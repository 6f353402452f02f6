"""Benchmark report from plain per-run learning curves: ``report.json``, ``report.md``, the figure.

Works on ``{arm: {seed: (steps, returns)}}`` only, so it can be regenerated from any finished
benchmark folder (or from curves produced elsewhere) without touching torch. This module owns
the report's JSON form and every wording of its numbers (``report.md`` and the CLI summary).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.metrics import (
    ArmCurves,
    Comparison,
    Estimate,
    MetricOptions,
    TransferMetrics,
    compare_arms,
    curve_band,
)

__all__ = [
    "FIGURE_NAME",
    "BenchmarkReport",
    "CurveBand",
    "Curves",
    "build_report",
    "format_estimate",
    "format_speedup",
    "plot_curves",
    "render_markdown",
    "summary_lines",
    "write_report",
]

FIGURE_NAME = "learning_curves.png"
Curves = Mapping[str, Mapping[int, tuple[list[float], list[float]]]]


@dataclass(frozen=True)
class CurveBand:
    """One arm's learning curve: the seed aggregate with its bootstrap band, and every seed."""

    steps: tuple[float, ...]
    point: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    per_seed: dict[int, tuple[float, ...]]

    def to_dict(self, aggregate: str) -> dict[str, Any]:
        """JSON form; the aggregate curve is stored under the aggregate's name."""
        return {
            "steps": list(self.steps),
            aggregate: list(self.point),
            "lo": list(self.lo),
            "hi": list(self.hi),
            "per_seed": {str(s): list(row) for s, row in self.per_seed.items()},
        }


@dataclass(frozen=True)
class BenchmarkReport:
    """A benchmark's metrics and curves, plus the provenance written with them.

    Attributes:
        baseline: the arm every other arm is compared with.
        metrics: :func:`~sim2real.metrics.compare_arms` of all arms.
        curves: per arm, the aggregate curve with its band and the per-seed curves.
        info: JSON-ready provenance written verbatim at the head of ``report.json`` (the
            runner's ``config``, ``target_name``, ``source``, ``zero_shot``, ``runs``,
            ``command``, ``versions``, ``git``, times); read through the properties below.
    """

    baseline: str
    metrics: TransferMetrics
    curves: dict[str, CurveBand]
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Mapping[str, Any]:
        """The benchmark config as written (empty when the curves came from elsewhere)."""
        return self.info.get("config", {})

    @property
    def target_name(self) -> str | None:
        """The target's display name: ``target_name``, else the config's ``target``."""
        return self.info.get("target_name") or self.config.get("target")

    @property
    def zero_shot(self) -> Mapping[str, Any] | None:
        """The source policy on the target (``mean``, ``std``, ``episodes``), if measured."""
        return self.info.get("zero_shot") or None

    @property
    def command(self) -> str | None:
        """The command line that produced the report."""
        return self.info.get("command")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to ``report.json``."""
        agg = self.metrics.options.aggregate
        return {
            **dict(self.info),
            "baseline": self.baseline,
            "metrics": self.metrics.to_dict(),
            "curves": {name: band.to_dict(agg) for name, band in self.curves.items()},
        }


def arm_curves(curves: Curves, source_steps: Mapping[str, float]) -> dict[str, ArmCurves]:
    """``ArmCurves`` per arm (seeds sorted) from the plain curves."""
    out: dict[str, ArmCurves] = {}
    for arm, runs in curves.items():
        seeds = sorted(runs)
        out[arm] = ArmCurves.from_runs(
            [runs[s] for s in seeds], source_steps=float(source_steps.get(arm, 0.0)), seeds=seeds
        )
    return out


def _band(arm: ArmCurves, options: MetricOptions) -> CurveBand:
    point, lo, hi = curve_band(
        arm.values,
        options.aggregate,
        n_boot=options.n_boot,
        confidence=options.confidence,
        seed=options.seed,
    )
    return CurveBand(
        steps=tuple(arm.steps.tolist()),
        point=tuple(point.tolist()),
        lo=tuple(lo.tolist()),
        hi=tuple(hi.tolist()),
        per_seed={s: tuple(row.tolist()) for s, row in zip(arm.seeds, arm.values)},
    )


def build_report(
    curves: Curves,
    *,
    options: MetricOptions,
    source_steps: Mapping[str, float],
    baseline: str = "scratch",
    extra: Mapping[str, Any] | None = None,
) -> BenchmarkReport:
    """Metrics of every arm vs ``baseline`` plus the curves and ``extra`` (config, versions...)."""
    arms = arm_curves(curves, source_steps)
    zero_shot = ((extra or {}).get("zero_shot") or {}).get("mean")
    return BenchmarkReport(
        baseline=baseline,
        metrics=compare_arms(
            arms,
            baseline=baseline,
            options=options,
            zero_shot=None if zero_shot is None else float(zero_shot),
        ),
        curves={name: _band(arm, options) for name, arm in arms.items()},
        info=dict(extra or {}),
    )


def plot_curves(report: BenchmarkReport, path: Path, *, title: str = "") -> Path:
    """Learning curves: aggregate with CI band per arm, the threshold and the zero-shot return."""
    import matplotlib  # heavy, and only this function draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = report.metrics.options.aggregate
    conf = report.metrics.options.confidence
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    for name, band in report.curves.items():
        (line,) = ax.plot(band.steps, band.point, label=name, lw=2)
        ax.fill_between(band.steps, band.lo, band.hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(report.metrics.threshold, color="gray", ls="--", lw=1, label="threshold")
    zero_shot = (report.zero_shot or {}).get("mean")
    if zero_shot is not None:
        ax.axhline(zero_shot, color="black", ls=":", lw=1, label="source zero-shot")
    n = len(next(iter(report.curves.values())).per_seed)
    ax.set_xlabel("target environment steps")
    ax.set_ylabel(f"evaluation return ({agg}, {conf:.0%} CI, {n} seeds)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _num(v: float) -> str:
    if abs(v) < 1e-9:  # float round-off of an exact zero (e.g. -3e-16)
        return "0"
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def format_estimate(est: Estimate | None) -> str:
    """``value [lo, hi]`` of a metric estimate; a non-finite CI bound is unbounded."""
    if est is None or not math.isfinite(est.value):
        return "n/a"
    lo = est.lo if math.isfinite(est.lo) else None
    hi = est.hi if math.isfinite(est.hi) else None
    if lo is None and hi is None:
        return _num(est.value)
    low = "-inf" if lo is None else _num(lo)
    high = "inf" if hi is None else _num(hi)
    return f"{_num(est.value)} [{low}, {high}]"


_fmt = format_estimate


def format_speedup(comparison: Comparison) -> str:
    """The speedup of one arm with what censoring makes of it (the one wording of the bound)."""
    bound = comparison.speedup_bound
    if bound == "infinite":
        return "inf (above the threshold from the start)"
    value = _fmt(comparison.speedup)
    return value if bound == "exact" else f"{value} ({bound} bound: censored runs)"


def summary_lines(report: BenchmarkReport) -> list[str]:
    """The short summary the CLI prints: threshold, zero-shot, one line per transfer arm."""
    m = report.metrics
    zero_shot = (report.zero_shot or {}).get("mean", float("nan"))
    lines = [f"threshold {m.threshold:.4g}; zero-shot source on target {zero_shot:.4g}"]
    for name, c in m.comparisons.items():
        neg = "  NEGATIVE TRANSFER" if c.negative_transfer else ""
        lines.append(
            f"{name}: speedup {format_speedup(c)}, AUC ratio {_fmt(c.auc_ratio)}, "
            f"jumpstart {_fmt(c.jumpstart)}, asymptotic gap {_fmt(c.asymptotic_gap)}, "
            f"speedup incl. source {_fmt(c.speedup_with_source)}{_dip_text(m, name)} "
            f"({m.options.aggregate}, CI){neg}"
        )
    return lines


def _dip_text(m: TransferMetrics, arm: str) -> str:
    """``, dip <mean [lo, hi]>`` of an arm (the mean over seeds), or nothing without zero-shot."""
    dip = m.arms[arm].dip
    return "" if dip is None else f", dip {_fmt(dip.mean)}"


def _setup_lines(report: BenchmarkReport) -> list[str]:
    """Title, what was run, how the statistics and the threshold were computed, zero-shot."""
    m, cfg = report.metrics, report.config
    opts = m.options
    ev = cfg.get("eval", {})
    threshold = (
        "fixed in the config"
        if opts.threshold is not None
        else f"{opts.threshold_fraction} x scratch's {opts.threshold_reference}"
    )
    lines = [
        f"# Transfer benchmark: {cfg.get('benchmark', '')}",
        "",
        f"env `{cfg.get('env')}`, target `{report.target_name}`, budget {cfg.get('budget')} "
        f"target steps, evaluation every {ev.get('every')} steps ({ev.get('episodes')} "
        f"deterministic episodes), seeds {cfg.get('seeds')}.",
        f"Statistics: {opts.aggregate} over seeds, {opts.confidence:.0%} stratified percentile "
        f"bootstrap CIs ({opts.n_boot} resamples, seed {opts.seed}). "
        f"Threshold: {m.threshold:.4g} ({threshold}); final = mean of the last {opts.last_k} "
        "evaluations.",
    ]
    zs = report.zero_shot
    if zs:
        lines += [
            "",
            f"Source policy zero-shot on the target: {zs['mean']:.4g} ± {zs['std']:.3g} "
            f"({zs['episodes']} episodes).",
        ]
    return lines


def _arm_rows(report: BenchmarkReport) -> list[str]:
    """The per-arm table."""
    agg = report.metrics.options.aggregate
    lines = [
        "| arm | initial | final | AUC (normalized) | time to threshold (steps) | censored "
        "| source steps | fine-tuning dip (mean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, a in report.metrics.arms.items():
        n = len(a.censored)
        ttt = _fmt(a.time_to_threshold.estimate(agg))
        if a.n_censored == n:
            ttt = f">= {ttt} (none reached it)"
        dip = "n/a" if a.dip is None else _fmt(a.dip.mean)
        lines.append(
            f"| {name} | {_fmt(a.initial.estimate(agg))} | {_fmt(a.final.estimate(agg))} "
            f"| {_fmt(a.auc.estimate(agg))} | {ttt} | {a.n_censored}/{n} | {a.source_steps:.0f} "
            f"| {dip} |"
        )
    return lines


def _comparison_rows(report: BenchmarkReport) -> list[str]:
    """The transfer-vs-baseline table."""
    lines = [
        "| arm | jumpstart | asymptotic gap | AUC ratio | speedup | speedup incl. source "
        "| AUC ratio incl. source | negative transfer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in report.metrics.comparisons.items():
        lines.append(
            f"| {name} | {_fmt(c.jumpstart)} | {_fmt(c.asymptotic_gap)} | {_fmt(c.auc_ratio)} "
            f"| {format_speedup(c)} | {_fmt(c.speedup_with_source)} "
            f"| {_fmt(c.auc_ratio_with_source)} | {'**yes**' if c.negative_transfer else 'no'} |"
        )
    return lines


def render_markdown(report: BenchmarkReport, figure: str | None = FIGURE_NAME) -> str:
    """``report.md``: setup, per-arm table, comparison table, the figure, how to reproduce."""
    lines = [
        *_setup_lines(report),
        "",
        "## Arms",
        "",
        *_arm_rows(report),
        "",
        f"## Transfer vs {report.baseline}",
        "",
        *_comparison_rows(report),
        "",
        "Speedup = scratch time to threshold / transfer time to threshold (linear interpolation "
        "between evaluations; runs that never reach it are censored at the budget, making the "
        "ratio a bound). *incl. source* adds the source pretraining samples to the transfer arm.",
        "Fine-tuning dip = min over the evaluations in the first 25 % of the budget of (return - "
        "the source's zero-shot return on the target), mean over seeds with its bootstrap CI: "
        "below 0, fine-tuning first lost what the source could already do.",
    ]
    if figure:
        lines += ["", f"![learning curves]({figure})"]
    if report.command:
        lines += ["", "Reproduce:", "", "```", report.command, "```"]
    return "\n".join(lines) + "\n"


def write_report(report: BenchmarkReport, out: Path, *, title: str = "") -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and the figure into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    fig = plot_curves(report, out / FIGURE_NAME, title=title)
    text = json.dumps(report.to_dict(), indent=2, default=_json_default) + "\n"
    (out / "report.json").write_text(text)
    (out / "report.md").write_text(render_markdown(report))
    return {"json": out / "report.json", "markdown": out / "report.md", "figure": fig}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    return str(obj)
