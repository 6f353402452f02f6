"""Domains of an env as plain data (what ``sim2real envs show`` and ``envs sample`` print)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim2real.envs.registry import make_env
from sim2real.randomization.domain import (
    domain_file_path,
    env_specs,
    load_domain,
    load_domain_file,
)
from sim2real.randomization.sampler import DomainSampler
from sim2real.randomization.wrapper import DomainRandomizationWrapper

__all__ = ["describe_domains", "flatten_sample", "sample_domains"]


def describe_domains(env: str) -> dict[str, Any]:
    """``{"file", "source": {...} | None, "sources": {name: {...}}, "targets": {name: {...}}}``.

    A source (``source`` and each named one) lists one row per parameter (distribution, mode,
    resample) plus pushes and action noise; each target lists its fixed shifts.
    """
    path = domain_file_path(env)
    if not path.is_file():
        return {"file": None, "source": None, "sources": {}, "targets": {}}
    file = load_domain_file(path)
    out: dict[str, Any] = {"file": str(path), "source": None, "sources": {}, "targets": {}}
    if file.source is not None:
        out["source"] = _describe_source(env, "source")
    for name in file.sources:
        out["sources"][name] = _describe_source(env, name)
    for name in file.targets:
        dom = load_domain(env, name)
        plain = dom.to_plain()
        out["targets"][name] = {
            "description": dom.description,
            "shifts": plain.get("parameters", {}),
            **{k: v for k, v in plain.items() if k in ("pushes", "action_noise")},
        }
    return out


def _describe_source(env: str, name: str) -> dict[str, Any]:
    src = load_domain(env, name)
    return {
        "description": src.description,
        "parameters": DomainSampler(src, env_specs(env)).describe(),
        **{k: v for k, v in src.to_plain().items() if k in ("pushes", "action_noise")},
    }


def sample_domains(env: str, which: str, seed: int, n: int) -> list[dict[str, Any]]:
    """The dynamics of ``n`` consecutive episodes of ``env`` on domain ``which`` from ``seed``.

    Exactly what a training env seeded ``seed`` applies (same wrapper, same random stream).
    """

    domain = load_domain(env, which)
    wrapped = DomainRandomizationWrapper(make_env(env), domain)
    try:
        samples = []
        for i in range(n):
            _, info = wrapped.reset(seed=seed if i == 0 else None)
            samples.append(info["domain"])
        return samples
    finally:
        wrapped.close()


def flatten_sample(sample: dict[str, Any]) -> dict[str, float]:
    """``{"param" | "param/entity": value}`` view of one sampled domain."""
    flat: dict[str, float] = {}
    for name, value in sample.items():
        if isinstance(value, dict):
            flat.update({f"{name}/{e}": float(np.asarray(x)) for e, x in value.items()})
        else:
            flat[name] = float(value)
    return flat
