"""Provenance of a result: when (UTC), by which command, with which package versions, from which
git commit."""

from __future__ import annotations

import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["command_line", "git_state", "package_versions", "utc_now"]

_PACKAGES = ("sim2real", "stable-baselines3", "torch", "gymnasium", "pybullet", "numpy")


def utc_now() -> str:
    """ISO-8601 UTC timestamp (seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def command_line(argv: list[str] | None = None) -> str:
    """The command that started this process (``sys.argv``), shell-quoted, as a user types it:
    the console script at any path and ``python -m sim2real`` both read ``sim2real ...``."""
    args = list(sys.argv if argv is None else argv)
    if args:
        program = Path(args[0])
        if program.name == "sim2real" or program.parts[-2:] == ("sim2real", "__main__.py"):
            args[0] = "sim2real"
    return " ".join(shlex.quote(a) for a in args)


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on, plus Python and the platform."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(start: Path | None = None) -> dict[str, Any] | None:
    """Commit, branch and dirty flag of the sim2real checkout (``None`` outside a git repo)."""
    where = start or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return None
