"""Layer-wise learning rates, L2-SP, gradual unfreezing, early stopping, save/load."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
from stable_baselines3.common.logger import configure

from sim2real.transfer import (
    EarlyStopper,
    StopOnTargetPlateau,
    TransferSpec,
    named_parts,
    transfer,
    transfer_callbacks,
)
from sim2real.transfer.optim import L2SPHook
from tests.transfer.transfer_helpers import ALGOS, make_source, vec_env


class GroupSpy(BaseCallback):
    """At each rollout start (after the previous ``train()``), record progress and group lrs."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, list[tuple[str, float, float]]]] = []

    def _on_rollout_start(self) -> None:
        if self.model._n_updates == 0:
            return
        groups = [
            (part, g["lr"], g["lr_mult"])
            for opt in self.model.transfer_optimizers()
            for g in opt.param_groups
            for part in g["parts"]
        ]
        self.seen.append((self.model._current_progress_remaining, groups))

    def _on_step(self) -> bool:
        return True


def test_layerwise_lr_reaches_param_groups_and_survives_schedule(algo: str, tmp_path) -> None:
    src = make_source(algo)
    spec = TransferSpec(
        strategy=["finetune", "layerwise_lr"],
        lr_multipliers={"actor.features": 0.1, "critic.features.0": 0.5},
    )
    template = ALGOS[algo](
        "MlpPolicy",
        vec_env(1),
        policy_kwargs={"net_arch": [16, 8]},
        learning_rate=lambda progress: 1e-3 * progress,  # linear schedule
        **({"n_steps": 32, "batch_size": 32, "n_epochs": 1} if algo == "ppo" else
           {"learning_starts": 16, "buffer_size": 500, "batch_size": 16, "train_freq": 16}),
    )  # fmt: skip
    model = transfer(src, template.get_env(), spec, template=template)
    model.set_logger(configure(str(tmp_path), ["json"]))
    spy = GroupSpy()
    model.learn(160, callback=[*transfer_callbacks(), spy])
    assert len(spy.seen) >= 3  # several train() calls
    expected = {"actor.features.0": 0.1, "actor.features.1": 0.1, "critic.features.0": 0.5}
    progresses = set()
    for progress, groups in spy.seen:
        progresses.add(round(progress, 6))
        parts_seen = {part for part, _, _ in groups}
        assert set(expected) <= parts_seen
        for part, lr, mult in groups:
            assert mult == expected.get(part, 1.0)
            assert lr == pytest.approx(1e-3 * progress * mult, rel=1e-6), part
    assert len(progresses) >= 3  # the schedule moved, the multipliers stayed
    rows = [json.loads(line) for line in (tmp_path / "progress.json").read_text().splitlines()]
    logged = [r for r in rows if "transfer/lr/actor.features.0" in r]
    assert logged and all(
        r["transfer/lr/actor.features.0"] == pytest.approx(0.1 * r["transfer/lr/actor.head"])
        for r in logged
    )


def test_model_zip_loads_with_plain_sb3_and_keeps_optimizer_state(algo: str) -> None:
    src = make_source(algo)
    spec = TransferSpec(
        strategy=["finetune", "layerwise_lr"], lr_multipliers={"actor.features": 0.25}
    )
    model = transfer(src, vec_env(1), spec)
    model.learn(96)
    buf = io.BytesIO()
    model.save(buf)
    opt = model.transfer_optimizers()[0]
    state = {id(p): opt.state[p]["exp_avg"].clone() for g in opt.param_groups for p in g["params"]}
    for cls in (ALGOS[algo], type(model)):
        buf.seek(0)
        loaded = cls.load(buf, env=vec_env(2))
        for a, b in zip(model.policy.parameters(), loaded.policy.parameters()):
            assert th.equal(a, b)
    # the transfer class restores groups, multipliers and Adam state per parameter
    lopt = loaded.transfer_optimizers()[0]
    assert [g["parts"] for g in lopt.param_groups] == [g["parts"] for g in opt.param_groups]
    assert len(opt.param_groups) == 2  # one group per multiplier (0.25 and 1.0)
    assert [g["lr_mult"] for g in lopt.param_groups] == [g["lr_mult"] for g in opt.param_groups]
    for g_old, g_new in zip(opt.param_groups, lopt.param_groups):
        for p_old, p_new in zip(g_old["params"], g_new["params"]):
            assert th.equal(state[id(p_old)], lopt.state[p_new]["exp_avg"])


