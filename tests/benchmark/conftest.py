"""Shared fixtures: a tiny pretrained source run and a tiny benchmark config (seconds)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 256-step PPO source run on cartpole (net_arch [16])."""
    from sim2real.config import load_config
    from sim2real.training import train

    out = tmp_path_factory.mktemp("source") / "run"
    cfg = load_config("smoke", ["checkpoint_freq=0", "eval.freq=0"])
    train(cfg, out_dir=out, quiet=True)
    return out


@pytest.fixture
def make_config() -> Callable[..., Path]:
    """``make_config(folder, source, **overrides) -> path`` of a tiny benchmark config."""
    return write_tiny_config


def write_tiny_config(folder: Path, source: Path, **over: object) -> Path:
    """A 2-seed, 256-step benchmark of scratch vs finetune on the nominal cartpole."""
    data = {
        "benchmark": "tiny",
        "env": "cartpole",
        "target": "nominal",
        "source": {"run": str(source)},
        "train": {"hyperparams": {"n_steps": 64, "batch_size": 32, "n_epochs": 1}},
        "arms": {"finetune": {"strategy": ["finetune"]}},
        "budget": 256,
        "eval": {"every": 128, "episodes": 2, "zero_shot_episodes": 2},
        "seeds": 2,
        "workers": 2,
        "metrics": {"n_boot": 200, "last_k": 1},
        **over,
    }
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
