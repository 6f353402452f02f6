"""Deploy an exported policy against the simulated robot at a fixed real-time rate.

``SimulatedRobot`` is the :class:`~sim2real.controller.RobotInterface` of a sim2real env on a
target domain: the stand-in for hardware. Swap it for your robot's driver and keep the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim2real.controller import ControlLoop, PolicyController, RolloutRecorder, StepFeedback
from sim2real.envs.settings import register_recorded_env
from sim2real.errors import SpaceMismatchError
from sim2real.evaluation.targets import make_target_env

__all__ = ["SimulatedRobot", "deploy"]


class SimulatedRobot:
    """A gymnasium env behind the :class:`~sim2real.controller.RobotInterface` protocol.

    Each ``send_action`` advances the simulation by one control period, whatever the wall-clock
    rate of the loop; episodes end on termination or the time limit.
    """

    def __init__(self, env: Any, seed: int = 0) -> None:
        self.env = env
        self._seed: int | None = seed
        self._obs: np.ndarray | None = None
        self.episodes = 0

    def reset(self) -> np.ndarray:
        """Start an episode (seeded on the first one) and return its first observation."""
        self._obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        self.episodes += 1
        return self._obs

    def read_observation(self) -> np.ndarray:
        """The observation of the last reset or step."""
        assert self._obs is not None, "call reset() first"
        return self._obs

    def send_action(self, action: np.ndarray) -> StepFeedback:
        """Step the simulation with ``action``."""
        self._obs, reward, terminated, truncated, _ = self.env.step(action)
        return StepFeedback(float(reward), bool(terminated or truncated), bool(truncated))

    def close(self) -> None:
        """Close the env."""
        self.env.close()


def deploy(
    artifact: str | Path,
    env: str | None,
    target: str = "nominal",
    *,
    rate_hz: float | None = None,
    seconds: float = 10.0,
    backend: str = "numpy",
    on_nonfinite: str = "zeros",
    max_delta: float | None = None,
    seed: int = 0,
    record: str | Path | None = None,
) -> dict[str, Any]:
    """Load ``artifact``, run it on ``env:target`` in real time; the loop report as a dict.

    ``env`` defaults to the policy's training env, ``rate_hz`` to its control rate. With
    ``record``, every transition (and the simulator state) is appended to that rollout file.

    Raises:
        ModelFileError, SpaceMismatchError, DomainError: one line each.
    """
    ctrl = PolicyController.load(
        artifact,
        backend=backend,  # type: ignore[arg-type]
        on_nonfinite=on_nonfinite,  # type: ignore[arg-type]
        max_delta=max_delta,
    )
    meta = ctrl.metadata
    register_recorded_env(meta["source"])  # gym_packages, env_kwargs (e.g. the A1's gait)
    env = env or meta["source"].get("env")
    if env is None:
        raise SpaceMismatchError(f"{artifact}: the policy records no env; give --target ENV:TARGET")
    rate = rate_hz or meta.get("control_rate_hz")
    if not rate:
        raise SpaceMismatchError(f"{artifact}: the policy records no control rate; give --rate HZ")
    gym_env = make_target_env(env, target)
    base = gym_env.unwrapped
    names = list(getattr(base, "observation_names", []))
    if (names and names != ctrl.observation_names) or gym_env.action_space.shape != (
        len(ctrl.action_names),
    ):
        gym_env.close()
        raise SpaceMismatchError(
            f"{artifact}: the policy reads ({', '.join(ctrl.observation_names)}) but {env} "
            f"provides ({', '.join(names)}); deploy on the env the policy was exported from"
        )
    robot = SimulatedRobot(gym_env, seed)
    recorder = None
    if record is not None:
        recorder = RolloutRecorder(
            names,
            ctrl.action_names,
            meta={"env": env, "target": target, "policy": str(artifact), "seed": seed},
            state_fn=getattr(base, "get_sim_state", None),
            dt=1.0 / rate,
        )
        try:
            recorder.check_appendable(record)
        except Exception:
            robot.close()
            raise
    try:
        loop = ControlLoop(
            robot, ctrl.act, rate, on_reset=ctrl.reset, warmup=ctrl.warm, recorder=recorder
        )
        report = loop.run(seconds=seconds)
    finally:
        robot.close()
    if recorder is not None and record is not None:
        recorder.save(record)
    sim_dt = float(getattr(base, "control_dt", 0.0)) or None
    out = report.to_dict()
    out.update(
        {
            "policy": str(Path(meta["_dir"])),
            "env": env,
            "target": target,
            "backend": backend,
            "sim_control_period": sim_dt,
            "sim_time_factor": (rate * sim_dt) if sim_dt else None,
            "record": str(record) if record is not None else None,
        }
    )
    return out
