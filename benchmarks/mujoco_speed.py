"""MuJoCo targets vs their PyBullet twins: env steps per second, side by side in one process.

For each robot the same seeded random action sequence is played through ``make_env(robot)``
(PyBullet) and ``make_env(robot + "@mujoco")`` (Gymnasium's MuJoCo model behind sim2real's
layout), both with the registered time limit, resetting on ``terminated``/``truncated``. Each
measurement is repeated ``--repeats`` times in turn and the fastest kept; time is the process's
CPU time, so other load on a shared machine disturbs the comparison less. ``ratio`` is MuJoCo
steps/s over PyBullet steps/s (the issue asks for >= 1).

    python benchmarks/mujoco_speed.py [--steps 3000] [--repeats 3] [--envs hopper,ant] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from sim2real.envs import make_env
from sim2real.training.provenance import package_versions

ROBOTS = (
    "cartpole",
    "cartpole_swingup",
    "reacher",
    "hopper",
    "halfcheetah",
    "ant",
    "quadruped",
    "manipulator",
)


def steps_per_second(name: str, steps: int, repeats: int) -> tuple[float, int]:
    """Best steps/s over ``repeats`` runs of ``steps`` seeded random actions, and the resets."""
    env = make_env(name)
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape))
    actions = actions.astype(np.float32)
    best, resets = 0.0, 0
    for _ in range(repeats):
        env.reset(seed=0)
        resets = 0
        start = time.process_time()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
                resets += 1
        best = max(best, steps / max(time.process_time() - start, 1e-9))
    env.close()
    return best, resets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--envs", default=",".join(ROBOTS), help="comma-separated robots")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    rows = []
    for robot in args.envs.split(","):
        bullet, bullet_resets = steps_per_second(robot, args.steps, args.repeats)
        mj, mj_resets = steps_per_second(f"{robot}@mujoco", args.steps, args.repeats)
        rows.append(
            {
                "robot": robot,
                "pybullet_steps_per_s": round(bullet),
                "mujoco_steps_per_s": round(mj),
                "ratio": round(mj / bullet, 2),
                "resets": [bullet_resets, mj_resets],
            }
        )
    if args.json:
        command = "python benchmarks/mujoco_speed.py " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        record = {"command": command.strip(), "steps": args.steps, "repeats": args.repeats}
        print(json.dumps({**record, "versions": package_versions(), "rows": rows}, indent=2))
        return
    print(f"{'robot':18s} {'pybullet/s':>11s} {'mujoco/s':>9s} {'ratio':>6s}  resets (pb, mj)")
    for r in rows:
        print(
            f"{r['robot']:18s} {r['pybullet_steps_per_s']:11d} {r['mujoco_steps_per_s']:9d} "
            f"{r['ratio']:6.2f}  {r['resets']}"
        )


if __name__ == "__main__":
    main()
