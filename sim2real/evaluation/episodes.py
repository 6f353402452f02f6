"""The one evaluation loop: deterministic, seeded episodes of an agent on a target, summarized.

Seeding rule (every caller: ``sim2real evaluate``, the benchmark's zero-shot evaluation and the
training evaluation callback): episode ``i`` of an evaluation with base seed ``seed`` starts with
``env.reset(seed=seed + i)`` on a :func:`make_target_env` env, and the agent acts
deterministically. Same policy, target, episodes and seed give the same returns, bit for bit.

In ``evaluations.json`` and TensorBoard (``eval/<key>/...``) the domain a run trains on has the
key :data:`TRAIN_DOMAIN` (``train_domain``; ``source`` in runs written before); fixed targets
are ``target/<name>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sim2real.errors import SpaceMismatchError
from sim2real.evaluation.agents import Agent
from sim2real.evaluation.targets import make_target_env
from sim2real.metrics.stats import bootstrap

__all__ = [
    "STATE_INFO_KEYS",
    "TRAIN_DOMAIN",
    "EvalResult",
    "check_spaces",
    "evaluate",
    "evaluate_env",
    "run_episodes",
    "summarize",
    "upgrade_evaluations",
]

TRAIN_DOMAIN = "train_domain"
"""Key of the evaluation on the domain the run trains on (the target, in transfer runs)."""
_OLD_TRAIN_DOMAIN = "source"

STATE_INFO_KEYS = frozenset({"x_position", "x_velocity", "mean_x_velocity", "distance"})
"""Numeric ``info`` entries that describe the state, not a reward term: an episode reports
their last value (``final_info``), where every other numeric entry is summed (``reward_terms``)."""


def upgrade_evaluations(data: Mapping[str, Any]) -> dict[str, Any]:
    """``evaluations.json`` content with the pre-rename ``source`` key read as :data:`TRAIN_DOMAIN`."""
    out = dict(data)
    if _OLD_TRAIN_DOMAIN in out and TRAIN_DOMAIN not in out:
        out[TRAIN_DOMAIN] = out.pop(_OLD_TRAIN_DOMAIN)
    return out


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
    reward_terms: dict[str, float] = field(default_factory=dict)
    """Mean over episodes of each reward term's episode sum (numeric ``info`` entries)."""
    final_info: dict[str, float] = field(default_factory=dict)
    """Mean over episodes of the last value of each :data:`STATE_INFO_KEYS` entry (e.g. the
    distance walked, ``x_position``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def summarize(
    returns: list[float], seed: int = 0
) -> tuple[float, float, tuple[float | None, float | None]]:
    """Mean, std (ddof=0) and 95% percentile-bootstrap CI of the mean (``None`` for 1 episode)."""

    arr = np.asarray(returns, dtype=np.float64)
    est = bootstrap(lambda x: x.mean(axis=-1), [arr], n_boot=2000, seed=seed)
    ci = (est.lo, est.hi) if np.isfinite(est.lo) and np.isfinite(est.hi) else (None, None)
    return float(arr.mean()), float(arr.std()), ci


def _add_terms(sums: dict[str, float], info: Mapping[str, Any]) -> None:
    for key, value in info.items():
        number = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
        if number and key not in STATE_INFO_KEYS:
            sums[key] = sums.get(key, 0.0) + float(value)


def _final_state(info: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(info[k]) for k in sorted(STATE_INFO_KEYS) if k in info}


def run_episodes(
    agent: Agent,
    env: Any,
    episodes: int,
    seed: int,
    on_frame: Callable[[np.ndarray], None] | None = None,
    info_out: list[dict[str, dict[str, float]]] | None = None,
) -> tuple[list[float], list[int], list[bool] | None]:
    """Episode ``i`` resets with seed ``seed + i``; returns returns, lengths, successes (or None).

    With ``info_out``, appends per episode ``{"reward_terms": {term: episode sum},
    "final_info": {state key: last value}}`` (see :data:`STATE_INFO_KEYS`).
    """
    returns, lengths, successes = [], [], []
    has_success = False
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        agent.reset()
        total, steps, done, info = 0.0, 0, False, {}
        terms: dict[str, float] = {}
        while not done:
            if on_frame is not None:
                on_frame(env.render())
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            total += float(reward)
            steps += 1
            done = terminated or truncated
            if info_out is not None:
                _add_terms(terms, info)
        if info_out is not None:
            info_out.append({"reward_terms": terms, "final_info": _final_state(info)})
        if on_frame is not None:
            on_frame(env.render())
        if "is_success" in info:
            has_success = True
        successes.append(bool(info.get("is_success", False)))
        returns.append(total)
        lengths.append(steps)
    return returns, lengths, successes if has_success else None


def evaluate_env(
    agent: Agent,
    gym_env: Any,
    env: str,
    target: str,
    *,
    episodes: int,
    seed: int,
    overrides: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Evaluate ``agent`` on the ready env ``gym_env`` (made by :func:`make_target_env`)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    check_spaces(agent, gym_env, env)
    per_episode: list[dict[str, dict[str, float]]] = []
    returns, lengths, successes = run_episodes(agent, gym_env, episodes, seed, info_out=per_episode)
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
        reward_terms=_mean_entries(per_episode, "reward_terms"),
        final_info=_mean_entries(per_episode, "final_info"),
    )


def _mean_entries(per_episode: list[dict[str, dict[str, float]]], part: str) -> dict[str, float]:
    """Mean over episodes of each entry of ``part`` (an episode without it counts as 0)."""
    keys = sorted({k for ep in per_episode for k in ep[part]})
    return {k: float(np.mean([ep[part].get(k, 0.0) for ep in per_episode])) for k in keys}


def evaluate(
    agent: Agent,
    env: str,
    target: str = "nominal",
    *,
    episodes: int = 10,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Evaluate ``agent`` for ``episodes`` deterministic episodes (seeds ``seed + i``) on
    ``env:target``."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    gym_env = make_target_env(env, target, overrides=overrides)
    try:
        return evaluate_env(
            agent, gym_env, env, target, episodes=episodes, seed=seed, overrides=overrides
        )
    finally:
        gym_env.close()
