"""Privileged (asymmetric) critic: the value function also sees the sampled dynamics.

Pinto et al. 2018 ("Asymmetric Actor Critic for Image-Based Robot Learning") and legged_gym's
privileged observations: in simulation the critic may use what the robot cannot measure, here
the dynamics parameters the randomization drew for the episode; the actor, the only part that
is exported and deployed, sees the robot's observation alone.

- :class:`PrivilegedObservation` (outermost env wrapper) turns the observation into
  ``{"observation": <robot observation (+ history)>, "privileged": <dynamics>}``; every dynamics
  parameter entry, named ``PARAM`` or ``PARAM.ENTITY``, is mapped from its spec bounds
  ``[low, high]`` to ``[-1, 1]``.
- :class:`PrivilegedCriticPolicy` (PPO) has separate features extractors,
  ``pi_features_extractor`` reading ``observation`` and ``vf_features_extractor`` reading both
  keys, and a value network sized for the wider input (``mlp_extractor.value_net``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, MlpExtractor
from torch import nn

from sim2real.envs.external import dynamics_specs_of
from sim2real.errors import DomainError

__all__ = [
    "OBSERVATION_KEY",
    "PRIVILEGED_KEY",
    "AsymmetricMlpExtractor",
    "KeySelector",
    "PrivilegedCriticPolicy",
    "PrivilegedObservation",
    "actor_space",
]

OBSERVATION_KEY = "observation"
"""What the robot measures (and the actor reads)."""
PRIVILEGED_KEY = "privileged"
"""What only the simulator knows (the critic reads it too)."""


def actor_space(space: gym.Space) -> gym.Space:
    """The part of an observation space the actor reads (the space itself if not a Dict)."""
    return space[OBSERVATION_KEY] if isinstance(space, spaces.Dict) else space


class PrivilegedObservation(gym.Wrapper[Any, Any, Any, Any]):
    """``{"observation": obs, "privileged": dynamics in [-1, 1]}``; the dynamics are the ones
    the :class:`~sim2real.randomization.DomainRandomizationWrapper` inside applied (parameters
    it does not draw are at their nominal values).

    Raises:
        DomainError: the env has no randomization wrapper or no dynamics parameters.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        randomized = env.has_wrapper_attr("domain_values")
        specs = dict(dynamics_specs_of(env)) if randomized else {}
        if not specs:
            raise DomainError(
                "policy.privileged_critic needs the dynamics parameters the randomization draws; "
                "train on a randomized domain of an env with dynamics parameters (domain: source)"
            )
        self._specs = specs
        self.privileged_names = _entry_names(specs)
        n = len(self.privileged_names)
        self.observation_space = spaces.Dict(
            {
                OBSERVATION_KEY: env.observation_space,
                PRIVILEGED_KEY: spaces.Box(-1.0, 1.0, (n,), np.float32),
            }
        )

    def _privileged(self) -> np.ndarray:
        values: Mapping[str, Any] = self.env.get_wrapper_attr("domain_values")
        out = []
        for name in sorted(self._specs):
            spec = self._specs[name]
            raw = values.get(name)
            if isinstance(raw, Mapping):
                value = np.array([raw[e] for e in spec.entities], np.float64)
            elif raw is None:
                value = np.asarray(spec.nominal, np.float64).reshape(-1)
            else:
                value = np.broadcast_to(np.asarray(raw, np.float64), spec.nominal.shape)
            span = max(spec.high - spec.low, 1e-12)
            out.append(np.reshape(2.0 * (value - spec.low) / span - 1.0, -1))
        return np.concatenate(out).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset; the privileged entries are this episode's dynamics."""
        obs, info = self.env.reset(seed=seed, options=options)
        return {OBSERVATION_KEY: obs, PRIVILEGED_KEY: self._privileged()}, info

    def step(self, action: Any) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Step; the privileged entries follow interval re-draws too."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        out = {OBSERVATION_KEY: obs, PRIVILEGED_KEY: self._privileged()}
        return out, reward, terminated, truncated, info


def _entry_names(specs: Mapping[str, Any]) -> list[str]:
    """``PARAM`` for a scalar, ``PARAM.ENTITY`` per entity, parameters in sorted order."""
    names: list[str] = []
    for name in sorted(specs):
        ents = specs[name].entities
        names += [f"{name}.{e}" for e in ents] if ents else [name]
    return names


class KeySelector(BaseFeaturesExtractor):
    """Features = the named entries of a Dict observation, flattened and concatenated."""

    def __init__(
        self, observation_space: spaces.Dict, keys: Sequence[str] = (OBSERVATION_KEY,)
    ) -> None:
        dim = sum(int(np.prod(observation_space[k].shape or (1,))) for k in keys)
        super().__init__(observation_space, features_dim=dim)
        self.keys = tuple(keys)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """The selected entries as one ``(batch, features_dim)`` tensor."""
        return th.cat([th.flatten(observations[k], start_dim=1) for k in self.keys], dim=1)


class AsymmetricMlpExtractor(MlpExtractor):
    """SB3's ``MlpExtractor`` whose ``value_net`` reads a wider input than ``policy_net``."""

    def __init__(
        self,
        pi_dim: int,
        vf_dim: int,
        net_arch: list[int] | dict[str, list[int]],
        activation_fn: type[nn.Module],
        device: th.device | str = "auto",
    ) -> None:
        super().__init__(pi_dim, net_arch, activation_fn, device)
        self.value_net = MlpExtractor(vf_dim, net_arch, activation_fn, device).value_net


class PrivilegedCriticPolicy(ActorCriticPolicy):
    """PPO's MLP policy with an asymmetric critic: the actor reads ``observation``, the critic
    ``observation`` + ``privileged``. Saved by reference in ``model.zip`` (``PPO.load`` works
    wherever sim2real is installed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["features_extractor_class"] = KeySelector
        kwargs["features_extractor_kwargs"] = {"keys": (OBSERVATION_KEY,)}
        kwargs["share_features_extractor"] = False
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        assert isinstance(self.observation_space, spaces.Dict)
        self.vf_features_extractor = KeySelector(
            self.observation_space, (OBSERVATION_KEY, PRIVILEGED_KEY)
        )
        self.mlp_extractor = AsymmetricMlpExtractor(
            self.features_dim,
            self.vf_features_extractor.features_dim,
            self.net_arch,
            self.activation_fn,
            self.device,
        )
