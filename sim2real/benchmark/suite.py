"""Benchmark suites: several benchmark configs run in turn, one table, one figure, one TensorBoard root.

A suite config (``configs/suite.yaml``) names benchmark configs and the overrides each runs
with; ``--quick`` adds each entry's ``quick`` overrides (small budgets, few seeds) for a smoke
check. Each entry runs with :func:`~sim2real.benchmark.run_benchmark` into ``OUT/<entry>/``, so
a rerun with the same folder reuses every finished run. The summary (``suite.json``,
``suite.md``, ``suite.png``) has one row per (target, transfer arm): zero-shot return,
jumpstart, AUC ratio, time-to-threshold speedup, fine-tuning dip and the negative-transfer flag,
each with its CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from sim2real.benchmark.config import load_benchmark_config
from sim2real.benchmark.report import BenchmarkReport, format_estimate, format_speedup
from sim2real.benchmark.runner import run_benchmark
from sim2real.config import find_config_file, load_model, read_yaml_mapping
from sim2real.errors import ConfigError
from sim2real.strict import StrictModel

__all__ = [
    "SuiteConfig",
    "SuiteEntry",
    "SuiteResult",
    "SuiteRow",
    "is_suite_file",
    "load_suite_config",
    "run_suite",
]

SUITE_JSON, SUITE_MD, SUITE_FIGURE = "suite.json", "suite.md", "suite.png"


class SuiteEntry(StrictModel):
    """One benchmark of a suite."""

    benchmark: str
    """Benchmark config: a name in ``configs/`` or a YAML path."""
    name: str | None = None
    """Output subfolder and row label (default: the config's ``benchmark`` name)."""
    set: list[str] = Field(default_factory=list)
    """``--set`` overrides of this entry."""
    quick: list[str] = Field(default_factory=list)
    """Overrides added with ``--quick`` (small budgets and few seeds: a smoke check)."""


class SuiteConfig(StrictModel):
    """A suite: benchmark configs run in turn and summarized together."""

    suite: str
    """Name of the suite (the default output folder is ``runs/suites/<suite>``)."""
    entries: list[SuiteEntry] = Field(min_length=1)
    """The benchmarks, in run order."""


@dataclass(frozen=True)
class SuiteRow:
    """One (target, transfer arm) of the summary; estimates as ``point [lo, hi]`` text."""

    entry: str
    env: str
    target: str
    arm: str
    zero_shot: float | None
    jumpstart: str
    auc_ratio: str
    speedup: str
    dip: str
    negative_transfer: bool


@dataclass(frozen=True)
class SuiteResult:
    """What a suite run wrote and computed."""

    path: Path
    rows: list[SuiteRow]
    reports: dict[str, BenchmarkReport]
    files: dict[str, Path]


def is_suite_file(path_or_name: str | Path) -> bool:
    """Whether a config (path or name in ``configs/``) is a suite (it has a ``suite:`` key)."""
    try:
        return "suite" in read_yaml_mapping(find_config_file(path_or_name))
    except ConfigError:
        return False


def load_suite_config(path_or_name: str | Path, overrides: Iterable[str] = ()) -> SuiteConfig:
    """Load a suite config with the one config loader.

    Raises:
        ConfigError: one line naming the file and the key.
    """
    path = find_config_file(path_or_name, "suite config", lambda stem: "suite" in stem)
    return load_model(SuiteConfig, path, overrides, unknown_key_hint="see configs/suite.yaml")


def _entry_overrides(entry: SuiteEntry, quick: bool, extra: Iterable[str]) -> list[str]:
    return [*entry.set, *(entry.quick if quick else []), *extra]


def check_suite(suite: SuiteConfig, *, quick: bool = False, extra: Iterable[str] = ()) -> None:
    """Load every entry's benchmark config before any runs (a bad entry fails first).

    Raises:
        ConfigError: the first entry that does not load, named.
    """
    names = [_entry_name(suite, i) for i in range(len(suite.entries))]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"suite {suite.suite}: entry names repeat ({', '.join(dupes)}); set name:"
        )
    for entry in suite.entries:
        load_benchmark_config(entry.benchmark, _entry_overrides(entry, quick, extra))


