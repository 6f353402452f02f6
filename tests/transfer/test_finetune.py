"""Fine-tuning strategies: critic warm-up, exploration reset, source anchor, guide, source replay."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.type_aliases import RolloutBufferSamples
from torch.distributions import MultivariateNormal

from sim2real.errors import ConfigError
from sim2real.transfer import TransferReplayBuffer, TransferSpec, transfer, transfer_callbacks
from sim2real.transfer.teacher import anchor_weight, guide_horizon, shrink_horizon
from tests.transfer.transfer_helpers import ALGOS, algo_kwargs, make_source, vec_env


def _target(algo: str, spec: dict, collect: bool = True, **kwargs) -> object:
    template = ALGOS[algo](
        "MlpPolicy", vec_env(1), policy_kwargs={"net_arch": [16, 8]}, seed=1, device="cpu",
        **{**algo_kwargs(algo), **kwargs},
    )  # fmt: skip
    src = make_source(algo)
    return transfer(
        src, template.get_env(), spec, template=template, seed=1, collect_source=collect
    )


def _tensors(model, prefix: str) -> dict[str, th.Tensor]:
    return {
        n: p.detach().clone()
        for name, part in model.transfer_parts().items()
        if name.startswith(prefix)
        for n, p in part.tensors.items()
    }


def _same(a: dict[str, th.Tensor], b: dict[str, th.Tensor]) -> bool:
    return all(th.equal(a[k], b[k]) for k in a)


class Snapshots(BaseCallback):
    """Actor and critic tensors at each rollout start (after the previous update)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, dict, dict]] = []

    def _on_rollout_start(self) -> None:
        m = self.model
        self.seen.append((m.num_timesteps, _tensors(m, "actor"), _tensors(m, "critic")))

    def _on_step(self) -> bool:
        return True


def _progress(path) -> list[dict]:
    return [json.loads(line) for line in (path / "progress.json").read_text().splitlines()]


# ------------------------------------------------------------------------------ critic warm-up
def test_critic_warmup_keeps_the_actor_bit_identical_then_the_actor_learns(tmp_path) -> None:
    spec = {"critic_warmup": {"steps": 64, "reinit_value_head": True}}
    model = _target("ppo", spec, n_steps=32, batch_size=16, n_epochs=2)
    src = make_source("ppo")
    head = "value_net.weight"
    assert not th.equal(model.policy.state_dict()[head], src.policy.state_dict()[head])
    actor0, critic0 = _tensors(model, "actor"), _tensors(model, "critic")
    model.set_logger(configure(str(tmp_path), ["json"]))
    snaps = Snapshots()
    model.learn(160, callback=[*transfer_callbacks(), snaps])
    # the updates after the rollouts ending at 32 and 64 train the critic alone (the first 64 + 32
    # steps are collected by the unchanged actor); the one at 96 moves the actor
    seen = {t: (a, c) for t, a, c in snaps.seen}
    assert _same(seen[32][0], actor0) and _same(seen[64][0], actor0)
    assert not _same(seen[32][1], critic0)  # the critic learns from the first update on
    assert not _same(seen[64][1], seen[32][1])
    assert not _same(seen[96][0], actor0)
    rows = _progress(tmp_path)
    warm = [r["time/total_timesteps"] for r in rows if "transfer/value_loss_warmup" in r]
    # PPO dumps a row after the next rollout: the rows at 64 and 96 hold the updates at 32 and 64
    assert warm == [64, 96]
    assert model.transfer_info["log"]["totals"]["reinitialized"] > 0


def test_finetune_update_equals_sb3s_when_no_term_is_active(monkeypatch) -> None:
    """The PPO update of the strategies is SB3's loss when the anchor weight is 0."""
    a = _target("ppo", {})
    b = _target("ppo", {"anchor": {"weight": 1.0, "schedule": "fixed"}})
    monkeypatch.setattr(type(b), "anchor_weight_now", lambda self: 0.0)
    for m in (a, b):
        m.set_logger(configure(None, [""]))
        th.manual_seed(0)
        np.random.seed(0)  # noqa: NPY002  (SB3 shuffles minibatches with the global generator)
        m.learn(128)
    pa, pb = a.policy.state_dict(), b.policy.state_dict()
    for k in pa:
        assert th.allclose(pa[k], pb[k], atol=1e-5), k


# ------------------------------------------------------------------------------ exploration
def test_exploration_reset_sets_ppo_std_and_sac_entropy() -> None:
    ppo = _target("ppo", {"exploration": {"action_std": 0.25}})
    assert th.allclose(ppo.policy.log_std.exp(), th.tensor(0.25))
    sac = _target("sac", {"exploration": {"ent_coef": 0.05}})
    assert float(sac.log_ent_coef.exp()) == pytest.approx(0.05)
    with pytest.raises(ConfigError, match=r"exploration\.action_std"):
        _target("td3", {"exploration": {"action_std": 0.2}})


