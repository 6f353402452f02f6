"""``sim2real benchmark``: scratch vs transfer arms x seeds on a target, with statistics and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]


def benchmark(
    config: str = typer.Argument(
        ..., help="Benchmark config: YAML path or name in configs/ (e.g. quickstart)."
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
) -> None:
    """Measure transfer vs training from scratch: arms x seeds, speedup and AUC with bootstrap CIs."""
    from sim2real.benchmark import load_benchmark_config, run_benchmark
    from sim2real.benchmark.config import MAX_SEEDS, MAX_WORKERS
    from sim2real.benchmark.report import summary_lines
    from sim2real.cli._output import console, err_console, print_json
    from sim2real.errors import ConfigError

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
    cfg = load_benchmark_config(config, overrides)
    from sim2real.cli._checks import check_benchmark_out

    check_benchmark_out(out, cfg.run_key())
    show = not (quiet or as_json)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]benchmark[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        disable=not show,
    )
    task = bar.add_task("", total=None)

    def progress(event: str, data: dict[str, Any]) -> None:
        if event == "source":
            bar.console.print(f"source: {data['path']} ({data['steps']} pretraining steps)")
        elif event == "planned":
            bar.update(task, total=data["jobs"])
        elif event == "zero_shot":
            bar.update(task, advance=1, description=f"zero-shot {data['mean']:.4g}")
        elif event == "run":
            how = "reused" if data["reused"] else f"{data['wall_time_s']:.0f}s"
            bar.update(
                task,
                advance=1,
                description=f"{data['arm']}/seed_{data['seed']} final {data['values'][-1]:.4g} ({how})",
            )

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


def register(app: typer.Typer) -> None:
    """Add ``benchmark`` to the ``sim2real`` app."""
    app.command("benchmark")(benchmark)
