"""End to end through the CLI: a tiny benchmark (2 seeds, 256 steps), then a resume."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.cli_runner import run_cli


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("benchmark", *args, timeout=600)


def test_tiny_benchmark_then_resume(
    tiny_source: Path, tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    cfg = make_config(tmp_path, tiny_source)
    out = tmp_path / "bench"
    first = _cli(str(cfg), "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["computed"] == 4 and data["reused"] == 0
    assert set(data["arms"]) == {"scratch", "finetune"}
    assert "speedup" in data["comparisons"]["finetune"]

    report = json.loads((out / "report.json").read_text())
    for arm in ("scratch", "finetune"):
        steps = report["curves"][arm]["steps"]
        assert steps[0] == 0 and steps[-1] == 256  # eval at start, every 128, at the end
        assert len(report["curves"][arm]["per_seed"]) == 2
        for seed in (0, 1):
            assert (out / "runs" / arm / f"seed_{seed}" / "model.zip").is_file()
    assert report["zero_shot"]["episodes"] == 2
    assert report["source"]["steps"] == 256
    assert report["versions"]["stable-baselines3"]
    assert (out / "report.md").read_text().count("| finetune |") == 2
    assert (out / "learning_curves.png").is_file()
    assert (out / "tb" / "summary").is_dir()

    mtimes = {p: p.stat().st_mtime for p in out.glob("runs/*/*/model.zip")}
    second = _cli(str(cfg), "--out", str(out), "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["computed"] == 0 and again["reused"] == 4
    assert {p: p.stat().st_mtime for p in out.glob("runs/*/*/model.zip")} == mtimes
    assert json.loads((out / "report.json").read_text())["curves"] == report["curves"]

    # an interrupted run (no finished meta.json) is recomputed, the others are reused
    import shutil

    shutil.rmtree(out / "runs" / "finetune" / "seed_1")
    third = _cli(str(cfg), "--out", str(out), "--json", "--workers", "1")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["computed"] == 1
    assert (
        json.loads((out / "report.json").read_text())["curves"] == report["curves"]
    )  # deterministic


def test_bad_config_is_one_line_exit_2(
    tiny_source: Path, tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    cfg = make_config(tmp_path, tiny_source, arms={"finetune": {"strategy": ["nope"]}})
    res = _cli(str(cfg), "--out", str(tmp_path / "x"))
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    assert "finetune" in res.stderr

    res = _cli(str(make_config(tmp_path, tmp_path / "missing")), "--out", str(tmp_path / "y"))
    assert res.returncode == 2 and "not found" in res.stderr
