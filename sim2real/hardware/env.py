"""``RobotTargetEnv``: a Gymnasium env over a :class:`~sim2real.controller.RobotInterface`.

Each ``step`` holds the robot's control rate (sleeping to the next period boundary), passes the
action through the safety layer, sends it, reads the next observation and records the
transition (:class:`~sim2real.controller.RolloutRecorder`, the identification dataset format).

Safety layer (:class:`SafetyConfig`): actions clipped to the bounds and rate-limited
(``max_action_delta`` per step); a watchdog ends the episode when a step comes later than
``watchdog`` control periods after the previous one (the learner stalled: the robot ran on an
old command); a non-finite or out-of-range observation (``obs_limit``) stops the robot (the
``stop_hook``) and ends the episode. ``reset_hook`` runs before every reset (a person
repositions the robot), ``episode_end_hook`` after every episode, when the recording is also
saved and ``info["checkpoint_episode"]`` asks the trainer for a checkpoint, so an interruption
loses at most one episode. A disconnect saves what was recorded and raises
:class:`~sim2real.hardware.link.RobotDisconnected` with how to resume.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from sim2real.controller.loop import RobotInterface
from sim2real.controller.recording import RolloutRecorder
from sim2real.errors import Sim2RealError
from sim2real.hardware.link import RobotDisconnected, SocketRobot

__all__ = ["RobotTargetEnv", "SafetyConfig"]


@dataclass(frozen=True)
class SafetyConfig:
    """The safety layer between the policy and the robot."""

    max_action_delta: float | None = None
    """Largest change of any action entry from one step to the next (None: no rate limit)."""
    obs_limit: float | None = None
    """Stop when any observation entry's magnitude exceeds this (None: only non-finite stops)."""
    watchdog: float = 3.0
    """End the episode when a step comes later than this many control periods after the last."""


