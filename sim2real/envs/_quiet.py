"""Silence PyBullet's C-level prints (build time on import, ``argv[0]=`` on connect).

They bypass Python's ``sys.stdout``/``sys.stderr``, so CLI and ``--json`` output would carry them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

__all__ = ["quiet_c_output"]

try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None)
except OSError:  # pragma: no cover - non-POSIX
    _LIBC = None


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.flush()
    if _LIBC is not None:
        _LIBC.fflush(None)


@contextlib.contextmanager
def quiet_c_output() -> Iterator[None]:
    """Point file descriptors 1 and 2 at /dev/null inside the block."""
    _flush_all()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_all()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
