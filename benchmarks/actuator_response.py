"""Actuator models, measured against their configured values in both engines.

Three measurements, each a fixed, seeded command sequence on a freshly reset env (seed 0):

* **lag**: the hopper (PyBullet and ``hopper@mujoco``) at rest, then a unit step on every
  actuator; the time constant is read off the applied command as the (linearly interpolated)
  time at which it crosses 1 - 1/e, for ``motor_time_constant`` = 0.02, 0.05, 0.1 s;
* **torque-speed limit**: the reacher's shoulder (fixed base, no gravity) driven by a full
  command for 300 steps from rest, ``motor_velocity_limit`` = 5, 10, 20 rad/s, stall torque 1;
  with no other drag the speed settles where the available torque is zero, the no-load speed.
  The MuJoCo twin runs with its joint damping and armature set to 0 (the PyBullet twin's);
* **armature**: the reacher's shoulder from rest under a full command for one control step, with
  ``armature`` = 0 and a = 0.002, 0.01 kg m^2 (~4x and ~20x the PyBullet shoulder's own
  mass-matrix entry); the acceleration ratio is compared with ``M^-1 tau`` for ``M + diag(a, 0)``
  (each engine's own mass matrix at armature 0; MuJoCo joint damping set to 0). In
  PyBullet the armature is emulated (added to the link's inertia about the joint axis), in
  MuJoCo it is native (``dof_armature``).

    python benchmarks/actuator_response.py [--out benchmarks/results/actuator_response]

Writes ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.envs import make_env

ROOT = Path(__file__).resolve().parent.parent
TAUS = (0.02, 0.05, 0.1)
NO_LOAD_SPEEDS = (5.0, 10.0, 20.0)
ENGINES = ("", "@mujoco")
ARMATURES = (0.002, 0.01)  # kg m^2: ~4x and ~20x the PyBullet reacher's shoulder M00


def lag_time_constant(env_name: str, tau: float) -> dict[str, Any]:
    """Measured time constant of the applied command after a unit step."""
    env = make_env(env_name)
    base = env.unwrapped
    base.set_dynamics({"motor_time_constant": tau})
    env.reset(seed=0)
    n_act = base.action_space.shape[0]
    for _ in range(3):  # at rest first: the applied command stays 0
        env.step(np.zeros(n_act))
    applied = [0.0]
    steps = int(5 * tau / base.control_dt) + 2
    for _ in range(steps):
        env.step(np.ones(n_act))
        applied.append(float(base.applied_action[0]))
    env.close()
    level = 1 - math.exp(-1)
    k = next(i for i, a in enumerate(applied) if a >= level)
    frac = (level - applied[k - 1]) / (applied[k] - applied[k - 1])
    measured = (k - 1 + frac) * base.control_dt
    return {"env": env_name, "configured_s": tau, "measured_s": measured, "dt_s": base.control_dt}


def no_load_speed(env_name: str, v0: float) -> dict[str, Any]:
    """Shoulder speed the reacher settles at under a full command with the torque-speed limit."""
    env = make_env(env_name)
    base = env.unwrapped
    dynamics: dict[str, Any] = {"motor_velocity_limit": v0, "motor_stall_torque": 1.0}
    if base.engine == "mujoco":
        dynamics.update(joint_damping=0.0, armature=0.0)
    base.set_dynamics(dynamics)
    env.reset(seed=0)
    speeds = []
    for _ in range(300):
        env.step(np.array([1.0, 0.0]))
        speeds.append(float(base._actuator_velocities()[0]))
    env.close()
    return {
        "env": env_name,
        "configured_rad_s": v0,
        "measured_rad_s": float(np.mean(speeds[-50:])),
        "max_rad_s": float(np.max(speeds)),
    }


def shoulder_mass_matrix(env_name: str) -> np.ndarray:
    """The reacher arm's 2x2 joint-space mass matrix at the seed-0 reset, armature 0."""
    env = make_env(env_name)
    base = env.unwrapped
    if base.engine == "mujoco":
        import mujoco

        base.set_dynamics({"armature": 0.0})
        env.reset(seed=0)
        full = np.zeros((base.model.nv, base.model.nv))
        mujoco.mj_fullM(base.model, base.data, full)  # mujoco >= 3.3 signature
        dofs = base._actuator_dofs
        mass = full[np.ix_(dofs, dofs)]
    else:
        env.reset(seed=0)
        p, arm = base._p, base._arm_id
        movable = [
            j for j in range(p.getNumJoints(arm)) if p.getJointInfo(arm, j)[2] != p.JOINT_FIXED
        ]
        mass = np.array(p.calculateMassMatrix(arm, [p.getJointState(arm, j)[0] for j in movable]))
    env.close()
    return mass