def test_l2sp_term_equals_definition_and_pulls_toward_w0(tmp_path) -> None:
    src = make_source("ppo")
    distances, penalty = {}, {}
    for alpha in (0.0, 5.0):
        spec = {"strategy": ["finetune", "l2sp"], "l2sp_alpha": alpha} if alpha else {}
        model = transfer(src, vec_env(1), spec, seed=4)
        model.learning_rate = 3e-3
        model._setup_lr_schedule()
        if alpha:
            model.set_logger(configure(str(tmp_path), ["json"]))
        w0 = {
            n: p.detach().clone() for n, p in named_parts(model)["actor.features.0"].tensors.items()
        }
        model.learn(512)
        tensors = named_parts(model)["actor.features.0"].tensors
        distances[alpha] = sum(float(((p.detach() - w0[n]) ** 2).sum()) for n, p in tensors.items())
        if alpha:
            anchored = model.transfer_l2sp_w0
            manual = alpha * sum(
                float(((p.detach() - th.as_tensor(anchored[n])) ** 2).sum())
                for part in named_parts(model).values()
                for n, p in part.tensors.items()
                if n in anchored
            )
            penalty[alpha] = model.l2sp_penalty()
            assert penalty[alpha] == pytest.approx(manual, rel=1e-6) and manual > 0
    assert distances[5.0] < 0.5 * distances[0.0], distances
    rows = [json.loads(line) for line in (tmp_path / "progress.json").read_text().splitlines()]
    assert any(r.get("transfer/l2sp", 0) > 0 for r in rows)


def test_l2sp_hook_adds_the_exact_gradient() -> None:
    w = th.nn.Parameter(th.tensor([1.0, -2.0]))
    w0 = th.tensor([0.5, 0.5])
    w.grad = th.zeros(2)
    L2SPHook(0.3, [(w, w0)])(None, (), {})
    assert th.allclose(w.grad, 2 * 0.3 * (w.detach() - w0))


class FrozenSpy(BaseCallback):
    def __init__(self, tensor: str) -> None:
        super().__init__()
        self.tensor = tensor
        self.trace: list[tuple[int, bool]] = []

    def _on_step(self) -> bool:
        p = dict(self.model.policy.named_parameters())[self.tensor]
        self.trace.append((self.num_timesteps, p.requires_grad))
        return True


def test_gradual_unfreeze_toggles_at_configured_steps(algo: str, tmp_path) -> None:
    src = make_source(algo)
    spec = TransferSpec(
        strategy=["gradual_unfreeze", "layerwise_lr"],
        lr_multipliers={"actor.features": 0.3},
        unfreeze=[{"at_step": 40}, {"at_step": 90}],
    )
    model = transfer(src, vec_env(1), spec)
    stages = model.transfer_info["log"]["unfreeze"]
    assert stages[0]["parts"] == ["actor.features.1", "critic.features.1"]  # head down
    assert stages[1]["parts"] == ["actor.features.0", "critic.features.0"]
    first = named_parts(model)["actor.features.1"].tensors
    second = named_parts(model)["actor.features.0"].tensors
    spy1, spy0 = FrozenSpy(next(iter(first))), FrozenSpy(next(iter(second)))
    cbs = transfer_callbacks(tmp_path / "transfer.json")
    model.learn(128, callback=[*cbs, spy1, spy0])
    for spy, at in ((spy1, 40), (spy0, 90)):
        flips = [step for step, trainable in spy.trace if trainable]
        assert flips[0] == at and all(not t for s, t in spy.trace if s < at)
    assert model.transfer_frozen == []
    log = json.loads((tmp_path / "transfer.json").read_text())
    assert [(e["step"], e["event"]) for e in log["events"]] == [(40, "unfreeze"), (90, "unfreeze")]
    lr_before = [h for h in log["lr_history"] if h["step"] < 40]
    assert lr_before and lr_before[0]["lr"]["actor.features.1"] == 0.0
    assert log["lr_history"][-1]["lr"]["actor.features.1"] > 0


def test_early_stopper_patience_and_threshold() -> None:
    s = EarlyStopper(patience=2, min_evals=1, threshold=None)
    assert [s.update(x) for x in (1.0, 2.0, 1.5, 1.9)] == [False, False, False, True]
    t = EarlyStopper(patience=None, min_evals=0, threshold=10.0)
    assert [t.update(x) for x in (3.0, 11.0)] == [False, True]


def test_early_stopping_on_target_eval_stops_training() -> None:
    model = transfer(make_source("ppo"), vec_env(1), {})
    stop = StopOnTargetPlateau(EarlyStopper(patience=None, min_evals=0, threshold=-np.inf))
    cb = EvalCallback(vec_env(5), eval_freq=64, n_eval_episodes=1, callback_after_eval=stop)
    model.learn(1000, callback=cb)
    assert model.num_timesteps < 1000
