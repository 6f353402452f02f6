"""ControlLoop against a fake robot: ticks, episodes, returns, deadline misses."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sim2real.controller import ControlLoop, RobotInterface, StepFeedback


class CountingRobot:
    """Episodes of ``length`` steps, reward = the action sent."""

    def __init__(self, length: int = 4) -> None:
        self.length, self.t, self.resets, self.actions = length, 0, 0, []

    def reset(self) -> np.ndarray:
        self.t, self.resets = 0, self.resets + 1
        return self.read_observation()

    def read_observation(self) -> np.ndarray:
        return np.array([self.t], np.float32)

    def send_action(self, action: np.ndarray) -> StepFeedback:
        self.actions.append(float(action[0]))
        self.t += 1
        return StepFeedback(float(action[0]), self.t >= self.length)


def test_episodes_returns_and_resets() -> None:
    robot = CountingRobot(length=4)
    assert isinstance(robot, RobotInterface)
    resets = []
    loop = ControlLoop(robot, lambda obs: obs + 1.0, rate_hz=500, on_reset=lambda: resets.append(1))
    report = loop.run(ticks=10)
    assert report.ticks == 10 and report.episodes_completed == 2
    assert report.returns == [1 + 2 + 3 + 4] * 2 and report.partial_return == 1 + 2
    assert robot.resets == 3 and len(resets) == 3
    assert report.duration_s >= 9 / 500
    assert set(report.act_latency_us) == {"p50", "p90", "p99", "max"}


def test_slow_ticks_count_as_deadline_misses_without_bursting() -> None:
    def slow_act(obs: np.ndarray) -> np.ndarray:
        time.sleep(0.012)
        return obs

    report = ControlLoop(CountingRobot(100), slow_act, rate_hz=100).run(ticks=5)
    assert report.deadline_misses == 5
    assert report.act_latency_us["p50"] >= 12_000


def test_real_robot_without_feedback_and_bad_args() -> None:
    class Quiet(CountingRobot):
        def send_action(self, action: np.ndarray) -> None:  # type: ignore[override]
            super().send_action(action)

    report = ControlLoop(Quiet(3), lambda o: o, rate_hz=1000).run(seconds=0.005)
    assert report.ticks == 5 and report.episodes_completed == 0 and report.returns == []
    with pytest.raises(ValueError):
        ControlLoop(Quiet(), lambda o: o, rate_hz=0)
    with pytest.raises(ValueError):
        ControlLoop(Quiet(), lambda o: o, rate_hz=10).run()


def test_warmup_runs_before_ticks() -> None:
    calls: list[int] = []
    report = ControlLoop(
        CountingRobot(100), lambda o: o, rate_hz=200, warmup=lambda: calls.append(1)
    ).run(ticks=6)
    assert report.ticks == 6 and 1 <= len(calls) <= 6
