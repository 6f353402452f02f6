"""The frozen source policy ("teacher") and the schedules of the strategies that use it.

A :class:`Teacher` is a deep copy of the source's SB3 policy, in eval mode and without
gradients. It reads the learner's observations (normalized with the statistics carried over from
the source, which is why these strategies refuse ``normalization: reestimate``), and gives

* its action distribution (``distribution``) for the anchor ``KL(pi_source || pi)``,
* its deterministic action (``act``) for the guide of Jump-Start RL.

The schedules are plain functions of the step and the latest evaluation, so a resumed run gets
the same weight and horizon by replaying its evaluations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch as th
from torch import nn
from torch.distributions import Distribution, Normal, kl_divergence

__all__ = [
    "Teacher",
    "anchor_weight",
    "guide_horizon",
    "kl_to_teacher",
    "shrink_horizon",
]


class Teacher:
    """A frozen copy of a source SB3 policy (PPO ``ActorCriticPolicy``, SAC/TD3 policy)."""

    def __init__(self, policy: nn.Module, device: th.device | str = "cpu") -> None:
        # rebuilt from its constructor arguments, as SB3's own policy save/load does (a deep
        # copy would trip over the tensors a used distribution caches)
        self.policy: Any = type(policy)(**policy._get_constructor_parameters()).to(device)  # type: ignore[operator]
        self.policy.load_state_dict(policy.state_dict())
        self.policy.set_training_mode(False)  # type: ignore[operator]
        for p in self.policy.parameters():
            p.requires_grad_(False)

    @property
    def kind(self) -> str:
        """``ppo`` (actor-critic), ``sac`` (squashed Gaussian actor) or ``td3`` (deterministic)."""
        if hasattr(self.policy, "mlp_extractor"):
            return "ppo"
        return "sac" if hasattr(self.policy.actor, "action_dist") else "td3"

    def distribution(self, obs: th.Tensor) -> Distribution:
        """The teacher's (pre-squash, for SAC) action distribution on ``obs``."""
        with th.no_grad():
            if self.kind == "ppo":
                return self.policy.get_distribution(obs).distribution
            mean, log_std, _ = self.policy.actor.get_action_dist_params(obs)
            return Normal(mean, log_std.exp())

    def mean_action(self, obs: th.Tensor) -> th.Tensor:
        """TD3: the deterministic action in [-1, 1] (the actor's output)."""
        with th.no_grad():
            return self.policy.actor(obs)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic actions for a batch of observations, in the env's action units."""
        actions, _ = self.policy.predict(obs, deterministic=True)
        return np.asarray(actions)


def kl_to_teacher(teacher: Distribution, student: Distribution) -> th.Tensor:
    """``KL(teacher || student)`` per sample (summed over the action dimensions)."""
    kl = kl_divergence(teacher, student)
    return kl.sum(-1) if kl.ndim > 1 else kl


def anchor_weight(
    spec: dict[str, Any], step: int, score: float | None, teacher: float | None
) -> float:
    """The anchor weight at target step ``step``.

    ``fixed``: ``weight``; ``linear``: ``weight * max(1 - step / decay_steps, 0)``;
    ``performance``: ``weight * max(1 - (score - floor) / (teacher - floor), 0)`` with the latest
    evaluation ``score`` (``weight`` before the first evaluation and when the teacher is not
    above the floor, so the anchor never switches off on an undefined ratio).
    """
    w = float(spec["weight"])
    schedule = spec.get("schedule", "linear")
    if schedule == "fixed":
        return w
    if schedule == "linear":
        return w * max(1.0 - step / float(spec["decay_steps"]), 0.0)
    floor = float(spec.get("score_floor", 0.0))
    if score is None or teacher is None or not teacher > floor or not math.isfinite(score):
        return w
    return w * max(1.0 - (score - floor) / (teacher - floor), 0.0)


def guide_horizon(spec: dict[str, Any], step: int, current: int) -> int:
    """The guide horizon at ``step``: linear decay, or ``current`` (threshold schedule)."""
    if spec.get("schedule", "linear") == "linear":
        h0 = int(spec["horizon"])
        return max(math.ceil(h0 * (1.0 - step / float(spec["decay_steps"]))), 0)
    return current


def shrink_horizon(spec: dict[str, Any], current: int, score: float) -> int:
    """Threshold schedule: one evaluation's effect on the horizon."""
    if spec.get("schedule") != "threshold" or score < float(spec["threshold"]):
        return current
    step = spec.get("horizon_step") or max(int(spec["horizon"]) // 4, 1)
    return max(current - int(step), 0)
