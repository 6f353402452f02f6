"""Sim2sim table: does our domain randomization buy robustness against a gap we did not design?

For every robot, source policies trained with the same config, one on the ``nominal``
domain and one on the randomized ``source`` domain of ``envs/<robot>.yaml`` (and, with
``--sources``, the randomized source plus an observation history (``history``) or a privileged
critic (``privileged``) or online adaptation (``rma``: ``configs/<config>_rma.yaml``, phase 2
on top of the same phase-1 budget), issue 15; any other name is a domain of the robot's file,
e.g. ``source_actuators``; ``--source-seeds`` trains each on several seeds), are evaluated
zero-shot (deterministic, episode ``i`` seeded ``seed + i``, through the one evaluation loop
``sim2real.evaluation.evaluate``) on PyBullet nominal, on every PyBullet target of the robot's
domain file, and on its MuJoCo twin (``<robot>@mujoco:nominal``, Gymnasium's model).

Sources are taken from ``--runs/<robot>_<nominal|source>`` when finished there (cartpole's
randomized source is the shipped ``policies/cartpole_ppo_source``); with ``--train`` a missing
one is trained with the command in :data:`PRETRAIN` (printed, and stored in the JSON).

    python benchmarks/sim2sim.py --train [--robots cartpole hopper] [--episodes 10]
        [--sources nominal source source_actuators history privileged rma] [--source-seeds 0 1]
        [--merge]
        [--runs runs/sim2sim] [--out benchmarks/results/sim2sim]

Writes ``<out>/sim2sim.json`` (every return and length) and ``<out>/sim2sim.md`` (the table).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.config import load_config
from sim2real.envs import ENVS
from sim2real.evaluation import evaluate, load_agent
from sim2real.metrics.stats import bootstrap
from sim2real.randomization.domain import domain_names
from sim2real.training.run_dir import RunDir

ROOT = Path(__file__).resolve().parent.parent


def _budget_sets(steps: int, eval_freq: int, episodes: int) -> list[str]:
    """The ``--set`` overrides of a source's budget: steps, evaluation, no checkpoints."""
    return [
        f"total_timesteps={steps}",
        f"eval.freq={eval_freq}",
        f"eval.episodes={episodes}",
        "checkpoint_freq=0",
    ]


#: robot -> (pretrain config, --set overrides): budgets that finish in ~5-40 min each on a
#: loaded 2-core machine (cartpole: the exact command of policies/cartpole_ppo_source/README.md)
PRETRAIN: dict[str, tuple[str, list[str]]] = {
    "cartpole": (
        "cartpole_ppo",
        [
            "total_timesteps=60000",
            "eval.freq=10000",
            "eval.episodes=3",
            "eval.targets=[heavy_pole,weak_motor,laggy,worn]",
            "checkpoint_freq=0",
        ],
    ),
    "cartpole_swingup": (  # its config's own budget: at 150k both sources were at ~170-190
        "cartpole_swingup_ppo",
        _budget_sets(300_000, 50_000, 3),
    ),
    "hopper": (
        "hopper_ppo",
        _budget_sets(150_000, 50_000, 3),
    ),
    "reacher": (
        "reacher_sac",  # at 50k the randomized source had not learned to reach (19.6 cm)
        _budget_sets(150_000, 25_000, 5),
    ),
    "halfcheetah": (
        "halfcheetah_sac",
        _budget_sets(60_000, 20_000, 3),
    ),
    "ant": (
        "ant_ppo",  # at 300k the randomized source had not learned to walk (0.32 m)
        _budget_sets(1_000_000, 250_000, 3),
    ),
    "quadruped": (
        "quadruped_ppo",
        _budget_sets(300_000, 100_000, 3),
    ),
    "manipulator": (
        "manipulator_sac",
        _budget_sets(50_000, 10_000, 5),
    ),
}
#: shipped sources used instead of training: (robot, domain) -> policy folder
SHIPPED = {("cartpole", "source"): ROOT / "policies" / "cartpole_ppo_source"}
DOMAINS = ("nominal", "source")
#: sources beyond the two domains: the randomized source plus one issue-15 option each
VARIANTS: dict[str, list[str]] = {
    "history": ["domain=source", "history={length: 4}"],
    "privileged": ["domain=source", "policy.privileged_critic=true"],
    "rma": ["domain=source"],  # configs/<config>_rma.yaml: the config + an adaptation block
}
#: sources trained from a sibling config ``<config><suffix>`` instead of ``--set`` overrides
CONFIG_SUFFIX = {"rma": "_rma"}
SOURCES = (*DOMAINS, *VARIANTS)
LABEL = {
    "nominal": "trained on nominal",
    "source": "trained on randomized source",
    "history": "randomized source + history 4",
    "privileged": "randomized source + privileged critic",
    "rma": "randomized source + online adaptation (RMA)",
}


