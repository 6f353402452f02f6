"""Shared by the training commands (``pretrain``, ``transfer``): Ctrl-C/SIGTERM handling."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sim2real.cli._output import err_console
from sim2real.randomization import load_domain
from sim2real.training import TrainingInterrupted

__all__ = ["check_domain", "run_interruptible"]

T = TypeVar("T")


def run_interruptible(command: str, run: Callable[[], T]) -> T:
    """Call ``run()`` with SIGTERM handled like Ctrl-C.

    On interruption the trainer has saved a checkpoint; print how to resume and exit 130.
    """

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run()
    except TrainingInterrupted as exc:
        err_console.print(
            f"interrupted at step {exc.steps}: checkpoint saved; continue with "
            f"`sim2real {command} --resume {exc.path}`"
        )
        sys.exit(130)


def check_domain(env: str, domain: str, adr: Any | None = None) -> None:
    """Load the training domain (and bind the ADR settings to the env's parameters) once
    before any work: a bad domain file or ADR key is a one-line error, not one raised at the
    first reset, after the run directory was made."""
    from sim2real.envs import make_env, resolve_env
    from sim2real.envs.external import ExternalEnvEntry
    from sim2real.randomization.adr import ADRBinding

    load_domain(env, domain)
    if isinstance(resolve_env(env), ExternalEnvEntry):  # env_kwargs and dynamics access work
        make_env(env).close()
    if adr is not None:
        probe = make_env(env)
        try:
            ADRBinding(adr, probe.get_wrapper_attr("dynamics_specs")())
        finally:
            probe.close()
