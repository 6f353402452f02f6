"""Framework overhead: steps/s of ``sim2real.training.train`` vs a plain SB3 script, side by side.

Both sides use the same env, algorithm, hyperparameters, network, vectorization and torch
threads; runs alternate in one process (plain, sim2real, sim2real, plain, ...) so machine load
and drift hit both alike; reported as the ratio of the medians and the median of the paired
(back-to-back) ratios, per wall-clock second and per CPU second of the process (on a shared,
loaded machine the CPU-time rate is the stable measure of our own overhead). The sim2real side
includes everything a user gets: Monitor, NaN guard, TensorBoard logging, the progress bar,
checkpoint/eval callbacks (eval disabled so only the callback overhead is measured) and the run
directory. Also compares torch thread counts.

    python benchmarks/train_speed.py --config cartpole_ppo --steps 30000 --reps 6
    python benchmarks/train_speed.py --config hopper_ppo --steps 20000 --set n_envs=4
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import sim2real.envs  # noqa: F401  (registers the ids)
from sim2real.config import ExperimentConfig, load_config
from sim2real.envs.registry import resolve_env
from sim2real.training import train
from sim2real.training.algorithms import ALGOS, algo_kwargs, policy_kwargs


def _rates(cfg: ExperimentConfig, t0: float, c0: float) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second of this process)."""
    return (
        cfg.total_timesteps / (time.perf_counter() - t0),
        cfg.total_timesteps / (time.process_time() - c0),
    )


def plain_sb3(cfg: ExperimentConfig) -> tuple[float, float]:
    """What a user would write with SB3 alone; steps/s (wall, CPU) including setup."""
    t0, c0 = time.perf_counter(), time.process_time()
    env_id = resolve_env(cfg.env).env_id
    venv = sb3_make_vec_env(env_id, n_envs=cfg.n_envs, seed=cfg.seed, vec_env_cls=DummyVecEnv)
    if cfg.normalize:
        venv = VecNormalize(venv, gamma=float(cfg.hyperparams.get("gamma", 0.99)))
    n_act = int(venv.action_space.shape[0])
    model = ALGOS[cfg.algo](
        "MlpPolicy",
        venv,
        seed=cfg.seed,
        device="cpu",
        policy_kwargs=policy_kwargs(cfg),
        **algo_kwargs(cfg, n_act),
    )
    model.learn(cfg.total_timesteps)
    venv.close()
    return _rates(cfg, t0, c0)


def framework(cfg: ExperimentConfig, root: Path, quiet: bool) -> tuple[float, float]:
    """``sim2real.training.train`` with its callbacks; steps/s (wall, CPU) including setup."""
    t0, c0 = time.perf_counter(), time.process_time()
    train(cfg, out_dir=root / f"run{time.monotonic_ns()}", quiet=quiet)
    return _rates(cfg, t0, c0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="cartpole_ppo")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, nargs="+", default=[1], help="torch threads to compare")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--progress", action="store_true", help="show the progress bar (on a TTY)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for threads in args.threads:
            cfg = load_config(
                args.config,
                [
                    *args.overrides,
                    f"total_timesteps={args.steps}",
                    "domain=nominal",
                    "eval.freq=0",
                    "eval.at_start=false",
                    "checkpoint_freq=0",
                    "device=cpu",
                    f"torch_threads={threads}",
                ],
            )
            torch.set_num_threads(threads)
            plain, ours = [], []
            for rep in range(args.reps):  # ABBA order: a drift in machine speed hits both alike
                for side in ("plain", "ours") if rep % 2 == 0 else ("ours", "plain"):
                    if side == "plain":
                        plain.append(plain_sb3(cfg))
                    else:
                        ours.append(framework(cfg, Path(tmp), quiet=not args.progress))
            row = {
                "config": args.config,
                "env": cfg.env,
                "algo": cfg.algo,
                "n_envs": cfg.n_envs,
                "steps": args.steps,
                "threads": threads,
                "plain_sb3_wall": [round(w, 1) for w, _ in plain],
                "sim2real_wall": [round(w, 1) for w, _ in ours],
                "plain_sb3_cpu": [round(c, 1) for _, c in plain],
                "sim2real_cpu": [round(c, 1) for _, c in ours],
            }
            for kind in ("wall", "cpu"):
                row[f"ratio_{kind}"] = round(
                    statistics.median(row[f"sim2real_{kind}"])
                    / statistics.median(row[f"plain_sb3_{kind}"]),
                    3,
                )
            # each repetition's pair ran back to back: the median of the paired ratios
            row["ratio_wall_paired_median"] = round(
                statistics.median(o[0] / p[0] for o, p in zip(ours, plain)), 3
            )
            results.append(row)
            print(json.dumps(row), flush=True)
    print(
        "\n| config | threads | plain SB3 steps/s (wall / CPU) | sim2real steps/s (wall / CPU) "
        "| ratio wall | paired ratio wall | ratio CPU |\n|---|---|---|---|---|---|---|"
    )
    med = statistics.median
    for r in results:
        print(
            f"| {r['config']} ({r['n_envs']} envs) | {r['threads']} | "
            f"{med(r['plain_sb3_wall']):.0f} / {med(r['plain_sb3_cpu']):.0f} | "
            f"{med(r['sim2real_wall']):.0f} / {med(r['sim2real_cpu']):.0f} | "
            f"{r['ratio_wall']:.3f} | {r['ratio_wall_paired_median']:.3f} | {r['ratio_cpu']:.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