# ------------------------------------------------------------------------------ anchor
def _independent_kl(t_mean, t_std, s_mean, s_std) -> th.Tensor:
    t = MultivariateNormal(t_mean, scale_tril=th.diag_embed(t_std))
    s = MultivariateNormal(s_mean, scale_tril=th.diag_embed(s_std))
    return th.distributions.kl_divergence(t, s)


def _perturb(model) -> None:
    with th.no_grad():
        for p in model.policy.parameters():
            p.add_(0.1 * th.randn_like(p))


def test_ppo_anchor_term_is_the_kl_to_the_source() -> None:
    th.manual_seed(0)
    model = _target("ppo", {"anchor": {"weight": 1.0, "schedule": "fixed"}})
    _perturb(model)
    src = make_source("ppo").policy
    obs = th.randn(64, model.observation_space.shape[0])
    acts = th.randn(64, model.action_space.shape[0])
    zeros = th.zeros(64)
    batch = RolloutBufferSamples(obs, acts, zeros, zeros, th.randn(64), zeros)
    stats: defaultdict = defaultdict(list)
    with th.no_grad():
        plain, _ = model._minibatch_loss(batch, 0.2, None, False, 0.0, stats)
        anchored, _ = model._minibatch_loss(batch, 0.2, None, False, 0.7, stats)
        td, sd = (
            src.get_distribution(obs).distribution,
            model.policy.get_distribution(obs).distribution,
        )
        kl = _independent_kl(td.mean, td.stddev, sd.mean, sd.stddev).mean()
    assert float((anchored - plain) / 0.7) == pytest.approx(float(kl), rel=1e-4)
    assert stats["kl_to_source"][-1] == pytest.approx(float(kl), rel=1e-4)


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_off_policy_anchor_adds_the_gradient_of_the_term(algo: str) -> None:
    th.manual_seed(0)
    model = _target(algo, {"anchor": {"weight": 1.0, "schedule": "fixed"}})
    _perturb(model)
    src = make_source(algo).policy
    obs = th.randn(32, model.observation_space.shape[0])
    model.replay_buffer.last_observations = obs
    actor = model.actor
    opt = actor.optimizer
    opt.zero_grad()
    model._anchor_hook(opt, (), {})
    hooked = {n: p.grad.clone() for n, p in actor.named_parameters() if p.grad is not None}
    if algo == "sac":
        tm, tl, _ = src.actor.get_action_dist_params(obs)
        sm, sl, _ = actor.get_action_dist_params(obs)
        term = _independent_kl(tm.detach(), tl.exp().detach(), sm, sl.exp()).mean()
    else:
        term = ((actor(obs) - src.actor(obs).detach()) ** 2).sum(-1).mean()
    grads = th.autograd.grad(term, [p for _, p in actor.named_parameters()], allow_unused=True)
    expected = {n: g for (n, _), g in zip(actor.named_parameters(), grads) if g is not None}
    assert set(hooked) == set(expected)
    for n in expected:
        assert th.allclose(hooked[n], expected[n], atol=1e-6), n


def test_anchor_schedules() -> None:
    lin = {"weight": 2.0, "schedule": "linear", "decay_steps": 100}
    assert [anchor_weight(lin, t, None, None) for t in (0, 50, 100, 200)] == [2.0, 1.0, 0.0, 0.0]
    assert anchor_weight({"weight": 0.3, "schedule": "fixed"}, 10**6, None, None) == 0.3
    perf = {"weight": 1.0, "schedule": "performance", "score_floor": -100.0}
    assert anchor_weight(perf, 0, None, None) == 1.0  # before any evaluation
    assert anchor_weight(perf, 0, 100.0, 100.0) == 0.0  # as good as the teacher
    assert anchor_weight(perf, 0, 0.0, 100.0) == pytest.approx(0.5)
    assert anchor_weight(perf, 0, 300.0, 100.0) == 0.0


def test_linear_anchor_weight_reaches_tensorboard_on_schedule(tmp_path) -> None:
    spec = {"anchor": {"weight": 0.5, "schedule": "linear", "decay_steps": 128}}
    model = _target("ppo", spec, n_steps=32, batch_size=32, n_epochs=1)
    model.set_logger(configure(str(tmp_path), ["json"]))
    model.learn(192, callback=transfer_callbacks(), log_interval=1)
    rows = [r for r in _progress(tmp_path) if "transfer/anchor_weight" in r]
    assert len(rows) >= 4
    for r in rows:
        t = r["time/total_timesteps"] - 32  # the row holds the update after the previous rollout
        assert r["transfer/anchor_weight"] == pytest.approx(0.5 * max(1 - t / 128, 0))
        assert r["transfer/kl_to_source"] >= 0


