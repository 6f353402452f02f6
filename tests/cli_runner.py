"""The one way tests run the ``sim2real`` command: in a subprocess or in-process.

``run_cli`` goes through the real entry point (``python -m sim2real``) in a fresh interpreter;
``invoke`` calls the same ``main()`` in this process (fast: torch and SB3 are imported once per
test session). Both return a ``CompletedProcess`` with the exit status, stdout and stderr.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

__all__ = ["TINY", "error_line", "invoke", "run_cli"]

TINY = ["--set", "policy.net_arch=[16]", "--quiet"]
"""Options that keep a ``sim2real pretrain`` run small and silent."""

TRACEBACK_STATUS = -1
"""``invoke``'s exit status when ``main()`` raised instead of exiting (a bug under test)."""


def run_cli(
    *args: str,
    timeout: float = 300,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sim2real ARGS`` (one torch thread) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "sim2real", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``sim2real ARGS`` in this process; an escaping exception becomes a traceback on
    stderr with status :data:`TRACEBACK_STATUS`."""
    from sim2real.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            err.write("Traceback\n" + "".join(traceback.format_exception(exc)))
            code = TRACEBACK_STATUS
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: ...`` line of a command that failed on bad input (exit status 2)."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]
