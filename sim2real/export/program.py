"""Turn an SB3 policy into sim2real's portable MLP program, and the program into a torch module.

The deterministic actor of each algorithm, as ``predict(deterministic=True)`` computes it:

* PPO/A2C (``ActorCriticPolicy``): ``action_net(mlp_extractor.policy_net(obs))``, then the
  action is clipped to the bounds (``squash_output=False``) or tanh + unscaled (gSDE squash);
* SAC: ``tanh(mu(latent_pi(obs)))`` (``mu`` may end in a Hardtanh with gSDE), then unscaled;
* TD3: ``mu(obs)`` (ends in a Tanh), then unscaled.

The observation is first normalized with VecNormalize's statistics exactly like
``VecNormalize.normalize_obs``: ``clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)``
computed in float64, then cast to float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import (
    DiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from sim2real.controller.weights import LayerOp, MlpPolicyWeights
from sim2real.errors import Sim2RealError
from sim2real.training.privileged import (
    OBSERVATION_KEY,
    KeySelector,
    PrivilegedCriticPolicy,
    actor_space,
)

__all__ = ["ExportedPolicy", "policy_to_weights"]

_ACTIVATION_TYPES: dict[type[nn.Module], str] = {
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.ELU: "elu",
    nn.LeakyReLU: "leaky_relu",
    nn.Sigmoid: "sigmoid",
    nn.SiLU: "silu",
    nn.GELU: "gelu",
    nn.Hardtanh: "hardtanh",
    nn.Identity: "identity",
}


def _module_ops(module: nn.Module, where: str) -> list[LayerOp]:
    if isinstance(module, nn.Sequential):
        return [op for child in module for op in _module_ops(child, where)]
    if isinstance(module, nn.Flatten):
        return []
    if isinstance(module, nn.Linear):
        weight = module.weight.detach().cpu().numpy().astype(np.float32)
        bias = (
            module.bias.detach().cpu().numpy().astype(np.float32)
            if module.bias is not None
            else np.zeros(weight.shape[0], np.float32)
        )
        return [LayerOp("linear", weight, bias)]
    for cls, kind in _ACTIVATION_TYPES.items():
        if type(module) is cls:
            param: tuple[float, ...] = ()
            if isinstance(module, nn.ELU):
                param = (float(module.alpha),)
            elif isinstance(module, nn.LeakyReLU):
                param = (float(module.negative_slope),)
            elif isinstance(module, nn.Hardtanh):
                param = (float(module.min_val), float(module.max_val))
            elif isinstance(module, nn.GELU) and module.approximate == "tanh":
                kind = "gelu_tanh"
            return [LayerOp(kind, param=param)]
    raise Sim2RealError(
        f"cannot export {where}: layer {type(module).__name__} is not supported "
        f"(supported: Linear, {', '.join(c.__name__ for c in _ACTIVATION_TYPES)}); "
        "export needs an MLP policy"
    )


def _check_flatten_extractor(extractor: nn.Module, where: str) -> None:
    if isinstance(extractor, KeySelector) and extractor.keys == (OBSERVATION_KEY,):
        return  # a privileged critic's actor: reads the observation alone, like a flatten
    if not isinstance(extractor, FlattenExtractor):
        raise Sim2RealError(
            f"cannot export {where}: features extractor {type(extractor).__name__} is not "
            "supported (only MlpPolicy with the default FlattenExtractor)"
        )


def _actor_ops(policy: Any) -> tuple[list[LayerOp], str]:
    """Layer ops of the deterministic actor and the post-processing (``clip``/``unscale``)."""

    name = type(policy).__name__
    if isinstance(policy, SACPolicy):
        sac_actor = policy.actor
        _check_flatten_extractor(sac_actor.features_extractor, name)
        ops = _module_ops(sac_actor.latent_pi, "SAC latent_pi") + _module_ops(
            sac_actor.mu, "SAC mu"
        )
        return [*ops, LayerOp("tanh")], "unscale"
    if isinstance(policy, TD3Policy):
        td3_actor = policy.actor
        _check_flatten_extractor(td3_actor.features_extractor, name)
        return _module_ops(td3_actor.mu, "TD3 mu"), "unscale"
    if isinstance(policy, ActorCriticPolicy):
        if not isinstance(
            policy.action_dist, (DiagGaussianDistribution, StateDependentNoiseDistribution)
        ):
            raise Sim2RealError(
                f"cannot export {name}: action distribution {type(policy.action_dist).__name__} "
                "is not supported (continuous Box actions only)"
            )
        _check_flatten_extractor(policy.pi_features_extractor, name)
        ops = _module_ops(policy.mlp_extractor.policy_net, "policy_net") + _module_ops(
            policy.action_net, "action_net"
        )
        if policy.squash_output:
            return [*ops, LayerOp("tanh")], "unscale"
        return ops, "clip"
    raise Sim2RealError(
        f"cannot export policy class {name}: supported are PPO/A2C (ActorCriticPolicy), SAC, TD3"
    )


def policy_to_weights(policy: Any, vec_normalize: Any | None = None) -> MlpPolicyWeights:
    """The portable program of an SB3 policy's deterministic actor (+ VecNormalize statistics).

    Raises:
        Sim2RealError: unsupported policy, observation or action space.
    """

    obs_space, act_space = actor_space(policy.observation_space), policy.action_space
    if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
        raise Sim2RealError(
            f"cannot export: observation space {obs_space} is not a 1-D Box (flat vector)"
        )
    if not isinstance(act_space, spaces.Box) or len(act_space.shape) != 1:
        raise Sim2RealError(f"cannot export: action space {act_space} is not a 1-D Box")
    ops, post = _actor_ops(policy)
    weights = MlpPolicyWeights(
        ops=ops,
        action_low=act_space.low.astype(np.float64),
        action_high=act_space.high.astype(np.float64),
        postprocess=post,
    )
    if vec_normalize is not None and getattr(vec_normalize, "norm_obs", False):
        rms = vec_normalize.obs_rms
        if isinstance(rms, dict) and isinstance(policy, PrivilegedCriticPolicy):
            rms = rms[OBSERVATION_KEY]  # the actor's input only
        if isinstance(rms, dict):
            raise Sim2RealError("cannot export: dict observations with VecNormalize")
        weights.obs_mean = np.asarray(rms.mean, dtype=np.float64).copy()
        weights.obs_var = np.asarray(rms.var, dtype=np.float64).copy()
        weights.epsilon = float(vec_normalize.epsilon)
        weights.clip_obs = float(vec_normalize.clip_obs)
    weights.validate("exported policy")
    return weights


def _torch_layer(op: LayerOp) -> nn.Module:
    if op.kind == "linear":
        w = torch.from_numpy(np.asarray(op.weight, np.float32))
        layer = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(torch.from_numpy(np.asarray(op.bias, np.float32)))
        return layer
    if op.kind == "elu":
        return nn.ELU(alpha=op.param[0] if op.param else 1.0)
    if op.kind == "leaky_relu":
        return nn.LeakyReLU(negative_slope=op.param[0] if op.param else 0.01)
    if op.kind == "hardtanh":
        return nn.Hardtanh(op.param[0], op.param[1])
    if op.kind == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    cls = {kind: c for c, kind in _ACTIVATION_TYPES.items()}[op.kind]
    return cls()


class ExportedPolicy(nn.Module):
    """``obs (batch, n_obs) float32 -> actions (batch, n_act) float32`` with everything baked in.

    Normalization runs in float64 like VecNormalize; the MLP in float32 like the SB3 policy;
    then unscale (squashed actors) and a final clip to the action bounds.
    """

    def __init__(self, weights: MlpPolicyWeights) -> None:
        super().__init__()
        self.net = nn.Sequential(*[_torch_layer(op) for op in weights.ops])
        self.normalize = weights.normalized
        n_obs = weights.obs_dim
        mean = weights.obs_mean if weights.normalized else np.zeros(n_obs)
        var = weights.obs_var if weights.normalized else np.ones(n_obs)
        self.obs_mean: torch.Tensor
        self.obs_std: torch.Tensor
        self.action_low: torch.Tensor
        self.action_high: torch.Tensor
        self.action_range: torch.Tensor
        self.register_buffer("obs_mean", torch.from_numpy(np.asarray(mean, np.float64)))
        std = np.sqrt(np.asarray(var, np.float64) + weights.epsilon)
        self.register_buffer("obs_std", torch.from_numpy(std))
        self.clip_obs = float(weights.clip_obs)
        self.unscale = weights.postprocess == "unscale"
        low = np.asarray(weights.action_low, np.float32)
        high = np.asarray(weights.action_high, np.float32)
        self.register_buffer("action_low", torch.from_numpy(low))
        self.register_buffer("action_high", torch.from_numpy(high))
        self.register_buffer(
            "action_range", torch.from_numpy(high - low if self.unscale else 0 * low)
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Actions for a batch of observations."""
        x = obs
        if self.normalize:
            x = torch.clamp(
                (obs.double() - self.obs_mean) / self.obs_std, -self.clip_obs, self.clip_obs
            ).float()
        a = self.net(x.float())
        if self.unscale:
            a = self.action_low + (0.5 * (a + 1.0) * self.action_range)
        return torch.minimum(torch.maximum(a, self.action_low), self.action_high)
