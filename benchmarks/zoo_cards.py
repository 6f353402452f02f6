"""Measure the model card (``card.json``) of every shipped policy in ``policies/``.

Each policy is evaluated zero-shot with ``sim2real``'s one evaluation loop (deterministic
actions, episode ``i`` seeded ``seed + i``) on nominal dynamics, on every target of its domain
file and on its MuJoCo twin where one exists; per-episode returns, mean and 95 % bootstrap CI go
into ``policies/<name>/card.json`` (:mod:`sim2real.zoo`). ``tests/test_zoo.py`` re-evaluates
the first episodes of every card and fails if a change to an env breaks a shipped policy.

    python benchmarks/zoo_cards.py [--policies NAME ...] [--episodes 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

from sim2real.zoo import list_policies, measure_card, write_card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", nargs="*", help="only these policies (default: all)")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for policy in list_policies():
        if args.policies and policy.name not in args.policies:
            continue
        t0 = time.perf_counter()
        card = measure_card(policy, episodes=args.episodes, seed=args.seed)
        path = write_card(policy, card)
        print(f"{policy.name}: {time.perf_counter() - t0:.0f} s -> {path}")
        for e in card.evaluations:
            lo, hi = e.ci95
            print(f"  {e.target:24s} {e.mean:9.1f}  [{lo}, {hi}]")


if __name__ == "__main__":
    main()