def test_performance_anchor_follows_the_evaluations() -> None:
    spec = {"anchor": {"weight": 1.0, "schedule": "performance", "score_floor": -10.0}}
    model = _target("ppo", spec)
    model.on_evaluation(0, 90.0)  # the first evaluation: the teacher's score
    assert model.anchor_weight_now() == 0.0
    model.on_evaluation(1000, 40.0)
    assert model.anchor_weight_now() == pytest.approx(0.5)


# ------------------------------------------------------------------------------ guide
class GuideSpy(BaseCallback):
    """Per env, the guided flag of every step of every finished episode; checks the actions."""

    def __init__(self) -> None:
        super().__init__()
        self.current: dict[int, list[bool]] = {}
        self.episodes: list[list[bool]] = []
        self.mismatch = 0

    def _on_step(self) -> bool:
        m = self.model
        guided = np.asarray(m._guide_last, dtype=bool)
        sent = self.locals.get("clipped_actions", self.locals.get("actions"))
        teacher = m._transfer_teacher.act(m._last_obs)
        for i, g in enumerate(guided):
            self.current.setdefault(i, []).append(bool(g))
            if g and not np.allclose(sent[i], teacher[i], atol=1e-5):
                self.mismatch += 1
        for i, done in enumerate(self.locals["dones"]):
            if done:
                self.episodes.append(self.current.pop(i))
        return True


@pytest.mark.parametrize("algo", ["ppo", "sac", "td3"])
def test_the_guide_acts_exactly_h_steps_per_episode(algo: str) -> None:
    h = 7
    spec = {"guide": {"horizon": h, "schedule": "linear", "decay_steps": 10**9},
            "off_policy": {"warmup_policy": "random"}}  # fmt: skip
    model = _target(algo, spec)
    model.set_logger(configure(None, [""]))
    spy = GuideSpy()
    model.learn(600, callback=[*transfer_callbacks(), spy])
    assert len(spy.episodes) >= 3 and spy.mismatch == 0
    for ep in spy.episodes:
        n = min(h, len(ep))
        assert ep == [True] * n + [False] * (len(ep) - n)
    assert model.transfer_guide_steps == sum(sum(ep) for ep in spy.episodes) + sum(
        sum(v) for v in spy.current.values()
    )
    assert model.num_timesteps >= 600  # guide steps count in the budget


def test_ppo_learns_only_from_learner_actions() -> None:
    model = _target("ppo", {"guide": {"horizon": 5, "schedule": "linear", "decay_steps": 10**9}})
    model.set_logger(configure(None, [""]))
    model.learn(64)
    buf = model.rollout_buffer
    learner = buf.learner.reshape(-1)
    assert 0 < learner.sum() < learner.size
    batch = next(buf.get(None))
    assert float(batch.learner.sum()) == float(learner.sum())
    # a guided sample's advantage does not move the loss
    with th.no_grad():
        base, _ = model._minibatch_loss(batch, 0.2, None, False, 0.0, defaultdict(list))
        adv = batch.advantages.clone()
        adv[batch.learner == 0] += 1000.0
        moved, _ = model._minibatch_loss(batch._replace(advantages=adv), 0.2, None, False, 0.0,
                                         defaultdict(list))  # fmt: skip
    assert float(moved) == pytest.approx(float(base), rel=1e-5)


def test_guide_schedules() -> None:
    lin = {"horizon": 10, "schedule": "linear", "decay_steps": 100}
    assert [guide_horizon(lin, t, 10) for t in (0, 50, 99, 100)] == [10, 5, 1, 0]
    thr = {"horizon": 8, "schedule": "threshold", "threshold": 50.0, "horizon_step": 3}
    assert shrink_horizon(thr, 8, 49.0) == 8
    assert shrink_horizon(thr, 8, 50.0) == 5
    assert shrink_horizon(thr, 2, 60.0) == 0


# ------------------------------------------------------------------------------ source replay
def test_replay_batches_have_the_configured_mix() -> None:
    model = _target("sac", {})
    spaces = (model.observation_space, model.action_space)
    source = TransferReplayBuffer(100, *spaces, device="cpu")
    target = TransferReplayBuffer(100, *spaces, device="cpu")
    for buf, reward in ((source, 1.0), (target, -1.0)):
        for _ in range(50):
            o = spaces[0].sample()[None]
            buf.add(o, o, spaces[1].sample()[None], np.array([reward]), np.array([False]), [{}])
    target.source, target.fraction = source, 0.25
    batch = target.sample(32)
    rewards = batch.rewards.flatten()
    assert int((rewards > 0).sum()) == 8 and int((rewards < 0).sum()) == 24
    assert target.sampled == (8, 24)
    assert th.equal(target.last_observations, batch.observations)


