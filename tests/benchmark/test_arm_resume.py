"""A benchmark transfer arm is a transfer run: `sim2real transfer --resume` continues it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from sim2real.benchmark import load_benchmark_config
from sim2real.benchmark.jobs import execute
from sim2real.benchmark.runner import plan_jobs

from .conftest import write_tiny_config


def test_sim2real_transfer_resumes_a_benchmark_arm(tiny_source: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(tiny_source, source)
    cfg = load_benchmark_config(str(write_tiny_config(tmp_path, source, seeds=1)))
    job = next(j for j in plan_jobs(cfg, tmp_path / "bench", source) if j.arm == "finetune")
    result = execute(job)
    arm = Path(result["run_dir"])
    assert result["steps"][-1] == 256
    assert (arm / "source" / "model.zip").is_file()  # the arm keeps a copy of its source
    assert json.loads((arm / "transfer.json").read_text())["config"]["source"] == str(source)

    shutil.rmtree(source)  # resumed from the snapshot
    resume = ["transfer", "--resume", str(arm), "--set", "total_timesteps=384", "--json", "-q"]
    done = subprocess.run(
        [sys.executable, "-m", "sim2real", *resume],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == 384
    meta = json.loads((arm / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["resumed_from_step"] == 256
    assert meta["benchmark"]["key"] == job.key  # still the benchmark's run
    assert yaml.safe_load((arm / "config.yaml").read_text())["total_timesteps"] == 384
    evals = json.loads((arm / "evaluations.json").read_text())["train_domain"]["timesteps"]
    assert evals == [0, 128, 256, 384]
