"""Run deterministic episodes of an agent on a target and summarize them (mean, std, 95% CI)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim2real.errors import SpaceMismatchError
from sim2real.evaluation.agents import Agent
from sim2real.evaluation.targets import make_target_env

__all__ = ["EvalResult", "check_spaces", "evaluate", "run_episodes", "summarize"]


def check_spaces(agent: Agent, env: Any, env_name: str) -> None:
    """Raise if the agent's observation/action sizes differ from the env's.

    Raises:
        SpaceMismatchError: naming both shapes and the fix.
    """
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    if (agent.obs_shape, agent.action_shape) != (obs_shape, act_shape):
        raise SpaceMismatchError(
            f"policy {agent.name} maps {agent.obs_shape} -> {agent.action_shape} but env "
            f"{env_name} has {obs_shape} -> {act_shape}; evaluate on the env it was trained for"
            + (f" ({agent.env})" if agent.env else "")
        )


@dataclass
class EvalResult:
    """Returns of ``episodes`` episodes on ``env:target`` and their summary."""

    env: str
    target: str
    episodes: int
    seed: int
    returns: list[float]
    lengths: list[int]
    mean: float
    std: float
    ci95: tuple[float | None, float | None]
    success_rate: float | None
    overrides: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def summarize(
    returns: list[float], seed: int = 0
) -> tuple[float, float, tuple[float | None, float | None]]:
    """Mean, std (ddof=0) and 95% percentile-bootstrap CI of the mean (``None`` for 1 episode)."""
    from sim2real.metrics.stats import bootstrap

    arr = np.asarray(returns, dtype=np.float64)
    est = bootstrap(lambda x: x.mean(axis=-1), [arr], n_boot=2000, seed=seed)
    ci = (est.lo, est.hi) if np.isfinite(est.lo) and np.isfinite(est.hi) else (None, None)
    return float(arr.mean()), float(arr.std()), ci


def run_episodes(
    agent: Agent,
    env: Any,
    episodes: int,
    seed: int,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> tuple[list[float], list[int], list[bool] | None]:
    """Episode ``i`` resets with seed ``seed + i``; returns returns, lengths, successes (or None)."""
    returns, lengths, successes = [], [], []
    has_success = False
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        agent.reset()
        total, steps, done, info = 0.0, 0, False, {}
        while not done:
            if on_frame is not None:
                on_frame(env.render())
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            total += float(reward)
            steps += 1
            done = terminated or truncated
        if on_frame is not None:
            on_frame(env.render())
        if "is_success" in info:
            has_success = True
        successes.append(bool(info.get("is_success", False)))
        returns.append(total)
        lengths.append(steps)
    return returns, lengths, successes if has_success else None


def evaluate(
    agent: Agent,
    env: str,
    target: str = "nominal",
    *,
    episodes: int = 10,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Evaluate ``agent`` for ``episodes`` deterministic episodes on ``env:target``."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    gym_env = make_target_env(env, target, overrides=overrides)
    try:
        check_spaces(agent, gym_env, env)
        returns, lengths, successes = run_episodes(agent, gym_env, episodes, seed)
    finally:
        gym_env.close()
    mean, std, ci = summarize(returns, seed)
    return EvalResult(
        env=env,
        target=target,
        episodes=episodes,
        seed=seed,
        returns=returns,
        lengths=lengths,
        mean=mean,
        std=std,
        ci95=ci,
        success_rate=float(np.mean(successes)) if successes is not None else None,
        overrides=dict(overrides or {}),
    )
