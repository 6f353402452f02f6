"""SB3 SAC/TD3 policies whose critics have LayerNorm after every hidden layer (RLPD, Ball et al.
2023: layer-normalized critics keep Q-values bounded when most of a batch is offline data).

Selected with ``policy.critic_layer_norm: true`` for every arm of a run, scratch included, so
the comparison stays fair. The classes are saved by reference in ``model.zip``, so a model loads
with ``SAC.load`` / ``TD3.load`` wherever sim2real is installed; the actor, which export reads,
is SB3's own.
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, create_mlp
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

__all__ = ["LAYER_NORM_POLICIES", "LayerNormCritic", "LayerNormSACPolicy", "LayerNormTD3Policy"]


class LayerNormCritic(ContinuousCritic):
    """SB3's ``ContinuousCritic`` with ``Linear -> LayerNorm -> activation`` hidden layers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        in_dim = int(kwargs["features_dim"]) + get_action_dim(self.action_space)
        activation = kwargs.get("activation_fn", nn.ReLU)
        self.q_networks = []
        for idx in range(self.n_critics):
            layers = create_mlp(
                in_dim, 1, kwargs["net_arch"], activation, post_linear_modules=[nn.LayerNorm]
            )
            q_net = nn.Sequential(*layers)
            self.add_module(f"qf{idx}", q_net)  # replaces SB3's network of the same name
            self.q_networks.append(q_net)


class LayerNormSACPolicy(SACPolicy):
    """SAC ``MlpPolicy`` with :class:`LayerNormCritic`."""

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> Any:
        kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return LayerNormCritic(**kwargs).to(self.device)


class LayerNormTD3Policy(TD3Policy):
    """TD3 ``MlpPolicy`` with :class:`LayerNormCritic`."""

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> Any:
        kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return LayerNormCritic(**kwargs).to(self.device)


LAYER_NORM_POLICIES: dict[str, type] = {"sac": LayerNormSACPolicy, "td3": LayerNormTD3Policy}
