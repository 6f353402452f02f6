"""The real robot as a target (issue 18.2): ``RobotTargetEnv`` against sim2real's PyBullet
cart-pole served over a local socket by another process, the safety layer, every transition in
the rollout dataset format, a disconnect mid-episode (clear error, data kept) and resuming, and
``sim2real transfer``/``evaluate`` on the served robot."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim2real.controller import StepFeedback, load_rollouts
from sim2real.envs.cartpole import CartPoleBalanceEnv
from sim2real.hardware import RobotDisconnected, RobotTargetEnv
from tests.cli_runner import invoke

NAMES = list(CartPoleBalanceEnv.observation_names)
ACTIONS = list(CartPoleBalanceEnv.action_names)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(*extra: str) -> Iterator[str]:
    """``python -m sim2real.hardware.link cartpole`` in another process; yields its address."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim2real.hardware.link", "cartpole", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def _robot_env(address: str, record: Path | None, **kw) -> RobotTargetEnv:
    return RobotTargetEnv(
        address,
        NAMES,
        ACTIONS,
        control_period=0.005,
        max_episode_steps=20,
        record=str(record) if record else None,
        watchdog=200.0,
        **kw,
    )  # fmt: skip  (a loaded test machine must not trip the watchdog; tested on its own)


def _episode(env: RobotTargetEnv, action: float = 0.0) -> int:
    env.reset()
    steps = 0
    while True:
        steps += 1
        _, _, term, trunc, info = env.step(np.array([action], np.float32))
        if term or trunc:
            assert info["checkpoint_episode"]
            return steps


def test_served_robot_runs_at_its_rate_and_records_every_transition(tmp_path: Path) -> None:
    record = tmp_path / "robot.npz"
    ends: list[dict] = []
    with served() as address:
        env = _robot_env(address, record, episode_end_hook=lambda e, info: ends.append(info))
        t0 = time.monotonic()
        lengths = [_episode(env), _episode(env)]
        elapsed = time.monotonic() - t0
        env.close()
    assert lengths == [20, 20] and len(ends) == 2
    assert elapsed >= 40 * 0.005 * 0.9  # paced to the control period
    data = load_rollouts(record)
    data.check_layout(NAMES, ACTIONS)
    assert len(data) == 40 and data.n_episodes == 2
    assert data.truncations.sum() == 2 and np.isfinite(data.observations).all()
    assert data.meta["control_period"] == 0.005
    np.testing.assert_allclose(data.observations[1:20], data.next_observations[:19])


class FakeRobot:
    """In-process robot for the safety layer: records what it was sent."""

    def __init__(self, readings: list[list[float]]) -> None:
        self.readings, self.sent, self.i = readings, [], 0

    def reset(self) -> np.ndarray:
        self.i = 0
        return np.zeros(5)

    def read_observation(self) -> np.ndarray:
        obs = np.array(self.readings[min(self.i, len(self.readings) - 1)], np.float64)
        self.i += 1
        return obs

    def send_action(self, action: np.ndarray) -> StepFeedback | None:
        self.sent.append(action.copy())
        return None


