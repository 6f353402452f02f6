"""Different observation/action spaces: a clear error, or the name-matching / input-layer adapters."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.vec_env import VecNormalize

from sim2real.errors import ConfigError, SpaceMismatchError
from sim2real.transfer import TransferSpec, named_parts, transfer
from sim2real.transfer.adapters import IndexMap, check_spaces
from sim2real.transfer.normalization import carry_normalization
from tests.transfer.transfer_helpers import CARTPOLE_OBS, SensorLayout, make_source, vec_env

# the target lost its cart velocity sensor, gained a pole-length sensor, and reorders the rest
TARGET = ["theta_dot", "cart_x", "pole_len", "cos_theta", "sin_theta"]
NAMES = {"source_obs": CARTPOLE_OBS}


def target_env(names: list[str] = TARGET):
    return vec_env(1, functools.partial(SensorLayout, names=names))


def _actor_mean(model, obs: np.ndarray) -> np.ndarray:
    with th.no_grad():
        t = th.as_tensor(obs[None], dtype=th.float32)
        pol = model.policy
        if hasattr(pol, "mlp_extractor"):
            return pol.action_net(pol.mlp_extractor.forward_actor(pol.extract_features(t))).numpy()
        return (
            pol.actor(t, deterministic=True).numpy()
            if hasattr(pol.actor, "latent_pi")
            else (pol.actor(t).numpy())
        )


def test_mismatch_without_adapter_says_what_differs_and_the_fix(algo: str) -> None:
    with pytest.raises(SpaceMismatchError) as err:
        transfer(make_source(algo), target_env(), {}, names=NAMES)
    msg = str(err.value)
    assert "missing on target: cart_vx" in msg and "new on target: pole_len" in msg
    assert "adapter=match_names" in msg and "\n" not in msg


def test_match_names_keeps_the_policy_on_shared_inputs(algo: str) -> None:
    src = make_source(algo)
    model = transfer(src, target_env(), TransferSpec(adapter="match_names"), names=NAMES)
    # same situation seen by both (the dropped cart_vx reads 0; the new sensor has zero weight)
    s = {"cart_x": 0.1, "cart_vx": 0.0, "cos_theta": 0.99, "sin_theta": 0.05, "theta_dot": -0.3}
    src_obs = np.array([s[n] for n in CARTPOLE_OBS], dtype=np.float32)
    tgt_obs = np.array([s.get(n, 7.0) for n in TARGET], dtype=np.float32)
    assert np.allclose(_actor_mean(src, src_obs), _actor_mean(model, tgt_obs), atol=1e-6)
    actions = {p["name"]: p["action"] for p in model.transfer_info["log"]["parts"]}
    assert actions["actor.features.0"] == "adapted" and actions["actor.features.1"] == "copied"
    model.learn(64)


def test_input_layer_adapter(algo: str) -> None:
    src = make_source(algo)
    names = [*CARTPOLE_OBS, "pole_len"]
    model = transfer(src, target_env(names), {"adapter": "input_layer"}, names=NAMES)
    assert "actor.extractor" in named_parts(model)
    s = np.array([0.1, 0.2, 0.99, 0.05, -0.3], dtype=np.float32)
    assert np.allclose(_actor_mean(src, s), _actor_mean(model, np.append(s, 3.0)), atol=1e-6)
    ext = named_parts(model)["actor.extractor"].tensors
    before = {n: p.detach().clone() for n, p in ext.items()}
    model.learn(192)
    assert any(not th.equal(p, before[n]) for n, p in ext.items())  # the input layer learns


def test_input_layer_cannot_fix_a_different_action_space() -> None:
    src = make_source("ppo")
    box = gym.spaces.Box(-1, 1, (2,))
    with pytest.raises(SpaceMismatchError, match="match_names"):
        check_spaces(src.observation_space, src.action_space, box, box, "input_layer", {})


@pytest.mark.parametrize("mode", ["freeze", "update", "reestimate"])
def test_normalization_carry_over(mode: str) -> None:
    source_vn = VecNormalize(vec_env(0))
    source_vn.obs_rms.mean = np.arange(5, dtype=np.float64)
    source_vn.obs_rms.var = np.full(5, 4.0)
    target = VecNormalize(target_env())
    carry_normalization(source_vn, target, mode, _name_map())
    if mode == "reestimate":
        assert np.allclose(target.obs_rms.mean, 0.0) and target.training
        return
    # TARGET = theta_dot, cart_x, pole_len (new), cos_theta, sin_theta
    assert np.allclose(target.obs_rms.mean, [4.0, 0.0, 0.0, 2.0, 3.0])
    assert np.allclose(target.obs_rms.var, [4.0, 4.0, 1.0, 4.0, 4.0])
    assert target.training == (mode == "update")


def _name_map() -> IndexMap:
    return IndexMap.by_name(CARTPOLE_OBS, TARGET)


def test_normalization_mismatch_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="normalize: true"):
        carry_normalization(VecNormalize(vec_env(0)), vec_env(1), "update")
    with pytest.raises(ConfigError, match="reestimate"):
        carry_normalization(None, VecNormalize(vec_env(1)), "freeze")


def test_env_names_follow_the_registered_env_kwargs() -> None:
    """The A1 with gait: trot observes two more entries; a transfer from or to it sees them."""
    from sim2real.envs.settings import register_env
    from sim2real.transfer.adapters import env_entry_names

    plain, _ = env_entry_names("quadruped")
    try:
        register_env("quadruped", env_kwargs={"gait": "trot"})
        trotting, actions = env_entry_names("quadruped")
    finally:
        register_env("quadruped")
    assert plain is not None and trotting == [*plain, "gait_sin", "gait_cos"]
    assert actions is not None and len(actions) == 12
