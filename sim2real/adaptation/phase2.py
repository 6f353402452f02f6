"""RMA phase 2: regress the env encoder's latent from recent history, base policy frozen.

Rollouts are on-policy for the deployed pair (as in RMA): the frozen phase-1 policy acts on the
adaptation module's *estimate* ``z_hat`` (never on the true ``z``), while the true parameters,
still in the observation of the phase-2 envs, give the regression target ``z``. Each
iteration collects ``rollout`` steps per env with the current module, then takes ``epochs``
passes of minibatch MSE (Adam) over them. Every env step counts in :attr:`Phase2Report.steps`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sim2real.adaptation.networks import RMAPolicy, rma_actions
from sim2real.config import ExperimentConfig
from sim2real.controller.history import HistoryBuffer
from sim2real.errors import ConfigError

__all__ = ["PHASE2_SEED_OFFSET", "Phase2Report", "train_adaptation"]

PHASE2_SEED_OFFSET = 10_007
"""Phase-2 envs and minibatch order use ``seed + PHASE2_SEED_OFFSET`` (fresh episodes)."""


@dataclass
class Phase2Report:
    """What phase 2 spent and how the regression went.

    Attributes:
        steps: environment steps (summed over envs), all counted in the pretraining budget.
        rollout_loss: MSE of the module on each fresh rollout, before training on it (the
            on-policy error of the deployed estimate).
        train_loss: mean minibatch MSE of each rollout's last epoch.
        wall_time_s: seconds spent.
    """

    steps: int = 0
    rollout_loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return asdict(self)


def rma_policy_of(model: Any) -> RMAPolicy:
    """The :class:`RMAPolicy` of a model.

    Raises:
        ConfigError: the model was not trained with ``adaptation``.
    """
    policy = getattr(model, "policy", model)
    if not isinstance(policy, RMAPolicy):
        raise ConfigError(
            f"this policy ({type(policy).__name__}) has no adaptation module; train it with an "
            "adaptation: block in the config"
        )
    return policy


def _no_stop() -> None:
    pass


def _collect(
    policy: RMAPolicy,
    venv: VecEnv,
    vn: VecNormalize | None,
    state: dict[str, Any],
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` steps per env driven by the module's estimate; returns (history inputs, true
    latents)."""
    buffers: list[HistoryBuffer] = state["history"]
    n_obs = policy.env_encoder.n_obs
    low, high = venv.action_space.low, venv.action_space.high  # type: ignore[attr-defined]
    windows, targets = [], []
    obs = state["obs"]
    for _ in range(n):
        full = np.asarray(vn.normalize_obs(obs) if vn is not None else obs, dtype=np.float32)
        window = np.stack([b.observe(row) for b, row in zip(buffers, full[:, :n_obs])])
        x = torch.as_tensor(full, device=policy.device)
        with torch.no_grad():
            z = policy.env_encoder.latent(x)
            z_hat = policy.adaptation(torch.as_tensor(window, device=policy.device))
            action = rma_actions(policy, x[:, :n_obs], z_hat)
        windows.append(window)
        targets.append(z.cpu().numpy())
        act = np.clip(action.cpu().numpy(), low, high)
        obs, _, dones, _ = venv.step(act)
        for b, a, done in zip(buffers, act, dones):
            b.record(a)
            if done:
                b.clear()
    state["obs"] = obs
    return np.concatenate(windows), np.concatenate(targets)


