"""``sim2real envs``: list the environments, show one in full (with its domains), sample domains."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from sim2real.cli._output import console, print_json
from sim2real.cli.completion import complete_env

MAX_SAMPLE_DRAWS = 10_000
"""Largest ``envs sample -n`` (each draw is one env reset)."""

__all__ = ["register"]

envs_app = typer.Typer(
    help="List and inspect environments, their dynamics parameters and domains.",
    no_args_is_help=True,
)


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        uniq = sorted(set(value))
        return f"{uniq[0]:g}" if len(uniq) == 1 else "[" + ", ".join(f"{v:g}" for v in value) + "]"
    return f"{value:g}"


@envs_app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON only.")) -> None:
    """Every env with its Gymnasium id, short name and observation/action sizes."""
    from sim2real.envs.describe import list_envs

    envs = list_envs()
    if json_out:
        print_json(envs)
        return
    table = Table(title="sim2real environments")
    for col in ("name", "id", "obs", "act", "control dt", "description"):
        table.add_column(col)
    for e in envs:
        table.add_row(
            e["name"],
            e["id"],
            str(e["obs_size"]),
            str(e["action_size"]),
            f"{e['control_dt'] * 1000:.1f} ms",
            e["description"],
        )
    console.print(table)


@envs_app.command("show")
def show_cmd(
    env: str = typer.Argument(
        ..., help="Short name or Gymnasium id, e.g. hopper.", autocompletion=complete_env
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """One env in full: layout, dynamics parameters, source randomization and targets."""
    from sim2real.envs.describe import describe_env
    from sim2real.randomization.describe import describe_domains

    info = describe_env(env)
    info["domains"] = describe_domains(env)
    if json_out:
        print_json(info)
        return
    console.print(f"[bold]{info['name']}[/bold]  {info['id']}  {info['description']}")
    console.print(f"observation ({info['obs_size']}): {', '.join(info['observation_names'])}")
    console.print(f"action ({info['action_size']}, in [-1, 1]): {', '.join(info['action_names'])}")
    console.print(
        f"control period {info['control_dt'] * 1000:.2f} ms, "
        f"episode limit {info['max_episode_steps']} steps, engine {info['engine']}"
    )
    if info["model_differences"]:
        console.print("model differs from the PyBullet twin's:")
        for line in info["model_differences"]:
            console.print(escape(f"  - {line}"))
    table = Table(title="dynamics parameters")
    for col in ("parameter", "nominal", "valid range", "unit", "applies to", "description"):
        table.add_column(col)
    for p in info["parameters"]:
        ents = p["entities"]
        table.add_row(
            p["name"],
            _fmt(p["nominal"]),
            f"[{p['low']:g}, {p['high']:g}]",
            p["unit"],
            ", ".join(ents) if len(ents) <= 4 else f"{len(ents)} entries",
            p["description"],
        )
    console.print(table)
    _print_domains(info["domains"])


def _print_domains(domains: dict[str, Any]) -> None:
    if domains["file"] is None:
        console.print("no domain file (envs/<name>.yaml): only the nominal domain")
        return
    sources = {"source": domains["source"]} if domains["source"] is not None else {}
    for name, src in {**sources, **domains.get("sources", {})}.items():
        _print_source(f"{name} randomization ({domains['file']})", src)
    table = Table(title="targets (fixed shifted dynamics)")
    for col in ("target", "shifts", "description"):
        table.add_column(col)
    for name, tgt in domains["targets"].items():
        extras = {k: tgt[k] for k in ("pushes", "action_noise") if k in tgt}
        shifts = ", ".join(_shift_text(k, v) for k, v in {**tgt["shifts"], **extras}.items())
        table.add_row(name, escape(shifts), escape(tgt["description"]))
    console.print(table)


def _print_source(title: str, src: dict[str, Any]) -> None:
    table = Table(title=title)
    for col in ("parameter", "applies to", "distribution", "mode", "resample"):
        table.add_column(col)
    for row in src["parameters"]:
        table.add_row(
            row["parameter"], row["applies_to"], row["distribution"], row["mode"], row["resample"]
        )
    console.print(table)
    for key in ("pushes", "action_noise"):
        if key in src:
            console.print(escape(f"{key}: {src[key]}"))


def _shift_text(name: str, value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("entities"), dict):
        unit = " x nominal" if value.get("mode") == "scale" else ""
        return ", ".join(f"{name}[{e}]={v}{unit}" for e, v in value["entities"].items())
    return f"{name}={value}"


@envs_app.command("sample")
def sample_cmd(
    env: str = typer.Argument(
        ..., help="Short name or Gymnasium id, e.g. cartpole.", autocompletion=complete_env
    ),
    domain: str = typer.Option(
        "source",
        "--domain",
        "-d",
        help="source, nominal, a named source or target, or FILE.yaml:NAME.",
    ),
    seed: int = typer.Option(0, "--seed", "-s", help="Seed of the env's random stream."),
    n: int = typer.Option(
        5, "-n", min=1, help=f"How many episodes' domains to draw (at most {MAX_SAMPLE_DRAWS})."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Print the dynamics of N consecutive episodes (parameter -> value), as training sees them."""
    from sim2real.cli._checks import check_count, check_seed
    from sim2real.randomization.describe import flatten_sample, sample_domains

    check_seed(seed)
    check_count("-n", n, high=MAX_SAMPLE_DRAWS)
    samples = sample_domains(env, domain, seed, n)
    if json_out:
        print_json(samples)
        return
    flat = [flatten_sample(s) for s in samples]
    table = Table(title=f"{env}: {n} draws of domain {domain!r}, seed {seed}")
    table.add_column("parameter")
    for i in range(n):
        table.add_column(f"#{i}", justify="right")
    for key in flat[0] if flat else []:
        table.add_row(key, *(f"{f[key]:.4g}" for f in flat))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Attach ``envs`` to the main app."""
    app.add_typer(envs_app, name="envs")
