"""``sim2real envs``: list the environments, show one in full."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from sim2real.cli._output import console, print_json

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
    env: str = typer.Argument(..., help="Short name or Gymnasium id, e.g. hopper."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """One env in full: observation/action layout and dynamics parameters (nominal, unit, bounds)."""
    from sim2real.envs.describe import describe_env

    info = describe_env(env)
    if json_out:
        print_json(info)
        return
    console.print(f"[bold]{info['name']}[/bold]  {info['id']}  {info['description']}")
    console.print(f"observation ({info['obs_size']}): {', '.join(info['observation_names'])}")
    console.print(f"action ({info['action_size']}, in [-1, 1]): {', '.join(info['action_names'])}")
    console.print(
        f"control period {info['control_dt'] * 1000:.2f} ms, "
        f"episode limit {info['max_episode_steps']} steps"
    )
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


def register(app: typer.Typer) -> None:
    """Attach ``envs`` to the main app."""
    app.add_typer(envs_app, name="envs")
