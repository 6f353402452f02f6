"""Shared fixtures: tiny CLI runs through a subprocess (the real `sim2real` entry point)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import TINY, run_cli


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny PPO run (randomized source, one target, normalization), shared by the
    read-only tests of a module."""
    out = tmp_path_factory.mktemp("ppo") / "run"
    proc = run_cli(
        "pretrain",
        "smoke",
        "--out",
        str(out),
        "--set",
        "normalize=true",
        "--set",
        "domain=source",
        "--set",
        "eval.targets=[heavy_pole]",
        *TINY,
    )
    assert proc.returncode == 0, proc.stderr
    return out
