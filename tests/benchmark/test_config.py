"""BenchmarkConfig validation and the shipped benchmark configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim2real.benchmark import load_benchmark_config
from sim2real.benchmark.runner import target_config
from sim2real.errors import ConfigError
from sim2real.resources import data_dir

SHIPPED = [*sorted(p.stem for p in data_dir("configs").glob("benchmark_*.yaml")), "quickstart"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_benchmark_config(name)
    assert cfg.arm_names[0] == "scratch" and len(cfg.arm_names) >= 2
    assert len(cfg.seeds) >= 5


def test_seed_count_and_overrides() -> None:
    cfg = load_benchmark_config("quickstart", ["seeds=3", "budget=1000", "metrics.aggregate=mean"])
    assert cfg.seeds == [0, 1, 2] and cfg.budget == 1000 and cfg.metrics.aggregate == "mean"


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("budgit=3", "budgit: unknown key"),
        ("seeds=0", "seeds"),
        ("arms.scratch={}", "always run"),
        ("arms.finetune.early_stopping={patience: 2}", "identical budgets"),
        ("arms.finetune.strategy=[bogus]", r"arms\.finetune\.strategy"),
        ("source.pretrain=cartpole_ppo", "exactly one"),
    ],
)
def test_bad_configs_name_the_key(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_benchmark_config("quickstart", [override])


def test_every_arm_gets_the_same_budget_schedule_and_seed(tiny_source: Path) -> None:
    cfg = load_benchmark_config("quickstart", ["budget=3000"])
    a = target_config(cfg, tiny_source, "scratch", 4)
    b = target_config(cfg, tiny_source, "finetune", 4)
    same = ("domain", "total_timesteps", "eval", "seed", "algo", "hyperparams", "policy", "n_envs")
    assert {k: a[k] for k in same} == {k: b[k] for k in same}
    assert a["domain"] == cfg.target and a["total_timesteps"] == 3000 and a["seed"] == 4
    assert a["eval"]["at_start"] and a["eval"]["freq"] == cfg.eval.every


def test_every_shipped_benchmark_on_a_robot_with_a_mujoco_twin_has_a_mujoco_sibling() -> None:
    from sim2real.envs import ENVS

    for name in SHIPPED:
        if name.endswith("_mujoco") or name == "quickstart":
            continue
        cfg = load_benchmark_config(name)
        if f"{cfg.env}@mujoco" not in ENVS:  # quadruped: its twin comes with the URDF loader
            continue
        twin = load_benchmark_config(f"{name}_mujoco")
        assert twin.env == cfg.env and twin.target_env == f"{cfg.env}@mujoco"
        assert twin.target == cfg.target and twin.source == cfg.source
        assert twin.arms == cfg.arms and twin.budget == cfg.budget and twin.seeds == cfg.seeds
        assert twin.run_key() != cfg.run_key()


def test_target_env_trains_the_arms_on_the_twin(tiny_source: Path) -> None:
    cfg = load_benchmark_config("quickstart", ["target_env=cartpole@mujoco"])
    assert cfg.arm_env == "cartpole@mujoco" and cfg.env == "cartpole"
    data = target_config(cfg, tiny_source, "finetune", 0)
    assert data["env"] == "cartpole@mujoco" and data["domain"] == cfg.target
    plain = load_benchmark_config("quickstart")
    assert plain.arm_env == "cartpole" and "target_env" not in plain.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("target_env=hopper@mujoco", "not the robot of env 'cartpole'"),
        ("target_env=nope", "unknown env"),
    ],
)
def test_target_env_must_be_the_same_robot(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_benchmark_config("quickstart", [override])
