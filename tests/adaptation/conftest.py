"""A tiny cart-pole adaptation run (both RMA phases), shared by the adaptation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim2real.config import load_config
from sim2real.training import train

TINY = [
    "total_timesteps=512",
    "hyperparams.n_steps=128",
    "eval.freq=0",
    "eval.episodes=1",
    "checkpoint_freq=0",
    "adaptation.latent_dim=4",
    "adaptation.history=8",
    "adaptation.module=[64]",
    "adaptation.timesteps=3000",
    "adaptation.rollout=300",
    "adaptation.epochs=8",
    "adaptation.batch_size=64",
]


@pytest.fixture(scope="session")
def rma_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny cart-pole adaptation run (both phases)."""
    out = tmp_path_factory.mktemp("rma") / "run"
    train(load_config("cartpole_ppo", TINY), out_dir=out, quiet=True)
    return out