def test_safety_layer_bounds_rate_limit_and_stops(tmp_path: Path) -> None:
    robot = FakeRobot([[0.1] * 5] * 3 + [[0.1, np.nan, 0, 0, 0]])
    stops: list[RobotTargetEnv] = []
    resets: list[int] = []
    env = RobotTargetEnv(
        robot, NAMES, ACTIONS, control_period=0.05, max_action_delta=0.25,  # 3 periods = 150 ms:
        # a loaded CI machine must not trip the watchdog between two of these steps
        stop_hook=stops.append, reset_hook=lambda e: resets.append(e.episode),
        record=str(tmp_path / "r.npz"),
    )  # fmt: skip
    env.reset()
    for _ in range(3):
        _, _, term, trunc, _ = env.step(np.array([5.0], np.float32))  # far beyond the bounds
        assert not (term or trunc)
    np.testing.assert_allclose(np.concatenate(robot.sent), [0.25, 0.5, 0.75])  # rate-limited
    obs, _, term, _, info = env.step(np.array([1.0], np.float32))
    assert term and "non-finite observation cart_vx" in info["safety_stop"] and stops
    assert np.isfinite(obs).all() and resets == [-1]
    assert np.isfinite(load_rollouts(tmp_path / "r.npz").next_observations).all()
    # out of range
    env2 = RobotTargetEnv(FakeRobot([[0, 9.0, 0, 0, 0]]), NAMES, ACTIONS, obs_limit=5.0)
    env2.reset()
    _, _, term, _, info = env2.step(np.zeros(1, np.float32))
    assert term and "cart_vx = 9 beyond obs_limit 5" in info["safety_stop"]
    # watchdog: the learner stalls for 10 periods
    env3 = RobotTargetEnv(FakeRobot([[0.0] * 5]), NAMES, ACTIONS, control_period=0.01)
    env3.reset()
    time.sleep(0.1)
    _, _, term, trunc, info = env3.step(np.zeros(1, np.float32))
    assert trunc and not term and info["safety_stop"].startswith("watchdog")


def test_disconnect_mid_episode_keeps_the_data_and_resumes(tmp_path: Path) -> None:
    record = tmp_path / "robot.npz"
    with served("--max-steps", "30") as address:  # the robot goes away at step 31
        env = _robot_env(address, record)
        assert _episode(env) == 20
        with pytest.raises(RobotDisconnected) as info:
            _episode(env)
    msg = str(info.value)
    assert "\n" not in msg and "at step 10 of episode 1" in msg
    assert f"10 transitions of this session saved to {record}" in msg and "resume" in msg
    data = load_rollouts(record)
    assert len(data) == 30 and data.n_episodes == 2 and data.truncations[-1]
    with served() as address:  # the robot is back: a new session appends
        env = _robot_env(address, record)
        _episode(env)
        env.close()
    data = load_rollouts(record)
    assert len(data) == 50 and data.n_episodes == 3


def test_transfer_and_evaluate_on_the_served_robot(tmp_path: Path) -> None:
    src = tmp_path / "src"
    proc = invoke("pretrain", "smoke", "--out", str(src), "--quiet", "--set", "eval.freq=0")
    assert proc.returncode == 0, proc.stderr
    with served() as address:
        cfg = {
            "experiment": "robot", "env": "sim2real.hardware:RobotTargetEnv", "dynamics": "none",
            "domain": "nominal", "algo": "ppo",
            "env_kwargs": {"robot": address, "observation_names": NAMES, "action_names": ACTIONS,
                           "control_period": 0.0165, "realtime": False, "max_episode_steps": 40,
                           "record": str(tmp_path / "robot.npz")},
            "hyperparams": {"n_steps": 64, "batch_size": 32, "n_epochs": 1},
            "policy": {"net_arch": [16]}, "total_timesteps": 128, "checkpoint_freq": 0,
            "eval": {"freq": 0, "at_start": False}, "device": "cpu",
            "transfer": {"copy": ["all"], "strategy": ["finetune"]},
        }  # fmt: skip
        path = tmp_path / "transfer_robot.yaml"
        path.write_text(yaml.safe_dump(cfg))
        out = invoke("transfer", str(path), "--from", str(src), "--out", str(tmp_path / "tr"),
                     "--json")  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        run = Path(json.loads(out.stdout)["run_dir"])
        reasons = [
            json.loads(p.read_text()).get("reason") for p in (run / "checkpoints").glob("*/*.json")
        ]
        assert "episode" in reasons or list((run / "checkpoints").iterdir())
        ev = invoke("evaluate", str(run), "-n", "2", "--json")
        assert ev.returncode == 0, ev.stderr[-2000:]
    data = load_rollouts(tmp_path / "robot.npz")
    assert len(data) >= 128  # every training (and evaluation) transition
