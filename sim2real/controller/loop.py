"""A fixed-rate control loop around a :class:`RobotInterface` (a real robot or the simulator).

Each tick: read the observation, compute the action, send it, then sleep until the next tick.
With a :class:`~sim2real.controller.recording.RolloutRecorder` the loop also records every
transition (after the action is sent, so recording never delays it) for system identification.
A tick whose work ends after its deadline (tick start + period) is a *deadline miss*; the loop
then re-aligns to the next period boundary instead of bursting to catch up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from sim2real.controller.recording import RolloutRecorder

__all__ = ["ControlLoop", "LoopReport", "RobotInterface", "StepFeedback"]


class StepFeedback(NamedTuple):
    """What a simulated robot can tell after an action: reward and whether the episode ended
    (``truncated``: it ended by a time limit, not in a terminal state)."""

    reward: float
    done: bool
    truncated: bool = False


@runtime_checkable
class RobotInterface(Protocol):
    """What the control loop needs from a robot. Put your hardware driver behind these three methods.

    * ``reset() -> obs``: bring the robot to its start state (or just wait until it is safe to
      start) and return the first observation;
    * ``read_observation() -> obs``: the latest observation, a float32/float64 array laid out as
      the policy's ``metadata.json`` ``observation.names`` says (same units as in simulation);
    * ``send_action(action) -> StepFeedback | None``: command the actuators with ``action``
      (laid out as ``action.names``, inside ``action.low``/``action.high``). A real robot returns
      ``None``; a simulator returns the reward and whether the episode ended (the loop then calls
      ``reset()`` on the robot and the controller).

    All three must return quickly: the loop calls them once per tick.
    """

    def reset(self) -> np.ndarray: ...

    def read_observation(self) -> np.ndarray: ...

    def send_action(self, action: np.ndarray) -> StepFeedback | None: ...


@dataclass
class LoopReport:
    """Result of :meth:`ControlLoop.run` (all times in seconds unless named ``_us``)."""

    rate_hz: float
    ticks: int
    duration_s: float
    achieved_rate_hz: float
    deadline_misses: int
    act_latency_us: dict[str, float]
    tick_work_us: dict[str, float]
    episodes_completed: int
    returns: list[float]
    partial_return: float
    controller: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _percentiles(samples_ns: np.ndarray) -> dict[str, float]:
    if samples_ns.size == 0:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    p50, p90, p99 = (float(v) for v in np.percentile(samples_ns, [50, 90, 99]) / 1e3)
    return {"p50": p50, "p90": p90, "p99": p99, "max": float(samples_ns.max()) / 1e3}


class ControlLoop:
    """Run ``act`` against ``robot`` at ``rate_hz`` for a number of ticks or seconds.

    Args:
        robot: anything implementing :class:`RobotInterface`.
        act: observation -> action, usually ``PolicyController.act``.
        rate_hz: control rate.
        on_reset: called after each episode end (e.g. ``PolicyController.reset``).
        warmup: called once shortly (~0.3 ms) before each tick, e.g. ``PolicyController.warm``:
            after a sleep the policy's code and data are out of the CPU caches, and a dry run
            makes the real ``act`` several times faster on a busy machine.
        recorder: records each transition ``(obs, action, next obs, reward, done)`` with its
            time since the start of the run; call ``recorder.save(path)`` afterwards.
        clock, sleep: injectable for tests (defaults ``time.perf_counter_ns``, ``time.sleep``).
    """

    def __init__(
        self,
        robot: RobotInterface,
        act: Callable[[np.ndarray], np.ndarray],
        rate_hz: float,
        *,
        on_reset: Callable[[], None] | None = None,
        warmup: Callable[[], object] | None = None,
        recorder: RolloutRecorder | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.robot, self.act, self.rate_hz = robot, act, float(rate_hz)
        self.on_reset = on_reset
        self.warmup = warmup
        self.recorder = recorder
        self._clock, self._sleep = clock, sleep

    def run(self, seconds: float | None = None, ticks: int | None = None) -> LoopReport:
        """Control for ``seconds`` (wall clock) or ``ticks`` ticks, whichever is given."""
        if (seconds is None) == (ticks is None):
            raise ValueError("give exactly one of seconds or ticks")
        period = round(1e9 / self.rate_hz)
        n_ticks = ticks if ticks is not None else max(1, round(seconds * self.rate_hz))  # type: ignore[operator]
        act_ns = np.zeros(n_ticks, dtype=np.int64)
        work_ns = np.zeros(n_ticks, dtype=np.int64)
        returns: list[float] = []
        ep_return, misses = 0.0, 0
        self.robot.reset()
        if self.on_reset:
            self.on_reset()
        clock = self._clock
        start = clock()
        deadline = start + period
        rec = self.recorder
        pending: tuple[np.ndarray, StepFeedback | None] | None = None  # last tick, to record
        for i in range(n_ticks):
            tick_start = clock()
            obs = self.robot.read_observation()
            state = rec.snapshot() if rec is not None else None  # None on a real robot
            t0 = clock()
            action = self.act(obs)
            act_ns[i] = clock() - t0
            feedback = self.robot.send_action(action)
            done_at = clock()
            work_ns[i] = done_at - tick_start
            if rec is not None:
                self._record(rec, pending, obs, (tick_start - start) / 1e9, state)
                pending = (action, feedback)
            if feedback is not None:
                ep_return += float(feedback.reward)
                if feedback.done:
                    if rec is not None:
                        last = self.robot.read_observation()
                        self._record(rec, pending, last, None, rec.snapshot())
                        pending = None
                    returns.append(ep_return)
                    ep_return = 0.0
                    self.robot.reset()
                    if self.on_reset:
                        self.on_reset()
            done_at = clock()
            if done_at > deadline:
                misses += 1
                deadline += ((done_at - deadline) // period + 1) * period
            else:
                self._wait_until(deadline)
                deadline += period
        if rec is not None and pending is not None:
            last, t = self.robot.read_observation(), (clock() - start) / 1e9
            self._record(rec, pending, last, t, rec.snapshot())
            rec.end()
        duration = (clock() - start) / 1e9
        stats = getattr(getattr(self.act, "__self__", None), "stats", None)
        return LoopReport(
            rate_hz=self.rate_hz,
            ticks=n_ticks,
            duration_s=duration,
            achieved_rate_hz=n_ticks / duration if duration > 0 else float("nan"),
            deadline_misses=misses,
            act_latency_us=_percentiles(act_ns),
            tick_work_us=_percentiles(work_ns),
            episodes_completed=len(returns),
            returns=returns,
            partial_return=ep_return,
            controller=stats() if callable(stats) else {},
        )

    @staticmethod
    def _record(
        rec: RolloutRecorder,
        pending: tuple[np.ndarray, StepFeedback | None] | None,
        obs: np.ndarray,
        t: float | None,
        state: np.ndarray | None,
    ) -> None:
        """Complete the pending transition with ``obs`` (or start an episode at ``obs``)."""
        if pending is None:
            rec.start_episode(obs, t or 0.0, state)
            return
        action, fb = pending
        done = fb is not None and fb.done
        truncated = done and fb is not None and fb.truncated
        reward = float(fb.reward) if fb is not None else 0.0
        rec.add_step(action, obs, reward, done and not truncated, truncated, t, state)

    def _wait_until(self, deadline_ns: int) -> None:
        # sleep most of the way, warm the policy up, then spin the last ~200 us for a precise tick
        warm = self.warmup
        while True:
            remaining = deadline_ns - self._clock()
            if remaining <= 0:
                return
            if remaining > 300_000:
                self._sleep((remaining - 250_000) / 1e9)
            elif warm is not None:
                warm()
                warm = None
