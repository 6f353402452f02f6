"""End-to-end `sim2real pretrain` runs through a subprocess: PPO/SAC/TD3, resume, errors, Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_runner import TINY, error_line, run_cli

OFF_POLICY = "hyperparams={learning_starts: 50, batch_size: 32, buffer_size: 2000}"


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_off_policy_run_writes_the_layout(algo: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_cli(
        "pretrain",
        "smoke",
        "--out",
        str(out),
        "--json",
        "--set",
        f"algo={algo}",
        "--set",
        OFF_POLICY,
        "--set",
        "total_timesteps=200",
        "--set",
        "eval.freq=100",
        *TINY,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["steps"] == 200 and summary["algo"] == algo and summary["run_dir"] == str(out)
    for name in (
        "config.yaml",
        "meta.json",
        "model.zip",
        "best_model.zip",
        "summary.json",
        "evaluations.json",
    ):
        assert (out / name).is_file(), name
    ckpts = sorted((out / "checkpoints").iterdir())
    assert (ckpts[-1] / "replay_buffer.pkl").is_file()
    evals = json.loads((out / "evaluations.json").read_text())
    assert evals["train_domain"]["timesteps"] == [0, 100, 200]
    assert all(len(r) == 2 for r in evals["train_domain"]["returns"])


def test_ppo_run_records_meta_and_prints_location(ppo_run: Path) -> None:
    meta = json.loads((ppo_run / "meta.json").read_text())
    assert meta["device"] == "cpu" and meta["seed"] == 0 and meta["status"] == "finished"
    assert "pretrain" in meta["command"] and meta["versions"]["stable-baselines3"]
    assert (ppo_run / "vecnormalize.pkl").is_file()
    summary = json.loads((ppo_run / "summary.json").read_text())
    assert summary["steps"] == 256 and "train_domain" in summary["final_eval"]


def test_resume_continues_steps_and_curve(ppo_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(ppo_run, run)
    proc = run_cli("pretrain", "--resume", str(run), "--set", "total_timesteps=512", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert str(run) in proc.stdout
    evals = json.loads((run / "evaluations.json").read_text())
    steps = evals["train_domain"]["timesteps"]
    assert steps[:3] == [0, 128, 256] and steps[-1] == 512 and steps == sorted(steps)
    meta = json.loads((run / "meta.json").read_text())
    assert meta["resumed_from_step"] == 256 and meta["steps"] == 512
    assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 2  # same TB run folder


def test_resume_with_changed_config_fails_cleanly(ppo_run: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in ppo_run.rglob("*")}
    proc = run_cli("pretrain", "--resume", str(ppo_run), "--set", "hyperparams.n_steps=32")
    assert "no longer matches" in error_line(proc)
    assert {p: p.stat().st_mtime_ns for p in ppo_run.rglob("*")} == before


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_corrupt_checkpoint_exit_2_and_nothing_written(
    ppo_run: Path, tmp_path: Path, damage: str
) -> None:
    run = tmp_path / "copy"
    shutil.copytree(ppo_run, run)
    latest = sorted((run / "checkpoints").iterdir())[-1] / "model.zip"
    if damage == "truncate":
        latest.write_bytes(latest.read_bytes()[:100])
    else:
        latest.unlink()
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    line = error_line(run_cli("pretrain", "--resume", str(run), "--set", "total_timesteps=512"))
    assert "model.zip" in line and ("corrupt" in line or "missing" in line)
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["smoke", "--set", "n_envs=abc"], "n_envs"),
        (["smoke", "--set", "hyperparams.gradient_steps=4"], "hyperparams.gradient_steps"),
        (["no_such_config"], "not found"),
        (["smoke", "--device", "cuda"], "CUDA"),
        (["--resume", "/nonexistent/run"], "config.yaml"),
    ],
)
def test_bad_input_exit_2_one_line(args: list[str], words: str, tmp_path: Path) -> None:
    out = tmp_path / "never"
    if args[0] != "--resume":
        args = [*args, "--out", str(out)]
    assert words in error_line(run_cli("pretrain", *args))
    assert not out.exists()


def test_existing_out_dir_is_never_clobbered(ppo_run: Path) -> None:
    assert "not empty" in error_line(run_cli("pretrain", "smoke", "--out", str(ppo_run)))


def test_ctrl_c_saves_checkpoint_and_exits_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "sim2real",
        "pretrain",
        "smoke",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "total_timesteps=1000000",
        "--set",
        "checkpoint_freq=64",
        "--set",
        "eval.freq=0",
    ]
    # SIG_DFL in the child: a test runner started in the background would pass SIGINT ignored
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list((out / "checkpoints").glob("step_*")) and time.monotonic() < deadline:
        time.sleep(0.1)  # training is under way once the first periodic checkpoint exists
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"--resume {out}" in err
    latest = sorted((out / "checkpoints").glob("step_*"))[-1]
    manifest = json.loads((latest / "manifest.json").read_text())
    assert 64 <= manifest["steps"] < 1_000_000
    summary = json.loads((out / "summary.json").read_text())
    # the newest checkpoint is where training stopped (saved on interrupt unless just saved)
    assert summary["status"] == "interrupted" and summary["steps"] == manifest["steps"]
    assert (
        run_cli(
            "pretrain",
            "--resume",
            str(out),
            "--set",
            f"total_timesteps={manifest['steps'] + 64}",
            "--quiet",
        ).returncode
        == 0
    )
