"""Progress reporting shared by training and the benchmark: durations, the headless period."""

from __future__ import annotations

import math
import os

__all__ = ["PROGRESS_EVERY_ENV", "format_duration", "headless_every"]

#: Seconds between progress lines when stderr is not a terminal (CI, Slurm, nohup).
PROGRESS_EVERY_ENV = "SIM2REAL_PROGRESS_EVERY"


def format_duration(seconds: float) -> str:
    """``1m26s``, ``2h05m``; ``--`` when unknown (not finite)."""
    if not math.isfinite(seconds):
        return "--"
    s = max(0, round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def headless_every(default: float = 30.0) -> float:
    """The period of headless progress lines: ``$SIM2REAL_PROGRESS_EVERY`` seconds, else
    ``default`` (0: every update; an unparsable or negative value gives ``default``)."""
    try:
        value = float(os.environ.get(PROGRESS_EVERY_ENV, "") or default)
    except ValueError:
        return default
    return value if value >= 0 else default
