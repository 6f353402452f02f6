"""``sim2real pretrain``: train an SB3 agent on a (randomized) source domain from a config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sim2real.cli.completion import complete_experiment_config

__all__ = ["register"]


def _print_result(result: Any, as_json: bool) -> None:
    from sim2real.cli._output import console, print_json
    from sim2real.training import RunDir

    summary = dict(result.summary)
    summary["run_dir"] = str(result.path)
    if as_json:
        print_json(summary)
        return
    console.print(
        f"[bold green]{summary['status']}[/]: {summary['steps']} steps in "
        f"{summary['wall_time_s']:.1f}s ({summary['steps_per_s']} steps/s, device {summary['device']})"
    )
    for key, ev in summary["final_eval"].items():
        console.print(f"  eval {key}: {ev['mean']:.2f} ± {ev['std']:.2f}")
    phase2 = summary.get("adaptation")
    if phase2:  # RMA: the lines above are phase 1 (true dynamics); these the deployed pair
        console.print(
            f"adaptation: {phase2['steps']} more steps ({summary['pretrain_env_steps']} in all), "
            f"regression loss {phase2['rollout_loss'][0]:.4g} -> {phase2['rollout_loss'][-1]:.4g}"
        )
        for key, ev in phase2["final_eval"].items():
            console.print(
                f"  eval {key} (policy + adaptation module): {ev['mean']:.2f} ± {ev['std']:.2f}"
            )
    console.print(f"results: {result.path}")
    console.print(f"  tensorboard --logdir {RunDir(result.path).tb}")


def pretrain(
    config: str = typer.Argument(
        None,
        help="Config YAML path or name in configs/ (optional with --resume).",
        autocompletion=complete_experiment_config,
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a key, e.g. --set hyperparams.learning_rate=1e-3 (repeatable)."
    ),
    seed: int = typer.Option(None, "--seed", help="Seed (overrides the config)."),
    device: str = typer.Option(
        None, "--device", help="auto|cpu|cuda; auto = CPU for PPO, CUDA if present for SAC/TD3."
    ),
    out: Path = typer.Option(None, "--out", help="Run directory (must not exist or be empty)."),
    resume: Path = typer.Option(
        None, "--resume", help="Continue this run from its latest checkpoint."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Pretrain a policy (PPO/SAC/TD3) and write a run directory (model, checkpoints, TensorBoard)."""
    from sim2real.cli._checks import check_seed, check_writable_dir
    from sim2real.config import load_config
    from sim2real.errors import ConfigError

    check_seed(seed)
    check_writable_dir("--out", out)
    overrides = list(set_)
    if seed is not None:
        overrides.append(f"seed={seed}")
    if device is not None:
        if device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"--device: expected auto, cpu or cuda, got {device!r}")
        overrides.append(f"device={device}")
    if config is None and resume is None:
        raise ConfigError("give a CONFIG (path or name in configs/), or --resume RUN_DIR")
    if resume is not None and out is not None:
        raise ConfigError(
            "--out and --resume exclude each other (a resumed run stays in its directory)"
        )
    if config is None:
        from sim2real.training import RunDir

        run = RunDir(resume)
        run.read_config_data()  # not a run directory / damaged: a one-line CheckpointError
        cfg = load_config(run.config, overrides)
    else:
        cfg = load_config(config, overrides)
    from sim2real.cli._training import check_domain, run_interruptible
    from sim2real.training import train

    check_domain(cfg.env, cfg.domain, cfg.adr)

    result = run_interruptible(
        "pretrain", lambda: train(cfg, out_dir=out, resume=resume, quiet=quiet or as_json)
    )
    _print_result(result, as_json)


def register(app: typer.Typer) -> None:
    """Add ``pretrain`` to the ``sim2real`` app."""
    app.command("pretrain")(pretrain)
