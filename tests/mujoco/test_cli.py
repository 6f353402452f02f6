"""A policy trained on the PyBullet source runs on a MuJoCo target through every command
(in-process, tiny budgets): evaluate (plain, ``--compare-engines``, ``--sweep``, ``--record``),
transfer, benchmark, export + deploy, identify, and pretrain on a MuJoCo env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import sim2real.envs  # noqa: F401  (first: picks MuJoCo's headless GL backend)

pytest.importorskip("mujoco")

from tests.benchmark.conftest import write_tiny_config
from tests.cli_runner import invoke

TINY_RUN = ["--set", "checkpoint_freq=0", "--set", "eval.freq=0", "--quiet"]


def _ok(*args: str) -> str:
    proc = invoke(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 256-step PPO run on PyBullet's cartpole (the smoke config)."""
    out = tmp_path_factory.mktemp("mj_source") / "run"
    _ok("pretrain", "smoke", "--out", str(out), *TINY_RUN)
    return out


def test_evaluate_on_mujoco(source: Path) -> None:
    data = json.loads(_ok("evaluate", str(source), "--target", "cartpole@mujoco:heavy_pole",
                          "-n", "2", "--json"))  # fmt: skip
    ev = data["evaluation"]
    assert ev["env"] == "cartpole@mujoco" and ev["target"] == "heavy_pole"
    assert len(ev["returns"]) == 2 and all(n > 0 for n in ev["lengths"])


def test_compare_engines_side_by_side(source: Path) -> None:
    text = _ok("evaluate", str(source), "--target", "cartpole@mujoco", "--compare-engines",
               "-n", "2")  # fmt: skip
    assert "cartpole:nominal" in text and "cartpole@mujoco:nominal" in text
    assert "return (mean)" in text and "episode length" in text
    data = json.loads(_ok("evaluate", str(source), "--compare-engines", "-n", "2", "--json"))
    engines = data["engines"]
    assert set(engines) == {"pybullet", "mujoco"} and data["target"] == "nominal"
    assert (
        engines["pybullet"]["env"] == "cartpole" and engines["mujoco"]["env"] == "cartpole@mujoco"
    )
    assert all(len(e["returns"]) == 2 and e["ci95"][0] is not None for e in engines.values())
    for env, engine in (("cartpole", "pybullet"), ("cartpole@mujoco", "mujoco")):  # one loop
        plain = json.loads(_ok("evaluate", str(source), "-t", env, "-n", "2", "--json"))
        assert plain["evaluation"]["returns"] == engines[engine]["returns"]


def test_compare_engines_reports_distance_and_reward_terms(tmp_path: Path) -> None:
    run = tmp_path / "hopper"
    _ok("pretrain", "smoke", "--set", "env=hopper", "--out", str(run), *TINY_RUN)
    data = json.loads(_ok("evaluate", str(run), "--target", "hopper@mujoco", "--compare-engines",
                          "-n", "1", "--json"))  # fmt: skip
    for name, env in (("pybullet", "hopper"), ("mujoco", "hopper@mujoco")):
        ev = data["engines"][name]
        assert ev["env"] == env and "x_position" in ev["final_info"]
        terms = ev["reward_terms"]
        assert set(terms) == {"alive", "progress", "electricity_cost", "joints_at_limit_cost"}
        assert sum(terms.values()) == pytest.approx(ev["mean"], abs=1e-6)  # the terms add up
    text = _ok("evaluate", str(run), "--target", "hopper@mujoco", "--compare-engines", "-n", "1")
    assert "distance (x_position at end)" in text and "reward: progress (sum)" in text


