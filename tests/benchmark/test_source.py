"""The source: a shipped/existing run, or pretrained once and cached by config hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim2real.benchmark import BenchmarkConfig, prepare_source
from sim2real.errors import ConfigError, ModelFileError


def _config(tmp_path: Path, **source: object) -> BenchmarkConfig:
    return BenchmarkConfig.model_validate(
        {
            "env": "cartpole",
            "target": "nominal",
            "source": source,
            "arms": {"ft": {}},
            "cache_dir": str(tmp_path / "cache"),
        }
    )


def test_pretrained_source_is_cached_by_config_hash(tmp_path: Path) -> None:
    cfg = _config(tmp_path, pretrain="smoke", pretrain_set=["checkpoint_freq=0", "eval.freq=0"])
    run, steps = prepare_source(cfg)
    assert run.parent == (tmp_path / "cache").resolve() and steps == 256
    stamp = (run / "model.zip").stat().st_mtime_ns
    again, _ = prepare_source(cfg)  # a second benchmark does not pay again
    assert again == run and (run / "model.zip").stat().st_mtime_ns == stamp
    other, _ = prepare_source(
        _config(
            tmp_path, pretrain="smoke", pretrain_set=["checkpoint_freq=0", "eval.freq=0", "seed=1"]
        )
    )
    assert other != run  # a different pretrain config is a different cache entry


def test_source_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        prepare_source(_config(tmp_path, run=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match="benchmark env"):
        prepare_source(_config(tmp_path, pretrain="cartpole_swingup_ppo"))


def test_shipped_quickstart_policy_resolves() -> None:
    cfg = BenchmarkConfig.model_validate(
        {
            "env": "cartpole",
            "target": "nominal",
            "source": {"run": "cartpole_ppo_source"},
            "arms": {"ft": {}},
        }
    )
    run, steps = prepare_source(cfg)
    assert (run / "model.zip").stat().st_size < 1_000_000 and steps > 0
    assert (run / "README.md").is_file()
