"""Benchmark report from plain per-run learning curves: ``report.json``, ``report.md``, the figure.

Works on ``{arm: {seed: (steps, returns)}}`` only, so it can be regenerated from any finished
benchmark folder (or from curves produced elsewhere) without touching torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.metrics import ArmCurves, MetricOptions, compare_arms, curve_band

__all__ = [
    "FIGURE_NAME",
    "Curves",
    "build_report",
    "format_estimate",
    "format_speedup",
    "plot_curves",
    "render_markdown",
    "write_report",
]

FIGURE_NAME = "learning_curves.png"
Curves = Mapping[str, Mapping[int, tuple[list[float], list[float]]]]


def arm_curves(curves: Curves, source_steps: Mapping[str, float]) -> dict[str, ArmCurves]:
    """``ArmCurves`` per arm (seeds sorted) from the plain curves."""
    out: dict[str, ArmCurves] = {}
    for arm, runs in curves.items():
        seeds = sorted(runs)
        out[arm] = ArmCurves.from_runs(
            [runs[s] for s in seeds], source_steps=float(source_steps.get(arm, 0.0)), seeds=seeds
        )
    return out


def build_report(
    curves: Curves,
    *,
    options: MetricOptions,
    source_steps: Mapping[str, float],
    baseline: str = "scratch",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Metrics of every arm vs ``baseline`` plus the curves and ``extra`` (config, versions...)."""
    arms = arm_curves(curves, source_steps)
    metrics = compare_arms(arms, baseline=baseline, options=options)
    bands = {}
    for name, arm in arms.items():
        point, lo, hi = curve_band(
            arm.values,
            options.aggregate,
            n_boot=options.n_boot,
            confidence=options.confidence,
            seed=options.seed,
        )
        bands[name] = {
            "steps": arm.steps.tolist(),
            options.aggregate: point.tolist(),
            "lo": lo.tolist(),
            "hi": hi.tolist(),
            "per_seed": {str(s): row.tolist() for s, row in zip(arm.seeds, arm.values)},
        }
    return {**dict(extra or {}), "baseline": baseline, "metrics": metrics, "curves": bands}


def plot_curves(report: Mapping[str, Any], path: Path, *, title: str = "") -> Path:
    """Learning curves: aggregate with CI band per arm, the threshold and the zero-shot return."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = report["metrics"]["options"]["aggregate"]
    conf = report["metrics"]["options"]["confidence"]
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    for name, band in report["curves"].items():
        (line,) = ax.plot(band["steps"], band[agg], label=name, lw=2)
        ax.fill_between(
            band["steps"], band["lo"], band["hi"], color=line.get_color(), alpha=0.2, lw=0
        )
    ax.axhline(report["metrics"]["threshold"], color="gray", ls="--", lw=1, label="threshold")
    zero_shot = (report.get("zero_shot") or {}).get("mean")
    if zero_shot is not None:
        ax.axhline(zero_shot, color="black", ls=":", lw=1, label="source zero-shot")
    n = len(next(iter(report["curves"].values()))["per_seed"])
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


def format_estimate(est: Mapping[str, Any] | None) -> str:
    """``value [lo, hi]`` of a metric estimate; a missing CI bound is unbounded (JSON has no inf)."""
    if not est or est.get("value") is None:
        return "n/a"
    v, lo, hi = est["value"], est.get("lo"), est.get("hi")
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    if lo is None and hi is None:
        return _num(v)
    low = "-inf" if lo is None else _num(lo)
    high = "inf" if hi is None else _num(hi)
    return f"{_num(v)} [{low}, {high}]"


_fmt = format_estimate


def format_speedup(comparison: Mapping[str, Any]) -> str:
    """The speedup of one arm with what censoring makes of it (the one wording of the bound)."""
    bound = comparison["speedup_bound"]
    if bound == "infinite":
        return "inf (above the threshold from the start)"
    value = _fmt(comparison["speedup"])
    return value if bound == "exact" else f"{value} ({bound} bound: censored runs)"


def render_markdown(report: Mapping[str, Any], figure: str | None = FIGURE_NAME) -> str:
    """``report.md``: setup, per-arm table, comparison table, the figure, how to reproduce."""
    m = report["metrics"]
    agg, conf = m["options"]["aggregate"], m["options"]["confidence"]
    cfg = report.get("config", {})
    lines = [
        f"# Transfer benchmark: {cfg.get('benchmark', '')}",
        "",
        f"env `{cfg.get('env')}`, target `{report.get('target_name') or cfg.get('target')}`, budget {cfg.get('budget')} target steps, "
        f"evaluation every {cfg.get('eval', {}).get('every')} steps ({cfg.get('eval', {}).get('episodes')} "
        f"deterministic episodes), seeds {cfg.get('seeds')}.",
        f"Statistics: {agg} over seeds, {conf:.0%} stratified percentile bootstrap CIs "
        f"({m['options']['n_boot']} resamples, seed {m['options']['seed']}). "
        f"Threshold: {m['threshold']:.4g} ("
        + (
            "fixed in the config"
            if m["options"]["threshold"] is not None
            else f"{m['options']['threshold_fraction']} x scratch's {m['options']['threshold_reference']}"
        )
        + f"); final = mean of the last {m['options']['last_k']} evaluations.",
    ]
    zs = report.get("zero_shot")
    if zs:
        lines += [
            "",
            f"Source policy zero-shot on the target: {zs['mean']:.4g} ± {zs['std']:.3g} ({zs['episodes']} episodes).",
        ]
    lines += [
        "",
        "## Arms",
        "",
        "| arm | initial | final | AUC (normalized) | time to threshold (steps) | censored | source steps |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, a in m["arms"].items():
        n = len(a["censored"])
        ttt = _fmt(a["time_to_threshold"][agg])
        if a["n_censored"] == n:
            ttt = f">= {ttt} (none reached it)"
        lines.append(
            f"| {name} | {_fmt(a['initial'][agg])} | {_fmt(a['final'][agg])} | {_fmt(a['auc'][agg])} "
            f"| {ttt} | {a['n_censored']}/{n} | {a['source_steps']:.0f} |"
        )
    lines += [
        "",
        f"## Transfer vs {report.get('baseline', 'scratch')}",
        "",
        "| arm | jumpstart | asymptotic gap | AUC ratio | speedup | speedup incl. source | AUC ratio incl. source | negative transfer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in m["comparisons"].items():
        lines.append(
            f"| {name} | {_fmt(c['jumpstart'])} | {_fmt(c['asymptotic_gap'])} | {_fmt(c['auc_ratio'])} "
            f"| {format_speedup(c)} | {_fmt(c['speedup_with_source'])} | {_fmt(c['auc_ratio_with_source'])} "
            f"| {'**yes**' if c['negative_transfer'] else 'no'} |"
        )
    lines += [
        "",
        "Speedup = scratch time to threshold / transfer time to threshold (linear interpolation "
        "between evaluations; runs that never reach it are censored at the budget, making the "
        "ratio a bound). *incl. source* adds the source pretraining samples to the transfer arm.",
    ]
    if figure:
        lines += ["", f"![learning curves]({figure})"]
    if report.get("command"):
        lines += ["", "Reproduce:", "", "```", report["command"], "```"]
    return "\n".join(lines) + "\n"


def write_report(report: Mapping[str, Any], out: Path, *, title: str = "") -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and the figure into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    fig = plot_curves(report, out / FIGURE_NAME, title=title)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    (out / "report.md").write_text(render_markdown(report))
    return {"json": out / "report.json", "markdown": out / "report.md", "figure": fig}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    return str(obj)
