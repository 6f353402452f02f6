"""SB3 callbacks: dr/ statistics reach TensorBoard; ADR runs inside PPO and survives save/restore."""

from __future__ import annotations

import json

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sim2real.envs.registry import make_env
from sim2real.randomization import (
    ADRCallback,
    ADRConfig,
    DomainRandomizationWrapper,
    DomainStatsCallback,
    load_domain,
)

ADR = ADRConfig(
    parameters={"mass_scale/pole": {"low": 0.5, "high": 2.0, "delta": 0.25}},
    boundary_prob=1.0,
    buffer_size=2,
    threshold_low=-1.0,
    threshold_high=0.0,  # every return >= 0: each full buffer expands
)


def venv_for(adr: ADRConfig | None):
    dom = load_domain("cartpole", "source")
    return make_vec_env(
        lambda: DomainRandomizationWrapper(make_env("cartpole"), dom, adr=adr), n_envs=2, seed=0
    )


def tags(logdir) -> set[str]:
    (run,) = [p for p in logdir.iterdir() if p.is_dir()]
    acc = EventAccumulator(str(run))
    acc.Reload()
    return set(acc.Tags()["scalars"])


def test_domain_stats_and_adr_reach_tensorboard_and_adr_expands(tmp_path):
    venv = venv_for(ADR)
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=128,
        batch_size=64,
        n_epochs=1,
        policy_kwargs={"net_arch": [16]},
        tensorboard_log=str(tmp_path),
        seed=0,
        device="cpu",
    )
    adr = ADRCallback(ADR)
    model.learn(512, callback=[DomainStatsCallback(), adr])
    found = tags(tmp_path)
    assert {"dr/mass_scale/pole", "dr/motor_strength/slider_force", "dr/action_latency"} <= found
    assert {"dr/adr/mass_scale/pole/low", "dr/adr/mass_scale/pole/high", "dr/adr/entropy"} <= found
    low, high = adr.state.ranges["mass_scale/pole"]
    assert low < 1.0 < high  # expanded both ways from nominal
    assert venv.env_method("adr_ranges") == [adr.state.ranges] * 2  # synced to every env

    saved = json.loads(json.dumps(adr.state_dict()))
    resumed = ADRCallback(ADR)
    resumed.load_state_dict(saved)
    fresh = venv_for(ADR)
    model.set_env(fresh)
    model.learn(256, callback=resumed, reset_num_timesteps=False)
    assert resumed.state.ranges["mass_scale/pole"][1] >= high  # continued, not restarted
    ranges = fresh.env_method("adr_ranges")
    assert ranges[0] == resumed.state.ranges
    assert np.isfinite(resumed.state.entropy())
