"""Privileged (asymmetric) critic: the wrapper's dynamics entries, the policy's separate
extractors, training on cartpole, and an export whose actor never reads the dynamics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th

from sim2real.config import load_config
from sim2real.controller import PolicyController
from sim2real.envs.registry import make_env
from sim2real.errors import ConfigError, DomainError
from sim2real.evaluation import SB3Agent, evaluate
from sim2real.export import export_policy
from sim2real.randomization import DomainRandomizationWrapper, load_domain
from sim2real.training import load_run, train
from sim2real.training.privileged import PrivilegedCriticPolicy, PrivilegedObservation
from sim2real.transfer.inspect import describe_model

TINY = ["total_timesteps=256", "eval.freq=0", "eval.at_start=false", "checkpoint_freq=0"]
PRIV = ["domain=source", "policy.privileged_critic=true", "normalize=true"]


def test_wrapper_gives_the_drawn_dynamics_scaled_to_the_spec_bounds() -> None:
    env = PrivilegedObservation(
        DomainRandomizationWrapper(make_env("cartpole"), load_domain("cartpole", "source"))
    )
    obs, info = env.reset(seed=3)
    specs = make_env("cartpole").unwrapped.dynamics_specs()
    names = env.privileged_names
    assert len(names) == obs["privileged"].shape[0] == env.observation_space["privileged"].shape[0]
    assert "mass_scale.pole" in names and "frame_skip" in names
    assert np.all(np.abs(obs["privileged"]) <= 1.0)
    drawn = info["domain"]["mass_scale"]["pole"]
    spec = specs["mass_scale"]
    expected = 2 * (drawn - spec.low) / (spec.high - spec.low) - 1
    assert obs["privileged"][names.index("mass_scale.pole")] == pytest.approx(expected, abs=1e-6)
    other, _ = env.reset(seed=4)
    assert not np.array_equal(other["privileged"], obs["privileged"])  # a new episode, new draw


def test_wrapper_needs_randomization() -> None:
    with pytest.raises(DomainError, match="privileged_critic"):
        PrivilegedObservation(make_env("cartpole"))


@pytest.mark.parametrize(
    ("override", "match"),
    [
        (["policy.privileged_critic=true", "domain=nominal"], "randomized domain"),
        (["policy.privileged_critic=true", "domain=source", "algo=sac"], "PPO only"),
    ],
)
def test_config_refuses_a_privileged_critic_without_dynamics(
    override: list[str], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config("smoke", override)


@pytest.fixture(scope="module")
def privileged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("priv") / "run"
    train(load_config("smoke", [*TINY, *PRIV, "history={length: 2}"]), out, quiet=True)
    return out


def test_critic_reads_the_dynamics_and_the_actor_does_not(privileged_run: Path) -> None:
    policy = load_run(privileged_run)
    model = policy.model
    assert isinstance(model.policy, PrivilegedCriticPolicy)
    pi, vf = model.policy.pi_features_extractor, model.policy.vf_features_extractor
    assert pi.keys == ("observation",) and vf.keys == ("observation", "privileged")
    n_obs = model.observation_space["observation"].shape[0]
    n_priv = model.observation_space["privileged"].shape[0]
    assert model.policy.mlp_extractor.policy_net[0].in_features == n_obs
    assert model.policy.mlp_extractor.value_net[0].in_features == n_obs + n_priv
    obs = {"observation": th.zeros(4, n_obs), "privileged": th.rand(4, n_priv) * 2 - 1}
    moved = {**obs, "privileged": -obs["privileged"]}
    with th.no_grad():
        a1, a2 = (model.policy.get_distribution(o).distribution.mean for o in (obs, moved))
        v1, v2 = (model.policy.predict_values(o) for o in (obs, moved))
    assert th.equal(a1, a2) and not th.allclose(v1, v2)
    info = describe_model(privileged_run)
    assert info["inputs"] == {
        "actor": {"observation": n_obs},
        "critic": {"observation": n_obs, "privileged": n_priv},
    }
    assert {"actor.features.0", "critic.features.0"} <= {p["name"] for p in info["parts"]}


def test_export_keeps_only_the_actor(privileged_run: Path, tmp_path: Path) -> None:
    policy = load_run(privileged_run)
    out = export_policy(privileged_run, "onnx", tmp_path / "exported")
    ctrl = PolicyController.load(out)
    n_robot = make_env("cartpole").observation_space.shape[0]
    n_obs = policy.model.observation_space["observation"].shape[0]
    assert ctrl.metadata["observation"]["shape"] == [n_obs]  # robot obs + history, no dynamics
    assert ctrl.obs_shape == (n_robot,)
    assert not any("mass_scale" in n for n in ctrl.input_names)
    ctrl_onnx = PolicyController.load(out, backend="onnxruntime")
    agent = SB3Agent(policy)  # the SB3 side, with the critic's inputs at zero
    env = make_env("cartpole")
    obs, _ = env.reset(seed=0)
    for _ in range(30):  # the controller runs without any dynamics values
        action = ctrl.act(obs)
        np.testing.assert_allclose(action, agent.act(obs), atol=1e-5, rtol=0)
        np.testing.assert_allclose(ctrl_onnx.act(obs), action, atol=1e-5, rtol=0)
        obs, *_ = env.step(action)


def test_evaluation_on_a_target_without_randomization(privileged_run: Path) -> None:
    res = evaluate(SB3Agent(load_run(privileged_run)), "cartpole", "nominal", episodes=2)
    assert len(res.returns) == 2 and all(n > 0 for n in res.lengths)


def test_transfer_between_privileged_critics(privileged_run: Path, tmp_path: Path) -> None:
    import yaml

    from sim2real.transfer.config import load_transfer_config
    from sim2real.transfer.run import run_transfer

    source = load_run(privileged_run)
    data = {**load_config("smoke", [*TINY, *PRIV, "history={length: 2}"]).to_dict()}
    data["domain"] = "heavy_pole"  # randomized too (a target domain): the critic sees it
    data["transfer"] = {"source": str(privileged_run), "copy": ["all"]}
    path = tmp_path / "transfer.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_transfer(load_transfer_config(path), out_dir=tmp_path / "run", quiet=True)
    assert isinstance(result.model.policy, PrivilegedCriticPolicy)
    assert result.model.observation_space == source.model.observation_space
    data["policy"]["privileged_critic"] = False
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"policy.privileged_critic: the source .* on"):
        run_transfer(load_transfer_config(path), out_dir=tmp_path / "run2", quiet=True)
