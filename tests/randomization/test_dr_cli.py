"""CLI: `envs sample` prints parseable JSON; `envs show --json` has the domains; bad YAML exits 2."""

from __future__ import annotations

import json

from tests.cli_runner import run_cli


def test_envs_sample_json_parses_and_is_seeded():
    out = run_cli(
        "envs", "sample", "cartpole", "--domain", "source", "--seed", "3", "-n", "4", "--json"
    )
    assert out.returncode == 0, out.stderr
    samples = json.loads(out.stdout)
    assert len(samples) == 4
    assert all(0.8 <= v <= 1.2 for s in samples for v in s["mass_scale"].values())
    again = json.loads(run_cli("envs", "sample", "cartpole", "-s", "3", "-n", "4", "--json").stdout)
    assert again == samples


def test_envs_show_json_includes_source_and_targets():
    out = run_cli("envs", "show", "cartpole", "--json")
    assert out.returncode == 0, out.stderr
    domains = json.loads(out.stdout)["domains"]
    assert {r["parameter"] for r in domains["source"]["parameters"]} >= {"mass_scale"}
    heavy = domains["targets"]["heavy_pole"]["shifts"]["mass_scale"]["entities"]["pole"]
    assert heavy > 1.2  # outside the source's 0.8-1.2


def test_envs_show_lists_actuator_parameters_and_named_sources():
    out = run_cli("envs", "show", "hopper", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    names = {p["name"] for p in info["parameters"]}
    assert {"motor_time_constant", "motor_velocity_limit", "armature"} <= names
    rows = info["domains"]["sources"]["source_actuators"]["parameters"]
    assert {"motor_time_constant", "armature"} <= {r["parameter"] for r in rows}
    table = run_cli("envs", "show", "hopper")
    assert "source_actuators randomization" in table.stdout and "motor_deadband" in table.stdout


def test_bad_domain_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "targets:\n  x:\n    parameters:\n      mass_scale: {dist: uniform, low: 2, high: 1}\n"
    )
    out = run_cli("envs", "sample", "cartpole", "--domain", f"{bad}:x")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [f"error: {bad}: targets.x.parameters.mass_scale: low 2 > high 1"]
    assert "Traceback" not in out.stderr
