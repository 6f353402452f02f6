"""Copy / freeze / re-init: copied weights equal the source, frozen weights stay put."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from sim2real.errors import ConfigError
from sim2real.transfer import TransferSpec, named_parts, transfer, transfer_callbacks
from tests.transfer.transfer_helpers import make_source, vec_env


def _params(model) -> dict[str, th.Tensor]:
    return {n: p.detach().clone() for n, p in model.policy.named_parameters()}


def test_copied_weights_equal_source_at_step0(source) -> None:
    spec = TransferSpec(copy=["actor.features", "critic.features"])
    model = transfer(source, vec_env(1), spec, seed=1)
    src_parts, tgt_parts = named_parts(source), named_parts(model)
    for name, part in tgt_parts.items():
        for tensor, p in part.tensors.items():
            same = th.equal(p, src_parts[name].tensors[tensor])
            assert same == (part.kind == "features"), (name, tensor)
    # target networks follow their online networks
    pol = model.policy
    for online, target in (("critic", "critic_target"), ("actor", "actor_target")):
        if hasattr(pol, target):
            for a, b in zip(getattr(pol, online).parameters(), getattr(pol, target).parameters()):
                assert th.equal(a, b)
    log = model.transfer_info["log"]
    counts = {p["name"]: p["action"] for p in log["parts"]}
    assert counts["actor.features.0"] == "copied" and counts["actor.head"] == "fresh"
    assert log["totals"]["total"] == sum(p.numel for p in tgt_parts.values())
    assert log["totals"]["copied"] == sum(
        p.numel for p in tgt_parts.values() if p.kind == "features"
    )


def test_frozen_weights_unchanged_after_training(source) -> None:
    spec = TransferSpec(strategy=["freeze"])  # copy all, freeze the feature layers
    model = transfer(source, vec_env(1), spec, seed=1)
    before = _params(model)
    model.learn(192, callback=transfer_callbacks())
    parts = named_parts(model)
    for name, part in parts.items():
        for tensor, p in part.tensors.items():
            moved = not th.equal(p, before[tensor])
            assert moved == (part.kind != "features"), (name, tensor)
            assert p.requires_grad == (part.kind != "features")


def test_reinit_heads_and_finetune_everything(algo: str) -> None:
    src = make_source(algo)
    model = transfer(src, vec_env(1), {"reinit": ["*.head"]}, seed=3)
    head = named_parts(model)["actor.head"]
    src_head = named_parts(src)["actor.head"]
    assert not any(th.equal(p, src_head.tensors[n]) for n, p in head.tensors.items())
    actions = {p["name"]: p["action"] for p in model.transfer_info["log"]["parts"]}
    assert actions["actor.head"] == actions["critic.head"] == "reinitialized"
    before = _params(model)
    model.learn(192)
    moved = {
        name: all(not th.equal(p, before[t]) for t, p in part.tensors.items())
        for name, part in named_parts(model).items()
    }
    assert all(moved.values()), moved  # finetune: every part trains


def test_freezing_a_fresh_part_is_refused() -> None:
    spec = TransferSpec(copy=["actor"], strategy=["freeze"], freeze=["critic.features"])
    with pytest.raises(ConfigError, match="random init"):
        transfer(make_source("ppo"), vec_env(1), spec)


def test_sac_entropy_coefficient_carried_or_reset() -> None:
    src = make_source("sac")
    carried = transfer(src, vec_env(1), {})
    assert th.allclose(carried.log_ent_coef, src.log_ent_coef)
    reset = transfer(src, vec_env(1), {"off_policy": {"ent_coef_init": 0.2}})
    assert float(reset.log_ent_coef.detach().exp()) == pytest.approx(0.2)


def test_warmup_uses_the_pretrained_policy() -> None:
    src = make_source("td3")
    model = transfer(src, vec_env(1), {"off_policy": {"warmup_steps": 50}})
    assert model.learning_starts == 50
    model.learn(10)  # no update yet: the buffer holds the transferred policy's actions
    acts = model.replay_buffer.actions[: model.replay_buffer.pos, 0, 0]
    obs = model.replay_buffer.observations[: model.replay_buffer.pos, 0]
    with th.no_grad():
        det = model.policy.actor(th.as_tensor(obs)).numpy()[:, 0]
    assert np.allclose(acts, det, atol=1e-5)  # TD3 without action noise acts deterministically


@pytest.mark.parametrize("arch", [[16], [16, 4]])
def test_a_different_network_is_a_clear_config_error(arch: list[int]) -> None:
    from stable_baselines3 import PPO

    template = PPO("MlpPolicy", vec_env(1), policy_kwargs={"net_arch": arch}, n_steps=64)
    with pytest.raises(ConfigError, match=r"policy\.net_arch"):
        transfer(make_source("ppo"), template.get_env(), {}, template=template)
