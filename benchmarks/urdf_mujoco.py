"""The URDF robots in both engines, side by side: step speed, A1 standing height, link inertias.

For ``quadruped`` (A1) and ``manipulator`` (KUKA iiwa) against their MuJoCo targets
(:mod:`sim2real.envs.mujoco.urdf_robots`):

* **steps/s**: the same seeded random actions through each env class (no wrappers), resetting
  on termination and every 200 steps; the fastest of ``--repeats`` runs, process CPU time;
* **standing**: the A1's trunk height after 1 s and 2 s of zero actions (nominal pose under PD),
  and its spread over the second second;
* **inertia**: per link with mass, the ratio of MuJoCo's principal inertia (the URDF's tensor)
  to PyBullet's diagonal (recomputed from the collision shapes by ``loadURDF``), sorted.

    python benchmarks/urdf_mujoco.py [--steps 3000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from typing import Any

import numpy as np

from sim2real.envs.manipulator import KukaReachEnv
from sim2real.envs.mujoco.urdf import inertia_report
from sim2real.envs.mujoco.urdf_robots import A1MujocoEnv, KukaReachMujocoEnv
from sim2real.envs.quadruped import A1Env

PAIRS = {"quadruped": (A1Env, A1MujocoEnv), "manipulator": (KukaReachEnv, KukaReachMujocoEnv)}


def steps_per_second(cls: Any, steps: int, repeats: int) -> float:
    """Fastest CPU-time steps/s of ``cls`` over ``repeats`` runs of ``steps`` random actions."""
    env = cls()
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape))
    actions = actions.astype(np.float32)
    best = 0.0
    for _ in range(repeats):
        gc.collect()
        env.reset(seed=0)
        start = time.process_time()
        for i, a in enumerate(actions):
            if env.step(a)[2] or i % 200 == 199:
                env.reset()
        best = max(best, steps / (time.process_time() - start))
    env.close()
    return best


def standing(cls: Any) -> dict[str, float]:
    """Trunk height of the A1 under zero actions (m)."""
    env = cls()
    env.reset(seed=0)
    z = [float(env.step(np.zeros(12, dtype=np.float32))[0][0]) for _ in range(120)]
    env.close()
    return {"z_1s": z[59], "z_2s": z[119], "spread_2nd_s": float(np.ptp(z[60:]))}


def inertia_ratios(cls: Any) -> dict[str, list[float]]:
    """Per link: MuJoCo principal inertia / PyBullet diagonal, both sorted ascending."""
    rows = inertia_report(cls._urdf_model())
    return {name: (mj / pb).round(3).tolist() for name, _, _, mj, pb in rows if np.all(pb > 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    for robot, (pb_cls, mj_cls) in PAIRS.items():
        result[robot] = {
            "pybullet_steps_per_s": steps_per_second(pb_cls, args.steps, args.repeats),
            "mujoco_steps_per_s": steps_per_second(mj_cls, args.steps, args.repeats),
            "inertia_mujoco_over_pybullet": inertia_ratios(mj_cls),
        }
    result["quadruped"]["standing"] = {"pybullet": standing(A1Env), "mujoco": standing(A1MujocoEnv)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for robot, r in result.items():
        pb, mj = r["pybullet_steps_per_s"], r["mujoco_steps_per_s"]
        print(f"{robot:12s} steps/s  pybullet {pb:7.0f}  mujoco {mj:7.0f}  ratio {mj / pb:.2f}")
        for link, ratio in r["inertia_mujoco_over_pybullet"].items():
            print(f"  inertia {link:22s} mujoco/pybullet {ratio}")
    for engine, s in result["quadruped"]["standing"].items():
        print(
            f"A1 standing {engine:9s} z(1 s) {s['z_1s']:.4f}  z(2 s) {s['z_2s']:.4f}  "
            f"spread {s['spread_2nd_s']:.1e} m"
        )


if __name__ == "__main__":
    main()
