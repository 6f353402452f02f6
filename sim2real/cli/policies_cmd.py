"""``sim2real policies``: the shipped policy zoo (``policies/``) and its model cards."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from sim2real.cli._output import console, print_json
from sim2real.cli.completion import complete_policy_name

__all__ = ["register"]

policies_app = typer.Typer(
    help="List and inspect the shipped pretrained policies (use them as zoo:NAME).",
    no_args_is_help=True,
)


def _num(x: float) -> str:
    """A return with the decimals its size needs (1778, 18.0, 0.53): mean and CI alike."""
    return f"{x:.{0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2}f}"


def _ci(entry: Any) -> str:
    lo, hi = entry.ci95
    return "" if lo is None or hi is None else f"[{_num(lo)}, {_num(hi)}]"


@policies_app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON only.")) -> None:
    """Every shipped policy: env, algorithm, training steps, domain, zero-shot return on nominal."""
    from sim2real.zoo import list_policies, read_card

    rows = []
    for p in list_policies():
        card = read_card(p)
        nominal = card.entry("nominal") if card is not None else None
        rows.append((p, nominal))
    if json_out:
        print_json(
            [
                {
                    "name": p.name,
                    "env": p.env,
                    "algo": p.algo,
                    "steps": p.steps,
                    "trained_on": p.domain,
                    "path": str(p.path),
                    "nominal_mean": None if n is None else n.mean,
                }
                for p, n in rows
            ]
        )
        return
    table = Table(title="sim2real policy zoo (use as zoo:NAME)")
    for col in ("name", "env", "algo", "steps", "trained on", "nominal return (95% CI)"):
        table.add_column(col)
    for p, n in rows:
        score = "no card" if n is None else f"{_num(n.mean)} {_ci(n)}"
        table.add_row(p.name, p.env, p.algo, f"{p.steps:,}", p.domain, score)
    console.print(table)


@policies_app.command("show")
def show_cmd(
    name: str = typer.Argument(
        ..., help="Policy name or env name, e.g. cartpole.", autocompletion=complete_policy_name
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """One policy in full: where it is, how it was trained, zero-shot returns on every target."""
    from sim2real.zoo import read_card, zoo_policy

    p = zoo_policy(name)
    card = read_card(p)
    if json_out:
        print_json({"path": str(p.path), "card": None if card is None else asdict(card)})
        return
    console.print(f"[bold]{p.name}[/bold]  {p.env}  {p.algo}, {p.steps:,} steps on {p.domain}")
    console.print(f"folder: {p.path}   model card: {p.path / 'README.md'}")
    if card is None:
        console.print("no card.json: run `python benchmarks/zoo_cards.py` to measure one")
        return
    table = Table(title=f"zero-shot return ({card.evaluations[0].episodes} episodes each)")
    for col in ("target", "mean", "95% CI", "mean length", "success"):
        table.add_column(col)
    for e in card.evaluations:
        success = "" if e.success_rate is None else f"{e.success_rate:.0%}"
        length = sum(e.lengths) / len(e.lengths)
        table.add_row(e.target, _num(e.mean), _ci(e), f"{length:.0f}", success)
    console.print(table)
    console.print(f"measured with: {card.command}")


def register(app: typer.Typer) -> None:
    """Add ``sim2real policies`` to ``app``."""
    app.add_typer(policies_app, name="policies")
