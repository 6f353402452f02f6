"""``sim2real transfer`` (a new agent on a target from a pretrained source) and ``sim2real inspect``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sim2real.cli.completion import complete_run, complete_target, complete_transfer_config

__all__ = ["register"]


def _print_result(result: Any, as_json: bool) -> None:
    from sim2real.cli._output import console, print_json
    from sim2real.training import RunDir

    summary = dict(result.summary)
    summary["run_dir"] = str(result.path)
    run = RunDir(result.path)
    info = run.read_transfer_info()
    summary["transfer"] = {
        "totals": info.get("log", {}).get("totals", {}),
        "events": info.get("events", []),
    }
    if as_json:
        print_json(summary)
        return
    totals = summary["transfer"]["totals"]
    console.print(
        f"[bold green]{summary['status']}[/]: {summary['steps']} target steps in "
        f"{summary['wall_time_s']:.1f}s ({summary['steps_per_s']} steps/s)"
    )
    if totals:
        console.print(
            "  parameters: " + ", ".join(f"{k} {v}" for k, v in totals.items() if v or k == "total")
        )
    for event in summary["transfer"]["events"]:
        console.print(
            f"  step {event['step']}: {event['event']} {', '.join(event['parts'])}".rstrip()
        )
    for key, ev in summary["final_eval"].items():
        label = f"{result.config.domain} (trained on)" if key == "train_domain" else key
        console.print(f"  eval {label}: {ev['mean']:.2f} ± {ev['std']:.2f}")
    console.print(f"results: {result.path}  (transfer log: {run.transfer_info.name})")
    console.print(f"  tensorboard --logdir {run.tb}")


def transfer_command(
    config: str = typer.Argument(
        None,
        help="Transfer config (YAML path or name in configs/, e.g. transfer_finetune).",
        autocompletion=complete_transfer_config,
    ),
    source: str = typer.Option(
        None,
        "--from",
        help="Source run directory or SB3 .zip (overrides transfer.source).",
        autocompletion=complete_run,
    ),
    target: str = typer.Option(
        None,
        "--target",
        help="ENV:TARGET or TARGET, e.g. cartpole:heavy_pole (env and domain).",
        autocompletion=complete_target,
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a key, e.g. --set transfer.l2sp_alpha=0.01 (repeatable)."
    ),
    out: Path = typer.Option(None, "--out", help="Run directory (must not exist or be empty)."),
    resume: Path = typer.Option(None, "--resume", help="Continue this transfer run."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Transfer named parts of a pretrained policy into a new agent and train it on a target."""
    from sim2real.cli._checks import check_writable_dir
    from sim2real.errors import ConfigError
    from sim2real.transfer.config import load_transfer_config, saved_transfer_config

    check_writable_dir("--out", out)
    if config is None and resume is None:
        raise ConfigError("give a CONFIG (e.g. transfer_finetune) with --from, or --resume RUN_DIR")
    if resume is not None and out is not None:
        raise ConfigError(
            "--out and --resume exclude each other (a resumed run stays in its directory)"
        )
    if config is None:
        if source is not None or target is not None:
            raise ConfigError("--from/--target cannot change a resumed run; give only --resume")
        cfg = saved_transfer_config(resume, set_)
    else:
        cfg = load_transfer_config(config, set_, source=source, target=target)
    from sim2real.cli._training import check_domain, run_interruptible
    from sim2real.transfer.run import run_transfer

    check_domain(cfg.env, cfg.domain, cfg.adr)

    result = run_interruptible(
        "transfer",
        lambda: run_transfer(cfg, out_dir=out, resume=resume, quiet=quiet or as_json),
    )
    _print_result(result, as_json)


def inspect_command(
    model: Path = typer.Argument(..., help="A run directory or an SB3 .zip (PPO, SAC, TD3)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """The model's named parts with shapes and parameter counts: what can be transferred."""
    from sim2real.cli._output import console, print_json
    from sim2real.transfer.inspect import describe_model

    info = describe_model(model)
    if as_json:
        print_json(info)
        return
    from rich.table import Table

    console.print(
        f"[bold]{info['algo']}[/bold] {info['path']}  env {info['env'] or '?'}  "
        f"obs {info['observation_size']}  act {info['action_size']}  "
        f"{info['total_params']} parameters"
    )
    if len(info["inputs"]) > 1:  # a privileged critic: the networks read different inputs
        for network, keys in info["inputs"].items():
            reads = ", ".join(f"{k} ({n})" for k, n in keys.items())
            console.print(f"{network} reads {reads}")
    table = Table(title="named parts (select by prefix: actor, critic.features, *.head, all)")
    for col in ("part", "kind", "params", "tensors"):
        table.add_column(col)
    for p in info["parts"]:
        tensors = ", ".join(f"{n} {tuple(s)}" for n, s in p["tensors"].items())
        table.add_row(p["name"], p["kind"], str(p["params"]), tensors)
    console.print(table)
    if info.get("transfer"):
        t = info["transfer"]
        console.print(f"transferred from {t.get('source')}: {t.get('totals')}")


def register(app: typer.Typer) -> None:
    """Add ``transfer`` and ``inspect`` to the ``sim2real`` app."""
    app.command("transfer")(transfer_command)
    app.command("inspect")(inspect_command)
