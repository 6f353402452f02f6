"""Wall-clock time to a return threshold: ``sim2real pretrain`` vs rl-zoo3 with its tuned hyperparameters.

Each side runs as its own process (timed from process start, imports included) for at most
``--budget-s`` seconds, evaluating every ``--eval-freq`` steps with ``--eval-episodes``
deterministic episodes on the nominal task; the time of the first evaluation whose mean return
reaches ``--threshold`` is the result (``null`` = not reached within the budget, i.e. censored).
The sides run one after the other on the same machine, or with ``--parallel`` at the same time,
each pinned to its own CPU core (``taskset``) with one torch thread, which halves the wall time
on a 2-core machine and gives both sides the same conditions. rl-zoo3 is a benchmark-only
dependency (``pip install rl_zoo3``). ``--keep DIR`` keeps both run folders.

    python benchmarks/time_to_threshold.py --ours hopper_ppo --zoo-env HopperBulletEnv-v0 \\
        --zoo-algo ppo --threshold 1000 --budget-s 1800 --eval-freq 20000
    python benchmarks/time_to_threshold.py --ours cartpole_swingup_ppo \\
        --zoo-env InvertedPendulumSwingupBulletEnv-v0 --zoo-algo ppo --threshold 600 --budget-s 900
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

EVAL_LINE = re.compile(r"Eval num_timesteps=(\d+), episode_reward=([-\d.eE+]+)")


def _run_bounded(cmd: list[str], budget_s: float, on_line=None, cpu: int | None = None) -> float:
    """Run ``cmd``; SIGTERM it after ``budget_s`` (SIGINT is ignored in background jobs)."""
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(
        budget_s, lambda: proc.poll() is None and proc.send_signal(signal.SIGTERM)
    )
    timer.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        if on_line is not None:
            on_line(line, time.perf_counter() - t0)
    proc.wait()
    timer.cancel()
    return time.perf_counter() - t0


def run_ours(args: argparse.Namespace, out: Path, cpu: int | None = None) -> dict:
    """``sim2real pretrain`` on nominal dynamics; times come from evaluations.json."""
    cmd = [
        sys.executable,
        "-m",
        "sim2real",
        "pretrain",
        args.ours,
        "--out",
        str(out),
        "--quiet",
        "--seed",
        str(args.seed),
        "--set",
        "domain=nominal",
        "--set",
        f"eval.freq={args.eval_freq}",
        "--set",
        f"eval.episodes={args.eval_episodes}",
        "--set",
        "eval.targets=[]",
        *[x for s in args.set for x in ("--set", s)],
    ]
    elapsed = _run_bounded(cmd, args.budget_s, cpu=cpu)
    evals = json.loads((out / "evaluations.json").read_text())["train_domain"]
    summary = json.loads((out / "summary.json").read_text())
    # wall_time_s counts from training start: add the start-up (imports, env/model build);
    # everything after training (final save, exit) is counted as start-up too (conservative)
    offset = max(0.0, elapsed - summary["wall_time_s"])
    points = list(zip(evals["wall_time_s"], evals["timesteps"], evals["mean"]))
    return _result("sim2real", points, offset, elapsed, args.threshold)


def run_zoo(args: argparse.Namespace, out: Path, cpu: int | None = None) -> dict:
    """rl-zoo3's ``train`` with its tuned hyperparameters; times from its printed eval lines."""
    points: list[tuple[float, int, float]] = []

    def on_line(line: str, t: float) -> None:
        m = EVAL_LINE.search(line)
        if m:
            points.append((t, int(m.group(1)), float(m.group(2))))

    cmd = [
        sys.executable,
        "-m",
        "rl_zoo3.train",
        "--algo",
        args.zoo_algo,
        "--env",
        args.zoo_env,
        "--gym-packages",
        "pybullet_envs_gymnasium",
        "-f",
        str(out),
        "--seed",
        str(args.seed),
        "--eval-freq",
        str(args.eval_freq),
        "--eval-episodes",
        str(args.eval_episodes),
        "--n-eval-envs",
        "1",
        "--device",
        "cpu",
        "--vec-env",
        "dummy",
        *(["--num-threads", "1"] if cpu is not None else []),
    ]
    elapsed = _run_bounded(cmd, args.budget_s, on_line, cpu)
    return _result("rl-zoo3", points, 0.0, elapsed, args.threshold)


def _result(
    name: str, points: list, offset: float, elapsed: float, thresholds: list[float]
) -> dict:
    hits = {}
    for thr in thresholds:
        hit = next(((t + offset, s) for t, s, m in points if m >= thr), None)
        hits[str(thr)] = None if hit is None else {"time_s": round(hit[0], 1), "steps": hit[1]}
    return {
        "side": name,
        "time_to_threshold": hits,
        "ran_s": round(elapsed, 1),
        "evals": [
            {"t": round(t + offset, 1), "steps": s, "mean": round(m, 1)} for t, s, m in points
        ],
        "best_mean": max((m for _, _, m in points), default=None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", required=True, help="sim2real config (name or path)")
    ap.add_argument("--zoo-env", required=True)
    ap.add_argument("--zoo-algo", default="ppo")
    ap.add_argument("--threshold", type=float, nargs="+", required=True)
    ap.add_argument("--budget-s", type=float, default=1800)
    ap.add_argument("--eval-freq", type=int, default=20_000)
    ap.add_argument("--eval-episodes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], help="override for our config")
    ap.add_argument("--only", choices=["ours", "zoo"], help="run one side only")
    ap.add_argument("--parallel", action="store_true", help="run both sides at once, 1 core each")
    ap.add_argument("--keep", type=Path, help="keep the run folders here")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    sides = [(n, f) for n, f in (("ours", run_ours), ("zoo", run_zoo)) if args.only in (None, n)]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        if args.parallel:
            with ThreadPoolExecutor(len(sides)) as pool:
                futures = [pool.submit(f, args, root / n, cpu) for cpu, (n, f) in enumerate(sides)]
                results = [fut.result() for fut in futures]
        else:
            results = [f(args, root / n) for n, f in sides]
        for r in results:
            print(json.dumps(r), flush=True)
    if len(results) == 2:
        print("| threshold | sim2real time (s) | rl-zoo3 time (s) | ratio |\n|---|---|---|---|")
        for thr in map(str, args.threshold):
            ours, zoo = (r["time_to_threshold"][thr] for r in results)
            ratio = f"{ours['time_s'] / zoo['time_s']:.2f}" if ours and zoo else "n/a (censored)"
            fmt = lambda h: "not reached" if h is None else f"{h['time_s']} ({h['steps']} steps)"  # noqa: E731
            print(f"| {thr} | {fmt(ours)} | {fmt(zoo)} | {ratio} |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": vars(args), "load_average": os.getloadavg(), "results": results},
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
