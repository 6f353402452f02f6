"""Any env from a config (issue 18.1): a Gymnasium id from another package
(pybullet-envs-gymnasium's ``HopperBulletEnv-v0``, dynamics through the generic PyBullet adapter)
and a ``module:Class`` env in a test module the package knows nothing about, each through
pretrain -> transfer -> benchmark -> evaluate -> export -> controller at tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.cli_runner import invoke, run_cli

pytest.importorskip("pybullet_envs_gymnasium")

HERE = Path(__file__).parent
HOPPER = "HopperBulletEnv-v0"
TOY = "tests.external.toy_robot:ToyRobotEnv"
TINY_PPO = {"n_steps": 64, "batch_size": 32, "n_epochs": 1}


def _config(tmp: Path, name: str, **fields) -> Path:
    data = {
        "experiment": name,
        "algo": "ppo",
        "hyperparams": TINY_PPO,
        "policy": {"net_arch": [16]},
        "total_timesteps": 128,
        "eval": {"freq": 128, "episodes": 1},
        "checkpoint_freq": 128,
        "device": "cpu",
        **fields,
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _ok(*args: str) -> str:
    proc = invoke(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _run_dir(stdout: str) -> Path:
    return Path(json.loads(stdout)["run_dir"])


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hopper")
    cfg = _config(
        tmp,
        "hopperbullet",
        env=HOPPER,
        gym_packages=["pybullet_envs_gymnasium"],
        domain=f"{HERE / 'hopper.yaml'}:source",
        normalize=True,
    )
    return _run_dir(_ok("pretrain", str(cfg), "--out", str(tmp / "pre"), "--json"))


def test_hopper_pretrain_randomizes_through_the_adapter(hopper_run: Path) -> None:
    saved = yaml.safe_load((hopper_run / "config.yaml").read_text())
    assert saved["env"] == HOPPER and saved["gym_packages"] == ["pybullet_envs_gymnasium"]
    assert (hopper_run / "model.zip").is_file() and (hopper_run / "vecnormalize.pkl").is_file()


def test_hopper_transfer_to_a_user_domain_file(hopper_run: Path, tmp_path: Path) -> None:
    out = _ok(
        "transfer", "transfer_finetune", "--from", str(hopper_run),
        "--target", f"{HOPPER}:{HERE / 'hopper.yaml'}:heavy",
        "--set", "total_timesteps=128", "--set", "hyperparams.n_steps=64",
        "--set", "hyperparams.batch_size=32", "--set", "policy.net_arch=[16]",
        "--set", "eval.freq=128", "--set", "eval.episodes=1", "--set", "normalize=true",
        "--out", str(tmp_path / "tr"), "--json",
    )  # fmt: skip
    run = _run_dir(out)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["env"] == HOPPER and saved["gym_packages"] == ["pybullet_envs_gymnasium"]
    assert saved["domain"].endswith("hopper.yaml:heavy")
    assert json.loads(out)["steps"] >= 128


def test_hopper_evaluate_export_controller(hopper_run: Path, tmp_path: Path) -> None:
    target = f"{HOPPER}:{HERE / 'hopper.yaml'}:heavy"
    ev = json.loads(_ok("evaluate", str(hopper_run), "--target", target, "-n", "2", "--json"))
    assert ev and np.isfinite(json.dumps(ev).count("mean"))
    pol = tmp_path / "pol"
    _ok("export", str(hopper_run), "--out", str(pol), "--samples", "32")
    meta = json.loads((pol / "metadata.json").read_text())
    assert meta["source"]["env"] == HOPPER
    assert meta["observation"]["shape"] == [15] and meta["action"]["shape"] == [3]
    assert meta["control_period"] == pytest.approx(0.0165, abs=1e-3)
    from sim2real.controller import PolicyController

    ctrl = PolicyController.load(pol)
    assert ctrl.act(np.zeros(15, np.float32)).shape == (3,)
    # the exported artifact evaluates on the third-party env too
    ev2 = json.loads(_ok("evaluate", str(pol), "--target", target, "-n", "1", "--json"))
    assert ev2


def test_json_stdout_is_only_json_with_a_third_party_pybullet_env(hopper_run: Path) -> None:
    """pybullet-envs-gymnasium connects on reset and PyBullet's C code prints ``argv[0]=`` on
    file descriptor 1; under ``--json`` that goes to stderr (before: it preceded the JSON)."""
    proc = run_cli("evaluate", str(hopper_run), "-n", "1", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["evaluation"]
    assert "argv[0]=" in proc.stderr and "argv[0]=" not in proc.stdout


def test_hopper_benchmark(hopper_run: Path, tmp_path: Path) -> None:
    bench = {
        "benchmark": "hopperbullet",
        "env": HOPPER,
        "target": f"{HERE / 'hopper.yaml'}:heavy",
        "source": {"run": str(hopper_run)},
        "train": {"hyperparams": TINY_PPO, "policy": {"net_arch": [16]}},
        "arms": {"finetune": {"copy": ["all"], "strategy": ["finetune"]}},
        "budget": 128,
        "eval": {"every": 64, "episodes": 1, "zero_shot_episodes": 1},
        "seeds": 1,
        "workers": 1,
        "cache_dir": str(tmp_path / "cache"),
    }
    path = tmp_path / "benchmark_hopperbullet.yaml"
    path.write_text(yaml.safe_dump(bench))
    _ok("benchmark", str(path), "--out", str(tmp_path / "bench"), "--quiet")
    report = json.loads((tmp_path / "bench" / "report.json").read_text())
    assert set(report["runs"]) == {"scratch", "finetune"}
    assert report["zero_shot"]


def test_user_module_env_end_to_end(tmp_path: Path) -> None:
    """An env class in a module sim2real never imports, with its own dynamics interface."""
    domains = HERE / "toy_robot.yaml"
    cfg = _config(
        tmp_path, "toy", env=TOY, env_kwargs={"max_force": 3.0}, domain=f"{domains}:source"
    )
    run = _run_dir(_ok("pretrain", str(cfg), "--out", str(tmp_path / "pre"), "--json"))
    tr = _run_dir(_ok(
        "transfer", "transfer_finetune", "--from", str(run), "--target", f"{TOY}:{domains}:heavy",
        "--set", "total_timesteps=128", "--set", "hyperparams.n_steps=64",
        "--set", "policy.net_arch=[16]", "--set", "eval.episodes=1",
        "--out", str(tmp_path / "tr"), "--json",
    ))  # fmt: skip
    saved = yaml.safe_load((tr / "config.yaml").read_text())
    assert saved["env_kwargs"] == {"max_force": 3.0}
    ev = json.loads(_ok("evaluate", str(tr), "--target", f"{TOY}:{domains}:heavy", "--json"))
    assert ev
    pol = tmp_path / "pol"
    _ok("export", str(tr), "--out", str(pol), "--samples", "16")
    meta = json.loads((pol / "metadata.json").read_text())
    assert meta["observation"]["names"] == ["rail_x", "rail_v"]
    assert meta["action"]["names"] == ["motor"]
    assert meta["control_period"] == pytest.approx(0.05)


def test_domain_parameters_checked_against_the_env() -> None:
    from sim2real.config import config_from_dict
    from sim2real.errors import DomainError
    from sim2real.randomization import load_domain

    config_from_dict({"env": TOY})
    with pytest.raises(DomainError, match="no_such_parameter: unknown parameter"):
        load_domain(TOY, f"{HERE / 'toy_robot.yaml'}:bad_param")


def test_names_from_info_else_generic() -> None:
    import gymnasium as gym

    from sim2real.envs.external import env_names

    env = gym.make("Pendulum-v1")
    assert env_names(env) == (["obs[0]", "obs[1]", "obs[2]"], ["action[0]"])
    info = {"observation_names": ["cos", "sin", "w"], "action_names": ["tau"]}
    assert env_names(env, info) == (["cos", "sin", "w"], ["tau"])
