"""SB3 model construction from a config: algorithm class, checked hyperparameters, device, threads.

Device defaults follow SB3's guidance: PPO/A2C with an MLP policy run faster on the CPU, so
``device: auto`` means CPU for PPO and CUDA (when present) for SAC/TD3. Torch threads default
to 1 on small machines: on 2 cores one thread is measurably faster (see benchmarks/).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import ExperimentConfig
from sim2real.errors import ConfigError

__all__ = [
    "ALGOS",
    "algo_kwargs",
    "build_model",
    "linear_schedule",
    "policy_kwargs",
    "resolve_device",
    "resolve_threads",
    "setup_torch",
]

ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC, "td3": TD3}

_ACTIVATIONS: dict[str, type[torch.nn.Module]] = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
    "gelu": torch.nn.GELU,
    "silu": torch.nn.SiLU,
}
# set by the trainer, never by hyperparams
_RESERVED = {"policy", "env", "seed", "device", "tensorboard_log", "policy_kwargs", "verbose"}
_NOISE_KEYS = {"noise_type", "noise_std"}


def resolve_device(requested: str, algo: str) -> str:
    """``auto`` -> ``cpu`` for PPO, ``cuda`` if available for SAC/TD3; ``cuda`` without CUDA fails."""
    has_cuda = torch.cuda.is_available()
    if requested.startswith("cuda") and not has_cuda:
        raise ConfigError(
            f"device {requested!r} requested but CUDA is not available (torch {torch.__version__}); "
            "use --device cpu or --device auto"
        )
    if requested == "auto":
        return "cuda" if has_cuda and algo != "ppo" else "cpu"
    return requested


def resolve_threads(requested: int | None) -> int:
    """Torch intra-op threads: the request, else 1 on <= 4 cores, else half the cores (max 8)."""
    if requested:
        return requested
    cores = os.cpu_count() or 1
    return 1 if cores <= 4 else min(8, cores // 2)


def setup_torch(threads: int | None) -> int:
    """Apply :func:`resolve_threads` to torch; returns the thread count used."""
    n = resolve_threads(threads)
    torch.set_num_threads(n)
    return n


def linear_schedule(initial: float) -> Callable[[float], float]:
    """Learning rate decaying linearly from ``initial`` to 0 (rl-zoo3's ``lin_<value>``)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def policy_kwargs(config: ExperimentConfig) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` from the config's :class:`~sim2real.config.PolicyConfig`."""
    pol = config.policy
    arch: Any = pol.net_arch
    if isinstance(arch, dict) and config.algo == "ppo":
        arch = {"pi": arch.get("pi", []), "vf": arch.get("vf", [])}
    elif isinstance(arch, dict):
        arch = {"pi": arch.get("pi", []), "qf": arch.get("qf", [])}
    return {"net_arch": arch, "activation_fn": _ACTIVATIONS[pol.activation], **pol.kwargs}


def algo_kwargs(config: ExperimentConfig, n_actions: int) -> dict[str, Any]:
    """The SB3 constructor keyword arguments from ``config.hyperparams`` (checked, converted)."""
    cls = ALGOS[config.algo]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    hp = dict(config.hyperparams)
    for key in hp:
        if key in _RESERVED:
            raise ConfigError(
                f"hyperparams.{key}: set by sim2real, not a hyperparameter (use the top-level "
                "key, e.g. seed/device/policy)"
            )
        if key not in accepted and key not in _NOISE_KEYS:
            raise ConfigError(
                f"hyperparams.{key}: not an argument of SB3 {cls.__name__} "
                f"(accepted: {', '.join(sorted(accepted - _RESERVED))})"
            )
    for key in ("learning_rate", "clip_range"):
        value = hp.get(key)
        if isinstance(value, str):
            if not value.startswith("lin_"):
                raise ConfigError(
                    f"hyperparams.{key}: expected a number or 'lin_<number>', got {value!r}"
                )
            try:
                hp[key] = linear_schedule(float(value[4:]))
            except ValueError:
                raise ConfigError(f"hyperparams.{key}: bad schedule {value!r}") from None
    if isinstance(hp.get("train_freq"), list):
        hp["train_freq"] = tuple(hp["train_freq"])
    noise_type, noise_std = hp.pop("noise_type", None), hp.pop("noise_std", 0.1)
    if noise_type is not None:
        sigma = float(noise_std) * np.ones(n_actions)
        noises = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}
        if noise_type not in noises:
            raise ConfigError(
                f"hyperparams.noise_type: expected normal or ornstein-uhlenbeck, got {noise_type!r}"
            )
        hp["action_noise"] = noises[noise_type](mean=np.zeros(n_actions), sigma=sigma)
    return hp


def build_model(
    config: ExperimentConfig, env: VecEnv, device: str = "cpu", tensorboard_log: str | None = None
) -> BaseAlgorithm:
    """A fresh SB3 model for ``config`` on ``env`` (seeded with ``config.seed``)."""
    cls = ALGOS[config.algo]
    n_actions = int(np.prod(env.action_space.shape or (1,)))
    hp = algo_kwargs(config, n_actions)
    policy: Any = "MlpPolicy"
    if config.policy.critic_layer_norm:
        from sim2real.training.policies import LAYER_NORM_POLICIES

        if config.algo not in LAYER_NORM_POLICIES:
            raise ConfigError("policy.critic_layer_norm is for SAC/TD3 Q networks, not PPO")
        policy = LAYER_NORM_POLICIES[config.algo]
    kwargs = policy_kwargs(config)
    if config.adaptation is not None:
        from sim2real.adaptation.networks import RMAPolicy, rma_policy_kwargs

        policy = RMAPolicy
        kwargs.update(rma_policy_kwargs(config.adaptation, env))
    if config.policy.privileged_critic:
        from sim2real.training.privileged import PrivilegedCriticPolicy

        policy = PrivilegedCriticPolicy
    try:
        return cls(
            policy,
            env,
            seed=config.seed,
            device=device,
            tensorboard_log=tensorboard_log,
            policy_kwargs=kwargs,
            verbose=0,
            **hp,
        )
    except (TypeError, ValueError, AssertionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot build {cls.__name__} from hyperparams/policy: {reason}"
        ) from None
