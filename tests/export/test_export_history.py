"""A policy with observation history: exported (ONNX + numpy), run by ``PolicyController`` with
its own history buffer, equal to SB3 ``predict`` on the training wrapper's input within 1e-5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim2real.config import load_config
from sim2real.controller import PolicyController, load_metadata
from sim2real.envs.registry import make_env
from sim2real.errors import ModelFileError
from sim2real.export import export_policy
from sim2real.training import load_run, train
from sim2real.training.history import HistoryObservation

TOL = 1e-5
TINY = ["total_timesteps=256", "eval.freq=0", "eval.at_start=false", "checkpoint_freq=0"]
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")


@pytest.fixture(scope="module", params=["ppo", "sac"])
def history_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(request.param) / "run"
    extra = ["hyperparams={learning_starts: 64, batch_size: 32}"] if request.param == "sac" else []
    cfg = load_config(
        "smoke",
        [*TINY, f"algo={request.param}", "normalize=true", "history={length: 3}", *extra],
    )
    train(cfg, out, quiet=True)
    return out


@pytest.fixture(scope="module")
def history_export(history_run: Path) -> Path:
    return export_policy(history_run, "onnx", history_run.parent / "exported")


def test_metadata_records_the_history(history_export: Path) -> None:
    meta = load_metadata(history_export)
    n_obs, n_act, k = 5, 1, 3
    assert meta["format_version"] == 3
    assert meta["history"]["length"] == k and meta["history"]["actions"] is True
    assert meta["history"]["observation_size"] == n_obs
    size = n_obs + k * (n_obs + n_act)
    assert meta["observation"]["shape"] == [size] == [meta["history"]["input_size"]]
    names = meta["observation"]["names"]
    assert names[:n_obs] == ["cart_x", "cart_vx", "cos_theta", "sin_theta", "theta_dot"]
    assert names[n_obs : n_obs + 2] == ["obs[t-1].cart_x", "obs[t-1].cart_vx"]
    assert names[2 * n_obs] == "act[t-1].slider_force" and names[-1] == "act[t-3].slider_force"
    io = meta["io"]
    assert io["inputs"][0]["shape"] == ["batch", size]
    assert io["observation"][2 * n_obs]["source"] == "action.slider_force"
    assert io["observation"][n_obs]["source"] == "cart_x"
    ctrl = PolicyController.load(history_export)
    assert ctrl.obs_shape == (n_obs,) and ctrl.observation_names == names[:n_obs]


@pytest.mark.parametrize("backend", ["numpy", "onnxruntime"])
def test_controller_history_equals_sb3_over_episodes_with_a_reset(
    history_run: Path, history_export: Path, backend: str
) -> None:
    policy = load_run(history_run)
    assert policy.history is not None and policy.vec_normalize is not None
    wrapped = HistoryObservation(make_env("cartpole"), policy.history)
    ctrl = PolicyController.load(history_export, backend=backend)  # type: ignore[arg-type]
    steps = 0
    for episode, length in enumerate((40, 60)):  # the first is cut short: a reset mid-episode
        stacked, _ = wrapped.reset(seed=episode)
        ctrl.reset()
        for _ in range(length):
            robot_obs = stacked[:5].copy()  # the current entries are the robot's observation
            reference = policy.model.predict(
                policy.vec_normalize.normalize_obs(stacked), deterministic=True
            )[0]
            action = ctrl.act(robot_obs)
            np.testing.assert_allclose(action, reference, atol=TOL, rtol=0)
            stacked, _, terminated, truncated, _ = wrapped.step(action)
            steps += 1
            if terminated or truncated:
                break
    assert steps > 20


def test_controller_rejects_the_stacked_input_and_runs_without_history(
    history_export: Path,
) -> None:
    ctrl = PolicyController.load(history_export)
    with pytest.raises(Exception, match="shape"):
        ctrl.act(np.zeros(ctrl.metadata["observation"]["shape"][0], np.float32))
    obs = np.full(5, 0.1, np.float32)
    first = ctrl.act(obs)
    ctrl.act(np.full(5, np.nan, np.float32))  # a missing reading: the history holds the last
    ctrl.reset()
    np.testing.assert_array_equal(ctrl.act(obs), first)  # reset: same start, same action


def test_inconsistent_history_block_is_refused(history_export: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "p"
    shutil.copytree(history_export, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["history"]["length"] = 2
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="history: length 2"):
        PolicyController.load(copy)
