"""Interrupts and partial writes: a second SIGTERM during the final save, atomic files (also
under a real ``kill -9`` halfway through a write), stale temporary folders, and a resume budget
that would train nothing."""

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
from stable_baselines3.common.callbacks import BaseCallback

from sim2real.config import load_config
from sim2real.errors import ConfigError
from sim2real.training import RunBuilder, TrainingInterrupted, train
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


# The child stops halfway through writing FILE (half of the real bytes are on disk), records the
# sha256 of the FILE it is replacing in MARKER, and waits to be killed with SIGKILL.
HALF_WRITE = """
import hashlib, os, runpy, sys, time
from pathlib import Path
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from sim2real.training.callbacks import MultiDomainEvalCallback

target, marker = os.environ["HALF_WRITE_FILE"], Path(os.environ["HALF_WRITE_MARKER"])
skip = int(os.environ.get("HALF_WRITE_SKIP", "0"))


def hang(path, data):
    old = Path(marker.parent / target)
    digest = hashlib.sha256(old.read_bytes()).hexdigest() if old.exists() else "absent"
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        os.fsync(f.fileno())
    marker.write_text(digest)
    time.sleep(600)


def matches(path):
    global skip
    if not Path(path).name.endswith(target):
        return False
    skip -= 1
    return skip < 0


save, write_text = BaseAlgorithm.save, Path.write_text


def half_save(self, path, *args, **kwargs):
    if not matches(path):
        return save(self, path, *args, **kwargs)
    import io
    buffer = io.BytesIO()
    save(self, buffer, *args, **kwargs)
    hang(path, buffer.getvalue())


def half_write_text(self, text, *args, **kwargs):
    if not matches(self):
        return write_text(self, text, *args, **kwargs)
    hang(self, text.encode())


evaluate = MultiDomainEvalCallback.evaluate


def always_best(self):
    self.best_mean = -np.inf  # every evaluation saves best_model.zip
    return evaluate(self)


BaseAlgorithm.save, Path.write_text = half_save, half_write_text
MultiDomainEvalCallback.evaluate = always_best
sys.argv = ["sim2real", *sys.argv[1:]]
runpy.run_module("sim2real", run_name="__main__")
"""


def _kill_halfway(out: Path, target: str, args: list[str], skip: int = 0) -> str:
    """Run ``sim2real ARGS`` until it is halfway through writing ``out/target``; SIGKILL it.

    Returns the sha256 the target had just before (``absent`` if there was none).
    """
    marker = out.parent / f"{out.name}.half_written"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HALF_WRITE_FILE": target}
    env.update(HALF_WRITE_MARKER=str(out / marker.name), HALF_WRITE_SKIP=str(skip))
    proc = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for(out / marker.name, proc)
        time.sleep(0.05)  # the marker is written after the half file
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    digest = (out / marker.name).read_text()
    (out / marker.name).unlink()
    return digest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SMALL = ["--set", "policy.net_arch=[16]", "--set", "eval.episodes=1", "--quiet"]


