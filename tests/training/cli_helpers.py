"""Tiny CLI runs through a subprocess (the real `sim2real` entry point)."""

from __future__ import annotations

import os
import subprocess
import sys

TINY = ["--set", "policy.net_arch=[16]", "--quiet"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sim2real ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "sim2real", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
