"""Transfer benchmark: scratch vs transfer arms x seeds on a target, metrics with CIs, reports.

``run_benchmark(load_benchmark_config("quickstart"))`` runs every arm x seed (local process pool
or Ray), evaluates the source zero-shot, and writes ``report.json``, ``report.md``, the
learning-curve figure and a TensorBoard log root.
"""

from __future__ import annotations

from sim2real.benchmark.config import (
    SCRATCH,
    BenchEvalConfig,
    BenchmarkConfig,
    MetricsConfig,
    SourceConfig,
    config_hash,
    load_benchmark_config,
)
from sim2real.benchmark.report import build_report, render_markdown, write_report
from sim2real.benchmark.runner import (
    BenchmarkResult,
    default_out_dir,
    plan_jobs,
    prepare_source,
    run_benchmark,
)

__all__ = [
    "SCRATCH",
    "BenchEvalConfig",
    "BenchmarkConfig",
    "BenchmarkResult",
    "MetricsConfig",
    "SourceConfig",
    "build_report",
    "config_hash",
    "default_out_dir",
    "load_benchmark_config",
    "plan_jobs",
    "prepare_source",
    "render_markdown",
    "run_benchmark",
    "write_report",
]
