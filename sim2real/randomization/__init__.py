"""Domain randomization: domains as data, the applying wrapper, ADR, third-party adapters.

``load_domain(env, which)`` reads a validated :class:`Domain` (``source``, ``nominal``, a target
from ``envs/<env>.yaml`` or ``file.yaml:NAME``); :class:`DomainRandomizationWrapper` applies it.
The SB3 callbacks (:class:`DomainStatsCallback`, :class:`ADRCallback`) are imported lazily so
that this package does not pull in torch.
"""

from __future__ import annotations

from typing import Any

from sim2real.randomization.adapters import PyBulletDynamicsAdapter
from sim2real.randomization.adr import ADRBinding, ADRConfig, ADRParameter, ADRState
from sim2real.randomization.distributions import (
    Choice,
    Constant,
    Distribution,
    LogUniform,
    Normal,
    TruncatedNormal,
    Uniform,
)
from sim2real.randomization.domain import (
    ActionNoise,
    Domain,
    DomainFile,
    ParameterTerm,
    PushConfig,
    domain_names,
    load_domain,
    load_domain_file,
)
from sim2real.randomization.sampler import DomainSampler
from sim2real.randomization.wrapper import DomainRandomizationWrapper

__all__ = [
    "ADRBinding",
    "ADRCallback",
    "ADRConfig",
    "ADRParameter",
    "ADRState",
    "ActionNoise",
    "Choice",
    "Constant",
    "Distribution",
    "Domain",
    "DomainFile",
    "DomainRandomizationWrapper",
    "DomainSampler",
    "DomainStatsCallback",
    "LogUniform",
    "Normal",
    "ParameterTerm",
    "PushConfig",
    "PyBulletDynamicsAdapter",
    "TruncatedNormal",
    "Uniform",
    "domain_names",
    "load_domain",
    "load_domain_file",
]

_LAZY = {"ADRCallback", "DomainStatsCallback"}


def __getattr__(name: str) -> Any:
    # the callbacks subclass SB3's BaseCallback: loaded on first use, so domains and the
    # wrapper stay importable without torch/SB3 (envs, controller-side tools, `sim2real envs`)
    if name in _LAZY:
        from sim2real.randomization import callbacks

        return getattr(callbacks, name)
    raise AttributeError(f"module 'sim2real.randomization' has no attribute {name!r}")
