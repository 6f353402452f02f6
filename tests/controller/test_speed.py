"""The speed claims of the README (slow: a benchmark run).

The numpy backend is >= 20x faster than SB3 predict on the default MLP (PPO 64x64 tanh). On the
wide SAC 256x256 actor the 256x257 matrix-vector product alone takes ~5 us, so the measured
margin there is ~19-21x: the test asks for >= 10x, and for numpy beating onnxruntime on both.
"""

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
    required = {"ppo_64x64": 20, "sac_256x256": 10}
    assert set(results) == set(required)
    for case, res in results.items():
        assert res["numpy backend"]["speedup_vs_sb3_p50"] >= required[case], (case, res)
        assert res["numpy backend"]["p50_us"] < res["onnxruntime backend"]["p50_us"], (case, res)
