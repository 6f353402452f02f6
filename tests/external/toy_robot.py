"""A user's robot env that sim2real knows nothing about (``env: tests.external.toy_robot:ToyRobotEnv``).

A point mass on a rail pushed by a motor toward the origin: observation ``[x, v]``, action the
motor command in [-1, 1]. It implements the dynamics interface itself (``dynamics: env``) with
two parameters, ``mass`` and ``motor_strength``, using sim2real's public ``ParameterSpec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from sim2real.envs.parameters import ParameterSet, ParameterSpec


class ToyRobotEnv(gym.Env):
    """Point mass on a rail, driven to the origin."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    max_episode_steps = 60
    observation_names = ("rail_x", "rail_v")
    action_names = ("motor",)
    control_dt = 0.05

    def __init__(self, max_force: float = 2.0, render_mode: str | None = None) -> None:
        self.max_force = max_force
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.params = ParameterSet(
            [
                ParameterSpec("mass", np.array(1.0), 0.1, 10.0, "kg", "cart mass"),
                ParameterSpec(
                    "motor_strength", np.array(1.0), 0.0, 2.0, "x nominal", "motor gain",
                    is_scale=True,
                ),
            ]
        )  # fmt: skip
        self.state = np.zeros(2)

    # the dynamics interface sim2real's domain wrapper uses
    def dynamics_specs(self) -> dict[str, ParameterSpec]:
        return dict(self.params.specs)

    def get_dynamics(self) -> dict[str, np.ndarray]:
        return self.params.values()

    def set_dynamics(self, values: Mapping[str, Any]) -> None:
        self.params.set(values)

    def reset_dynamics(self) -> None:
        self.params.reset()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = np.array([self.np_random.uniform(-1.0, 1.0), 0.0])
        return self.state.astype(np.float32), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        force = a * self.max_force * float(self.params.get("motor_strength"))
        x, v = self.state
        v = v + self.control_dt * force / float(self.params.get("mass"))
        x = float(np.clip(x + self.control_dt * v, -10.0, 10.0))
        self.state = np.array([x, np.clip(v, -10.0, 10.0)])
        reward = 1.0 - min(abs(x), 1.0)
        return self.state.astype(np.float32), reward, False, False, {}


class NotAnEnv:
    """For the bad-input corpus: ``env: tests.external.toy_robot:NotAnEnv``."""


class StatefulToyRobotEnv(ToyRobotEnv):
    """The toy robot with the simulator-state interface ``sim2real identify`` resets it through
    (``env: tests.external.toy_robot:StatefulToyRobotEnv``)."""

    def get_sim_state(self) -> np.ndarray:
        return self.state.astype(np.float64)

    def set_sim_state(self, state: np.ndarray) -> None:
        self.state = np.asarray(state, dtype=np.float64).copy()