def test_transfer_to_mujoco(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "tr"
    _ok("transfer", "transfer_finetune", "--from", str(source),
        "--target", "cartpole@mujoco:heavy_pole", "--out", str(out),
        "--set", "total_timesteps=128", "--set", "hyperparams.n_steps=64",
        "--set", "hyperparams.batch_size=32", "--set", "n_envs=1",
        "--set", "policy.net_arch=[16]", "--set", "eval.freq=64", "--set", "eval.episodes=1",
        "--set", "checkpoint_freq=0", "--quiet")  # fmt: skip
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["env"] == "cartpole@mujoco" and config["domain"] == "heavy_pole"
    assert (out / "model.zip").is_file()


def test_benchmark_on_mujoco_target(source: Path, tmp_path: Path) -> None:
    cfg = write_tiny_config(tmp_path, source, target_env="cartpole@mujoco", budget=128,
                            eval={"every": 128, "episodes": 1, "zero_shot_episodes": 1})  # fmt: skip
    out = tmp_path / "bench"
    data = json.loads(_ok("benchmark", str(cfg), "--out", str(out), "--json", "--workers", "1"))
    assert set(data["arms"]) == {"scratch", "finetune"}
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["target_env"] == "cartpole@mujoco"
    run = out / "runs" / "finetune" / "seed_0"
    assert yaml.safe_load((run / "config.yaml").read_text())["env"] == "cartpole@mujoco"


def test_export_then_deploy_on_mujoco(source: Path, tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    _ok("export", str(source), "--out", str(pol))
    data = json.loads(_ok("deploy", str(pol), "--target", "cartpole@mujoco", "--seconds", "0.2",
                          "--json"))  # fmt: skip
    assert data["env"] == "cartpole@mujoco" and data["ticks"] > 0


def test_sweep_on_mujoco(source: Path, tmp_path: Path) -> None:
    data = json.loads(_ok("evaluate", str(source), "--target", "cartpole@mujoco",
                          "--sweep", "mass_scale=0.5:2:2", "-n", "1", "--out", str(tmp_path),
                          "--json"))  # fmt: skip
    sweep = data["sweep"]
    assert sweep["env"] == "cartpole@mujoco" and len(sweep["mean"]) == 2
    assert Path(sweep["files"]["json"]).is_file()


def test_record_then_identify_mujoco(source: Path, tmp_path: Path) -> None:
    rec = tmp_path / "rec.npz"
    _ok("evaluate", str(source), "--target", "cartpole@mujoco", "-n", "4",
        "--record", str(rec), "--json")  # fmt: skip
    out = tmp_path / "fit.yaml"
    data = json.loads(_ok("identify", "cartpole@mujoco", "--data", str(rec), "--budget", "10",
                          "--out", str(out), "--json"))  # fmt: skip
    assert out.is_file() and "identified" in yaml.safe_load(out.read_text())["targets"]
    assert data["fit"]["env"] == "cartpole@mujoco"


def test_identify_pybullet_from_a_mujoco_recording(source: Path, tmp_path: Path) -> None:
    """The sim2sim case of identification: MuJoCo plays the real robot, PyBullet's cartpole is
    fitted. MuJoCo's simulator states cannot enter PyBullet (before: a traceback on the state
    size), so the recording serves as observations only and ``auto`` picks trajectory
    matching."""
    rec = tmp_path / "rec.npz"
    _ok("evaluate", str(source), "--target", "cartpole@mujoco", "-n", "2",
        "--record", str(rec), "--json")  # fmt: skip
    data = json.loads(_ok("identify", "cartpole", "--data", str(rec), "--budget", "10",
                          "--out", str(tmp_path / "fit.yaml"), "--json"))  # fmt: skip
    assert data["fit"]["env"] == "cartpole" and data["fit"]["method"] == "trajectory"
    # a recording made on the fitted env itself keeps its states: the likelihood method
    own = tmp_path / "own.npz"
    _ok("evaluate", str(source), "--target", "cartpole", "-n", "2", "--record", str(own), "--json")
    data = json.loads(_ok("identify", "cartpole", "--data", str(own), "--budget", "10",
                          "--out", str(tmp_path / "own.yaml"), "--json"))  # fmt: skip
    assert data["fit"]["method"] == "likelihood"


def test_pretrain_on_mujoco(tmp_path: Path) -> None:
    out = tmp_path / "mj"
    _ok("pretrain", "smoke", "--set", "env=cartpole@mujoco", "--out", str(out), *TINY_RUN)
    assert yaml.safe_load((out / "config.yaml").read_text())["env"] == "cartpole@mujoco"
    assert (out / "model.zip").is_file()
