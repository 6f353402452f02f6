"""Benchmark in-run progress: steps summed from the runs' progress.json, rate, ETA, display."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from sim2real.benchmark.jobs import RunJob
from sim2real.benchmark.progress import BenchmarkProgress
from sim2real.training.run_dir import PROGRESS
from tests.cli_runner import run_cli


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _job(folder: Path, arm: str, seed: int, budget: int) -> RunJob:
    run_dir = folder / "runs" / arm / f"seed_{seed}"
    return RunJob(arm, seed, str(run_dir), {"total_timesteps": budget}, key="k")


def _write(folder: Path, steps: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PROGRESS).write_text(json.dumps({"steps": steps, "total": 1000}))


def test_steps_rate_and_eta_from_the_runs_progress_files(tmp_path: Path) -> None:
    a, b, c = (_job(tmp_path, arm, 0, 1000) for arm in ("scratch", "finetune", "identify"))
    stale = tmp_path / "runs" / "finetune" / "seed_0"
    _write(stale, 900)  # left by an earlier, interrupted benchmark: older than this one
    os.utime(stale / PROGRESS, (time.time() - 3600, time.time() - 3600))
    clock = _Clock()
    tracker = BenchmarkProgress([a, b, c], clock=clock)
    assert tracker.snapshot().steps == 0 and tracker.snapshot().eta_s == float("inf")

    _write(Path(a.run_dir), 400)
    _write(Path(c.run_dir) / "target", 100)  # the identify arm's target fine-tuning run
    clock.now = 10.0
    snap = tracker.snapshot()
    assert (snap.steps, snap.steps_total, snap.runs_done) == (500, 3000, 0)
    assert snap.steps_per_s == 50.0 and snap.eta_s == 50.0
    assert [r.name for r in snap.running] == ["scratch/seed_0", "identify/seed_0"]
    assert re.fullmatch(r"0/3 runs, 500/3,000 target steps \(17%\), 50 steps/s, eta 0m50s",
                        snap.line())  # fmt: skip

    tracker.finished(a, reused=False)
    clock.now = 20.0
    snap = tracker.snapshot()
    assert (snap.steps, snap.runs_done) == (1100, 1)
    assert snap.running_text() == "identify/seed_0 10%"


def test_reused_runs_do_not_count_in_the_rate(tmp_path: Path) -> None:
    a, b = _job(tmp_path, "scratch", 0, 1000), _job(tmp_path, "scratch", 1, 1000)
    clock = _Clock()
    tracker = BenchmarkProgress([a, b], clock=clock)
    tracker.finished(a, reused=True)
    clock.now = 5.0
    _write(Path(b.run_dir), 250)
    snap = tracker.snapshot()
    assert snap.steps == 1250 and snap.steps_per_s == 50.0 and snap.eta_s == 15.0


def test_headless_benchmark_prints_progress_and_eta(
    tiny_source: Path, tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    cfg = make_config(tmp_path, tiny_source, seeds=1)
    out = tmp_path / "bench"
    proc = run_cli(
        "benchmark", str(cfg), "--out", str(out), env={"SIM2REAL_PROGRESS_EVERY": "0"},
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    done = [line for line in proc.stderr.splitlines() if " final " in line]
    assert len(done) == 2, proc.stderr  # one line per finished run, with the benchmark's state
    assert re.search(r"; benchmark: 2/2 runs, 512/512 target steps \(100%\), [\d,]+ steps/s, "
                     r"eta 0m00s$", done[-1]), done  # fmt: skip
    for arm in ("scratch", "finetune"):
        progress = json.loads((out / "runs" / arm / "seed_0" / PROGRESS).read_text())
        assert progress["steps"] == progress["total"] == 256
        assert progress["steps_per_s"] > 0 and "train_domain" in progress["eval"]
