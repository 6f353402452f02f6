"""Shared CLI output helpers: JSON to stdout, rich tables and messages."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import numpy as np
from rich.console import Console

__all__ = ["console", "err_console", "json_only_stdout", "print_json"]

# soft_wrap: messages with paths/commands stay on one line (copy-pasteable) on narrow terminals
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


#: Where :func:`print_json` writes inside :func:`json_only_stdout` (the real stdout).
_json_stream: TextIO | None = None


def _is_process_stdout() -> bool:
    try:
        return sys.stdout.fileno() == 1
    except (AttributeError, ValueError, io.UnsupportedOperation):  # captured (tests)
        return False


@contextlib.contextmanager
def json_only_stdout(active: bool) -> Iterator[None]:
    """With ``--json``, stdout carries the JSON document only: while the command runs, file
    descriptor 1 points at stderr, so what libraries print to it directly (PyBullet's C-level
    ``argv[0]=`` from a third-party env's connect, a package's import-time print) lands on
    stderr, and :func:`print_json` writes to the real stdout."""
    global _json_stream
    if not active or not _is_process_stdout():
        yield
        return
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    _json_stream = os.fdopen(os.dup(real), "w")
    try:
        yield
    finally:
        _json_stream.close()
        _json_stream = None
        sys.stdout.flush()
        os.dup2(real, 1)
        os.close(real)


def print_json(data: Any) -> None:
    """Print ``data`` as JSON only (no markup), for scripts."""
    print(json.dumps(data, indent=2, default=_default), file=_json_stream or sys.stdout, flush=True)
