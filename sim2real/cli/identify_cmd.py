"""``sim2real identify``: fit dynamics parameters to recorded rollouts, write a domain file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sim2real.cli.completion import complete_env

__all__ = ["register"]

_METHODS = ("auto", "likelihood", "trajectory")


def _check_options(
    method: str, budget: int, seed: int, holdout: float, samples: int, horizon: int, rows: int
) -> None:
    from sim2real.cli._checks import check_count, check_seed
    from sim2real.errors import Sim2RealError

    if method not in _METHODS:
        raise Sim2RealError(f"--method: expected one of {', '.join(_METHODS)}, got {method!r}")
    check_count("--budget", budget, low=10, high=1_000_000)
    check_seed(seed)
    if not 0.0 <= holdout <= 0.9:
        raise Sim2RealError(f"--holdout: expected a fraction from 0 to 0.9, got {holdout}")
    check_count("--samples", samples, low=2, high=1000)
    check_count("--horizon", horizon, low=1, high=1000)
    check_count("--max-transitions", rows, low=20, high=1_000_000)


def _outputs(env: str, out: Path | None, report: Path | None) -> tuple[Path, Path]:
    from sim2real.cli._checks import check_writable_dir, check_writable_file
    from sim2real.errors import Sim2RealError

    stem = env.replace("/", "_").replace(":", "_")  # a Gymnasium id or module:Class
    out = out or Path(f"{stem}_identified.yaml")
    if out.suffix not in (".yaml", ".yml"):
        raise Sim2RealError(f"--out {out}: a domain file must end in .yaml")
    check_writable_file("--out", out)
    report = report or out.with_name(f"{out.stem}_report")
    check_writable_dir("--report", report)
    return out, report


def _resolve(env: str, gym_packages: str, dynamics: str) -> str:
    """The env's short name, registering a third-party env's packages and dynamics first."""
    from sim2real.envs.external import register_external
    from sim2real.envs.registry import resolve_env

    packages = [p.strip() for p in gym_packages.split(",") if p.strip()]
    if packages or dynamics != "auto":
        register_external(env, packages, dynamics=dynamics)
    return resolve_env(env).name


def identify(
    env: str = typer.Argument(
        ..., help="Env short name or id, e.g. cartpole.", autocompletion=complete_env
    ),
    data: list[Path] = typer.Option(
        ..., "--data", "-d", help="Rollout file (.npz from `evaluate --record`); repeatable."
    ),
    params: str = typer.Option(
        "mass_scale,motor_strength",
        "--params",
        "-p",
        help="Comma list: NAME (one shared value), NAME.ENTITY, NAME.*, optional =LOW:HIGH.",
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Domain file to write [default: ENV_identified.yaml]."
    ),
    report: Path = typer.Option(
        None, "--report", help="Report folder [default: next to --out, OUT_report/]."
    ),
    budget: int = typer.Option(300, "--budget", help="CMA-ES objective evaluations."),
    seed: int = typer.Option(0, "--seed", help="Seed of CMA-ES and the parameter draws."),
    method: str = typer.Option(
        "auto", "--method", help="auto | likelihood (needs states) | trajectory."
    ),
    holdout: float = typer.Option(
        0.25, "--holdout", help="Fraction of episodes held out to measure prediction error."
    ),
    samples: int = typer.Option(8, "--samples", help="Parameter draws per likelihood evaluation."),
    horizon: int = typer.Option(10, "--horizon", help="Steps of a trajectory-matching replay."),
    max_transitions: int = typer.Option(
        200, "--max-transitions", help="Transitions scored by the likelihood."
    ),
    gym_packages: str = typer.Option(
        "", "--gym-packages", help="Comma list of packages registering ENV's Gymnasium id."
    ),
    dynamics: str = typer.Option(
        "auto", "--dynamics", help="Third-party envs: auto | env | pybullet | module:Class."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Fit the simulator's dynamics to recorded rollouts; write a domain file and a report."""
    from sim2real.cli._output import console, print_json
    from sim2real.identification import FitSettings, prepare

    _check_options(method, budget, seed, holdout, samples, horizon, max_transitions)
    short = _resolve(env, gym_packages, dynamics)
    out, report = _outputs(short, out, report)
    settings = FitSettings(
        method=method,  # type: ignore[arg-type]
        budget=budget,
        seed=seed,
        samples=samples,
        max_transitions=max_transitions,
        horizon=horizon,
    )
    prepared = prepare(short, data, params, settings, holdout)
    result = _run(prepared, out, report)
    if as_json:
        print_json({**result.to_dict(), "report_dir": str(report)})
        return
    _print(console, result, report)


def _run(prepared: Any, out: Path, report: Path) -> Any:
    """Fit with a progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    from sim2real.identification import identify as run_identify

    budget = prepared.settings.budget
    with tqdm(total=budget, desc="identify", unit="eval", disable=None, leave=False) as bar:

        def progress(done: int, total: int, best: float) -> None:
            bar.update(min(done, total) - bar.n)
            bar.set_postfix(best=f"{best:.4g}")

        return run_identify(prepared, out, report, progress=progress)


def _print(console: Any, result: Any, report: Path) -> None:
    fit = result.fit
    console.print(
        f"[bold]{fit.env}[/]: {fit.method} fit on {fit.episodes} episodes "
        f"({fit.transitions} transitions), {fit.evaluations} evaluations, "
        f"{fit.sim_steps} sim steps, seed {fit.seed}"
    )
    for p in fit.parameters:
        console.print(
            f"  {p.key:28s} {p.estimate:10.4g} ± {p.spread:<9.3g} (nominal {p.nominal:g})"
        )
    b, a = result.before, result.after
    where = "held-out" if result.held_out else "in-sample (no hold-out)"
    console.print(
        f"  prediction error ({where}, normalized RMSE): one-step {b.one_step:.4g} -> "
        f"{a.one_step:.4g}, {a.horizon}-step {b.multi_step:.4g} -> {a.multi_step:.4g}"
    )
    console.print(f"  domain file: {result.domain_file} (source, targets.identified)")
    console.print(f"  report: {report / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add ``identify`` to the ``sim2real`` app."""
    app.command("identify")(identify)
