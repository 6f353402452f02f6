"""Resuming through a model builder restores what ``BaseAlgorithm.load`` would (SAC's entropy)."""

from __future__ import annotations

from pathlib import Path

import torch
from stable_baselines3 import SAC

from sim2real.training.resume import restore_into


def _sac(seed: int) -> SAC:
    return SAC(
        "MlpPolicy",
        "Pendulum-v1",
        learning_starts=32,
        batch_size=16,
        policy_kwargs={"net_arch": [8]},
        device="cpu",
        seed=seed,
    )


def test_restore_into_brings_back_entropy_coefficient_and_counters(tmp_path: Path) -> None:
    trained = _sac(0)
    trained.learn(200)
    assert trained._n_updates > 0 and float(trained.log_ent_coef.detach()) != 0.0
    trained.save(tmp_path / "model.zip")

    fresh = _sac(1)  # what a builder returns: same architecture, untrained
    restore_into(fresh, tmp_path / "model.zip", "cpu")
    assert torch.equal(fresh.log_ent_coef.detach(), trained.log_ent_coef.detach())
    assert fresh._n_updates == trained._n_updates
    assert fresh._episode_num == trained._episode_num
    assert fresh.num_timesteps == trained.num_timesteps
    for a, b in zip(fresh.policy.parameters(), trained.policy.parameters()):
        assert torch.equal(a, b)
    # the entropy optimizer keeps optimizing the restored tensor (not a stale copy)
    assert fresh.ent_coef_optimizer.param_groups[0]["params"][0] is fresh.log_ent_coef
