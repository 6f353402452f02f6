"""Cost of domain randomization: domain application at reset, and step rate with DR on vs off.

For each env, in one process, interleaved in many short rounds, timed in CPU time of this process
(``time.process_time``: PyBullet DIRECT runs in-process, and other processes' load on a shared
machine does not count against either side):

* ``apply``: median time to draw the source domain from ``np_random`` and apply it with one
  ``set_dynamics`` call (plus building ``info["domain"]``), i.e. the work the wrapper adds to reset;
* ``steps/s off``: bare ``gymnasium.make`` env, random actions, resets included;
* ``steps/s on``: the same env inside ``DomainRandomizationWrapper`` on its ``source`` domain
  (parameters resampled every episode, observation noise, pushes, action noise);
* ``ratio``: on / off (goal >= 0.9); ``apply`` goal <= 1 ms for an Ant-size robot;
* ``ep. steps``: mean episode length under random actions: the apply cost is paid once per
  episode, so short random-action episodes (cart-pole, hopper) weigh it most.

Usage::

    python benchmarks/dr_speed.py                     # cartpole, hopper, ant
    python benchmarks/dr_speed.py --envs ant --steps 5000 --rounds 21 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np

import sim2real.envs  # noqa: F401  (registers the ids)
from sim2real.envs.registry import make_env
from sim2real.randomization import DomainRandomizationWrapper, DomainSampler, load_domain
from sim2real.randomization.sampler import plain_values


def apply_time(env_name: str, repeats: int) -> float:
    """Median seconds to sample + apply + describe the source domain once."""
    env = make_env(env_name)
    base: Any = env.unwrapped
    env.reset(seed=0)
    specs = base.dynamics_specs()
    sampler = DomainSampler(load_domain(env_name, "source"), specs)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        values = sampler.sample_reset(rng)
        base.set_dynamics(values)
        plain_values(values, specs)
        times.append(time.process_time() - t0)
    env.close()
    return statistics.median(times)


def step_rate(env: Any, actions: np.ndarray, seed: int = 0) -> tuple[float, int]:
    """Steps per CPU second over ``actions`` (resetting at episode ends), and episodes ended."""
    env.reset(seed=seed)
    episodes = 0
    t0 = time.process_time()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
            episodes += 1
    return len(actions) / (time.process_time() - t0), episodes


def bench(env_name: str, steps: int, rounds: int, repeats: int) -> dict[str, Any]:
    """Measure one env (see the module docstring)."""
    off = make_env(env_name)
    on = DomainRandomizationWrapper(make_env(env_name), load_domain(env_name, "source"))
    rng = np.random.default_rng(0)
    shape = (steps, *(off.action_space.shape or ()))
    actions = rng.uniform(-1, 1, shape).astype(np.float32)
    step_rate(off, actions[: steps // 4])  # warm up both
    step_rate(on, actions[: steps // 4])
    rates_off, rates_on, episodes = [], [], 0
    for r in range(rounds):  # interleaved, alternating who goes first
        order = (off, on) if r % 2 == 0 else (on, off)
        result = {id(e): step_rate(e, actions, seed=r) for e in order}
        rates_off.append(result[id(off)][0])
        rates_on.append(result[id(on)][0])
        episodes += result[id(on)][1]
    n_links = len(on.get_wrapper_attr("robot").links)
    off.close()
    on.close()
    ratios = [b / a for a, b in zip(rates_off, rates_on)]
    return {
        "env": env_name,
        "n_links": n_links,
        "apply_ms": apply_time(env_name, repeats) * 1e3,
        "steps_per_s_off": statistics.median(rates_off),
        "steps_per_s_on": statistics.median(rates_on),
        "ratio": statistics.median(ratios),
        "mean_episode_steps": steps * rounds / max(episodes, 1),
    }


def main() -> None:
    """Parse arguments, run, print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["cartpole", "hopper", "ant"])
    parser.add_argument("--steps", type=int, default=2_000, help="steps per round and side")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=1000, help="domain applications timed")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    rows = [bench(e, args.steps, args.rounds, args.repeats) for e in args.envs]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'env':<12}{'links':>6}{'apply ms':>10}{'off steps/s':>13}{'on steps/s':>12}"
        f"{'on/off':>8}{'ep. steps':>11}"
    )
    for r in rows:
        print(
            f"{r['env']:<12}{r['n_links']:>6}{r['apply_ms']:>10.3f}{r['steps_per_s_off']:>13.0f}"
            f"{r['steps_per_s_on']:>12.0f}{r['ratio']:>8.3f}{r['mean_episode_steps']:>11.0f}"
        )


if __name__ == "__main__":
    main()
