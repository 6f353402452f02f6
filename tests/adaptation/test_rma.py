"""RMA: the phase-1 latent depends on the dynamics, phase 2 learns, deployment reads no truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sim2real.adaptation import DynamicsObservation, normalized_dynamics
from sim2real.adaptation.agent import AdaptedAgent
from sim2real.adaptation.networks import RMAPolicy
from sim2real.config import load_config
from sim2real.envs.registry import make_env
from sim2real.errors import ConfigError
from sim2real.evaluation import evaluate_env, load_agent
from sim2real.randomization import DomainRandomizationWrapper, load_domain
from sim2real.training import load_run
from sim2real.transfer.parts import named_parts, select_parts
from tests.adaptation.conftest import TINY


def test_dynamics_observation_carries_the_sampled_parameters() -> None:
    env = DynamicsObservation(
        DomainRandomizationWrapper(make_env("cartpole"), load_domain("cartpole", "source"))
    )
    base_dim = make_env("cartpole").observation_space.shape[0]
    assert env.observation_space.shape == (base_dim + env.n_dynamics,)
    dyn = []
    for seed in (0, 1):
        obs, _ = env.reset(seed=seed)
        values = env.get_wrapper_attr("get_dynamics")()
        np.testing.assert_allclose(obs[base_dim:], normalized_dynamics(env.specs, values))
        dyn.append(obs[base_dim:])
    assert not np.allclose(dyn[0], dyn[1])  # the source randomizes: the episodes differ
    plain = DynamicsObservation(make_env("cartpole"))
    obs, _ = plain.reset(seed=0)
    np.testing.assert_allclose(obs[base_dim:], 0.0, atol=1e-6)  # nominal is 0


def test_phase1_latent_and_action_depend_on_the_dynamics(rma_run: Path) -> None:
    policy = load_run(rma_run).model.policy
    assert isinstance(policy, RMAPolicy)
    n_obs, n_dyn = (
        policy.env_encoder.n_obs,
        policy.observation_space.shape[0] - policy.env_encoder.n_obs,
    )
    x = torch.zeros(2, n_obs + n_dyn)
    x[1, n_obs:] = 0.5  # other dynamics, same observation
    with torch.no_grad():
        z = policy.env_encoder.latent(x)
        features = policy.extract_features(x, policy.features_extractor)
    assert z.shape == (2, 4) and not torch.allclose(z[0], z[1])
    torch.testing.assert_close(features[:, n_obs:], z)
    torch.testing.assert_close(features[:, :n_obs], x[:, :n_obs])


def test_phase2_regression_loss_falls_and_steps_are_recorded(rma_run: Path) -> None:
    import json

    summary = json.loads((rma_run / "summary.json").read_text())
    record = summary["adaptation"]
    assert record["steps"] >= 3000
    assert summary["pretrain_env_steps"] == summary["steps"] + record["steps"]
    losses = record["rollout_loss"]
    assert len(losses) >= 5
    assert np.mean(losses[-2:]) < 0.5 * losses[0], losses
    assert "train_domain" in record["final_eval"]


def test_phase2_leaves_the_base_policy_frozen(tmp_path: Path) -> None:
    from sim2real.adaptation.phase2 import run_phase2
    from sim2real.training import make_vec_env
    from sim2real.training.algorithms import build_model

    cfg = load_config("cartpole_ppo", [*TINY, "adaptation.timesteps=300", "n_envs=1"])
    venv = make_vec_env("cartpole", "source", 1, 0, dynamics_obs=True)
    model = build_model(cfg, venv)
    before = {n: p.detach().clone() for n, p in model.policy.named_parameters()}
    run_phase2(cfg, model, None)
    venv.close()
    for name, p in model.policy.named_parameters():
        moved = not torch.equal(before[name], p.detach())
        assert moved == name.startswith("adaptation."), name


class _NoTruth:
    """An env whose dynamics cannot be read: deployment must never need them."""

    def __init__(self, env: object) -> None:
        self.env = env

    def __getattr__(self, name: str) -> object:
        if name in ("get_dynamics", "dynamics_specs", "domain_values"):
            raise AssertionError(f"the deployed policy read {name}")
        return getattr(self.env, name)


def test_deployment_runs_on_a_plain_env_and_uses_the_adaptation_module(rma_run: Path) -> None:
    agent = load_agent(rma_run)
    assert isinstance(agent, AdaptedAgent)
    env = _NoTruth(make_env("cartpole"))  # no randomization wrapper, no dynamics readable
    res = evaluate_env(agent, env, "cartpole", "nominal", episodes=2, seed=0)
    assert agent.obs_shape == make_env("cartpole").observation_space.shape
    assert all(n > 0 for n in res.lengths)
    # the module's estimate reaches the actions: a different estimate, different actions
    obs, _ = make_env("cartpole").reset(seed=0)
    agent.reset()
    a0 = [agent.act(obs) for _ in range(3)][-1]
    with torch.no_grad():
        agent.rma.adaptation.net[-1].bias.add_(3.0)
    agent.reset()
    a1 = [agent.act(obs) for _ in range(3)][-1]
    assert not np.allclose(a0, a1)


def test_parts_name_the_encoder_and_the_adaptation_module(rma_run: Path) -> None:
    parts = named_parts(load_run(rma_run).model)
    assert "actor.env_encoder" in parts
    assert select_parts(parts, ["adaptation"]) == ["adaptation.features.0", "adaptation.head"]
    tensors = parts["actor.env_encoder"].tensors
    assert all(n.startswith("features_extractor.env_encoder.") for n in tensors)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["algo=sac", "adaptation={}"], "needs algo ppo"),
        (["adaptation={}", "history.length=2"], "keeps its own history"),
        (["adaptation.latent_dim=0"], "latent_dim"),
    ],
)
def test_bad_adaptation_configs(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config("cartpole_ppo", overrides)