def armature_ratio(env_name: str, armature: float) -> dict[str, Any]:
    """Shoulder acceleration with armature over without, measured and mass-matrix predicted."""
    mass = shoulder_mass_matrix(env_name)
    tau = np.array([1.0, 0.0])
    a = armature
    predicted = np.linalg.solve(mass + np.diag([a, 0.0]), tau)[0] / np.linalg.solve(mass, tau)[0]

    def acceleration(armature: float) -> float:
        env = make_env(env_name)
        base = env.unwrapped
        dynamics: dict[str, Any] = {"armature": {"joint0": armature}}
        if base.engine == "mujoco":
            dynamics.update(joint_damping=0.0, armature={"joint0": armature, "joint1": 0.0})
        base.set_dynamics(dynamics)
        env.reset(seed=0)
        env.step(np.array([1.0, 0.0]))
        value = float(base._actuator_velocities()[0]) / base.control_dt
        env.close()
        return value

    measured = acceleration(a) / acceleration(0.0)
    return {
        "env": env_name,
        "armature_kg_m2": a,
        "shoulder_m00_kg_m2": float(mass[0, 0]),
        "measured_ratio": measured,
        "predicted_ratio": float(predicted),
    }


def markdown(results: dict[str, Any]) -> str:
    """The three tables."""
    lines = [
        "# Actuator models: measured vs configured",
        "",
        f"Made by `{results['command']}`.",
        "",
    ]
    lines += ["## First-order lag (hopper, applied command after a unit step)", ""]
    lines += ["| env | configured tau | measured tau | control dt |", "|---|---:|---:|---:|"]
    for r in results["lag"]:
        lines.append(
            f"| {r['env']} | {r['configured_s'] * 1e3:.1f} ms | {r['measured_s'] * 1e3:.2f} ms "
            f"| {r['dt_s'] * 1e3:.1f} ms |"
        )
    lines += ["", "## Torque-speed limit (reacher shoulder, full command, stall torque 1)", ""]
    lines += [
        "| env | configured no-load speed | settled speed | max speed |",
        "|---|---:|---:|---:|",
    ]
    for r in results["torque_speed"]:
        lines.append(
            f"| {r['env']} | {r['configured_rad_s']:.1f} rad/s | {r['measured_rad_s']:.3f} rad/s "
            f"| {r['max_rad_s']:.3f} rad/s |"
        )
    lines += ["", "## Armature (reacher shoulder acceleration, with / without)", ""]
    lines += ["| env | armature | measured ratio | M + diag(a) predicts |", "|---|---:|---:|---:|"]
    for r in results["armature"]:
        lines.append(
            f"| {r['env']} | {r['armature_kg_m2']:.3g} kg m^2 (M00 {r['shoulder_m00_kg_m2']:.3g}) "
            f"| {r['measured_ratio']:.4f} | {r['predicted_ratio']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the three measurements in both engines; write JSON and markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/actuator_response")
    args = parser.parse_args(argv)
    results = {
        "command": "python benchmarks/actuator_response.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "lag": [lag_time_constant(f"hopper{e}", tau) for e in ENGINES for tau in TAUS],
        "torque_speed": [
            no_load_speed(f"reacher{e}", v0) for e in ENGINES for v0 in NO_LOAD_SPEEDS
        ],
        "armature": [armature_ratio(f"reacher{e}", a) for e in ENGINES for a in ARMATURES],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
