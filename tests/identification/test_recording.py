"""Rollout datasets: round trip, appending, validation on load, simulator state, ControlLoop hook."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from sim2real.controller import ControlLoop, StepFeedback, load_rollouts
from sim2real.controller.recording import RolloutRecorder
from sim2real.envs import make_env
from sim2real.errors import DatasetError
from tests.identification.conftest import synthetic


def _record(env_name: str, episodes: int, steps: int, seed: int = 0):
    return synthetic(env_name, {}, episodes, steps, seed)


def test_round_trip_and_append(tmp_path: Path) -> None:
    data = _record("cartpole_swingup", episodes=2, steps=30)
    path = data.save(tmp_path / "r.npz")
    back = load_rollouts(path)
    assert len(back) == 60 and back.n_episodes == 2
    for key in ("observations", "actions", "next_observations", "rewards", "states"):
        np.testing.assert_array_equal(getattr(back, key), getattr(data, key))
    assert back.observation_names == data.observation_names
    assert back.truncations.sum() == 2 and not back.terminations.any()
    np.testing.assert_allclose(back.timestamps[1] - back.timestamps[0], 0.0165)
    data.save(path)  # append
    both = load_rollouts(path)
    assert len(both) == 120 and both.n_episodes == 4
    assert list(np.unique(both.episode_ids)) == [0, 1, 2, 3]
    assert [len(rows) for rows in both.episodes()] == [30] * 4
    assert not list(tmp_path.glob(".tmp_*"))  # atomic write leaves nothing behind
    with zipfile.ZipFile(path) as z:  # plain arrays: nothing needs pickle
        assert all(name.endswith(".npy") for name in z.namelist())


@pytest.mark.parametrize("env_name", ["cartpole", "hopper"])
def test_restored_state_reproduces_the_recorded_step(env_name: str) -> None:
    data = _record(env_name, episodes=1, steps=40)
    sim = make_env(env_name).unwrapped
    sim.reset(seed=123)  # another initial state: the restore must override all of it
    rows = data.episodes()[0]
    assert len(rows) > 10
    for t in rows[5:]:
        sim.set_sim_state(data.states[t])
        sim.set_action_history(data.actions[rows[0] : t])
        obs = sim.step(data.actions[t])[0]
        np.testing.assert_allclose(obs, data.next_observations[t], atol=1e-6)
    with pytest.raises(ValueError, match="sim state has"):
        sim.set_sim_state(np.zeros(3))


def _save_raw(path: Path, **changes: np.ndarray) -> Path:
    data = _record("cartpole", episodes=1, steps=10)
    data.save(path)
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays.update(changes)
    for key, value in list(arrays.items()):
        if value is None:
            del arrays[key]
    np.savez(path, **arrays)
    return path


def test_validation_errors_are_one_line(tmp_path: Path) -> None:
    obs = np.zeros((10, 5))
    obs[3, 1] = np.nan
    cases = {
        "NaN": _save_raw(tmp_path / "nan.npz", observations=obs),
        "shape": _save_raw(tmp_path / "shape.npz", actions=np.zeros((10, 2))),
        "missing arrays": _save_raw(tmp_path / "miss.npz", rewards=None),
        "decrease": _save_raw(tmp_path / "order.npz", episode_ids=np.arange(10)[::-1]),
    }
    for needle, path in cases.items():
        with pytest.raises(DatasetError, match=needle) as info:
            load_rollouts(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(DatasetError, match="cart_vx"):  # names the observation entry
        load_rollouts(cases["NaN"])
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match="not a rollout dataset"):
        load_rollouts(tmp_path / "junk.npz")
    with pytest.raises(DatasetError, match="no such rollout file"):
        load_rollouts(tmp_path / "absent.npz")
    good = load_rollouts(_save_raw(tmp_path / "good.npz"))
    with pytest.raises(DatasetError, match="observation names do not match"):
        good.check_layout(("a", "b", "c", "d", "e"), good.action_names)
    hopper = _record("hopper", episodes=1, steps=5)
    with pytest.raises(DatasetError, match="do not match"):
        hopper.save(tmp_path / "good.npz")  # appending another env's rows


class _Robot:
    """Episodes of 3 steps; the observation counts steps."""

    def __init__(self) -> None:
        self.t = 0

    def reset(self) -> np.ndarray:
        self.t = 0
        return self.read_observation()

    def read_observation(self) -> np.ndarray:
        return np.array([float(self.t)])

    def send_action(self, action: np.ndarray) -> StepFeedback:
        self.t += 1
        return StepFeedback(1.0, self.t >= 3, truncated=True)


def test_control_loop_records_every_transition(tmp_path: Path) -> None:
    robot = _Robot()
    rec = RolloutRecorder(["count"], ["push"], state_fn=lambda: np.array([float(robot.t)]))
    ControlLoop(robot, lambda o: o + 0.5, rate_hz=2000, recorder=rec).run(ticks=7)
    data = rec.dataset()
    assert data.states is not None  # the state is taken when the observation is read
    np.testing.assert_array_equal(data.states[:, 0], data.observations[:, 0])
    assert len(data) == 7 and data.n_episodes == 3
    np.testing.assert_array_equal(data.observations[:, 0], [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(data.next_observations[:, 0], [1, 2, 3, 1, 2, 3, 1])
    np.testing.assert_array_equal(data.actions[:, 0], data.observations[:, 0] + 0.5)
    assert data.truncations.tolist() == [False, False, True] * 2 + [True]
    assert np.all(np.diff(data.timestamps[:2]) > 0)
    load_rollouts(data.save(tmp_path / "loop.npz"))