def _entry_name(suite: SuiteConfig, i: int) -> str:
    entry = suite.entries[i]
    return entry.name or Path(entry.benchmark).stem


def _rows(entry: str, report: BenchmarkReport) -> list[SuiteRow]:
    cfg, m = report.config, report.metrics
    zero_shot = (report.zero_shot or {}).get("mean")
    rows = []
    for arm, c in m.comparisons.items():
        dip = m.arms[arm].dip
        rows.append(
            SuiteRow(
                entry=entry,
                env=str(cfg.get("env", "")),
                target=str(report.target_name),
                arm=arm,
                zero_shot=None if zero_shot is None else float(zero_shot),
                jumpstart=format_estimate(c.jumpstart),
                auc_ratio=format_estimate(c.auc_ratio),
                speedup=format_speedup(c),
                dip="n/a" if dip is None else format_estimate(dip.mean),
                negative_transfer=c.negative_transfer,
            )
        )
    return rows


def render_suite_markdown(suite: SuiteConfig, rows: list[SuiteRow], command: str) -> str:
    """The one results table of the suite."""
    lines = [
        f"# Benchmark suite: {suite.suite}",
        "",
        f"Command: `{command}`. Each entry's own report is in its folder (`<entry>/report.md`).",
        "",
        "| benchmark | env | target | arm | zero-shot | jumpstart | AUC ratio | speedup "
        "| fine-tuning dip | negative transfer |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        zs = "n/a" if r.zero_shot is None else f"{r.zero_shot:.4g}"
        lines.append(
            f"| {r.entry} | {r.env} | {r.target} | {r.arm} | {zs} | {r.jumpstart} "
            f"| {r.auc_ratio} | {r.speedup} | {r.dip} | {'**yes**' if r.negative_transfer else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def plot_suite(reports: dict[str, BenchmarkReport], path: Path) -> Path:
    """One panel per benchmark: every arm's aggregate learning curve with its CI band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(reports)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, report) in zip(axes.flat, reports.items()):
        for arm, band in report.curves.items():
            ax.plot(band.steps, band.point, label=arm)
            ax.fill_between(band.steps, band.lo, band.hi, alpha=0.2)
        ax.axhline(report.metrics.threshold, color="grey", ls=":", lw=1)
        ax.set_title(f"{name}: {report.config.get('env')}:{report.target_name}", fontsize=9)
        ax.set_xlabel("target steps")
        ax.set_ylabel("return")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_suite(
    suite: SuiteConfig,
    out: str | Path | None = None,
    *,
    quick: bool = False,
    extra: Iterable[str] = (),
    command: str = "",
    on_entry: Callable[[str, int, int], None] | None = None,
    progress: Any = None,
    quiet: bool = True,
) -> SuiteResult:
    """Run every entry (resuming finished runs in ``out``) and write the suite summary."""
    check_suite(suite, quick=quick, extra=extra)
    default = Path("runs") / "suites" / (f"{suite.suite}_quick" if quick else suite.suite)
    out = Path(out) if out is not None else default
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"suite": suite.suite, "quick": quick, "command": command}
    marker = out / SUITE_JSON
    if not marker.is_file():  # marks the folder as this suite's, so a rerun resumes in it
        marker.write_text(json.dumps({**data, "status": "running", "rows": []}, indent=2) + "\n")
    reports: dict[str, BenchmarkReport] = {}
    rows: list[SuiteRow] = []
    for i, entry in enumerate(suite.entries):
        name = _entry_name(suite, i)
        if on_entry is not None:
            on_entry(name, i, len(suite.entries))
        cfg = load_benchmark_config(entry.benchmark, _entry_overrides(entry, quick, extra))
        result = run_benchmark(cfg, out / name, command=command, progress=progress, quiet=quiet)
        reports[name] = result.report
        rows += _rows(name, result.report)
    files = {
        "json": out / SUITE_JSON,
        "markdown": out / SUITE_MD,
        "figure": plot_suite(reports, out / SUITE_FIGURE),
    }
    data.update(status="finished", rows=[asdict(r) for r in rows])
    files["json"].write_text(json.dumps(data, indent=2) + "\n")
    files["markdown"].write_text(render_suite_markdown(suite, rows, command))
    return SuiteResult(out, rows, reports, files)
