"""Sim2sim: one policy on the same target in both engines (PyBullet robot and its MuJoCo twin).

``compare_engines(agent, "hopper@mujoco", "heavy")`` evaluates ``hopper:heavy`` and
``hopper@mujoco:heavy`` through the one evaluation loop (:func:`~sim2real.evaluation.evaluate`,
same episodes and seeds) and returns both results, keyed by engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim2real.envs import ENVS, resolve_env
from sim2real.errors import UnknownEnvError
from sim2real.evaluation.agents import Agent
from sim2real.evaluation.episodes import EvalResult, evaluate

__all__ = ["ENGINES", "EngineComparison", "compare_engines", "engine_twins"]

ENGINES = ("pybullet", "mujoco")
"""The engines compared, in column order."""


def engine_twins(env: str) -> dict[str, str]:
    """``{"pybullet": robot, "mujoco": robot@mujoco}`` for an env of either engine.

    Raises:
        UnknownEnvError: unknown env, or a robot without a MuJoCo twin (names those with one).
    """
    robot = resolve_env(env).domains
    twins = {"pybullet": robot, "mujoco": f"{robot}@mujoco"}
    if robot not in ENVS or twins["mujoco"] not in ENVS:
        with_twin = sorted(e.domains for e in ENVS.values() if e.engine == "mujoco")
        raise UnknownEnvError(
            f"--compare-engines: env {env!r} has no MuJoCo twin; robots with one: "
            + ", ".join(with_twin)
        )
    return twins


@dataclass
class EngineComparison:
    """The same policy, target, episodes and seeds on each engine."""

    target: str
    results: dict[str, EvalResult]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"target": ..., "engines": {engine: EvalResult dict}}``."""
        return {
            "target": self.target,
            "engines": {k: r.to_dict() for k, r in self.results.items()},
        }


def compare_engines(
    agent: Agent, env: str, target: str = "nominal", *, episodes: int = 10, seed: int = 0
) -> EngineComparison:
    """Evaluate ``agent`` on ``target`` of ``env``'s robot in both engines.

    Raises:
        UnknownEnvError: no MuJoCo twin; DomainError etc. as :func:`evaluate`.
    """
    twins = engine_twins(env)
    results = {
        engine: evaluate(agent, twins[engine], target, episodes=episodes, seed=seed)
        for engine in ENGINES
    }
    return EngineComparison(target, results)
