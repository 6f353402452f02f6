"""System identification across engines: MuJoCo plays the real robot, PyBullet is fitted.

No truth exists here (two simulators, two contact and actuator models), so the script reports
what issue 17 asks for on the MuJoCo targets: the prediction error before/after the fit, and
whether simulation fine-tuning on the fitted domain raises the zero-shot return on MuJoCo.

For each robot:

1. record ``--episodes`` episodes of the source policy on ``<robot>@mujoco:nominal`` (episode
   ``i`` seeded ``i``; ``record_episodes``, the code of ``sim2real evaluate --record``) and 5
   held-out episodes (seeds 1000-1004). MuJoCo's states cannot enter PyBullet, so they are
   used as observations only: trajectory matching (``--horizon``-step open-loop replays of the
   recorded actions from a state matched to the recorded observation);
2. fit the PyBullet env's parameters ``--params`` by CMA-ES (``sim2real identify``'s code);
3. fine-tune the source ``--sim-steps`` PPO steps in PyBullet (each of ``--finetune-seeds``) (``sim2real transfer
   transfer_finetune``), once on the fitted ``source`` distribution and, as the control with the
   same extra simulation steps and no identification, once on the source's own training domain;
4. evaluate the source and both fine-tuned policies zero-shot on ``<robot>@mujoco:nominal``
   (``--eval-episodes`` deterministic episodes, seeds 0..) and on PyBullet nominal.

Every MuJoCo step spent is counted: the recorded episodes (the held-out ones only measure).

    nice python benchmarks/identification_mujoco.py [--robots cartpole_swingup cartpole]
        [--episodes 5] [--budget 400] [--sim-steps 100000] [--runs runs/identification_mujoco]
        [--out benchmarks/results/identification_mujoco]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.evaluation import evaluate, load_agent
from sim2real.identification import FitSettings, identify, parse_params, prepare_data
from sim2real.identification.record import record_episodes
from sim2real.metrics.stats import bootstrap
from sim2real.randomization.domain import env_specs
from sim2real.training.provenance import git_state, package_versions
from sim2real.training.run_dir import RunDir

ROOT = Path(__file__).resolve().parents[1]
#: The parameters a cart-pole's engine gap plausibly lives in: masses, joint friction and
#: rotor inertia, actuator strength and lag (fitted per entity).
CARTPOLE_PARAMS = "mass_scale,joint_damping,armature,motor_strength,motor_time_constant"


@dataclass(frozen=True)
class Robot:
    """One robot: its PyBullet env, the source policy and how it is trained if missing."""

    env: str
    source: str  # a run folder (relative to the repo or --runs)
    pretrain: tuple[str, ...]  # `sim2real pretrain` arguments (empty: shipped)
    params: str


ROBOTS = {
    "cartpole_swingup": Robot(
        "cartpole_swingup",
        "swingup_source",
        (
            "cartpole_swingup_ppo",
            "--set",
            "total_timesteps=300000",
            "--set",
            "eval.freq=50000",
            "--set",
            "eval.episodes=3",
            "--set",
            "checkpoint_freq=0",
            "--set",
            "domain=source",
            "--seed",
            "0",
        ),
        CARTPOLE_PARAMS,
    ),
    "cartpole": Robot(
        "cartpole", str(ROOT / "policies" / "cartpole_ppo_source"), (), CARTPOLE_PARAMS
    ),
}
HELD_OUT_SEEDS = 1000


def _sh(args: list[str]) -> None:
    print("+ " + shlex.join(args), flush=True)
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def source_run(robot: Robot, runs: Path) -> Path:
    """The source run folder, trained with ``robot.pretrain`` if missing."""
    path = Path(robot.source) if Path(robot.source).is_absolute() else runs / robot.source
    if not RunDir(path).finished():
        if not robot.pretrain:
            raise SystemExit(f"error: source {path} not found")
        _sh(["sim2real", "pretrain", *robot.pretrain, "--out", str(path), "--quiet"])
    return path


def fit(robot: Robot, source: Path, episodes: int, budget: int, horizon: int, out: Path) -> dict:
    """Record on MuJoCo, fit PyBullet: the identified domain file and the fit's numbers."""
    agent = load_agent(source)
    mujoco = f"{robot.env}@mujoco"
    data, recorded = record_episodes(agent, mujoco, "nominal", episodes=episodes, seed=0)
    held, _ = record_episodes(agent, mujoco, "nominal", episodes=5, seed=HELD_OUT_SEEDS)
    params = parse_params(robot.params, env_specs(robot.env))
    settings = FitSettings(method="auto", budget=budget, seed=0, horizon=horizon)
    prepared = prepare_data(robot.env, [data], params, settings, holdout=0.0)
    prepared = replace(prepared, eval_data=replace(held, states=None), held_out=True)
    t0 = time.process_time()
    report = identify(prepared, out / "identified.yaml", out / "identification")
    return {
        "method": prepared.settings.method,
        "recorded_episodes": episodes,
        "recorded_mujoco_steps": len(data),
        "recording_return": recorded.mean,
        "evaluations": report.fit.evaluations,
        "sim_steps": report.fit.sim_steps,
        "cpu_s": round(time.process_time() - t0, 1),
        "estimates": {p.key: [p.estimate, p.spread] for p in report.fit.parameters},
        "before": report.before.__dict__,
        "after": report.after.__dict__,
        "domain_file": str(out / "identified.yaml"),
    }