def _fit(
    policy: RMAPolicy,
    optimizer: torch.optim.Optimizer,
    data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Minibatch MSE epochs; returns (loss before training, mean loss of the last epoch)."""
    x = torch.as_tensor(data[0], device=policy.device)
    y = torch.as_tensor(data[1], device=policy.device)
    module = policy.adaptation
    with torch.no_grad():
        before = float(torch.nn.functional.mse_loss(module(x), y))
    last: list[float] = []
    for _ in range(epochs):
        order = torch.as_tensor(rng.permutation(len(x)), device=policy.device)
        last = []
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            loss = torch.nn.functional.mse_loss(module(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            last.append(float(loss.detach()))
    return before, float(np.mean(last))


def train_adaptation(
    model: Any,
    venv: VecEnv,
    vec_normalize: VecNormalize | None,
    config: ExperimentConfig,
    check_stop: Callable[[], None] | None = None,
) -> Phase2Report:
    """Train ``model``'s adaptation module in place on ``venv`` (phase-1 envs: dynamics in the
    observation) for ``config.adaptation.timesteps`` steps; everything else stays frozen.

    ``vec_normalize`` holds the phase-1 observation statistics (not updated here).
    ``check_stop()`` is called before each iteration (it raises to stop, e.g. on Ctrl-C).
    """
    check_stop = check_stop or _no_stop
    cfg = config.adaptation
    if cfg is None:
        raise ConfigError("train_adaptation needs a config with an adaptation: block")
    policy = rma_policy_of(model)
    policy.set_training_mode(False)
    frozen = [p for n, p in policy.named_parameters() if not n.startswith("adaptation.")]
    for p in frozen:
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(policy.adaptation.parameters(), lr=cfg.learning_rate)
    rng = np.random.default_rng(config.seed + PHASE2_SEED_OFFSET)
    n_envs = venv.num_envs
    spec, n_obs, n_act = policy.adaptation.spec, policy.env_encoder.n_obs, policy.adaptation.n_act
    buffers = [HistoryBuffer(spec, n_obs, n_act) for _ in range(n_envs)]
    state: dict[str, Any] = {"history": buffers, "obs": venv.reset()}
    report, t0 = Phase2Report(), time.perf_counter()
    try:
        while report.steps < cfg.timesteps:
            check_stop()
            n = min(cfg.rollout, math.ceil((cfg.timesteps - report.steps) / n_envs))
            data = _collect(policy, venv, vec_normalize, state, n)
            report.steps += n * n_envs
            before, after = _fit(policy, optimizer, data, cfg.epochs, cfg.batch_size, rng)
            report.rollout_loss.append(before)
            report.train_loss.append(after)
    finally:
        for p in frozen:
            p.requires_grad_(True)
    report.wall_time_s = round(time.perf_counter() - t0, 3)
    return report


def run_phase2(
    config: ExperimentConfig,
    model: Any,
    vec_normalize: VecNormalize | None,
    check_stop: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Phase 2 of an adaptation run on fresh envs of the training domain, then the deployed
    pair's evaluation on the training domain and each ``eval.targets`` (plain envs: no
    dynamics in the observation). Returns the JSON-able record for ``summary.json``.

    ``check_stop()`` runs before each phase-2 iteration and each evaluation (it raises to stop).
    """
    check_stop = check_stop or _no_stop
    from sim2real.adaptation.agent import AdaptedAgent
    from sim2real.evaluation.episodes import TRAIN_DOMAIN, evaluate
    from sim2real.training.loading import LoadedPolicy
    from sim2real.training.vec_env import make_vec_env

    venv = make_vec_env(
        config.env,
        config.domain,
        config.n_envs,
        config.seed + PHASE2_SEED_OFFSET,
        vec_env=config.vec_env,
        adr=config.adr,
        dynamics_obs=True,
    )
    try:
        report = train_adaptation(model, venv, vec_normalize, config, check_stop)
    finally:
        venv.close()
    agent = AdaptedAgent(LoadedPolicy(model, vec_normalize, config, config.env), label="rma")
    domains = [(TRAIN_DOMAIN, config.domain)] + [(f"target/{t}", t) for t in config.eval.targets]
    final = {}
    for key, domain in domains:
        check_stop()
        res = evaluate(agent, config.env, domain, episodes=config.eval.episodes, seed=config.seed)
        final[key] = {"mean": res.mean, "std": res.std, "returns": res.returns}
    return {**report.to_dict(), "final_eval": final}
