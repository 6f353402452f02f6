"""Backends: Ray tasks give the same curves as the local process pool for the same seeds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sim2real.benchmark import load_benchmark_config, run_benchmark


def test_ray_backend_matches_local(
    tiny_source: Path, tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    ray = pytest.importorskip("ray")
    cfg_path = make_config(tmp_path, tiny_source, seeds=[3])
    local = run_benchmark(load_benchmark_config(cfg_path), tmp_path / "local")
    try:
        remote = run_benchmark(
            load_benchmark_config(cfg_path, ["backend=ray", "workers=2"]), tmp_path / "ray"
        )
    finally:
        ray.shutdown()
    assert remote.computed == 2 and remote.reused == 0
    assert remote.report.curves == local.report.curves
    assert (
        json.loads((tmp_path / "ray" / "zero_shot.json").read_text())["returns"]
        == local.report.zero_shot["returns"]
    )


def test_changed_config_refuses_the_folder(
    tiny_source: Path, tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    from sim2real.benchmark.runner import _claim_out_dir
    from sim2real.errors import ConfigError

    cfg = load_benchmark_config(make_config(tmp_path, tiny_source))
    _claim_out_dir(cfg, tmp_path / "out", tiny_source, 256)
    _claim_out_dir(
        cfg.model_copy(update={"seeds": [0, 1, 2]}), tmp_path / "out", tiny_source, 256
    )  # seeds may grow
    with pytest.raises(ConfigError, match="different config"):
        _claim_out_dir(cfg.model_copy(update={"budget": 512}), tmp_path / "out", tiny_source, 256)
