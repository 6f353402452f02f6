"""Observation history: buffer alignment and reset, the wrapper on a real env, config, training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim2real.config import load_config
from sim2real.controller.history import HistoryBuffer, HistorySpec
from sim2real.envs.registry import make_env
from sim2real.errors import ConfigError
from sim2real.evaluation import SB3Agent, evaluate
from sim2real.training import load_run, make_vec_env, train
from sim2real.training.history import HistoryObservation

TINY = ["total_timesteps=128", "eval.freq=0", "eval.at_start=false", "checkpoint_freq=0"]


def _split(x: np.ndarray, n_obs: int, n_act: int, k: int) -> tuple[np.ndarray, list, list]:
    """Current obs, past obs [t-1..t-k] and past actions [t-1..t-k] of a policy input."""
    past = x[n_obs:].reshape(k, n_obs + n_act)
    return x[:n_obs], list(past[:, :n_obs]), list(past[:, n_obs:])


def test_buffer_aligns_observations_and_actions_by_step() -> None:
    k, n_obs, n_act = 3, 2, 1
    buf = HistoryBuffer(HistorySpec(k), n_obs, n_act)
    obs = [np.array([t, 10 + t], np.float32) for t in range(6)]
    acts = [np.array([100 + t], np.float32) for t in range(6)]
    buf.clear()
    for t in range(6):
        cur, past_obs, past_act = _split(buf.observe(obs[t]).copy(), n_obs, n_act, k)
        np.testing.assert_array_equal(cur, obs[t])
        for j in range(1, k + 1):
            if t - j >= 0:  # act[t-j] is the action sent after obs[t-j]
                np.testing.assert_array_equal(past_obs[j - 1], obs[t - j])
                np.testing.assert_array_equal(past_act[j - 1], acts[t - j])
            else:  # before the episode: the first observation, zero action
                np.testing.assert_array_equal(past_obs[j - 1], obs[0])
                np.testing.assert_array_equal(past_act[j - 1], [0.0])
        buf.record(acts[t])


def test_buffer_clear_starts_afresh_and_actions_can_be_left_out() -> None:
    buf = HistoryBuffer(HistorySpec(2, actions=False), 1, 1)
    for t in range(4):
        buf.observe(np.array([t], np.float32))
        buf.record(np.array([5.0]))
    buf.clear()
    np.testing.assert_array_equal(buf.observe(np.array([7.0], np.float32)), [7, 7, 7])
    buf.record(np.array([5.0]))
    np.testing.assert_array_equal(buf.observe(np.array([8.0], np.float32)), [8, 7, 7])
    assert HistorySpec(2, actions=False).names(["a"], ["u"]) == ["a", "obs[t-1].a", "obs[t-2].a"]


@pytest.mark.parametrize("length", [0, -1, 1000, 1.5])
def test_spec_rejects_bad_lengths(length: object) -> None:
    with pytest.raises(ValueError, match="history length"):
        HistorySpec(length)  # type: ignore[arg-type]


def test_wrapper_matches_the_plain_env_and_resets_at_episode_start() -> None:
    k = 2
    plain, wrapped = make_env("cartpole"), HistoryObservation(make_env("cartpole"), HistorySpec(k))
    n_obs, n_act = plain.observation_space.shape[0], plain.action_space.shape[0]
    assert wrapped.observation_space.shape == (n_obs + k * (n_obs + n_act),)
    names = wrapped.observation_names
    assert names[:n_obs] == list(plain.unwrapped.observation_names)  # current step unchanged
    assert names[n_obs] == "obs[t-1].cart_x" and names[n_obs + n_obs] == "act[t-1].slider_force"
    rng = np.random.default_rng(0)
    for episode in range(2):  # the second episode starts mid-history: nothing may leak in
        o_plain, _ = plain.reset(seed=episode)
        o_wrap, _ = wrapped.reset(seed=episode)
        seen, sent = [o_plain], []
        for _ in range(5):
            cur, past_obs, past_act = _split(o_wrap, n_obs, n_act, k)
            np.testing.assert_array_equal(cur, seen[-1])
            for j in range(1, k + 1):
                i = len(seen) - 1 - j
                np.testing.assert_array_equal(past_obs[j - 1], seen[max(i, 0)])
                np.testing.assert_array_equal(past_act[j - 1], sent[i] if i >= 0 else [0.0])
            action = rng.uniform(-1.5, 1.5, n_act).astype(np.float32)  # out of bounds: clipped
            o_plain, *_ = plain.step(action)
            o_wrap, *_ = wrapped.step(action)
            seen.append(o_plain)
            sent.append(np.clip(action, -1, 1))


def test_config_history_block_validates_and_round_trips() -> None:
    cfg = load_config("smoke", ["history={length: 3, actions: false}"])
    assert cfg.history is not None and (cfg.history.length, cfg.history.actions) == (3, False)
    assert load_config("smoke").to_dict().get("history", "absent") == "absent"  # cache keys kept
    for bad in ("history={length: 0}", "history={length: -2}", "history={actions: true}"):
        with pytest.raises(ConfigError, match="history"):
            load_config("smoke", [bad])


def test_train_and_evaluate_with_history(tmp_path: Path) -> None:
    cfg = load_config("smoke", [*TINY, "history={length: 2}", "normalize=true", "eval.freq=128"])
    train(cfg, tmp_path / "run", quiet=True)
    policy = load_run(tmp_path / "run")
    n_obs = make_env("cartpole").observation_space.shape[0]
    assert policy.model.observation_space.shape == (n_obs + 2 * (n_obs + 1),)
    assert policy.vec_normalize is not None
    assert policy.vec_normalize.obs_rms.mean.shape == policy.model.observation_space.shape
    agent = SB3Agent(policy)
    assert agent.obs_shape == (n_obs,)  # the agent takes the env's observations
    res = evaluate(agent, "cartpole", "nominal", episodes=2, seed=0)
    assert res.lengths and all(n > 0 for n in res.lengths)
    venv = make_vec_env("cartpole", "nominal", 1, 0, history=policy.history)
    assert venv.observation_space.shape == policy.model.observation_space.shape


def test_transfer_from_a_history_source_into_a_history_target(tmp_path: Path) -> None:
    import yaml

    from sim2real.transfer.config import load_transfer_config
    from sim2real.transfer.run import run_transfer

    train(load_config("smoke", [*TINY, "history={length: 2}"]), tmp_path / "src", quiet=True)
    source = load_run(tmp_path / "src")
    data = {**load_config("smoke", TINY).to_dict(), "domain": "heavy_pole"}
    data["transfer"] = {"source": str(tmp_path / "src"), "copy": ["all"]}
    path = tmp_path / "transfer.yaml"
    path.write_text(yaml.safe_dump({**data, "history": {"length": 2}}))
    result = run_transfer(load_transfer_config(path), out_dir=tmp_path / "run", quiet=True)
    assert result.model.observation_space == source.model.observation_space
    copied = source.model.policy.state_dict()["mlp_extractor.policy_net.0.weight"]
    # the transferred weights started from the source's (fine-tuning moved them only a little)
    moved = result.model.policy.state_dict()["mlp_extractor.policy_net.0.weight"] - copied
    assert float(moved.abs().max()) < 0.1
    path.write_text(yaml.safe_dump(data))  # the target forgot the history: one-line error
    with pytest.raises(ConfigError, match=r"history: the source .* \{length: 2, actions: true\}"):
        run_transfer(load_transfer_config(path), out_dir=tmp_path / "run2", quiet=True)
