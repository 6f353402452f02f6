"""ADR (OpenAI 2019) on synthetic performance streams, its env binding, and save/restore."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim2real.envs.registry import make_env
from sim2real.errors import CheckpointError, DomainError
from sim2real.randomization import ADRConfig, ADRState, DomainRandomizationWrapper
from sim2real.randomization.adr import ADRBinding
from sim2real.randomization.domain import env_specs

CFG = ADRConfig(
    parameters={
        "mass_scale/pole": {"low": 0.5, "high": 1.3, "delta": 0.1},
        "action_latency": {"low": 0, "high": 3, "delta": 1, "mode": "absolute"},
    },
    boundary_prob=0.5,
    buffer_size=4,
    threshold_low=200,
    threshold_high=800,
)


def feed(state: ADRState, key: str, boundary: str, perf: float, n: int) -> None:
    for _ in range(n):
        state.record(key, boundary, perf, state.boundary_value(key, boundary))


def test_ranges_start_at_nominal():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    assert state.ranges == {"mass_scale/pole": [1.0, 1.0], "action_latency": [0.0, 0.0]}


def test_expand_only_when_buffer_full_and_mean_high():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    for _ in range(3):
        assert not state.record("mass_scale/pole", "high", 900.0)
    assert state.ranges["mass_scale/pole"] == [1.0, 1.0]  # m = 4 results needed
    assert state.record("mass_scale/pole", "high", 900.0)
    assert state.ranges["mass_scale/pole"] == pytest.approx([1.0, 1.1])
    assert state.buffers["mass_scale/pole"]["high"] == []  # cleared after a decision
    feed(state, "mass_scale/pole", "low", 850.0, 4)
    assert state.ranges["mass_scale/pole"] == pytest.approx([0.9, 1.1])


def test_middle_performance_keeps_range_and_clears_buffer():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    feed(state, "mass_scale/pole", "high", 500.0, 4)
    assert state.ranges["mass_scale/pole"] == [1.0, 1.0]
    assert state.buffers["mass_scale/pole"]["high"] == []


def test_expand_stops_at_hard_limits_and_shrinks_back_not_past_nominal():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    feed(state, "mass_scale/pole", "high", 1000.0, 4 * 10)  # 10 expansions wanted, 3 allowed
    assert state.ranges["mass_scale/pole"][1] == pytest.approx(1.3)
    feed(state, "action_latency", "high", 1000.0, 4 * 10)
    feed(state, "action_latency", "low", 1000.0, 4 * 10)  # low hard limit = nominal 0
    assert state.ranges["action_latency"] == [0.0, 3.0]
    feed(state, "mass_scale/pole", "high", 0.0, 4)
    assert state.ranges["mass_scale/pole"][1] == pytest.approx(1.2)
    feed(state, "mass_scale/pole", "high", 0.0, 4 * 10)
    assert state.ranges["mass_scale/pole"] == pytest.approx([1.0, 1.0])


def test_stale_results_are_discarded():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    feed(state, "mass_scale/pole", "high", 900.0, 4)  # high is now 1.1
    assert not state.record("mass_scale/pole", "high", 900.0, value=1.0)
    assert state.buffers["mass_scale/pole"]["high"] == []


def test_sampling_pins_boundaries_with_probability_pb():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    state.ranges["mass_scale/pole"] = [0.8, 1.2]
    rng = np.random.default_rng(0)
    pinned = []
    for _ in range(4000):
        values, pin = state.sample(rng)
        assert 0.8 <= values["mass_scale/pole"] <= 1.2
        if pin is not None:
            assert values[pin[0]] == state.boundary_value(*pin)
            pinned.append(pin)
    assert len(pinned) / 4000 == pytest.approx(0.5, abs=0.03)
    assert {p[1] for p in pinned} == {"low", "high"}


def test_entropy_grows_with_width():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    e0 = state.entropy()
    state.ranges["mass_scale/pole"] = [0.8, 1.2]
    assert state.entropy() > e0


def test_state_dict_json_round_trip_continues_identically():
    state = ADRState(CFG, {"mass_scale/pole": 1.0, "action_latency": 0.0})
    feed(state, "mass_scale/pole", "high", 900.0, 6)  # one expansion, 2 results buffered
    saved = json.loads(json.dumps(state.state_dict()))
    restored = ADRState.from_state_dict(saved)
    assert restored.ranges == state.ranges and restored.buffers == state.buffers
    for s in (state, restored):
        feed(s, "mass_scale/pole", "high", 900.0, 2)
    assert (
        restored.ranges
        == state.ranges
        == {
            "mass_scale/pole": pytest.approx([1.0, 1.2]),
            "action_latency": [0.0, 0.0],
        }
    )
    with pytest.raises(CheckpointError, match="ADR state does not match"):
        ADRState.from_state_dict({"init": {}}, CFG)


def test_binding_checks_keys_and_limits():
    specs = env_specs("cartpole")
    assert ADRBinding(CFG, specs).init == {"mass_scale/pole": 1.0, "action_latency": 0.0}
    bad = CFG.model_copy(
        update={"parameters": {"mass_scale/wheel": CFG.parameters["action_latency"]}}
    )
    with pytest.raises(DomainError, match="unknown entity 'wheel'"):
        ADRBinding(bad, specs)
    too_wide = ADRConfig(
        parameters={"motor_strength": {"low": 0.5, "high": 9.0, "delta": 0.1}},
        threshold_low=0,
        threshold_high=1,
    )
    with pytest.raises(DomainError, match=r"hard limit reaches 9, outside the physical range"):
        ADRBinding(too_wide, specs)


def test_wrapper_reports_pinned_episodes_and_follows_pushed_ranges():
    env = DomainRandomizationWrapper(
        make_env("cartpole"), None, adr=CFG.model_copy(update={"boundary_prob": 1.0})
    )
    env.reset(seed=0)
    env.set_adr_ranges({"mass_scale/pole": [0.7, 1.3], "action_latency": [0, 2]})
    reports = []
    for _ in range(6):
        _, info = env.reset()
        assert 0.7 <= info["domain"]["mass_scale"]["pole"] <= 1.3
        done = False
        while not done:
            _, _, term, trunc, info = env.step(np.ones(1, dtype=np.float32))
            done = term or trunc
        reports.append(info["adr"])
    assert all(r["boundary"] in ("low", "high") and r["return"] > 0 for r in reports)
    for r in reports:
        assert r["value"] == env.adr_ranges()[r["key"]][0 if r["boundary"] == "low" else 1]