@pytest.mark.parametrize(
    ("algo", "spec", "message"),
    [
        ("ppo", {"source_replay": {"transitions": 100}}, r"transfer\.source_replay"),
        ("sac", {"critic_warmup": {"steps": 100}}, r"transfer\.critic_warmup"),
        (
            "ppo",
            {"copy": ["critic"], "anchor": {"weight": 1, "schedule": "fixed"}},
            "no actor part",
        ),
        ("sac", {"guide": {"horizon": 3, "schedule": "linear", "decay_steps": 9}}, "warmup_policy"),
        ("ppo", {"exploration": {"ent_coef": 0.1}}, r"exploration\.ent_coef"),
    ],
)
def test_combinations_that_make_no_sense_fail_naming_the_option(algo, spec, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _target(algo, spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"anchor": {"weight": 1.0, "schedule": "linear"}}, "decay_steps"),
        ({"anchor": {"weight": 1.0, "schedule": "fixed"}, "normalization": "reestimate"}, "anchor"),
        ({"guide": {"horizon": 3, "schedule": "threshold"}}, r"guide\.threshold"),
        ({"exploration": {}}, "exploration needs"),
    ],
)
def test_spec_rejects_incomplete_options(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TransferSpec.model_validate(spec)


# ------------------------------------------------------------------------------ LayerNorm critics
@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_layer_norm_critics_train_save_load_and_transfer(algo: str, tmp_path) -> None:
    from sim2real.config import config_from_dict
    from sim2real.training import build_model, train
    from sim2real.transfer import named_parts

    data = {"env": "cartpole", "domain": "nominal", "algo": algo, "n_envs": 1, "seed": 0,
            "policy": {"net_arch": [16], "activation": "relu", "critic_layer_norm": True},
            "hyperparams": {"learning_starts": 32, "buffer_size": 500, "batch_size": 16},
            "total_timesteps": 96, "eval": {"freq": 0}, "device": "cpu"}  # fmt: skip
    cfg = config_from_dict(data)
    run = train(cfg, out_dir=tmp_path / "src", quiet=True)
    parts = named_parts(run.model)
    norms = [n for n in parts["critic.features.0"].tensors if ".1.weight" in n]
    assert norms, parts["critic.features.0"].tensors  # LayerNorm joins its hidden layer
    loaded = ALGOS[algo].load(tmp_path / "src" / "model.zip")
    assert isinstance(loaded.critic.qf0[1], th.nn.LayerNorm)
    template = build_model(cfg, vec_env(2), "cpu")
    model = transfer(str(tmp_path / "src"), template.get_env(), {}, template=template)
    assert model.transfer_info["log"]["totals"]["fresh"] == 0
    with pytest.raises(ConfigError, match="critic_layer_norm"):
        build_model(config_from_dict({**data, "algo": "ppo", "hyperparams": {}}), vec_env(3))


def test_anchor_on_stored_source_states_uses_the_source_part_of_the_batch() -> None:
    model = _target("sac", {"anchor": {"weight": 1.0, "schedule": "fixed", "states": "source"},
                            "source_replay": {"transitions": 64, "fraction": 0.5},
                            "off_policy": {"warmup_policy": "random"}},
                    collect=False, learning_starts=0)  # fmt: skip
    buf = model.replay_buffer
    buf.source = TransferReplayBuffer(64, model.observation_space, model.action_space, device="cpu")
    buf.fraction = 0.5
    for target in (buf, buf.source):
        for _ in range(40):
            o = model.observation_space.sample()[None]
            a = model.action_space.sample()[None]
            target.add(o, o, a, np.array([0.0]), np.array([False]), [{}])
    batch = buf.sample(32)
    assert th.equal(buf.last_source_observations, batch.observations[16:])
    seen: list[th.Tensor] = []
    import sim2real.transfer.off_policy as op

    real = op.anchor_divergence
    op.anchor_divergence = lambda m, t, obs: (seen.append(obs), real(m, t, obs))[1]
    try:
        model._anchor_hook(model.actor.optimizer, (), {})
    finally:
        op.anchor_divergence = real
    assert th.equal(seen[0], buf.last_source_observations)
    with pytest.raises(ConfigError, match="needs"):
        _target("sac", {"anchor": {"weight": 1.0, "schedule": "fixed", "states": "source"},
                        "off_policy": {"warmup_policy": "random"}})  # fmt: skip
