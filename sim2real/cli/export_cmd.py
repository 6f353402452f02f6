"""``sim2real export``: a run (or SB3 model) -> verified ONNX/TorchScript + weights.npz + metadata."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sim2real.cli._checks import check_count, check_finite, check_writable_dir
from sim2real.cli._output import console, print_json
from sim2real.cli.completion import complete_env, complete_run
from sim2real.errors import Sim2RealError

__all__ = ["register"]


def export(
    source: Path = typer.Argument(
        ..., help="Run directory or SB3 model .zip.", autocompletion=complete_run
    ),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx | torchscript."),
    out: Path = typer.Option(
        None, "--out", "-o", help="Output folder [default: policies/<run name>]."
    ),
    env: str = typer.Option(
        None,
        "--env",
        help="Env of a bare .zip (a run directory records it).",
        autocompletion=complete_env,
    ),
    vecnormalize: Path = typer.Option(
        None, "--vecnormalize", help="vecnormalize.pkl for a bare .zip (a run directory has it)."
    ),
    samples: int = typer.Option(512, "--samples", help="Random observations to verify on."),
    tolerance: float = typer.Option(1e-5, "--tolerance", help="Max difference to SB3 predict."),
    best: bool = typer.Option(False, "--best", help="Export the run's best_model.zip."),
    force: bool = typer.Option(False, "--force", help="Replace an existing exported policy."),
    as_json: bool = typer.Option(False, "--json", help="Print the metadata as JSON only."),
) -> None:
    """Export the deterministic policy with normalization and action scaling baked in, proven equal to SB3."""

    if fmt not in ("onnx", "torchscript"):
        raise Sim2RealError(f"--format: expected onnx or torchscript, got {fmt!r}")
    check_count("--samples", samples)
    check_finite("--tolerance", tolerance, positive=True)
    check_writable_dir("--out", out)
    from sim2real.export import export_policy

    folder = export_policy(
        source,
        fmt,  # type: ignore[arg-type]
        out,
        vec_normalize=vecnormalize,
        env=env,
        n_samples=samples,
        tolerance=tolerance,
        overwrite=force,
        best=best,
    )
    meta = json.loads((folder / "metadata.json").read_text())
    if as_json:
        print_json({"path": str(folder), **meta})
        return
    ver = meta["verification"]
    errors = ", ".join(f"{k} {v:.2g}" for k, v in ver["max_abs_error"].items())
    obs, act = meta["observation"], meta["action"]
    console.print(
        f"[bold green]exported[/] {meta['algorithm']} policy: {obs['shape'][0]} observations -> "
        f"{act['shape'][0]} actions, normalization {'on' if obs['normalization'] else 'off'}"
    )
    console.print(
        f"  verified on {ver['observations']} observations against SB3 predict: max |error| {errors} "
        f"(tolerance {ver['tolerance']:g})"
    )
    for entry in meta["files"].values():
        console.print(f"  {folder / entry['file']}  sha256 {entry['sha256'][:16]}...")
    console.print(f"  {folder / 'metadata.json'}")
    console.print(
        f"run it: sim2real deploy {folder} --target {meta['source'].get('env') or 'ENV'}:nominal"
    )


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``sim2real`` app."""
    app.command("export")(export)
