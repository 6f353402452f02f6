"""Checks of command-line values made before any work starts (one-line errors, exit 2)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from sim2real.errors import Sim2RealError

__all__ = [
    "MAX_COUNT",
    "MAX_DEPLOY_TICKS",
    "check_benchmark_out",
    "check_count",
    "check_finite",
    "check_record_option",
    "check_seed",
    "check_writable_dir",
    "check_writable_file",
]

MAX_COUNT = 1_000_000
"""Largest episode/sample count a command accepts (far beyond any sane run)."""
MAX_DEPLOY_TICKS = 100_000_000
"""Largest ``--rate x --seconds`` of ``deploy`` (the loop keeps one latency entry per tick)."""


def check_finite(option: str, value: float | None, *, positive: bool = False) -> None:
    """``value`` must be a finite number (and > 0 with ``positive``, else >= 0)."""
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "a finite number > 0" if positive else "a finite number >= 0"
        raise Sim2RealError(f"{option}: expected {need}, got {value}")


def check_count(option: str, value: int, *, low: int = 1, high: int = MAX_COUNT) -> None:
    """An integer count in ``[low, high]``."""
    if not low <= value <= high:
        raise Sim2RealError(f"{option}: expected an integer from {low} to {high}, got {value}")


def check_seed(value: int | None) -> None:
    """Seeds are from 0 to ``MAX_SEED`` (NumPy rejects negative and wider seeds)."""
    from sim2real.config import MAX_SEED

    if value is not None and not 0 <= value <= MAX_SEED:
        raise Sim2RealError(f"--seed: expected an integer from 0 to {MAX_SEED}, got {value}")


def _existing_parent(path: Path) -> Path:
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_writable_dir(option: str, path: Path | None) -> None:
    """``path`` is a folder that exists or can be created (nothing is left behind)."""
    if path is None:
        return
    if path.exists():
        if not path.is_dir():
            raise Sim2RealError(f"{option} {path}: is a file, not a folder; give a folder path")
        _probe(option, path, path)
        return
    base = _existing_parent(path)
    if not base.is_dir():
        raise Sim2RealError(
            f"{option} {path}: {base} is a file, so no folder can be made under it; "
            "give another path"
        )
    _probe(option, path, base)


def check_writable_file(option: str, path: Path | None) -> None:
    """The folder of output file ``path`` is writable (or can be created)."""
    if path is None:
        return
    if path.is_dir():
        raise Sim2RealError(f"{option} {path}: is a folder; give a file path")
    check_writable_dir(option, path.parent)


def check_record_option(path: Path | None) -> None:
    """``--record FILE``: a writable ``.npz`` path (an existing file is appended to, so it must
    be a valid rollout file; its names are checked against the env before episodes run)."""
    if path is None:
        return
    if path.suffix != ".npz":
        raise Sim2RealError(f"--record {path}: a rollout file must end in .npz")
    check_writable_file("--record", path)
    if path.exists():
        from sim2real.controller.recording import load_rollouts

        load_rollouts(path)


def _probe(option: str, path: Path, base: Path) -> None:
    """Create and remove a temporary folder in ``base`` (``os.access`` is wrong for root, /proc)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".sim2real-probe-", dir=base))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise Sim2RealError(
            f"{option} {path}: cannot write in {base} ({reason}); give a writable path"
        ) from None


def check_benchmark_out(path: Path | None, run_key: str) -> None:
    """``--out`` of ``benchmark``: new, empty, or a benchmark of the same config (to resume)."""
    if path is None:
        return
    check_writable_dir("--out", path)
    if not path.is_dir() or not any(path.iterdir()):
        return
    marker = path / "benchmark.json"
    try:
        old = json.loads(marker.read_text()).get("run_key")
    except (OSError, ValueError, AttributeError):
        raise Sim2RealError(
            f"--out {path}: the folder is not empty and holds no benchmark; "
            "give a new or empty folder (or the folder of this benchmark to resume)"
        ) from None
    if old != run_key:
        raise Sim2RealError(
            f"--out {path}: holds a benchmark with a different config (run key {old} != "
            f"{run_key}); use another --out or delete that folder"
        )


def check_suite_out(path: Path | None, suite: str, quick: bool) -> None:
    """``--out`` of a suite: new, empty, or the folder of the same suite (to resume)."""
    if path is None:
        return
    check_writable_dir("--out", path)
    if not path.is_dir() or not any(path.iterdir()):
        return
    try:
        old = json.loads((path / "suite.json").read_text())
        same = old.get("suite") == suite and old.get("quick") == quick
    except (OSError, ValueError, AttributeError):
        same = False
    if not same:
        raise Sim2RealError(
            f"--out {path}: the folder is not empty and holds no run of suite {suite!r}"
            f"{' (--quick)' if quick else ''}; give a new or empty folder, or that suite's folder"
        )
