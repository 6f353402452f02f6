"""Export of an RMA policy: the base network over ``[obs, z]`` and the adaptation module.

:func:`rma_view` turns a loaded RMA policy into what :func:`~sim2real.export.export_policy`
already exports and verifies: a plain SB3 ``ActorCriticPolicy`` over ``[obs, z]`` (the same
``mlp_extractor`` and ``action_net`` weights) with observation statistics for ``obs`` and
identity statistics (mean 0, std 1) for ``z``. The adaptation module becomes a second weights
file (``adaptation.npz``) whose normalization is the observation statistics tiled over the
history input, so the controller keeps a history of *raw* observations. ``z`` passes the
base network's ``clip_obs`` clip (10 with VecNormalize): a latent beyond it would differ from
torch, and the export's check against :class:`~sim2real.adaptation.agent.AdaptedAgent` would fail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.running_mean_std import RunningMeanStd

from sim2real.adaptation.agent import AdaptedAgent
from sim2real.adaptation.networks import RMAPolicy
from sim2real.controller.weights import MlpPolicyWeights
from sim2real.export.program import _module_ops
from sim2real.training.loading import LoadedPolicy

__all__ = ["RMAExport", "replay_pair", "rma_rollout", "rma_view"]


@dataclass
class _Stats:
    """The VecNormalize attributes export reads (``obs_rms``, ``epsilon``, ``clip_obs``)."""

    obs_rms: RunningMeanStd
    epsilon: float = 1e-8
    clip_obs: float = 10.0
    norm_obs: bool = True

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        """As ``VecNormalize.normalize_obs``."""
        x = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon)
        return np.clip(x, -self.clip_obs, self.clip_obs).astype(np.float32)


@dataclass
class RMAExport:
    """The base policy to export as usual, and the adaptation module's weights and metadata."""

    base: LoadedPolicy
    agent: AdaptedAgent
    adaptation: MlpPolicyWeights
    metadata: dict[str, Any]
    latent_names: list[str]


def _base_policy(rma: RMAPolicy) -> ActorCriticPolicy:
    n_in = rma.env_encoder.n_obs + rma.env_encoder.latent_dim
    space = gym.spaces.Box(-np.inf, np.inf, (n_in,), np.float32)
    base = ActorCriticPolicy(
        space,
        rma.action_space,
        lambda _: 0.0,
        net_arch=rma.net_arch,
        activation_fn=rma.activation_fn,
        ortho_init=False,
    )
    base.mlp_extractor.load_state_dict(rma.mlp_extractor.state_dict())
    base.action_net.load_state_dict(rma.action_net.state_dict())
    base.set_training_mode(False)
    return base


def _stats(vn: Any | None, mean: np.ndarray, var: np.ndarray) -> _Stats | None:
    """VecNormalize-like statistics ``mean``/``var`` (``None`` without normalization)."""
    if vn is None or not getattr(vn, "norm_obs", False):
        return None
    rms = RunningMeanStd(shape=mean.shape)
    rms.mean, rms.var = mean.astype(np.float64), var.astype(np.float64)
    return _Stats(rms, float(vn.epsilon), float(vn.clip_obs))


