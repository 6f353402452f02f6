"""Build the typer application from the subcommand modules and run it with clean error handling.

Each module in ``COMMAND_MODULES`` exposes ``register(app: typer.Typer) -> None``. The library
raises :class:`~sim2real.errors.Sim2RealError`; here it becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import typer
from typer import _click
from typer.exceptions import Abort

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
    "sim2real.cli.identify_cmd",
    "sim2real.cli.policies_cmd",
)

app = typer.Typer(
    name="sim2real",
    help="Sim-to-real RL transfer: pretrain on randomized dynamics, transfer, benchmark, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for _module_name in COMMAND_MODULES:
    importlib.import_module(_module_name).register(app)
importlib.import_module("sim2real.cli.examples").add_examples(app)


def _version(value: bool) -> None:
    if value:
        import sim2real

        typer.echo(f"sim2real {sim2real.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Sim-to-real RL transfer: pretrain on randomized dynamics, transfer, benchmark, export."""


def _command_path(argv: list[str]) -> str:
    """``sim2real`` and the (sub)commands that lead ``argv``, e.g. ``sim2real envs sample``."""
    words, command = ["sim2real"], typer.main.get_command(app)
    for arg in argv:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        words.append(arg)
        command = sub
    return " ".join(words)


def _usage_line(exc: _click.exceptions.ClickException, argv: list[str]) -> str:
    """One line for a Click usage (or other Click) error, with a pointer to the command's ``--help``.

    Some parser errors (an option missing its value) carry no context: the command path then
    comes from ``argv``.
    """
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else _command_path(argv)
    message = " ".join(exc.format_message().split())
    return f"error: {message} (see '{command} --help')"


def _run(argv: list[str] | None) -> int:
    """Run the app without Click's own error printing; returns the exit status."""
    from sim2real.cli._output import json_only_stdout

    args = sys.argv[1:] if argv is None else argv
    try:
        with json_only_stdout("--json" in args):
            code = app(args=argv, prog_name="sim2real", standalone_mode=False)
    except _click.exceptions.NoArgsIsHelpError as exc:
        typer.echo(exc.format_message())
        return 2
    except _click.exceptions.ClickException as exc:
        typer.echo(_usage_line(exc, args), err=True)
        return 2
    except Abort:
        raise KeyboardInterrupt from None
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim2real`` console script.

    Library warnings (SB3, Gymnasium) are held back until the command ends: printed after a
    success, dropped when the command fails, so an error is always exactly one line.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            code = _run(argv)
        except Sim2RealError as exc:
            typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `sim2real ... | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
            code = 0
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if code:
        sys.exit(code)
