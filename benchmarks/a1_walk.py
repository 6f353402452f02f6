"""Does an A1 policy walk? Issue 19's criterion, per episode, in both engines.

An episode *walks* when it lasts the full 1000 steps (no fall) at a mean forward speed of at
least 0.5 m/s (``info["mean_x_velocity"]``); the criterion is met when >= 90 % of the episodes
walk. Episodes run through sim2real's one evaluation loop (deterministic actions, episode ``i``
seeded ``seed + i``), with the run's own env settings (e.g. ``gait: trot``).

    python benchmarks/a1_walk.py RUN [RUN ...] [--targets nominal] [--episodes 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.evaluation import load_agent, make_target_env
from sim2real.evaluation.episodes import check_spaces, run_episodes

ENGINES = ("quadruped", "quadruped@mujoco")
MIN_SPEED = 0.5  # m/s
WALK_RATE = 0.9


def walk(run: str, env: str, target: str, episodes: int, seed: int) -> dict[str, Any]:
    """Per-episode length and mean forward speed of ``run`` on ``env:target``."""
    agent = load_agent(run)
    gym_env = make_target_env(env, target)
    try:
        check_spaces(agent, gym_env, env)
        per_episode: list[dict[str, dict[str, float]]] = []
        returns, lengths, _ = run_episodes(agent, gym_env, episodes, seed, info_out=per_episode)
        limit = gym_env.spec.max_episode_steps if gym_env.spec else max(lengths)
    finally:
        gym_env.close()
    speeds = [ep["final_info"].get("mean_x_velocity", 0.0) for ep in per_episode]
    walked = [n >= limit and v >= MIN_SPEED for n, v in zip(lengths, speeds)]
    return {
        "run": run,
        "env": env,
        "target": target,
        "episodes": episodes,
        "seed": seed,
        "returns": returns,
        "lengths": lengths,
        "mean_x_velocity": speeds,
        "fell": int(sum(n < limit for n in lengths)),
        "walk_rate": float(np.mean(walked)),
        "mean_speed": float(np.mean(speeds)),
        "meets_criterion": bool(np.mean(walked) >= WALK_RATE),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories (or zoo names)")
    ap.add_argument("--targets", nargs="*", default=["nominal"])
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the rows to this file")
    args = ap.parse_args()
    rows = []
    for run in args.runs:
        for env in ENGINES:
            for target in args.targets:
                row = walk(run, env, target, args.episodes, args.seed)
                rows.append(row)
                print(
                    f"{run} on {env}:{target}: walks in {row['walk_rate']:.0%} of "
                    f"{args.episodes} episodes (>= {MIN_SPEED} m/s, no fall), mean speed "
                    f"{row['mean_speed']:.2f} m/s, {row['fell']} falls, return "
                    f"{np.mean(row['returns']):.1f}"
                )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
