"""The deployed RMA pair as an evaluation ``Agent``: policy + adaptation module, own history.

It reads only what the robot measures: the plain observation (no dynamics entries; its
``obs_shape`` is the env's own) and its own past actions. The true parameters never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sim2real.adaptation.networks import RMAPolicy, rma_actions
from sim2real.controller.history import HistoryBuffer
from sim2real.evaluation.agents import LoadedPolicyNames

__all__ = ["AdaptedAgent", "normalize_part"]


def normalize_part(vec_normalize: Any | None, obs: np.ndarray, n: int) -> np.ndarray:
    """``VecNormalize.normalize_obs`` restricted to the first ``n`` entries (the observation
    without the dynamics), as float32."""
    obs = np.asarray(obs, dtype=np.float32)
    if vec_normalize is None:
        return obs
    rms = vec_normalize.obs_rms
    out = (obs - rms.mean[:n]) / np.sqrt(rms.var[:n] + vec_normalize.epsilon)
    return np.clip(out, -vec_normalize.clip_obs, vec_normalize.clip_obs).astype(np.float32)


@dataclass
class AdaptedAgent(LoadedPolicyNames):
    """A loaded RMA policy (``LoadedPolicy`` whose model has an :class:`RMAPolicy`) acting
    deterministically on ``z_hat = adaptation(history)``; :meth:`reset` empties the history."""

    policy: Any
    label: str | None = None
    kind: str = "rma"
    _history: HistoryBuffer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rma = self.rma
        self._history = HistoryBuffer(
            rma.adaptation.spec, rma.env_encoder.n_obs, rma.adaptation.n_act
        )
        self._latent = np.zeros(rma.adaptation.latent_dim, np.float32)
        space = self.policy.model.action_space
        self._low, self._high = space.low, space.high

    @property
    def rma(self) -> RMAPolicy:
        """The policy module."""
        policy = self.policy.model.policy
        assert isinstance(policy, RMAPolicy)
        return policy

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """The plain observation (without dynamics)."""
        return (self.rma.env_encoder.n_obs,)

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Action shape the model produces."""
        return tuple(self.policy.model.action_space.shape or ())

    @property
    def latent(self) -> np.ndarray:
        """The estimate ``z_hat`` the last action was computed with."""
        return self._latent.copy()

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action on the latent estimated from the history (the observation
        joins it first, the action after)."""
        rma = self.rma
        x = normalize_part(self.policy.vec_normalize, obs, rma.env_encoder.n_obs)
        window = self._history.observe(x)
        with torch.no_grad():
            z_hat = rma.adaptation(torch.as_tensor(window[None], device=rma.device))
            xt = torch.as_tensor(x[None], device=rma.device)
            action = rma_actions(rma, xt, z_hat)[0].cpu().numpy()
        self._latent = z_hat[0].cpu().numpy()
        action = np.clip(action, self._low, self._high)
        self._history.record(action)
        return action

    def reset(self) -> None:
        """Start an episode (clears the history)."""
        self._history.clear()
