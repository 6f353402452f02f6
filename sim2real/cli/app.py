"""Build the typer application from the subcommand modules and run it with clean error handling.

Each module in ``COMMAND_MODULES`` exposes ``register(app: typer.Typer) -> None``. The library
raises :class:`~sim2real.errors.Sim2RealError`; here it becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from sim2real.errors import Sim2RealError

__all__ = ["COMMAND_MODULES", "app", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "sim2real.cli.envs_cmd",
    "sim2real.cli.pretrain_cmd",
    "sim2real.cli.benchmark_cmd",
    "sim2real.cli.transfer_cmd",
    "sim2real.cli.evaluate_cmd",
    "sim2real.cli.export_cmd",
    "sim2real.cli.deploy_cmd",
)

app = typer.Typer(
    name="sim2real",
    help="Sim-to-real RL transfer: pretrain on randomized dynamics, transfer, benchmark, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module_name in COMMAND_MODULES:
    importlib.import_module(_module_name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim2real`` console script."""
    try:
        app(args=argv, standalone_mode=True)
    except Sim2RealError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `sim2real ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
