"""The `identify` benchmark arm: every target step it spends, recorded episodes included, counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim2real.benchmark.config import BenchmarkConfig
from sim2real.benchmark.runner import target_config
from sim2real.controller import load_rollouts
from sim2real.errors import ConfigError
from sim2real.identification.arm import IdentifyArmSpec, check_arm_budget, run_identify_arm
from sim2real.randomization import load_domain

SOURCE = Path(__file__).parents[2] / "policies" / "cartpole_ppo_source"


def test_arm_counts_recorded_steps_in_its_target_budget(tmp_path: Path) -> None:
    config = BenchmarkConfig.model_validate(
        {
            "env": "cartpole",
            "target": "miscalibrated",  # sin(theta) biased by 0.2: the source drops the pole
            "source": {"run": str(SOURCE)},
            "budget": 1200,
            "eval": {"every": 5000, "episodes": 1},  # at the start and the end only
            "train": {"hyperparams": {"n_epochs": 1}},
            "seeds": [0],
        }
    )
    base = target_config(config, SOURCE, "identify", 0)
    spec = IdentifyArmSpec(
        episodes=1,
        params="obs_bias.sin_theta",
        fit_budget=10,
        samples=2,
        max_transitions=20,
        sim_steps=1024,
    )
    result = run_identify_arm(spec, source_run=SOURCE, base_config=base, run_dir=tmp_path / "arm")
    recorded = load_rollouts(tmp_path / "arm" / "recorded.npz")
    assert result.recorded_steps == len(recorded) > 0
    assert result.target_steps == result.recorded_steps + result.target_finetune_steps
    assert result.target_finetune_steps >= config.budget - result.recorded_steps  # SB3 rounds up
    # the curve's step axis is target steps: source at 0, the sim-tuned policy after recording
    assert result.steps[0] == 0 and result.steps[1] == result.recorded_steps
    assert result.steps[-1] == result.target_steps
    assert result.sim_steps >= spec.sim_steps  # reported separately, not in the target budget
    fitted = load_domain("cartpole", f"{tmp_path / 'arm' / 'identified.yaml'}:identified")
    assert "obs_bias" in fitted.parameters and "obs_bias.sin_theta" in result.identified


def test_recorded_episodes_must_fit_the_budget() -> None:
    with pytest.raises(ConfigError, match="exceed the target budget"):
        check_arm_budget(IdentifyArmSpec(episodes=3), "cartpole", 2500)
