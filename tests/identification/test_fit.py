"""Fits recover known parameters from synthetic recordings; parameter selection; domain output."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim2real.errors import ParameterError
from sim2real.identification import FitSettings, fit, fitted_domain_file, objectives, parse_params
from sim2real.identification.report import write_domain_file
from sim2real.randomization import load_domain
from sim2real.randomization.domain import env_specs
from tests.identification.conftest import synthetic

ENV = "cartpole_swingup"
TRUTH = {"mass_scale": {"pole": 3.0}, "motor_strength": 0.6}
TRUE = {"mass_scale.pole": 3.0, "motor_strength": 0.6}
#: Stated tolerance: relative error of each estimate (noise-free synthetic data, small budgets).
TOLERANCE = 0.05


def _params():
    return parse_params("mass_scale.pole,motor_strength", env_specs(ENV))


def _recovered(result, tolerance: float = TOLERANCE) -> bool:
    return all(abs(result.estimates[k] / v - 1) <= tolerance for k, v in TRUE.items())


@pytest.fixture(scope="module")
def data():
    return synthetic(ENV, TRUTH, episodes=2, steps=60)


def test_trajectory_matching_recovers_known_parameters(data) -> None:
    no_states = replace(data, states=None)  # as from a real robot: observations only
    settings = FitSettings(method="trajectory", budget=90, horizon=5, max_segments=8)
    result = fit(ENV, no_states, _params(), settings)
    assert result.method == "trajectory"
    assert _recovered(result), result.estimates
    assert result.objective_best < 0.01 * result.objective_nominal
    assert result.evaluations <= settings.budget and result.sim_steps > 0
    # same seed, same fit (CMA-ES and the objective are seeded)
    again = fit(ENV, no_states, _params(), settings)
    assert again.estimates == result.estimates


def test_likelihood_recovers_known_parameters(data) -> None:
    settings = FitSettings(method="likelihood", budget=120, samples=3, max_transitions=40)
    result = fit(ENV, data, _params(), settings)
    assert result.method == "likelihood"
    assert _recovered(result, 2 * TOLERANCE), result.estimates
    assert all(p.spread > 0 for p in result.parameters)


def test_a_broken_objective_fails_the_recovery_check(data, monkeypatch) -> None:
    """The check above can fail: with an objective that ignores the data, nothing is found."""
    monkeypatch.setattr(objectives.TrajectoryMatching, "__call__", lambda self, u: float(np.sum(u)))
    settings = FitSettings(method="trajectory", budget=30, horizon=5, max_segments=4)
    assert not _recovered(fit(ENV, replace(data, states=None), _params(), settings))


def test_domain_file_has_identified_target_and_source(data, tmp_path: Path) -> None:
    params = parse_params("motor_strength,action_latency", env_specs(ENV))
    settings = FitSettings(method="trajectory", budget=20, horizon=3, max_segments=3)
    result = fit(ENV, replace(data, states=None), params, settings)
    path = write_domain_file(tmp_path / "fit.yaml", fitted_domain_file(result, params))
    target = load_domain(ENV, f"{path}:identified")
    assert not target.is_random
    assert target.parameters["action_latency"].distribution.value == round(
        result.estimates["action_latency"]
    )
    source = load_domain(ENV, f"{path}:source")
    assert source.parameters["action_latency"].distribution.dist == "choice"
    assert source.parameters["motor_strength"].distribution.dist == "truncated_normal"


@pytest.mark.parametrize(
    "text,words",
    [
        ("mass", "unknown dynamics parameter 'mass'"),
        ("mass_scale.wheel", "unknown entity 'wheel'"),
        ("action_latency.x", "scalar parameter"),
        ("mass_scale,mass_scale.pole", "selected twice"),
        ("motor_strength=0.1:9", "inside motor_strength's valid range"),
        ("motor_strength=2:1", "LOW < HIGH"),
        ("obs_noise_std", "not fitted"),
        ("", "name at least one"),
    ],
)
def test_bad_parameter_selections(text: str, words: str) -> None:
    with pytest.raises(ParameterError, match=words.replace("(", r"\(")) as info:
        parse_params(text, env_specs(ENV))
    assert "\n" not in str(info.value)


def test_parameter_selection_and_coordinates() -> None:
    params = parse_params("mass_scale.*,lateral_friction=0.2:2,action_latency", env_specs(ENV))
    assert [p.key for p in params][-2:] == ["lateral_friction", "action_latency"]
    assert {p.entity for p in params if p.name == "mass_scale"} == set(
        env_specs(ENV)["mass_scale"].entities
    )
    friction, latency = params[-2], params[-1]
    assert (friction.low, friction.high, friction.log) == (0.2, 2.0, False)
    assert latency.integer and latency.to_physical(0.34) == round(0.34 * latency.high)
    scale = params[0]
    assert scale.log and scale.to_physical(scale.to_unit(3.0)) == pytest.approx(3.0)
