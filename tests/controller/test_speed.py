"""The speed claim of the README: numpy backend >= 20x faster than SB3 predict (slow: a benchmark run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "controller_speed.py"


@pytest.mark.slow
def test_numpy_backend_is_20x_faster_than_sb3_predict() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--calls", "4000", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    for case, res in results.items():
        assert res["numpy backend"]["speedup_vs_sb3_p50"] >= 20, (case, res)
        assert res["numpy backend"]["p50_us"] < res["onnxruntime backend"]["p50_us"], (case, res)
