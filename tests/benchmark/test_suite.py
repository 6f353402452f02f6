"""Benchmark suites: entries run in turn into one table, resume, and bad suites fail first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sim2real.benchmark.suite import load_suite_config, run_suite
from sim2real.errors import ConfigError
from tests.benchmark.conftest import write_tiny_config
from tests.cli_runner import error_line, invoke


def _suite(folder: Path, source: Path, **over: object) -> Path:
    bench = write_tiny_config(folder, source, seeds=1, workers=1)
    data = {
        "suite": "tiny",
        "entries": [
            {"benchmark": str(bench), "name": "nominal"},
            {"benchmark": str(bench), "name": "heavy", "set": ["target=heavy_pole"],
             "quick": ["budget=128"]},
        ],
        **over,
    }  # fmt: skip
    path = folder / "tiny_suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_suite_runs_every_entry_into_one_table_and_resumes(
    tmp_path: Path, tiny_source: Path
) -> None:
    suite = load_suite_config(_suite(tmp_path, tiny_source))
    out = tmp_path / "out"
    result = run_suite(suite, out, command="test")
    assert [(r.entry, r.target, r.arm) for r in result.rows] == [
        ("nominal", "nominal", "finetune"),
        ("heavy", "heavy_pole", "finetune"),
    ]
    table = (out / "suite.md").read_text()
    assert "| nominal | cartpole | nominal | finetune |" in table
    assert "| heavy | cartpole | heavy_pole | finetune |" in table
    data = json.loads((out / "suite.json").read_text())
    assert data["status"] == "finished" and len(data["rows"]) == 2
    assert (out / "suite.png").stat().st_size > 0
    assert (out / "nominal" / "report.json").is_file() and (out / "heavy" / "tb").is_dir()
    mtimes = {p: p.stat().st_mtime for p in out.glob("*/runs/**/model.zip")}
    assert mtimes
    again = run_suite(suite, out, command="test")  # finished runs are reused, not recomputed
    assert again.rows == result.rows
    assert all(p.stat().st_mtime == t for p, t in mtimes.items())


def test_quick_adds_each_entrys_quick_overrides(tmp_path: Path, tiny_source: Path) -> None:
    from sim2real.benchmark.suite import _entry_overrides

    suite = load_suite_config(_suite(tmp_path, tiny_source))
    assert _entry_overrides(suite.entries[1], True, ["seeds=3"]) == [
        "target=heavy_pole",
        "budget=128",
        "seeds=3",
    ]
    assert _entry_overrides(suite.entries[1], False, []) == ["target=heavy_pole"]


def test_bad_suites_fail_before_any_run(tmp_path: Path, tiny_source: Path) -> None:
    path = _suite(tmp_path, tiny_source)
    data = yaml.safe_load(path.read_text())
    data["entries"][1]["name"] = "nominal"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="entry names repeat"):
        run_suite(load_suite_config(path), tmp_path / "out")
    data["entries"][1]["set"] = ["budget=-1"]
    data["entries"][1]["name"] = "heavy"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="budget"):
        run_suite(load_suite_config(path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_suite_cli_checks_out_and_quick(tmp_path: Path, tiny_source: Path) -> None:
    path = _suite(tmp_path, tiny_source)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    assert "holds no run of suite 'tiny'" in error_line(
        invoke("benchmark", str(path), "--out", str(other), "--quiet")
    )
    assert "not a suite config" in error_line(invoke("benchmark", "quickstart", "--quick"))
    assert (other / "notes.txt").read_text() == "x" and len(list(other.iterdir())) == 1


def test_the_shipped_suite_loads_with_and_without_quick() -> None:
    from sim2real.benchmark.suite import check_suite

    suite = load_suite_config("suite")
    check_suite(suite)
    check_suite(suite, quick=True)
    assert len(suite.entries) >= 6