def _identity(vn: Any | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean 0 and variance ``1 - epsilon`` (std 1): entries the normalization leaves alone."""
    eps = float(getattr(vn, "epsilon", 1e-8))
    return np.zeros(n), np.full(n, 1.0 - eps)


def rma_view(src: LoadedPolicy) -> RMAExport | None:
    """The export view of an RMA policy (``None`` for any other policy)."""
    rma = src.model.policy
    if not isinstance(rma, RMAPolicy):
        return None
    n_obs, latent = rma.env_encoder.n_obs, rma.env_encoder.latent_dim
    module, n_act = rma.adaptation, rma.adaptation.n_act
    spec = module.spec
    vn: Any = src.vec_normalize
    m, v = (vn.obs_rms.mean[:n_obs], vn.obs_rms.var[:n_obs]) if vn is not None else (0, 0)
    z_m, z_v = _identity(vn, latent)
    a_m, a_v = _identity(vn, n_act)
    base_stats = _stats(vn, np.r_[m, z_m], np.r_[v, z_v])
    hist_stats = _stats(
        vn,
        np.r_[m, np.tile(np.r_[m, a_m], spec.length)],
        np.r_[v, np.tile(np.r_[v, a_v], spec.length)],
    )
    weights = MlpPolicyWeights(
        ops=_module_ops(module.net, "adaptation module"),
        action_low=np.full(latent, -np.inf),
        action_high=np.full(latent, np.inf),
    )
    if hist_stats is not None:
        weights.obs_mean, weights.obs_var = hist_stats.obs_rms.mean, hist_stats.obs_rms.var
        weights.epsilon, weights.clip_obs = hist_stats.epsilon, hist_stats.clip_obs
    weights.validate("adaptation module")
    base_model = _BaseModel(_base_policy(rma))
    base = replace(src, model=base_model, vec_normalize=base_stats)  # type: ignore[arg-type]
    meta = {
        "observations": n_obs,
        "latent_dim": latent,
        "history": spec.to_dict(),
        "input": "obs | obs[t-1] act[t-1] | ... (sim2real.controller.history), raw",
        "output": "latent estimate z_hat, fed as the base network's last inputs",
    }
    names = [f"adaptation.z[{i}]" for i in range(latent)]
    return RMAExport(base, AdaptedAgent(src), weights, meta, names)


class _BaseModel:
    """What export reads of an SB3 model: ``policy``, spaces, ``predict``."""

    def __init__(self, policy: ActorCriticPolicy) -> None:
        self.policy = policy
        self.observation_space = policy.observation_space
        self.action_space = policy.action_space

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> Any:
        """``policy.predict``."""
        return self.policy.predict(obs, deterministic=deterministic)


def rma_rollout(agent: AdaptedAgent, env: Any, steps: int = 200) -> dict[str, np.ndarray]:
    """A deterministic rollout of the deployed pair: ``rows`` (``[obs, z_hat]``, the base
    network's inputs), ``obs``, ``actions`` and ``starts`` (true at each episode's first step)."""
    obs, _ = env.reset(seed=0)
    agent.reset()
    rows, seen, acts, starts, start = [], [], [], [], True
    for _ in range(steps):
        x = np.asarray(obs, np.float32)
        action = agent.act(x)
        rows.append(np.r_[x, agent.latent].astype(np.float32))
        seen.append(x)
        acts.append(np.asarray(action, np.float64))
        starts.append(start)
        obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
        start = bool(terminated or truncated)
        if start:
            obs, _ = env.reset()
            agent.reset()
    return {
        "rows": np.stack(rows),
        "obs": np.stack(seen),
        "actions": np.stack(acts),
        "starts": np.asarray(starts),
    }


def replay_pair(
    base: MlpPolicyWeights, module: MlpPolicyWeights, meta: dict[str, Any], rollout: dict
) -> np.ndarray:
    """The numpy controller pair's actions on a rollout's observation sequence."""
    from sim2real.controller.adaptation import AdaptedPolicy
    from sim2real.controller.history import HistorySpec
    from sim2real.controller.numpy_backend import NumpyPolicy

    pair = AdaptedPolicy(
        NumpyPolicy(base),
        NumpyPolicy(module),
        HistorySpec.from_dict(meta["history"]),
        int(meta["observations"]),
        base.action_dim,
        int(meta["latent_dim"]),
    )
    out = []
    for obs, start in zip(rollout["obs"], rollout["starts"]):
        if start:
            pair.reset()
        action = np.clip(np.array(pair(obs), np.float64), base.action_low, base.action_high)
        pair.record(action.astype(np.float32))
        out.append(action)
    return np.stack(out)
