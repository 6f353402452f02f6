"""Side-by-side latency of one ``act`` call: numpy backend vs onnxruntime backend vs SB3 ``predict``.

For each default MLP (PPO 64x64 tanh, SAC 256x256 relu; cart-pole spaces, VecNormalize on) the
script builds the SB3 model, exports it (ONNX + weights.npz, verified equal to SB3) and times,
in interleaved rounds within one process so machine load hits every contender alike:

* ``PolicyController.act`` with the numpy backend (the default on a robot);
* ``PolicyController.act`` with the onnxruntime backend;
* SB3 ``model.predict(vec_normalize.normalize_obs(obs), deterministic=True)`` (what SB3 needs
  to compute the same action);
* a reference with no numpy at all: a plain Python loop calibrated to the numpy backend's p50.
  Its p99 is the machine's floor for any code of that duration: on a VM whose host preempts
  the guest ~1,500 times a second for ~15-20 us, every call longer than ~7 us has a p99 of
  about its p50 + 15 us, whatever the code does.

Run: ``python benchmarks/controller_speed.py [--calls 20000] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

torch.set_num_threads(1)

CASES = {
    "ppo_64x64": ("ppo", [64, 64], torch.nn.Tanh),
    "sac_256x256": ("sac", [256, 256], torch.nn.ReLU),
}


def _build(algo: str, net_arch: list[int], activation: type, workdir: Path) -> tuple:
    from stable_baselines3 import PPO, SAC
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import sim2real.envs  # noqa: F401  (registers the ids)
    from sim2real.export import export_policy

    venv = VecNormalize(make_vec_env("sim2real/CartPole-v0", n_envs=1, seed=0), norm_reward=False)
    kwargs = {"policy_kwargs": {"net_arch": net_arch, "activation_fn": activation}, "device": "cpu"}
    if algo == "ppo":
        model = PPO("MlpPolicy", venv, n_steps=256, batch_size=64, seed=0, **kwargs)
    else:
        model = SAC("MlpPolicy", venv, learning_starts=100, batch_size=64, seed=0, **kwargs)
    model.learn(300)  # a few updates so weights and VecNormalize statistics are not trivial
    venv.training = False
    out = export_policy(model, "onnx", workdir / algo, vec_normalize=venv, env="cartpole")
    return model, venv, out


def _time_calls(fn, observations: np.ndarray) -> np.ndarray:
    clock = time.perf_counter_ns
    samples = np.empty(len(observations), dtype=np.int64)
    for i, obs in enumerate(observations):
        t0 = clock()
        fn(obs)
        samples[i] = clock() - t0
    return samples


def _spin(k: int) -> None:
    x = 0
    for i in range(k):
        x += i


def _calibrated_spin(target_us: float) -> int:
    """Iterations of :func:`_spin` that take ``target_us`` (median)."""
    probe = 200
    t = np.median([_time_calls(lambda _: _spin(probe), np.zeros((500, 1))).astype(float)])
    return max(1, round(probe * target_us * 1e3 / t))


def run(calls: int, rounds: int = 10) -> dict:
    """Measure every case; returns ``{case: {contender: {p50_us, p99_us, ...}}}``."""
    from sim2real.controller import PolicyController

    rng = np.random.default_rng(0)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, (algo, arch, act_fn) in CASES.items():
            model, vn, out = _build(algo, arch, act_fn, Path(tmp))
            np_ctrl = PolicyController.load(out, backend="numpy")
            ort_ctrl = PolicyController.load(out, backend="onnxruntime")
            mean, std = vn.obs_rms.mean, np.sqrt(vn.obs_rms.var)
            warm = (mean + std * rng.standard_normal((2000, len(mean)))).astype(np.float32)
            numpy_p50 = float(np.median(_time_calls(np_ctrl.act, warm))) / 1e3
            k = _calibrated_spin(numpy_p50)
            contenders = {
                "numpy backend": np_ctrl.act,
                "python loop, same p50": lambda o, k=k: _spin(k),
                "onnxruntime backend": ort_ctrl.act,
                "SB3 predict": lambda o, m=model, v=vn: m.predict(
                    v.normalize_obs(o), deterministic=True
                ),
            }
            per_round = max(1, calls // rounds)
            samples: dict[str, list[np.ndarray]] = {name: [] for name in contenders}
            sb3_calls = max(1, per_round // 10)  # SB3 is ~100x slower: fewer calls, same rounds
            for _ in range(rounds):
                obs = (mean + std * rng.standard_normal((per_round, len(mean)))).astype(np.float32)
                for name, fn in contenders.items():
                    n = sb3_calls if name == "SB3 predict" else per_round
                    for o in obs[:50]:  # warm-up
                        fn(o)
                    samples[name].append(_time_calls(fn, obs[:n]))
            case_result = {}
            for name, chunks in samples.items():
                s = np.concatenate(chunks) / 1e3
                case_result[name] = {
                    "calls": int(s.size),
                    "p50_us": float(np.percentile(s, 50)),
                    "p99_us": float(np.percentile(s, 99)),
                    # the quietest round: what the CPU does when other processes leave it alone
                    "p99_quietest_round_us": float(min(np.percentile(c, 99) for c in chunks) / 1e3),
                    "mean_us": float(s.mean()),
                }
            sb3 = case_result["SB3 predict"]["p50_us"]
            for name in ("numpy backend", "onnxruntime backend"):
                case_result[name]["speedup_vs_sb3_p50"] = sb3 / case_result[name]["p50_us"]
            results[case] = case_result
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="timed act calls per backend")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = run(args.calls)
    info = {
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps({"machine": info, "results": results}, indent=2))
        return
    print(f"machine: {info}")
    header = f"{'policy':<13} {'contender':<20} {'p50 us':>9} {'p99 us':>9}"
    print(f"{header} {'p99 quietest round':>19} {'vs SB3 (p50)':>13}")
    for case, res in results.items():
        for name, r in res.items():
            speed = r.get("speedup_vs_sb3_p50")
            if speed:
                speed_txt = f"{speed:12.0f}x"
            else:
                speed_txt = f"{'1x' if name == 'SB3 predict' else '-':>13}"
            print(
                f"{case:<13} {name:<20} {r['p50_us']:9.1f} {r['p99_us']:9.1f} "
                f"{r['p99_quietest_round_us']:19.1f} {speed_txt}"
            )


if __name__ == "__main__":
    main()
