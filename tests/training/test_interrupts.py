"""Interrupts and partial writes: a second SIGTERM during the final save, atomic files, stale
temporary folders, and a resume budget that would train nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stable_baselines3 import PPO

from sim2real.config import load_config
from sim2real.errors import ConfigError
from sim2real.training import train
from sim2real.training.run_dir import RunDir, verify_checkpoint
from tests.cli_runner import run_cli

TINY = ["total_timesteps=128", "eval.freq=0", "eval.at_start=false", "checkpoint_freq=0"]

# The child patches Checkpointer.save to announce itself and sleep, so the test can send its
# signals while the final save is in progress.
SLOW_SAVE = """
import runpy, sys, time
from pathlib import Path
from sim2real.training.callbacks import Checkpointer
original = Checkpointer.save
def slow(self, model, reason="periodic"):
    (self.run.path / "saving").write_text(reason)
    time.sleep(1.0)
    return original(self, model, reason)
Checkpointer.save = slow
sys.argv = ["sim2real", *sys.argv[1:]]
runpy.run_module("sim2real", run_name="__main__")
"""


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.01)


def test_two_sigterms_during_the_final_save_keep_a_resumable_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", SLOW_SAVE, "pretrain", "smoke", "--out", str(out), "--quiet"]
    cmd += ["--set", "total_timesteps=1000000", "--set", "checkpoint_freq=0"]
    cmd += ["--set", "eval.freq=0", "--set", "policy.net_arch=[16]"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for(out / "tb", proc)  # training is under way
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _wait_for(out / "saving", proc)  # the final save has started
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"--resume {out}" in err
    run = RunDir(out)
    ckpt = verify_checkpoint(run.list_checkpoints()[-1])
    PPO.load(run.model)
    meta = json.loads(run.meta.read_text())
    assert meta["status"] == "interrupted" and meta["steps"] == ckpt.steps
    proc2 = run_cli("pretrain", "--resume", str(out), "--set", f"total_timesteps={ckpt.steps + 64}")
    assert proc2.returncode == 0, proc2.stderr
    assert json.loads(run.meta.read_text())["status"] == "finished"


class _FakeModel:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def save(self, path: str) -> None:
        Path(path).write_bytes(self.payload)

    def get_vec_normalize_env(self) -> None:
        return None


def test_config_and_best_model_writes_are_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RunDir(tmp_path)
    run.write_config("old: 1\n")
    run.save_model(_FakeModel(b"old"), best=True)

    def killed(src: object, dst: object) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(OSError):
        run.write_config("new: 2\n")
    with pytest.raises(OSError):
        run.save_model(_FakeModel(b"new"), best=True)
    assert run.config.read_text() == "old: 1\n" and run.best_model.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.zip", "config.yaml"]


def test_best_model_is_saved_through_the_run_dir(tmp_path: Path) -> None:
    res = train(load_config("smoke", [*TINY, "eval.freq=64"]), tmp_path / "r", quiet=True)
    names = {p.name for p in res.path.iterdir()}
    assert "best_model.zip" in names and not any(n.startswith(".tmp") for n in names)
    PPO.load(res.path / "best_model.zip")


def test_resume_removes_stale_temporaries(tmp_path: Path) -> None:
    res = train(load_config("smoke", TINY), tmp_path / "r", quiet=True)
    stale = res.path / "checkpoints" / ".tmp_step_000000064_4242"
    stale.mkdir()
    (stale / "model.zip").write_bytes(b"half")
    (res.path / ".tmp_4242_config.yaml").write_text("half")
    train(load_config("smoke", [*TINY, "total_timesteps=192"]), resume=res.path, quiet=True)
    assert not stale.exists() and not (res.path / ".tmp_4242_config.yaml").exists()


@pytest.mark.parametrize("total", [64, 128])
def test_resume_budget_at_or_below_done_steps_is_an_error(tmp_path: Path, total: int) -> None:
    res = train(load_config("smoke", [*TINY, "total_timesteps=192"]), tmp_path / "r", quiet=True)
    before = _digest(res.path)
    with pytest.raises(ConfigError, match="192 steps"):
        train(load_config("smoke", [*TINY, f"total_timesteps={total}"]), resume=res.path)
    assert _digest(res.path) == before


def test_resume_budget_error_on_the_cli(ppo_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(ppo_run, run)
    before = _digest(run)
    proc = run_cli("pretrain", "--resume", str(run), "--set", "total_timesteps=128")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "256 steps" in lines[0]
    assert _digest(run) == before
