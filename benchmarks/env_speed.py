"""Env step speed, side by side in one process: sim2real vs pybullet-envs-gymnasium vs bare physics.

For each robot the same seeded random action sequence is played through

* **ours**: ``gymnasium.make("sim2real/...")`` (with Gymnasium's default wrappers),
* **pybullet-envs**: ``gymnasium.make`` of the pybullet-envs-gymnasium counterpart,
* **bare physics**: our env's own PyBullet client (same model, same engine parameters), just the
  torque command and one ``stepSimulation`` per step, resetting at the same steps as ours,

resetting on ``terminated``/``truncated``. Each measurement is repeated ``--repeats`` times in
turn and the fastest run is kept; time is the process's CPU time by default (``--clock wall``
for elapsed time), so other load on a shared machine disturbs the comparison less.
``physics share`` is bare time / our time; ``speedup`` is our steps/s / pybullet-envs' steps/s.

    python benchmarks/env_speed.py [--steps 5000] [--repeats 3] [--envs hopper,ant] [--clock cpu]
                                   [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import sim2real.envs
from sim2real.envs._quiet import quiet_c_output
from sim2real.envs.base import BulletRobotEnv

#: our short name -> pybullet-envs-gymnasium id
CASES = {
    "hopper": "HopperBulletEnv-v0",
    "halfcheetah": "HalfCheetahBulletEnv-v0",
    "ant": "AntBulletEnv-v0",
    "reacher": "ReacherBulletEnv-v0",
    "cartpole": "InvertedPendulumBulletEnv-v0",
}


def _timed(fn: Callable[[], None], clock: Callable[[], float]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = clock()
        fn()
        return clock() - start
    finally:
        gc.enable()


def _env_loop(env: gym.Env, actions: np.ndarray, resets: list[int] | None = None) -> Callable:
    """A closure stepping ``env`` through ``actions``; records reset steps in ``resets``."""

    def run() -> None:
        env.reset(seed=0)
        step = env.step
        for i, a in enumerate(actions):
            _, _, term, trunc, _ = step(a)
            if term or trunc:
                if resets is not None:
                    resets.append(i)
                env.reset()

    return run


def _bare_loop(env: BulletRobotEnv, actions: np.ndarray, resets: list[int]) -> Callable:
    """Torque command + ``stepSimulation`` on our env's client, resetting where ours did."""
    import pybullet

    cid = env.bullet_client._client
    at_reset = set(resets)

    def run() -> None:
        env.reset(seed=0)
        apply, step_sim, reset = env._apply_action, pybullet.stepSimulation, env._reset_state
        for i, a in enumerate(actions.astype(np.float64)):
            apply(a)
            step_sim(physicsClientId=cid)
            if i in at_reset:
                reset()

    return run


def measure(
    name: str, steps: int, repeats: int, clock: str = "cpu", seed: int = 0
) -> dict[str, Any]:
    """Steps/s of ours, pybullet-envs and bare physics for one robot."""
    import pybullet_envs_gymnasium  # noqa: F401  (registers the *BulletEnv ids)

    ours = sim2real.envs.make_env(name)
    with quiet_c_output():  # pybullet-envs connects on first reset, printing from C
        theirs = gym.make(CASES[name])
        theirs.reset(seed=0)
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, *ours.action_space.shape))
    actions = actions.astype(np.float32)
    resets: list[int] = []
    _env_loop(ours, actions, resets)()  # warm-up, and the episode boundaries for the bare loop
    runs = {
        "ours": _env_loop(ours, actions),
        "pybullet_envs": _env_loop(theirs, actions),
        "bare_physics": _bare_loop(ours.unwrapped, actions, resets),
    }
    timer = time.process_time if clock == "cpu" else time.perf_counter
    best = {k: float("inf") for k in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            best[key] = min(best[key], _timed(run, timer))
    ours.close()
    theirs.close()
    us = {k: v / steps * 1e6 for k, v in best.items()}
    return {
        "env": name,
        "pybullet_envs_id": CASES[name],
        "steps": steps,
        "clock": clock,
        "episodes": len(resets) + 1,
        "us_per_step": us,
        "steps_per_s": {k: 1e6 / v for k, v in us.items()},
        "physics_share": us["bare_physics"] / us["ours"],
        "overhead_vs_physics": us["ours"] / us["bare_physics"],
        "speedup_vs_pybullet_envs": us["pybullet_envs"] / us["ours"],
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="env step speed (random actions, resets on done; best of repeats)")
    for col in (
        "env",
        "ours steps/s",
        "ours us/step",
        "pybullet-envs steps/s",
        "pybullet-envs us/step",
        "bare physics steps/s",
        "bare us/step",
        "physics share",
        "ours / bare",
        "speedup vs pybullet-envs",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        sps, us = r["steps_per_s"], r["us_per_step"]
        table.add_row(
            r["env"],
            f"{sps['ours']:,.0f}",
            f"{us['ours']:.0f}",
            f"{sps['pybullet_envs']:,.0f}",
            f"{us['pybullet_envs']:.0f}",
            f"{sps['bare_physics']:,.0f}",
            f"{us['bare_physics']:.0f}",
            f"{r['physics_share']:.0%}",
            f"{r['overhead_vs_physics']:.2f}x",
            f"{r['speedup_vs_pybullet_envs']:.2f}x",
        )
    Console(width=200).print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--envs", default=",".join(CASES), help="comma-separated short names")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: process CPU time (less disturbed by other load on the machine); wall: elapsed",
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.envs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown env(s) {unknown}; choose from {list(CASES)}")
    rows = [measure(n, args.steps, args.repeats, args.clock) for n in names]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


if __name__ == "__main__":
    main()
