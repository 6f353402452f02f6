"""Write rl-zoo3 hyperparameter files ``zoo/<algo>.yml`` from the shipped sim2real configs.

    python docs/gen_zoo.py            # rewrites zoo/ppo.yml, zoo/sac.yml, zoo/td3.yml
    python -m rl_zoo3.train --algo ppo --env sim2real/Hopper-v0 --gym-packages sim2real.envs \\
        -conf zoo/ppo.yml

One entry per registered id: the tuned ``configs/<env>_<algo>_zoo.yaml`` if there is one, else
``configs/<env>_<algo>.yaml``. ``tests/test_zoo.py`` checks the files are current.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACTIVATIONS = {"tanh": "nn.Tanh", "relu": "nn.ReLU", "elu": "nn.ELU", "leaky_relu": "nn.LeakyReLU",
               "gelu": "nn.GELU", "silu": "nn.SiLU"}  # fmt: skip


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k}={_literal(v)}" for k, v in value.items()) + ")"
    return repr(value)


def zoo_entry(config: Any) -> dict[str, Any]:
    """One rl-zoo3 entry (``n_timesteps``, ``policy``, ``n_envs``, ``normalize``, the algorithm's
    keyword arguments and ``policy_kwargs`` as the string rl-zoo3 evaluates)."""
    entry: dict[str, Any] = {
        "n_timesteps": float(config.total_timesteps),
        "policy": "MlpPolicy",
        "n_envs": config.n_envs,
    }
    if config.normalize:
        entry["normalize"] = True
    for key, value in config.hyperparams.items():
        entry[key] = value
    kwargs = dict(config.policy.kwargs)
    kwargs["activation_fn"] = ACTIVATIONS[config.policy.activation]
    kwargs["net_arch"] = config.policy.net_arch
    parts = [f"{k}={v if k == 'activation_fn' else _literal(v)}" for k, v in kwargs.items()]
    entry["policy_kwargs"] = "dict(" + ", ".join(parts) + ")"
    return entry


def zoo_files() -> dict[str, str]:
    """``{algo: YAML text}``."""
    from sim2real.config import load_config
    from sim2real.envs import resolve_env

    chosen: dict[tuple[str, str], Path] = {}
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        stem = path.stem.removesuffix("_zoo")
        env, _, algo = stem.rpartition("_")
        if algo not in ("ppo", "sac", "td3") or not env or env == "transfer":
            continue
        key = (env, algo)
        if key not in chosen or path.stem.endswith("_zoo"):
            chosen[key] = path
    out: dict[str, dict[str, Any]] = {}
    for (env, algo), path in sorted(chosen.items()):
        config = load_config(path)
        out.setdefault(algo, {})[resolve_env(config.env).env_id] = zoo_entry(config)
    header = "# rl-zoo3 hyperparameters for sim2real's ids (generated: python docs/gen_zoo.py)\n"
    return {a: header + yaml.safe_dump(d, sort_keys=True) for a, d in out.items()}


if __name__ == "__main__":
    for algo, text in zoo_files().items():
        (ROOT / "zoo" / f"{algo}.yml").write_text(text)
        print(f"wrote zoo/{algo}.yml")
