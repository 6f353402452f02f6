"""`sim2real export / evaluate / deploy` end to end through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._export_policies import exported
from tests.cli_runner import error_line, invoke, run_cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim2real.config import load_config
    from sim2real.training import train

    overrides = ["total_timesteps=128", "eval.freq=0", "checkpoint_freq=0", "normalize=true"]
    return train(
        load_config("smoke", overrides), tmp_path_factory.mktemp("cli") / "run", quiet=True
    ).path


def test_export_evaluate_sweep_video(run_dir: Path, tmp_path: Path) -> None:
    proc = invoke(
        "export", str(run_dir), "--format", "torchscript", "--out", str(tmp_path / "pol"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    assert meta["files"]["artifact"]["file"] == "policy.pt" and meta["algorithm"] == "ppo"
    assert error_line(invoke("export", str(run_dir), "--out", str(tmp_path / "pol"))).endswith(
        "--force to replace it"
    )

    proc = invoke(
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
    proc = invoke("evaluate", str(run_dir), "--target", ":weak_motor", "--episodes", "2", "--json")
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
    line = error_line(invoke(*[a.format(pol=pol, tmp=tmp_path) for a in args]))
    assert words in line
