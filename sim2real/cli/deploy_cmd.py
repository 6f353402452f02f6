"""``sim2real deploy``: run an exported policy against the simulated robot at a fixed real-time rate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from sim2real.cli._checks import MAX_DEPLOY_TICKS, check_finite, check_record_option, check_seed
from sim2real.cli._output import console, print_json
from sim2real.cli.completion import complete_target
from sim2real.errors import Sim2RealError

__all__ = ["register"]


def _check_timing(
    artifact: Path, rate: float | None, seconds: float, max_delta: float | None
) -> None:
    """Finite positive ``--rate``/``--seconds``, a tick count that fits, ``--max-delta`` >= 0."""

    check_finite("--rate", rate, positive=True)
    check_finite("--seconds", seconds, positive=True)
    check_finite("--max-delta", max_delta)
    hz = rate
    if hz is None:
        try:
            hz = float(json.loads((artifact / "metadata.json").read_text())["control_rate_hz"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # the artifact check in deploy() reports a missing or damaged policy
    if math.isfinite(hz) and hz * seconds > MAX_DEPLOY_TICKS:
        raise Sim2RealError(
            f"--rate {hz:g} x --seconds {seconds:g} = {hz * seconds:.3g} ticks, more than the "
            f"maximum {MAX_DEPLOY_TICKS}; give a shorter --seconds"
        )


def deploy(
    artifact: Path = typer.Argument(..., help="Exported policy folder (from `sim2real export`)."),
    target: str = typer.Option(
        None,
        "--target",
        "-t",
        help="ENV:TARGET to control [default: the policy's env, nominal].",
        autocompletion=complete_target,
    ),
    rate: float = typer.Option(None, "--rate", help="Control rate in Hz [default: the policy's]."),
    seconds: float = typer.Option(10.0, "--seconds", help="Wall-clock duration."),
    backend: str = typer.Option("numpy", "--backend", help="numpy | onnxruntime."),
    on_nonfinite: str = typer.Option(
        "zeros", "--on-nonfinite", help="Action for a NaN/inf observation: zeros | hold_last."
    ),
    max_delta: float = typer.Option(
        None, "--max-delta", help="Rate limit: largest change of an action entry per tick."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the first episode."),
    record: Path = typer.Option(
        None, "--record", help="Append every transition (with simulator states) to this .npz."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Control the simulated robot in real time; report returns, act latency and deadline misses."""
    from sim2real.evaluation import deploy as run_deploy
    from sim2real.evaluation import parse_target

    if backend not in ("numpy", "onnxruntime"):
        raise Sim2RealError(f"--backend: expected numpy or onnxruntime, got {backend!r}")
    if on_nonfinite not in ("zeros", "hold_last"):
        raise Sim2RealError(f"--on-nonfinite: expected zeros or hold_last, got {on_nonfinite!r}")
    _check_timing(artifact, rate, seconds, max_delta)
    check_seed(seed)
    check_record_option(record)
    env, which = parse_target(target, default_env="") if target else (None, "nominal")
    report = run_deploy(
        artifact,
        env or None,
        which,
        rate_hz=rate,
        seconds=seconds,
        backend=backend,
        on_nonfinite=on_nonfinite,
        max_delta=max_delta,
        seed=seed,
        record=record,
    )
    if as_json:
        print_json(report)
        return
    lat, work = report["act_latency_us"], report["tick_work_us"]
    console.print(
        f"[bold]{report['policy']}[/] on {report['env']}:{report['target']} "
        f"({report['backend']} backend) at {report['rate_hz']:g} Hz for {report['duration_s']:.2f} s"
    )
    console.print(
        f"  ticks {report['ticks']} (achieved {report['achieved_rate_hz']:.1f} Hz), "
        f"deadline misses {report['deadline_misses']}"
    )
    console.print(
        f"  act latency us: p50 {lat['p50']:.1f}  p90 {lat['p90']:.1f}  p99 {lat['p99']:.1f}  max {lat['max']:.1f}"
    )
    console.print(
        f"  tick work us (read + act + send): p50 {work['p50']:.1f}  p99 {work['p99']:.1f}"
    )
    returns = ", ".join(f"{r:.1f}" for r in report["returns"]) or "none finished"
    console.print(
        f"  episodes completed {report['episodes_completed']}: returns {returns}; "
        f"running episode {report['partial_return']:.1f}"
    )
    if report["record"]:
        console.print(f"  recorded to {report['record']}")
    ctrl = report["controller"]
    console.print(f"  non-finite observations replaced: {ctrl.get('nonfinite_observations', 0)}")
    if report["sim_time_factor"] and abs(report["sim_time_factor"] - 1.0) > 0.01:
        console.print(
            f"  note: the simulator advances {report['sim_control_period'] * 1000:.1f} ms per tick, "
            f"so it runs at {report['sim_time_factor']:.2f}x real time at this rate"
        )


def register(app: typer.Typer) -> None:
    """Add ``deploy`` to the ``sim2real`` app."""
    app.command("deploy")(deploy)