def finetune(robot: Robot, source: Path, domain: str, steps: int, seed: int, out: Path) -> Path:
    """``sim2real transfer transfer_finetune`` from the source on PyBullet ``domain``."""
    normalize = (
        ["--set", "normalize=true"] if RunDir(source).vecnormalize_for(RunDir(source).model) else []
    )
    if not RunDir(out).finished():
        _sh([
            "sim2real", "transfer", "transfer_finetune", "--from", str(source),
            "--target", f"{robot.env}:{domain}", "--set", f"total_timesteps={steps}",
            "--set", "eval.freq=0", "--set", "checkpoint_freq=0", "--set", f"seed={seed}",
            *normalize, "--out", str(out), "--quiet",
        ])  # fmt: skip
    return out


def zero_shot(run: Path, env: str, episodes: int) -> dict[str, Any]:
    """Deterministic return on ``env``'s nominal domain (episode ``i`` seeded ``i``)."""
    res = evaluate(load_agent(run), env, "nominal", episodes=episodes, seed=0)
    ci = [res.mean if c is None else c for c in res.ci95]
    return {"mean": res.mean, "ci": ci, "length": sum(res.lengths) / len(res.lengths)}


def run_robot(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Steps 1-4 for one robot."""
    robot, work = ROBOTS[name], args.runs / name
    work.mkdir(parents=True, exist_ok=True)
    source = source_run(robot, args.runs)
    cached = work / "fit.json"  # the fit of an earlier call with the same settings
    settings = [args.episodes, args.budget, args.horizon, robot.params]
    old = json.loads(cached.read_text()) if cached.is_file() else {}
    if old.get("settings") == settings:
        fitted = old["fit"]
    else:
        fitted = fit(robot, source, args.episodes, args.budget, args.horizon, work)
        cached.write_text(json.dumps({"settings": settings, "fit": fitted}, indent=2))
    print(f"{name}: one-step nRMSE {fitted['before']['one_step']:.4g} -> "
          f"{fitted['after']['one_step']:.4g}", flush=True)  # fmt: skip
    domains = {"identified": f"{fitted['domain_file']}:source", "control": "source"}
    policies: dict[str, list[Path]] = {"source": [source]}
    for key, domain in domains.items():
        policies[key] = [
            finetune(robot, source, domain, args.sim_steps, seed,
                     work / (f"finetune_{key}" + (f"_seed{seed}" if seed else "")))
            for seed in args.finetune_seeds
        ]  # fmt: skip
    evals: dict[str, list[dict[str, Any]]] = {}
    for key, runs in policies.items():
        evals[key] = []
        for run in runs:
            evals[key].append({
                "run": str(run),
                "mujoco": zero_shot(run, f"{robot.env}@mujoco", args.eval_episodes),
                "pybullet": zero_shot(run, robot.env, args.eval_episodes),
            })  # fmt: skip
            print(f"{name} {run.name}: MuJoCo {evals[key][-1]['mujoco']['mean']:.1f}, "
                  f"PyBullet {evals[key][-1]['pybullet']['mean']:.1f}", flush=True)  # fmt: skip
    return {"robot": name, "params": robot.params, "source": str(source), "fit": fitted,
            "sim_steps": args.sim_steps, "finetune_seeds": args.finetune_seeds,
            "zero_shot": evals}  # fmt: skip


def _over_seeds(runs: list[dict[str, Any]], engine: str) -> str:
    """Mean over fine-tuning seeds [bootstrap 95% CI over seeds], then each seed's mean."""
    values = [r[engine]["mean"] for r in runs]
    est = bootstrap(lambda x: x.mean(axis=-1), [values])
    ci = f" [{est.lo:.0f}, {est.hi:.0f}]" if np.isfinite(est.lo) else ""
    each = f" ({', '.join(f'{v:.0f}' for v in values)})" if len(values) > 1 else ""
    return f"{est.value:.1f}{ci}{each}"


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    """The results table."""
    lines = [
        "# Identification across engines: record on MuJoCo, fit PyBullet",
        "",
        f"Command: `{command}`",
        "",
        "Prediction error: normalized RMSE on 5 held-out MuJoCo episodes (seeds 1000-1004),",
        "PyBullet nominal (before) -> identified (after). Zero-shot: deterministic return on",
        "`<robot>@mujoco:nominal` and PyBullet nominal (each policy: the mean of its episodes); per",
        "policy the mean over fine-tuning seeds [bootstrap 95% CI over seeds] (each seed's mean).",
        "`control` spends the same simulation fine-tuning steps on the source's own randomized",
        "domain, without identification.",
        "",
        "| robot | recorded (MuJoCo steps) | one-step before -> after | multi-step before -> after |",
        "|---|---|---|---|",
    ]
    for r in rows:
        f, b, a = r["fit"], r["fit"]["before"], r["fit"]["after"]
        lines.append(
            f"| {r['robot']} | {f['recorded_episodes']} ep ({f['recorded_mujoco_steps']}) | "
            f"{b['one_step']:.4g} -> {a['one_step']:.4g} | "
            f"{b['multi_step']:.4g} -> {a['multi_step']:.4g} |"
        )
    lines += [
        "",
        "| robot | policy | seeds | MuJoCo return | PyBullet return |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        for key, runs in r["zero_shot"].items():
            lines.append(
                f"| {r['robot']} | {key} | {len(runs)} | {_over_seeds(runs, 'mujoco')} | "
                f"{_over_seeds(runs, 'pybullet')} |"
            )
    lines += ["", "Estimates (value ± spread):", ""]
    for r in rows:
        est = ", ".join(f"{k} {v[0]:.3g} ± {v[1]:.2g}" for k, v in r["fit"]["estimates"].items())
        lines.append(f"- {r['robot']}: {est}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--robots", nargs="+", default=list(ROBOTS), choices=list(ROBOTS))
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--sim-steps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--finetune-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=Path("runs/identification_mujoco"))
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/identification_mujoco"
    )
    args = parser.parse_args()
    rows = [run_robot(name, args) for name in args.robots]
    command = "python benchmarks/identification_mujoco.py " + shlex.join(sys.argv[1:])
    meta = {"command": command.strip(), "git": git_state(), "versions": package_versions()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(rows, command.strip()))
    print(f"wrote {args.out / 'results.md'}")


if __name__ == "__main__":
    main()
