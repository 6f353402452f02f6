"""Side-by-side steps/s: plain SB3 vs a transferred agent with layer-wise lr + L2-SP (+ logging).

    python benchmarks/transfer_overhead.py [--algo ppo|sac] [--steps 4096] [--repeats 3]

Runs are interleaved in one process (plain, transfer, plain, ...) so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import time

import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.env_util import make_vec_env

import sim2real.envs  # noqa: F401
from sim2real.transfer import transfer, transfer_callbacks

SPEC = {
    "strategy": ["finetune", "layerwise_lr", "l2sp"],
    "lr_multipliers": {"actor.features": 0.1, "critic.features": 0.1},
    "l2sp_alpha": 0.01,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algo", choices=["ppo", "sac"], default="ppo")
    parser.add_argument("--steps", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cls = {"ppo": PPO, "sac": SAC}[args.algo]
    kw = {"n_steps": 512} if args.algo == "ppo" else {"learning_starts": 256}
    env = make_vec_env("sim2real/CartPole-v0", n_envs=1, seed=0)
    source = cls("MlpPolicy", env, policy_kwargs={"net_arch": [64, 64]}, seed=0, **kw)
    rates: dict[str, list[float]] = {"plain": [], "transfer": []}
    for rep in range(args.repeats):
        for arm in ("plain", "transfer"):
            target_env = make_vec_env("sim2real/CartPole-v0", n_envs=1, seed=rep + 1)
            if arm == "plain":
                model = cls("MlpPolicy", target_env, policy_kwargs={"net_arch": [64, 64]}, **kw)
                callbacks = []
            else:
                model = transfer(source, target_env, SPEC, seed=rep + 1)
                callbacks = transfer_callbacks()
            t0 = time.perf_counter()
            model.learn(args.steps, callback=callbacks)
            rates[arm].append(args.steps / (time.perf_counter() - t0))
    for arm, vals in rates.items():
        print(f"{arm:9s} steps/s: " + ", ".join(f"{v:.0f}" for v in vals))
    pairs = sorted(t / p for t, p in zip(rates["transfer"], rates["plain"]))
    print(
        f"ratio transfer/plain per adjacent pair: {', '.join(f'{r:.3f}' for r in pairs)}; "
        f"median {pairs[len(pairs) // 2]:.3f}"
    )


if __name__ == "__main__":
    main()
