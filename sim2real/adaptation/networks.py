"""RMA networks: the env encoder (phase 1), the adaptation module (phase 2) and the policy that
holds both, so ``model.zip``, ``sim2real inspect`` and transfer see them as named parts.

* ``features_extractor.env_encoder``: MLP from the normalized dynamics parameters (the last
  ``n_dynamics`` observation entries) to the latent ``z``; the features are ``[obs, z]``,
  shared by actor and critic.
* ``adaptation.net``: MLP from the normalized current observation and the last ``history``
  (normalized observation, action) pairs (the input of
  :class:`~sim2real.controller.history.HistoryBuffer`) to an estimate of ``z``. RMA uses a 1-D
  CNN over 50 pairs; an MLP over the flattened window exports as plain matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from sim2real.controller.history import HistorySpec

__all__ = [
    "AdaptationModule",
    "EnvEncoderExtractor",
    "RMAPolicy",
    "mlp",
    "rma_actions",
    "rma_policy_kwargs",
]


def mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    """Linear layers with ELU between them (RMA's activation) and a linear output."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.ELU()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class EnvEncoderExtractor(BaseFeaturesExtractor):
    """``[obs, dyn] -> [obs, env_encoder(dyn)]`` (the last ``n_dynamics`` entries are ``dyn``)."""

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        n_dynamics: int,
        latent_dim: int = 8,
        encoder: Sequence[int] = (64, 32),
    ) -> None:
        n_total = int(observation_space.shape[0])
        if not 0 < n_dynamics < n_total:
            raise ValueError(f"n_dynamics must be in 1..{n_total - 1}, got {n_dynamics}")
        super().__init__(observation_space, features_dim=n_total - n_dynamics + latent_dim)
        self.n_obs = n_total - n_dynamics
        self.latent_dim = latent_dim
        self.env_encoder = mlp(n_dynamics, encoder, latent_dim)

    def latent(self, observations: torch.Tensor) -> torch.Tensor:
        """``z`` of the dynamics part of (normalized) observations."""
        return self.env_encoder(observations[:, self.n_obs :])

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Features ``[obs, z]``."""
        return torch.cat([observations[:, : self.n_obs], self.latent(observations)], dim=1)


class AdaptationModule(nn.Module):
    """``history input (batch, HistorySpec(history).input_size(n_obs, n_act)) -> z`` estimate."""

    def __init__(
        self, n_obs: int, n_act: int, history: int, latent_dim: int, hidden: Sequence[int]
    ) -> None:
        super().__init__()
        self.n_obs, self.n_act, self.history = n_obs, n_act, history
        self.latent_dim = latent_dim
        self.spec = HistorySpec(history, actions=True)
        self.net = mlp(self.spec.input_size(n_obs, n_act), hidden, latent_dim)

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """The latent estimate for each history input."""
        return self.net(history)


class RMAPolicy(ActorCriticPolicy):
    """PPO's ``ActorCriticPolicy`` over ``[obs, dyn]`` with an :class:`EnvEncoderExtractor`
    and an :class:`AdaptationModule` (``adaptation``, not trained by PPO: its loss never reaches
    it, phase 2 trains it).

    Extra keyword arguments: ``n_dynamics``, ``latent_dim``, ``encoder``, ``history``,
    ``adaptation_net``.
    """

    def __init__(
        self,
        *args: Any,
        n_dynamics: int,
        latent_dim: int = 8,
        encoder: Sequence[int] = (64, 32),
        history: int = 50,
        adaptation_net: Sequence[int] = (256, 128),
        **kwargs: Any,
    ) -> None:
        kwargs["features_extractor_class"] = EnvEncoderExtractor
        kwargs["features_extractor_kwargs"] = dict(
            n_dynamics=n_dynamics, latent_dim=latent_dim, encoder=list(encoder)
        )
        kwargs["share_features_extractor"] = True
        super().__init__(*args, **kwargs)
        extractor = self.features_extractor
        assert isinstance(extractor, EnvEncoderExtractor)
        n_act = int(self.action_space.shape[0]) if self.action_space.shape else 1
        self.adaptation = AdaptationModule(
            extractor.n_obs, n_act, history, latent_dim, list(adaptation_net)
        ).to(self.device)

    @property
    def env_encoder(self) -> EnvEncoderExtractor:
        """The features extractor (which holds ``env_encoder``)."""
        extractor = self.features_extractor
        assert isinstance(extractor, EnvEncoderExtractor)
        return extractor


def rma_actions(policy: RMAPolicy, obs: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    """Deterministic (mean) actions for normalized observations (without dynamics) and a latent,
    unclipped: the policy's action head on ``[obs, latent]``."""
    features = torch.cat([obs, latent], dim=1)
    latent_pi = policy.mlp_extractor.forward_actor(features)
    return policy.action_net(latent_pi)


def rma_policy_kwargs(adaptation: Any, venv: Any) -> dict[str, Any]:
    """:class:`RMAPolicy`'s extra ``policy_kwargs`` from an
    :class:`~sim2real.config.AdaptationConfig` and the phase-1 vec env."""
    return {
        "n_dynamics": int(venv.get_attr("n_dynamics")[0]),
        "latent_dim": adaptation.latent_dim,
        "encoder": list(adaptation.encoder),
        "history": adaptation.history,
        "adaptation_net": list(adaptation.module),
    }
