"""`sim2real identify` on envs sim2real did not write (issue 18): pybullet-envs-gymnasium's
Hopper through the generic PyBullet adapter, a user's module:Class env with the dynamics and
simulator-state interface, and one-line errors naming what an env lacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim2real.controller.recording import RolloutDataset
from sim2real.envs import make_env
from sim2real.envs.external import register_external
from sim2real.identification.record import RecordRollouts, recorder_for
from tests.cli_runner import error_line, invoke, run_cli

pytest.importorskip("pybullet_envs_gymnasium")

HOPPER = "HopperBulletEnv-v0"
TOY = "tests.external.toy_robot:StatefulToyRobotEnv"
STATELESS_TOY = "tests.external.toy_robot:ToyRobotEnv"


def _record(env_name: str, truth: dict[str, Any], episodes: int, steps: int) -> RolloutDataset:
    """Random-action episodes under the dynamics ``truth``, set through the env's wrappers."""
    env = make_env(env_name, max_episode_steps=steps)
    env.reset(seed=0)  # third-party PyBullet envs build their world on the first reset
    env.get_wrapper_attr("set_dynamics")(truth)
    recorder = recorder_for(env, {"env": env_name})
    wrapped, rng = RecordRollouts(env, recorder), np.random.default_rng(0)
    for ep in range(episodes):
        wrapped.reset(seed=ep)
        done = False
        while not done:
            _, _, term, trunc, _ = wrapped.step(rng.uniform(-1, 1, env.action_space.shape))
            done = term or trunc
    env.close()
    return recorder.dataset()


def test_adapter_state_round_trip() -> None:
    """The PyBullet adapter's simulator state puts the world back: same next observation."""
    register_external(HOPPER, ["pybullet_envs_gymnasium"])
    env = make_env(HOPPER)
    env.reset(seed=0)
    for _ in range(5):
        env.step(np.full(env.action_space.shape, 0.5))
    state = env.get_wrapper_attr("get_sim_state")()
    first = env.step(np.full(env.action_space.shape, -0.5))[0]
    for _ in range(5):
        env.step(np.full(env.action_space.shape, 1.0))
    env.get_wrapper_attr("set_sim_state")(state)
    again = env.step(np.full(env.action_space.shape, -0.5))[0]
    np.testing.assert_allclose(again, first, atol=1e-4)
    with pytest.raises(ValueError, match="a sim state has"):
        env.get_wrapper_attr("set_sim_state")(state[:-1])
    env.close()


def test_identify_user_env_recovers_the_mass(tmp_path: Path) -> None:
    data = _record(TOY, {"mass": 2.5}, episodes=4, steps=30).save(tmp_path / "toy.npz")
    proc = invoke(
        "identify", TOY, "--data", str(data), "--params", "mass", "--budget", "60",
        "--horizon", "5", "--out", str(tmp_path / "toy.yaml"), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    fit = json.loads(proc.stdout)["fit"]
    assert fit["method"] == "likelihood"
    assert fit["parameters"][0]["estimate"] == pytest.approx(2.5, rel=0.1)
    assert "identified:" in (tmp_path / "toy.yaml").read_text()


def test_identify_third_party_pybullet_env(tmp_path: Path) -> None:
    data = _record(HOPPER, {"mass_scale": 1.5}, episodes=4, steps=20)
    assert data.states is not None  # recorded through the adapter's simulator state
    path = data.save(tmp_path / "hopper.npz")
    proc = invoke(
        "identify", HOPPER, "--gym-packages", "pybullet_envs_gymnasium", "--data", str(path),
        "--params", "mass_scale", "--method", "trajectory", "--horizon", "3", "--budget", "12",
        "--out", str(tmp_path / "hopper.yaml"), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["fit"]["evaluations"] <= 12
    assert result["after"]["multi_step"] <= result["before"]["multi_step"]
    assert (tmp_path / "hopper.yaml").is_file()


@pytest.mark.parametrize(
    "env,extra,words",
    [
        (TOY, ["--dynamics", "none"], "exposes no dynamics parameters (dynamics: none)"),
        (STATELESS_TOY, [], "ToyRobotEnv lacks get_sim_state, set_sim_state"),
    ],
)
def test_identify_names_what_the_env_lacks(
    tmp_path: Path, env: str, extra: list[str], words: str
) -> None:
    data = _record(TOY, {}, episodes=1, steps=25).save(tmp_path / "toy.npz")
    out = tmp_path / "fit.yaml"
    line = error_line(
        run_cli("identify", env, *extra, "--data", str(data), "--params", "mass", "--out", str(out))
    )
    assert words in line, line
    assert not out.exists() and not (tmp_path / "fit_report").exists()