def _hook(spec: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    if spec is None or callable(spec):
        return spec
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise Sim2RealError(f"hook {spec!r}: cannot import ({exc})") from None


class RobotTargetEnv(gym.Env[np.ndarray, np.ndarray]):
    """A real (or served) robot as a Gymnasium env; see the module docstring.

    Args:
        robot: ``HOST:PORT`` of a :func:`~sim2real.hardware.serve_robot` server, or a
            ``RobotInterface``.
        observation_names, action_names: the layouts (as in the policy's metadata).
        action_low, action_high: action bounds sent to the robot (default [-1, 1]).
        control_period: seconds per step; ``realtime=False`` does not sleep (simulated robots).
        max_episode_steps: steps before an episode is truncated.
        record: ``.npz`` rollout file every transition is appended to after each episode.
        reward: ``module:function`` ``(obs, action, next_obs) -> float``; default the robot's
            reported reward (0 for a robot that reports none).
        reset_hook, episode_end_hook, stop_hook: ``module:function`` or callables, called with
            this env (and the episode ``info`` for ``episode_end_hook``).
    """

    metadata = {"render_modes": []}  # noqa: RUF012
    is_real_robot = True

    def __init__(
        self,
        robot: str | RobotInterface,
        observation_names: Sequence[str],
        action_names: Sequence[str],
        *,
        action_low: float | Sequence[float] = -1.0,
        action_high: float | Sequence[float] = 1.0,
        control_period: float = 0.02,
        max_episode_steps: int = 200,
        realtime: bool = True,
        record: str | None = None,
        reward: str | Callable[..., float] | None = None,
        max_action_delta: float | None = None,
        obs_limit: float | None = None,
        watchdog: float = 3.0,
        reset_hook: str | Callable[..., Any] | None = None,
        episode_end_hook: str | Callable[..., Any] | None = None,
        stop_hook: str | Callable[..., Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.robot: Any = SocketRobot(robot) if isinstance(robot, str) else robot
        self.observation_names = tuple(observation_names)
        self.action_names = tuple(action_names)
        n_obs, n_act = len(self.observation_names), len(self.action_names)
        low = np.broadcast_to(np.asarray(action_low, np.float32), (n_act,))
        high = np.broadcast_to(np.asarray(action_high, np.float32), (n_act,))
        self.action_space = gym.spaces.Box(low.copy(), high.copy(), dtype=np.float32)
        self._low, self._high = low.astype(np.float64), high.astype(np.float64)
        bound = np.inf if obs_limit is None else float(obs_limit)
        self.observation_space = gym.spaces.Box(-bound, bound, (n_obs,), np.float32)
        self.control_dt = float(control_period)
        self.max_episode_steps = int(max_episode_steps)
        self.realtime = realtime
        self.safety = SafetyConfig(max_action_delta, obs_limit, watchdog)
        self.record_path = Path(record) if record else None
        self._reward = _hook(reward)
        self._reset_hook, self._end_hook = _hook(reset_hook), _hook(episode_end_hook)
        self._stop_hook = _hook(stop_hook)
        self.render_mode = render_mode
        self.recorder = self._new_recorder()
        self.episode = -1
        self.steps = 0
        self.stops: list[str] = []
        self._t0 = time.monotonic()
        self._last_tick = 0.0
        self._obs = np.zeros(n_obs)
        self._action = np.zeros(n_act)

    # ------------------------------------------------------------------ recording
    def _new_recorder(self) -> RolloutRecorder:
        meta = {"env": "sim2real.hardware:RobotTargetEnv", "control_period": self.control_dt}
        return RolloutRecorder(
            self.observation_names, self.action_names, meta=meta, dt=self.control_dt
        )

    def flush(self) -> int:
        """Append what was recorded to ``record`` (if set); returns the transitions written."""
        n = self.recorder.n_steps
        if self.record_path is not None and n:
            self.recorder.end()
            self.recorder.save(self.record_path, append=True)
        self.recorder = self._new_recorder()
        return n

    # ------------------------------------------------------------------ safety
    def _bad_observation(self, obs: np.ndarray) -> str | None:
        if obs.shape != (len(self.observation_names),):
            return f"observation of shape {obs.shape}, expected ({len(self.observation_names)},)"
        if not np.isfinite(obs).all():
            return "non-finite observation " + ", ".join(
                n for n, v in zip(self.observation_names, obs) if not np.isfinite(v)
            )
        limit = self.safety.obs_limit
        if limit is not None and np.abs(obs).max() > limit:
            worst = int(np.argmax(np.abs(obs)))
            return f"{self.observation_names[worst]} = {obs[worst]:.3g} beyond obs_limit {limit}"
        return None

    def _safe_action(self, action: np.ndarray) -> np.ndarray:
        a = np.clip(np.asarray(action, np.float64).reshape(-1), self._low, self._high)
        delta = self.safety.max_action_delta
        if delta is not None:
            a = np.clip(a, self._action - delta, self._action + delta)
        return a

    def _stop(self, reason: str) -> None:
        self.stops.append(f"episode {self.episode} step {self.steps}: {reason}")
        if self._stop_hook is not None:
            self._stop_hook(self)

    def _disconnected(self, exc: RobotDisconnected) -> RobotDisconnected:
        kept = self.flush()
        where = f"{self.record_path}" if self.record_path is not None else "nowhere (no record:)"
        return RobotDisconnected(
            f"{exc} at step {self.steps} of episode {self.episode}; {kept} transitions of this "
            f"session saved to {where}; restart the robot and resume (--resume RUN_DIR)"
        )

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Run ``reset_hook``, reset the robot, start recording the episode."""
        super().reset(seed=seed)
        if self._reset_hook is not None:
            self._reset_hook(self)
        try:
            obs = np.asarray(self.robot.reset(), np.float64)
        except RobotDisconnected as exc:
            raise self._disconnected(exc) from None
        bad = self._bad_observation(obs)
        if bad is not None:
            raise Sim2RealError(f"robot reset to an unsafe state ({bad}); reposition it")
        self.episode += 1
        self.steps = 0
        self._obs, self._action = obs, np.zeros(len(self.action_names))
        self._last_tick = time.monotonic()
        self.recorder.start_episode(obs, timestamp=self._last_tick - self._t0)
        return obs.astype(np.float32), {}

    def _pace(self) -> str | None:
        """Sleep to the next period boundary; the watchdog's complaint if the step came late."""
        now = time.monotonic()
        late = now - self._last_tick
        if self.realtime and late > self.safety.watchdog * self.control_dt:
            self._last_tick = now
            return f"watchdog: {late * 1e3:.0f} ms since the last step (> {self.safety.watchdog} periods)"
        if self.realtime:
            time.sleep(max(0.0, self._last_tick + self.control_dt - now))
        self._last_tick = time.monotonic()
        return None

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One control period: safety layer, send, observe, record."""
        info: dict[str, Any] = {}
        a = self._safe_action(action)
        complaint = self._pace()
        try:
            fb = self.robot.send_action(a.astype(np.float64))
            nxt = np.asarray(self.robot.read_observation(), np.float64)
        except RobotDisconnected as exc:
            raise self._disconnected(exc) from None
        self.steps += 1
        bad = complaint or self._bad_observation(nxt)
        if bad is not None:
            self._stop(bad)
            info["safety_stop"] = bad
        if bad is not None and not np.isfinite(nxt).all():
            nxt = self._obs  # never hand a non-finite observation to the learner or the dataset
        reward = (
            float(self._reward(self._obs, a, nxt))
            if self._reward is not None
            else float(fb.reward) if fb is not None else 0.0
        )  # fmt: skip
        terminated = bool(fb is not None and fb.done and not fb.truncated) or (
            bad is not None and complaint is None
        )
        truncated = not terminated and (
            self.steps >= self.max_episode_steps
            or bool(fb is not None and fb.truncated)
            or complaint is not None
        )
        self.recorder.add_step(
            a, nxt, reward, terminated, truncated, timestamp=self._last_tick - self._t0
        )
        self._obs, self._action = nxt, a
        if terminated or truncated:
            info["checkpoint_episode"] = True  # the trainer checkpoints after every episode
            info["recorded"] = self.flush()
            if self._end_hook is not None:
                self._end_hook(self, info)
        return nxt.astype(np.float32), reward, terminated, truncated, info

    def close(self) -> None:
        """Save what was recorded, close the connection."""
        if self.recorder.n_steps:
            self.flush()
        close = getattr(self.robot, "close", None)
        if callable(close):
            close()
