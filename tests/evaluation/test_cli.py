"""`sim2real export / evaluate / deploy` end to end through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._export_policies import exported


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m sim2real ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "sim2real", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The same ``main()`` in-process (fast: torch and SB3 are imported once per test session)."""
    import contextlib
    import io

    from sim2real.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim2real.config import load_config
    from sim2real.training import train

    overrides = ["total_timesteps=128", "eval.freq=0", "checkpoint_freq=0", "normalize=true"]
    return train(
        load_config("smoke", overrides), tmp_path_factory.mktemp("cli") / "run", quiet=True
    ).path


def test_export_evaluate_sweep_video(run_dir: Path, tmp_path: Path) -> None:
    proc = cli(
        "export", str(run_dir), "--format", "torchscript", "--out", str(tmp_path / "pol"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    assert meta["files"]["artifact"]["file"] == "policy.pt" and meta["algorithm"] == "ppo"
    assert _error_line(cli("export", str(run_dir), "--out", str(tmp_path / "pol"))).endswith(
        "--force to replace it"
    )

    proc = cli(
        "evaluate",
        str(tmp_path / "pol"),
        "--target",
        "cartpole:weak_motor",
        "--episodes",
        "2",
        "--sweep",
        "motor_strength=0.2:1:2",
        "--video",
        str(tmp_path / "v.gif"),
        "--out",
        str(tmp_path / "eval"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["evaluation"]["episodes"] == 2 and result["evaluation"]["target"] == "weak_motor"
    assert Path(result["sweep"]["files"]["png"]).is_file()
    assert Path(result["video"]["path"]).stat().st_size > 0
    # the run directory itself gives the same returns (same policy, same seeds)
    proc = cli("evaluate", str(run_dir), "--target", ":weak_motor", "--episodes", "2", "--json")
    assert json.loads(proc.stdout)["evaluation"]["returns"] == result["evaluation"]["returns"]


def test_deploy_short_run() -> None:
    """Through the real console entry point, in its own process."""
    proc = run_cli(
        "deploy",
        str(exported("ppo", True)),
        "--target",
        "cartpole",
        "--rate",
        "50",
        "--seconds",
        "1",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ticks"] == 50 and report["controller"]["steps"] == 50
    # timing depends on machine load: the loop never runs faster than asked, misses are counted
    assert report["achieved_rate_hz"] <= 50.5 and 0 <= report["deadline_misses"] <= report["ticks"]
    assert report["duration_s"] >= 0.97 and report["act_latency_us"]["p50"] > 0
    assert report["episodes_completed"] >= 1  # the tiny policy drops the pole within a second
    assert sum(report["returns"]) + report["partial_return"] == pytest.approx(50.0)  # +1 per step


@pytest.mark.parametrize(
    "args,words",
    [
        (["evaluate", "{pol}", "--sweep", "mass_scale=1:2"], "lo:hi:n"),
        (["evaluate", "{pol}", "--target", "cartpole:nope"], "nope"),
        (["evaluate", "{pol}", "--video", "x.avi"], ".gif or .mp4"),
        (["deploy", "{pol}", "--target", "reacher", "--seconds", "0.1"], "reacher"),
        (["deploy", "{tmp}", "--seconds", "0.1"], "not an exported policy"),
        (["export", "{tmp}/missing.zip"], "no such"),
        (["export", "{pol}/weights.npz", "--format", "tflite"], "--format"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], words: str, tmp_path: Path) -> None:
    pol = str(exported("ppo", True))
    line = _error_line(cli(*[a.format(pol=pol, tmp=tmp_path) for a in args]))
    assert words in line
