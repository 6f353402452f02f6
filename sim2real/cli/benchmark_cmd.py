"""``sim2real benchmark``: scratch vs transfer arms x seeds on a target, with statistics and reports."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from sim2real.cli._benchmark_progress import benchmark_progress
from sim2real.cli._checks import check_benchmark_out, check_suite_out
from sim2real.cli._output import console, err_console, print_json
from sim2real.cli.completion import complete_benchmark_config
from sim2real.errors import ConfigError

__all__ = ["register"]


def benchmark(
    config: str = typer.Argument(
        ...,
        help="Benchmark config: YAML path or name in configs/ (e.g. quickstart).",
        autocompletion=complete_benchmark_config,
    ),
    seeds: int = typer.Option(
        None, "--seeds", help="Number of seeds (0..N-1), overriding the config."
    ),
    workers: int = typer.Option(None, "--workers", help="Parallel runs (default: CPU cores)."),
    backend: str = typer.Option(None, "--backend", help="local (process pool) or ray (Ray tasks)."),
    out: Path = typer.Option(
        None, "--out", help="Output folder (rerun with the same folder to resume)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a key, e.g. --set budget=5000 (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report's metrics as JSON only."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    quick: bool = typer.Option(
        False, "--quick", help="Suite configs only: each entry's small smoke-check budgets."
    ),
) -> None:
    """Measure transfer vs training from scratch: arms x seeds, speedup and AUC with bootstrap CIs.

    A suite config (``sim2real benchmark suite``) runs several benchmarks into one table.
    """
    from sim2real.benchmark import load_benchmark_config, run_benchmark
    from sim2real.benchmark.report import summary_lines
    from sim2real.benchmark.suite import is_suite_file

    overrides = _overrides(set_, seeds, workers, backend)
    if quick or is_suite_file(config):  # --quick on a plain benchmark is refused there
        _suite(config, out, overrides, quick=quick, as_json=as_json, quiet=quiet)
        return
    cfg = load_benchmark_config(config, overrides)
    check_benchmark_out(out, cfg.run_key())
    show = not (quiet or as_json)
    bar, progress = benchmark_progress(show)
    with bar:
        result = run_benchmark(cfg, out, progress=progress, quiet=not show)
    if as_json:
        print_json(
            {
                "out": str(result.path),
                "reused": result.reused,
                "computed": result.computed,
                **result.report.metrics.to_dict(),
            }
        )
        return
    if not quiet:
        for line in summary_lines(result.report):
            console.print(line)
    console.print(
        f"results: {result.path} ({result.computed} runs computed, {result.reused} reused)"
    )
    console.print(f"  report: {result.files['markdown']}  figure: {result.files['figure']}")
    console.print(f"  tensorboard --logdir {result.files['tensorboard']}")


def _suite(
    config: str, out: Path | None, overrides: list[str], *, quick: bool, as_json: bool, quiet: bool
) -> None:
    """``sim2real benchmark SUITE``: every entry in turn, then the one summary table."""
    import shlex
    import sys

    from sim2real.benchmark.suite import is_suite_file, load_suite_config, run_suite

    if not is_suite_file(config):
        raise ConfigError(
            f"--quick: {config} is not a suite config (see: sim2real benchmark suite)"
        )
    suite = load_suite_config(config)
    check_suite_out(out, suite.suite, quick)
    show = not (quiet or as_json)
    bar, progress = benchmark_progress(show)

    def on_entry(name: str, i: int, n: int) -> None:
        if show:
            err_console.print(f"[bold]suite {suite.suite}[/]: {name} ({i + 1}/{n})")

    command = shlex.join(["sim2real", *sys.argv[1:]])
    with bar:
        result = run_suite(
            suite, out, quick=quick, extra=overrides, command=command,
            on_entry=on_entry, progress=progress, quiet=not show,
        )  # fmt: skip
    if as_json:
        print_json({"out": str(result.path), "rows": [asdict(r) for r in result.rows]})
        return
    console.print(f"suite {suite.suite}: {len(result.reports)} benchmarks, {len(result.rows)} rows")
    console.print(f"  table: {result.files['markdown']}  figure: {result.files['figure']}")
    console.print(f"  tensorboard --logdir {result.path}")


def _overrides(
    set_: list[str], seeds: int | None, workers: int | None, backend: str | None
) -> list[str]:
    """``--set`` overrides plus the checked ``--seeds``/``--workers``/``--backend`` options."""
    from sim2real.benchmark.config import MAX_SEEDS, MAX_WORKERS

    overrides = list(set_)
    if seeds is not None:
        if not 1 <= seeds <= MAX_SEEDS:
            raise ConfigError(f"--seeds: expected 1 to {MAX_SEEDS}, got {seeds}")
        overrides.append(f"seeds={seeds}")
    if workers is not None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ConfigError(f"--workers: expected 1 to {MAX_WORKERS}, got {workers}")
        overrides.append(f"workers={workers}")
    if backend is not None:
        if backend not in ("local", "ray"):
            raise ConfigError(f"--backend: expected local or ray, got {backend!r}")
        overrides.append(f"backend={backend}")
    return overrides


def register(app: typer.Typer) -> None:
    """Add ``benchmark`` to the ``sim2real`` app."""
    app.command("benchmark")(benchmark)