def source_key(source: str, seed: int) -> str:
    """Key (and run folder suffix) of a source trained with ``seed``."""
    return source if seed == 0 else f"{source}_seed{seed}"


def label(key: str) -> str:
    """Column label of a source key."""
    source, _, seed = key.partition("_seed")
    title = LABEL.get(source, f"trained on {source.replace('source_', 'randomized source + ')}")
    return title + (f" (seed {seed})" if seed else "")


def pretrain_command(robot: str, source: str, out: Path, seed: int = 0) -> list[str]:
    """The ``sim2real pretrain`` command line of one source."""
    config, sets = PRETRAIN[robot]
    args = ["sim2real", "pretrain", config + CONFIG_SUFFIX.get(source, "")]
    for s in [*sets, *VARIANTS.get(source, [f"domain={source}"])]:
        args += ["--set", s]
    return [*args, "--seed", str(seed), "--out", str(out), "--quiet"]


def source_run(
    robot: str, source: str, runs: Path, train: bool, seed: int = 0
) -> tuple[Path | None, str]:
    """The source's folder (``None`` if missing and not trained) and how it was made."""
    if (robot, source) in SHIPPED and seed == 0:
        path = SHIPPED[(robot, source)]
        return path, f"shipped: {path.relative_to(ROOT)} (see its README.md)"
    out = runs / f"{robot}_{source_key(source, seed)}"
    cmd = pretrain_command(robot, source, out, seed)
    text = "nice " + shlex.join(cmd)
    if RunDir(out).finished():
        return out, text
    if not train:
        return None, text
    print("+", text, flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(["nice", sys.executable, "-m", "sim2real", *cmd[1:]], check=True, env=env)
    return out, text


def targets_of(robot: str) -> list[tuple[str, str]]:
    """``(env, target)`` pairs: PyBullet nominal, every PyBullet target, MuJoCo nominal."""
    pairs = [(robot, "nominal")] + [(robot, t) for t in domain_names(robot)["targets"]]
    twin = f"{robot}@mujoco"
    return pairs + ([(twin, "nominal")] if twin in ENVS else [])


def evaluate_source(path: Path, robot: str, episodes: int, seed: int) -> list[dict[str, Any]]:
    """Zero-shot results of one source on every target of :func:`targets_of`."""
    agent = load_agent(path)
    rows = []
    for env, target in targets_of(robot):
        t0 = time.perf_counter()
        res = evaluate(agent, env, target, episodes=episodes, seed=seed)
        rows.append(
            {
                "env": env,
                "target": target,
                "mean": res.mean,
                "ci95": list(res.ci95),
                "mean_length": float(np.mean(res.lengths)),
                "returns": res.returns,
                "lengths": res.lengths,
                "final_info": res.final_info,
                "success_rate": res.success_rate,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        print(f"  {path.name} on {env}:{target}: {res.mean:.1f}", flush=True)
    return rows


def _cell(row: dict[str, Any]) -> str:
    lo, hi = row["ci95"]
    ci = f" [{lo:.0f}, {hi:.0f}]" if lo is not None else ""
    final = row.get("final_info", {})
    walked = f", {final['x_position']:.2f} m" if "x_position" in final else ""
    to_goal = f", {final['distance'] * 100:.1f} cm to goal" if "distance" in final else ""
    rate = row.get("success_rate")
    success = f", {rate:.0%} success" if rate is not None else ""
    return f"{row['mean']:.0f}{ci}, {row['mean_length']:.0f} steps{walked}{to_goal}{success}"


def _source_line(key: str, source: dict[str, Any], command: str) -> str:
    """One source of a robot's section: how it was made (and evaluated, if not by ``command``)."""
    other = source.get("command", command)
    evaluated = f" (evaluated by `{other}`)" if other != command else ""
    return f"- {label(key)}: `{source['how']}`{evaluated}"


def _source_order(key: str) -> tuple[int, str]:
    source = key.partition("_seed")[0]
    return (SOURCES.index(source) if source in SOURCES else len(SOURCES)), key


def _mean_ci(values: list[float], digits: int = 0) -> str:
    """Mean over seeds with its bootstrap 95% CI (none for one seed)."""
    est = bootstrap(lambda x: x.mean(axis=-1), [values])
    ci = f" [{est.lo:.{digits}f}, {est.hi:.{digits}f}]" if np.isfinite(est.lo) else ""
    return f"{est.value:.{digits}f}{ci}"


def _wall_time(path: str) -> float | None:
    """The source's pretraining wall time (``summary.json``), if recorded."""
    wall = RunDir(path).read_summary().get("wall_time_s")
    return float(wall) if wall is not None else None


def seed_summary(data: dict[str, Any]) -> list[str]:
    """Per source across its training seeds: PyBullet nominal and MuJoCo return, the share of
    the PyBullet return kept on MuJoCo (per seed, then the mean, issue 15's >= 50 % goal), and
    the pretraining wall time relative to the randomized source's."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(data["sources"], key=_source_order):
        groups.setdefault(key.partition("_seed")[0], []).append(data["sources"][key])
    base = [w for s in groups.get("source", []) if (w := _wall_time(s["path"])) is not None]
    lines = [
        "Across training seeds (mean over seeds [bootstrap 95% CI over seeds]; kept = MuJoCo",
        "return / PyBullet nominal return, per seed; cost = pretraining wall time / the",
        "randomized source's, same machine; other jobs shared the 2 cores, so read it as rough):",
        "",
        "| source | seeds | PyBullet nominal | MuJoCo | kept on MuJoCo | cost |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, runs in groups.items():
        by_env = [{r["env"]: r["mean"] for r in s["results"] if r["target"] == "nominal"}
                  for s in runs]  # fmt: skip
        twin = next((e for e in by_env[0] if "@mujoco" in e), None)
        if twin is None:
            continue
        robot = next(e for e in by_env[0] if "@mujoco" not in e)
        bullet, mujoco = [b[robot] for b in by_env], [b[twin] for b in by_env]
        kept = [m / b if b > 0 else float("nan") for m, b in zip(mujoco, bullet)]
        walls = [w for s in runs if (w := _wall_time(s["path"])) is not None]
        cost = f"{np.mean(walls) / np.mean(base):.2f}x" if walls and base else "n/a"
        lines.append(
            f"| {LABEL.get(name, label(name))} | {len(runs)} | {_mean_ci(bullet)} | "
            f"{_mean_ci(mujoco)} | {_mean_ci(kept, 2)} | {cost} |"
        )
    return [*lines, ""]


def _budget(source: dict[str, Any]) -> str:
    """``"<ALGO> <steps>"`` of a source: its pretrain command's config (or the shipped run's)."""
    how = source["how"]
    if how.startswith("shipped"):  # "shipped: <folder> (...)"
        config = load_config(RunDir(ROOT / how.split()[1]).config)
    else:
        args = shlex.split(how)
        sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
        config = load_config(args[args.index("pretrain") + 1], sets)
    steps = config.total_timesteps
    size = f"{steps / 1e6:g}M" if steps >= 1_000_000 else f"{steps // 1000}k"
    return f"{config.algo.upper()} {size}"


def _robot_order(results: dict[str, Any]) -> list[str]:
    """The robots of ``results`` in :data:`PRETRAIN` order (unknown ones last)."""
    order = list(PRETRAIN)
    return sorted(results["robots"], key=lambda r: order.index(r) if r in order else len(order))


def overview(results: dict[str, Any]) -> list[str]:
    """One row per robot and seed-0 source: budget, PyBullet nominal and MuJoCo nominal cells."""
    lines = [
        "| robot | source | budget | PyBullet nominal | MuJoCo nominal |",
        "|---|---|---|---:|---:|",
    ]
    for robot in _robot_order(results):
        sources = results["robots"][robot].get("sources", {})
        for key in sorted((k for k in sources if "_seed" not in k), key=_source_order):
            rows = {r["env"]: r for r in sources[key]["results"] if r["target"] == "nominal"}
            twin = rows.get(f"{robot}@mujoco")
            mujoco = _cell(twin) if twin else "no twin"
            lines.append(
                f"| {robot} | {label(key)} | {_budget(sources[key])} | {_cell(rows[robot])} | "
                f"{mujoco} |"
            )
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    """The sim2sim table, one section per robot (rows: target; columns: the two sources)."""
    lines = [
        "# Sim2sim: zero-shot return [95% CI], mean episode length (walkers: mean distance)",
        "",
        f"{results['episodes']} deterministic episodes per cell (seeds {results['seed']}.."
        f"{results['seed'] + results['episodes'] - 1}), made by `benchmarks/sim2sim.py`.",
        "",
        *overview(results),
    ]
    for robot in _robot_order(results):
        data = results["robots"][robot]
        lines += [f"## {robot}", ""]
        if "skipped" in data:
            lines += [data["skipped"], ""]
            continue
        domains = sorted(data["sources"], key=_source_order)
        lines += [f"Evaluated by `{data['command']}`; sources:"]
        lines += [_source_line(d, data["sources"][d], data["command"]) for d in domains]
        lines += ["", "| target | " + " | ".join(label(d) for d in domains) + " |"]
        lines += ["|---|" + "---:|" * len(domains)]
        first = data["sources"][domains[0]]["results"]
        for i, row in enumerate(first):
            name = f"{row['env']}:{row['target']}"
            name = f"**{name}** (MuJoCo)" if "@mujoco" in row["env"] else name
            cells = [_cell(data["sources"][d]["results"][i]) for d in domains]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        if any("_seed" in key for key in data["sources"]):
            lines += seed_summary(data)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Train (if asked) and evaluate the sources; write JSON and markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--robots", nargs="+", default=list(PRETRAIN), choices=list(PRETRAIN))
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=Path, default=Path("runs/sim2sim"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sim2sim")
    parser.add_argument("--train", action="store_true", help="Train missing sources.")
    parser.add_argument(
        "--sources",
        "--domains",
        nargs="+",
        default=list(DOMAINS),
        help=f"Sources: {', '.join(VARIANTS)} or a domain of the robot's file.",
    )
    parser.add_argument(
        "--source-seeds",
        "--source-seed",
        "--train-seeds",
        nargs="+",
        type=int,
        default=[0],
        help="Training seeds of each source.",
    )
    parser.add_argument(
        "--merge", action="store_true", help="Keep the other robots of an existing sim2sim.json."
    )
    parser.add_argument(
        "--markdown-only", action="store_true", help="Rewrite sim2sim.md from sim2sim.json."
    )
    args = parser.parse_args(argv)
    if args.markdown_only:
        data = json.loads((args.out / "sim2sim.json").read_text())
        (args.out / "sim2sim.md").write_text(markdown(data))
        return
    command = "python benchmarks/sim2sim.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "episodes": args.episodes,
        "seed": args.seed,
        "command": command.strip(),
        "robots": {},
    }
    old = args.out / "sim2sim.json"
    kept = json.loads(old.read_text())["robots"] if args.merge and old.is_file() else {}
    results["robots"] = {k: v for k, v in kept.items() if k not in args.robots}
    for robot in args.robots:
        # --merge keeps the robot's other sources (evaluated by the command recorded with them)
        sources: dict[str, Any] = dict(kept.get(robot, {}).get("sources", {}))
        for source, seed in itertools.product(args.sources, args.source_seeds):
            path, how = source_run(robot, source, args.runs, args.train, seed)
            if path is None:
                continue
            rows = evaluate_source(path, robot, args.episodes, args.seed)
            key = source_key(source, seed)
            sources[key] = {"path": str(path), "how": how, "results": rows}
            sources[key]["command"] = results["command"]
        results["robots"][robot] = (
            {"sources": sources, "command": results["command"]}
            if sources
            else {"skipped": "not run: no finished source (give --train)"}
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sim2sim.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "sim2sim.md").write_text(markdown(results))
    print(f"wrote {args.out / 'sim2sim.json'} and {args.out / 'sim2sim.md'}")


if __name__ == "__main__":
    main()
