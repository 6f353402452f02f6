"""Shared by the training commands (``pretrain``, ``transfer``): Ctrl-C/SIGTERM handling."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import TypeVar

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


def check_domain(env: str, domain: str) -> None:
    """Load the training domain once before any work (a bad domain file is a one-line error)."""

    load_domain(env, domain)