def test_kill_halfway_through_best_model_keeps_the_previous_one(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["pretrain", "smoke", "--out", str(out), *SMALL, "--set", "total_timesteps=100000"]
    args += ["--set", "eval.freq=64", "--set", "checkpoint_freq=64"]
    before = _kill_halfway(out, "best_model.zip", args, skip=2)  # after the step-64 checkpoint
    run = RunDir(out)
    assert before != "absent" and _sha(run.best_model) == before  # the complete previous file
    PPO.load(run.best_model)
    done = verify_checkpoint(run.list_checkpoints()[-1]).steps
    res = train(load_config(run.config, [f"total_timesteps={done + 64}"]), resume=out, quiet=True)
    assert json.loads(run.meta.read_text())["status"] == "finished"
    assert res.summary["status"] == "finished"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp")]
    PPO.load(run.best_model)


def test_kill_halfway_through_config_yaml_keeps_the_previous_one(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = RunDir(train(load_config("smoke", TINY), out, quiet=True).path)
    config = run.config.read_bytes()
    resume = ["pretrain", "--resume", str(out), "--quiet", "--set", "total_timesteps=256"]
    before = _kill_halfway(out, "config.yaml", resume)  # the resume rewrites config.yaml
    assert before == hashlib.sha256(config).hexdigest()
    assert run.config.read_bytes() == config
    train(load_config(run.config, ["total_timesteps=256"]), resume=out, quiet=True)
    assert json.loads(run.meta.read_text())["steps"] == 256
    assert "total_timesteps: 256" in run.config.read_text()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp")]


def _check_resumable(out: Path, status: str) -> None:
    """A verified checkpoint, a loadable model, ``status`` with the checkpoint's steps, and a
    resume that finishes."""
    run = RunDir(out)
    ckpt = verify_checkpoint(run.list_checkpoints()[-1])
    PPO.load(run.model)
    meta = json.loads(run.meta.read_text())
    assert meta["status"] == status and meta["steps"] == ckpt.steps
    train(load_config(run.config, [f"total_timesteps={ckpt.steps + 64}"]), resume=out, quiet=True)
    assert json.loads(run.meta.read_text())["status"] == "finished"


@pytest.mark.parametrize("gap_ms", [1, 10])
def test_two_sigterms_ms_apart_stop_with_a_resumable_run(tmp_path: Path, gap_ms: int) -> None:
    """No patching: the first signal starts the interrupt save, the second lands in it."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "sim2real", "pretrain", "smoke", "--out", str(out), *SMALL]
    cmd += [
        "--set",
        "total_timesteps=1000000",
        "--set",
        "checkpoint_freq=0",
        "--set",
        "eval.freq=0",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for(out / "tb", proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    time.sleep(gap_ms / 1000)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"--resume {out}" in err
    _check_resumable(out, "interrupted")


def test_two_sigterms_during_the_end_of_training_save_finish_the_run(tmp_path: Path) -> None:
    """The budget is done when the signals come: the save completes, the run is finished."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", SLOW_SAVE, "pretrain", "smoke", "--out", str(out), *SMALL]
    cmd += ["--set", "total_timesteps=128", "--set", "checkpoint_freq=0", "--set", "eval.freq=0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for(out / "saving", proc)
    while not (out / "saving").read_text():  # created, not yet written
        time.sleep(0.001)
    assert (out / "saving").read_text() == "finished"
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.003)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    (out / "saving").unlink()
    _check_resumable(out, "finished")


class _SignalAt(BaseCallback):
    """Sends SIGINT to this process at step ``at``, then notes that its own code went on."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.went_on = at, False

    def _on_step(self) -> bool:
        if self.num_timesteps == self.at:
            os.kill(os.getpid(), signal.SIGINT)
            self.went_on = True  # a KeyboardInterrupt raised from the handler would skip this
        return True


@pytest.fixture
def python_sigint() -> None:
    """Python's own SIGINT handler (a pytest-xdist worker may have another)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_sigint")
def test_a_signal_stops_training_at_the_next_env_step_not_inside_the_code_it_hits(
    tmp_path: Path,
) -> None:
    """The handler only asks: the code the signal lands in finishes (it might hold a lock, or be
    halfway through an update); training stops at the next step, with a resumable checkpoint."""
    out, signaller = tmp_path / "run", _SignalAt(64)
    builder = RunBuilder(callbacks=lambda run: [signaller])
    config = load_config("smoke", [*TINY, "total_timesteps=4096"])
    with pytest.raises(TrainingInterrupted) as stopped:
        train(config, out_dir=out, builder=builder, quiet=True)
    assert signaller.went_on
    assert stopped.value.steps == 64 + config.n_envs  # the next env step
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    _check_resumable(out, "interrupted")


def test_a_stop_request_ends_phase_2_before_its_next_iteration() -> None:
    from sim2real.adaptation.phase2 import train_adaptation
    from sim2real.training import make_vec_env
    from sim2real.training.algorithms import build_model
    from tests.adaptation.conftest import TINY as RMA_TINY

    cfg = load_config("cartpole_ppo", [*RMA_TINY, "adaptation.timesteps=3000", "n_envs=1"])
    venv = make_vec_env("cartpole", "source", 1, 0, dynamics_obs=True)
    model = build_model(cfg, venv)
    calls: list[int] = []

    def stop_at_the_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            train_adaptation(model, venv, None, cfg, stop_at_the_third)
    finally:
        venv.close()
    assert len(calls) == 3  # 2 of the 10 iterations ran
    assert all(p.requires_grad for p in model.policy.parameters())  # the base is unfrozen again


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
