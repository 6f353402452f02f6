"""The `identify` benchmark arm: every target step it spends, recorded episodes included, counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sim2real.benchmark.config import BenchmarkConfig
from sim2real.benchmark.jobs import execute
from sim2real.benchmark.runner import plan_jobs
from sim2real.controller import load_rollouts
from sim2real.identification.arm import IdentifyArmSpec
from sim2real.randomization import load_domain

SOURCE = Path(__file__).parents[2] / "policies" / "cartpole_ppo_source"


def _config(**changes: object) -> BenchmarkConfig:
    data = {
        "env": "cartpole",
        "target": "miscalibrated",  # sin(theta) biased by 0.2: the source drops the pole
        "source": {"run": str(SOURCE)},
        "arms": {"finetune": {}},
        "budget": 1200,
        "eval": {"every": 5000, "episodes": 1},  # at the start and the end only
        "train": {"hyperparams": {"n_epochs": 1}},
        "seeds": [0],
        "identify": {
            "episodes": 1,
            "params": "obs_bias.sin_theta",
            "fit_budget": 10,
            "samples": 2,
            "max_transitions": 20,
            "sim_steps": 1024,
        },
    }
    return BenchmarkConfig.model_validate({**data, **changes})


def test_arm_counts_recorded_steps_in_its_target_budget(tmp_path: Path) -> None:
    config = _config()
    assert config.arm_names == ["scratch", "finetune", "identify"]
    job = next(j for j in plan_jobs(config, tmp_path, SOURCE) if j.arm == "identify")
    result = execute(job)
    run = Path(result["run_dir"])
    recorded = load_rollouts(run / "recorded.npz")
    assert result["recorded_steps"] == len(recorded) > 0
    finetune = result["target_steps"] - result["recorded_steps"]
    assert finetune >= config.budget - result["recorded_steps"]  # SB3 rounds up to a rollout
    # the curve's step axis is target steps: source at 0, the sim-tuned policy after recording
    assert result["steps"][0] == 0 and result["steps"][1] == result["recorded_steps"]
    assert result["steps"][-1] == result["target_steps"]
    assert result["sim_steps"] >= 1024  # reported separately, not in the target budget
    fitted = load_domain("cartpole", f"{run / 'identified.yaml'}:identified")
    assert "obs_bias" in fitted.parameters
    again = execute(job)  # a finished arm of the same benchmark is reused, not recomputed
    assert again["reused"] and again["steps"] == result["steps"]


def test_recorded_episodes_must_fit_the_budget() -> None:
    with pytest.raises(ValidationError, match="exceed the target budget"):
        _config(budget=2500, identify={"episodes": 3})
    with pytest.raises(ValidationError, match="under identify:"):
        _config(arms={"identify": {}})
    assert IdentifyArmSpec().episodes == 5
    plain = _config(identify=None)
    assert "identify" not in plain.arm_names


def test_check_arms_builds_the_identify_arm_from_its_transfer_spec() -> None:
    """``sim2real benchmark`` checks every arm before it starts: the identify arm's settings are
    not a transfer spec (this raised a pydantic traceback), its ``transfer:`` block is."""
    from sim2real.benchmark.runner import check_arms
    from sim2real.errors import ConfigError

    check_arms(_config(), SOURCE)
    bad = _config(identify={**_config().identify.model_dump(), "transfer": {"copy": ["nope"]}})  # type: ignore[union-attr]
    with pytest.raises(ConfigError):
        check_arms(bad, SOURCE)
