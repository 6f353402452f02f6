"""System identification on targets with known parameters: estimates vs truth, prediction error.

For each case (an env, the true shifted dynamics, the fitted parameters and how the episodes are
driven) the script records ``N`` episodes on the shifted env (N = 2, 5, 20 by default; episode
``i`` resets with seed ``i``), plus 5 held-out episodes (seeds 1000-1004), and fits with
``sim2real.identification`` (the code path of ``sim2real identify``):

* ``likelihood``: DROPO's next-observation likelihood, simulator states recorded;
* ``trajectory``: trajectory matching, states dropped (as from a real robot; cart-pole only,
  the env that builds a state from an observation).

It reports per parameter the estimate, its spread and the truth, and the one-step and
10-step normalized prediction RMSE on the held-out episodes under nominal vs identified dynamics.

    nice python benchmarks/identification.py [--episodes 2 5 20] [--cases cartpole hopper]
        [--budget 300] [--out benchmarks/results/identification]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.controller.recording import RolloutDataset
from sim2real.envs import make_env
from sim2real.identification import FitSettings, identify, parse_params, prepare_data
from sim2real.identification.record import RecordRollouts, recorder_for
from sim2real.identification.report import truth_of
from sim2real.randomization.domain import env_specs

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """One identification problem with known answer."""

    name: str
    env: str
    truth: dict[str, Any]
    params: str
    driver: str  # "random" (uniform actions) or a policy path
    max_steps: int
    methods: tuple[str, ...]


CASES = {
    "cartpole": Case(
        "cartpole",
        "cartpole",
        {"mass_scale": {"pole": 3.0}, "motor_strength": 0.5, "action_latency": 2},
        "mass_scale.pole,motor_strength,action_latency",
        str(ROOT / "policies" / "cartpole_ppo_source"),
        1000,
        ("likelihood", "trajectory"),
    ),
    "hopper": Case(
        "hopper",
        "hopper",
        {
            "mass_scale": {"torso": 1.6},
            "motor_strength": 0.6,
            "lateral_friction": 0.5,
            "action_latency": 1,
        },
        "mass_scale.torso,motor_strength,lateral_friction,action_latency",
        "random",
        100,
        ("likelihood",),
    ),
}


def record(case: Case, seeds: list[int]) -> RolloutDataset:
    """Episodes of ``case`` on its true dynamics, one per seed."""
    env = make_env(case.env, max_episode_steps=case.max_steps)
    env.unwrapped.set_dynamics(case.truth)
    rec = recorder_for(env, {"env": case.env, "truth": case.truth, "driver": case.driver})
    wrapped = RecordRollouts(env, rec)
    agent = None
    if case.driver != "random":
        from sim2real.evaluation import load_agent

        agent = load_agent(case.driver)
    for seed in seeds:
        obs, _ = wrapped.reset(seed=seed)
        rng = np.random.default_rng(seed)
        done = False
        while not done:
            action = agent.act(obs) if agent else rng.uniform(-1, 1, env.action_space.shape)
            obs, _, term, trunc, _ = wrapped.step(action)
            done = term or trunc
    env.close()
    return rec.dataset()


def run_case(case: Case, n_episodes: int, method: str, budget: int, held: RolloutDataset) -> dict:
    """One fit and its held-out prediction errors."""
    data = record(case, list(range(n_episodes)))
    if method == "trajectory":
        data, held = replace(data, states=None), replace(held, states=None)
    params = parse_params(case.params, env_specs(case.env))
    settings = FitSettings(method=method, budget=budget, seed=0)  # type: ignore[arg-type]
    prepared = prepare_data(case.env, [data], params, settings, holdout=0.0)
    prepared = replace(prepared, eval_data=held, held_out=True)
    truth = truth_of(case.truth, params, env_specs(case.env))
    t0 = time.process_time()
    report = identify(prepared, truth=truth)
    cpu = time.process_time() - t0
    fit = report.fit
    return {
        "case": case.name,
        "env": case.env,
        "method": method,
        "episodes": n_episodes,
        "transitions": fit.transitions,
        "budget": budget,
        "evaluations": fit.evaluations,
        "sim_steps": fit.sim_steps,
        "cpu_s": round(cpu, 1),
        "parameters": [
            {
                "key": p.key,
                "estimate": p.estimate,
                "spread": p.spread,
                "truth": truth[p.key],
                "rel_error": abs(p.estimate - truth[p.key]) / abs(truth[p.key]),
            }
            for p in fit.parameters
        ],
        "before": report.before.__dict__,
        "after": report.after.__dict__,
    }


def _markdown(rows: list[dict], command: str) -> str:
    lines = [
        "# System identification: estimates vs truth",
        "",
        f"Command: `{command}`",
        "",
        "Held-out prediction error: normalized RMSE on 5 held-out episodes (seeds 1000-1004),",
        "nominal dynamics (before) -> identified (after); lower is better, 0 is exact.",
        "",
        "| case | method | episodes | parameter | truth | estimate ± spread | rel. error |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for p in r["parameters"]:
            lines.append(
                f"| {r['case']} | {r['method']} | {r['episodes']} | {p['key']} | "
                f"{p['truth']:g} | {p['estimate']:.4g} ± {p['spread']:.2g} | "
                f"{100 * p['rel_error']:.1f}% |"
            )
    lines += [
        "",
        "| case | method | episodes | transitions | evaluations | sim steps | CPU s | "
        "one-step before -> after | 10-step before -> after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, a = r["before"], r["after"]
        lines.append(
            f"| {r['case']} | {r['method']} | {r['episodes']} | {r['transitions']} | "
            f"{r['evaluations']} | {r['sim_steps']} | {r['cpu_s']} | "
            f"{b['one_step']:.3g} -> {a['one_step']:.3g} | "
            f"{b['multi_step']:.3g} -> {a['multi_step']:.3g} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, nargs="+", default=[2, 5, 20])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/identification")
    args = parser.parse_args()
    rows = []
    for name in args.cases:
        case = CASES[name]
        held = record(case, list(range(1000, 1005)))
        for method in case.methods:
            for n in args.episodes:
                row = run_case(case, n, method, args.budget, held)
                rows.append(row)
                errs = ", ".join(
                    f"{p['key']} {100 * p['rel_error']:.1f}%" for p in row["parameters"]
                )
                print(f"{name} {method} {n} episodes: {errs} ({row['cpu_s']} CPU s)", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/identification.py " + " ".join(sys.argv[1:])
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    meta = {"command": command, "git_commit": commit, "python": platform.python_version()}
    (args.out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    (args.out / "results.md").write_text(_markdown(rows, command.strip()))
    print(f"wrote {args.out / 'results.md'}")


if __name__ == "__main__":
    main()
