"""`sim2real identify` and `--record` through the CLI: a real run, and bad inputs (one line, exit 2)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim2real.controller import load_rollouts
from tests.cli_runner import error_line as _error_line
from tests.cli_runner import run_cli as cli
from tests.identification.conftest import synthetic

ENV = "cartpole_swingup"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("identify")
    truth = {"motor_strength": 0.5}
    data = synthetic(ENV, truth, episodes=3, steps=40)
    out = {"good": data.save(folder / "good.npz")}
    out["no_states"] = replace(data, states=None).save(folder / "no_states.npz")
    out["small"] = data.select(np.arange(10)).save(folder / "small.npz")
    out["hopper"] = synthetic("hopper", {}, episodes=1, steps=25).save(folder / "hopper.npz")
    obs = data.observations.copy()
    obs[7, 2] = np.nan
    np.savez(folder / "nan.npz", **{**dict(np.load(out["good"])), "observations": obs})
    out["nan"] = folder / "nan.npz"
    out["folder"] = folder
    return out


def test_identify_writes_domain_and_report(files: dict[str, Path]) -> None:
    out = files["folder"] / "fit.yaml"
    proc = cli(
        "identify", ENV, "--data", str(files["no_states"]), "--params", "motor_strength",
        "--out", str(out), "--budget", "80", "--horizon", "5", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["fit"]["method"] == "trajectory" and result["held_out"] is True
    estimate = result["fit"]["parameters"][0]["estimate"]
    assert estimate == pytest.approx(0.5, rel=0.05)
    assert result["after"]["multi_step"] < result["before"]["multi_step"]
    report = files["folder"] / "fit_report"
    assert {p.name for p in report.iterdir()} == {"report.json", "report.md", "report.png"}
    assert "motor_strength" in (report / "report.md").read_text()
    assert "identified:" in out.read_text()


@pytest.mark.parametrize(
    "args,words",
    [
        (["nope", "--data", "{good}"], "unknown env 'nope'"),
        (["{env}", "--data", "{good}", "--params", "mass"], "unknown dynamics parameter"),
        (["{env}", "--data", "{hopper}"], "names do not match"),
        (["{env}", "--data", "{nan}"], "NaN"),
        (["{env}", "--data", "{small}"], "too little data"),
        (["{env}", "--data", "{folder}/absent.npz"], "no such rollout file"),
        (["{env}", "--data", "{no_states}", "--method", "likelihood"], "needs recorded"),
        (["{env}", "--data", "{good}", "--method", "best"], "--method"),
        (["{env}", "--data", "{good}", "--budget", "0"], "--budget"),
        (["{env}", "--data", "{good}", "--out", "{folder}/x.txt"], "must end in .yaml"),
        (["{env}", "--data", "{good}", "--holdout", "1.5"], "--holdout"),
        (["{env}"], "--data"),
    ],
)
def test_bad_inputs_one_line_before_any_work(
    files: dict[str, Path], args: list[str], words: str
) -> None:
    before = sorted(p.name for p in files["folder"].iterdir())
    values = {k: str(v) for k, v in files.items()} | {"env": ENV}
    line = _error_line(cli("identify", *[a.format(**values) for a in args]))
    assert words in line, line
    assert sorted(p.name for p in files["folder"].iterdir()) == before  # nothing written


def test_evaluate_record_appends_and_checks(tmp_path: Path) -> None:
    policy = Path(__file__).parents[2] / "policies" / "cartpole_ppo_source"
    rec = tmp_path / "r.npz"
    args = ["evaluate", str(policy), "-t", "cartpole:weak_motor", "-n", "1", "--record", str(rec)]
    assert cli(*args).returncode == 0
    data = load_rollouts(rec)
    assert data.n_episodes == 1 and data.states is not None and data.meta["target"] == "weak_motor"
    assert "--record" in _error_line(cli(*args[:-1], str(tmp_path / "r.csv")))
    other = synthetic("hopper", {}, episodes=1, steps=5).save(tmp_path / "h.npz")
    assert "names do not match" in _error_line(cli(*args[:-1], str(other)))
    assert len(load_rollouts(rec)) == len(data)  # the failed runs appended nothing
