"""PPO fine-tuning strategies: critic warm-up, the anchor to the source, guided rollouts.

:class:`FinetunePPOMixin` overrides ``train`` and ``collect_rollouts`` of SB3's PPO the way SB3
extends itself (``stable_baselines3/ppo/ppo.py``). Without an active strategy both call SB3's own
method unchanged. Otherwise ``train`` is SB3's PPO update with three additions:

* **critic warm-up**: while ``num_timesteps <= transfer_critic_warmup`` the actor's tensors
  (every ``actor.*`` part: policy net, action net, log-std) do not require gradients and the loss
  is ``vf_coef * value_loss`` alone, so the actor stays bit-identical while the critic learns;
  logged as ``transfer/value_loss_warmup``;
* **anchor**: ``loss += lambda_t * mean KL(pi_source(.|s) || pi(.|s))`` on each minibatch's
  states (kickstarting), before gradient clipping like every other term; logged as
  ``transfer/anchor_weight`` and ``transfer/kl_to_source``;
* **guide mask**: during guided rollouts (Jump-Start RL) the source chooses the actions of the
  first ``h`` steps of each episode. Those steps stay in the rollout buffer (the episode layout
  and GAE are unchanged: an episode's guided steps come before its learner steps, so no learner
  advantage depends on them) but carry weight 0 in every loss term and in the advantage
  normalization: PPO learns only from the actions its own policy chose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.utils import explained_variance

from sim2real.transfer.teacher import Teacher, kl_to_teacher

__all__ = ["FinetunePPOMixin", "GuidedRolloutBuffer", "GuidedSamples"]


class GuidedSamples(NamedTuple):
    """SB3's ``RolloutBufferSamples`` plus ``learner``: 1 where the learner chose the action."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    learner: th.Tensor


class GuidedRolloutBuffer(RolloutBuffer):
    """A rollout buffer that also records who acted (``learner[pos, env]``, 1 = the learner)."""

    learner: np.ndarray

    def reset(self) -> None:
        super().reset()
        self.learner = np.ones((self.buffer_size, self.n_envs), dtype=np.float32)

    def get(self, batch_size: int | None = None) -> Generator[Any, None, None]:
        if not self.generator_ready:
            self.learner = self.swap_and_flatten(self.learner)
        yield from super().get(batch_size)

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> Any:
        base = super()._get_samples(batch_inds, env)
        return GuidedSamples(*base, learner=self.to_torch(self.learner[batch_inds].flatten()))


class _GuidedPolicy:
    """Stands in for ``model.policy`` during a guided rollout: the learner's forward pass, with
    the actions (and their log-probabilities) of guided envs replaced by the source's."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._policy = model.policy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)

    def __call__(self, obs: th.Tensor, deterministic: bool = False) -> Any:
        actions, values, log_probs = self._policy(obs, deterministic)
        guided = self._model.guided_envs()
        buffer = self._model.rollout_buffer
        buffer.learner[buffer.pos] = (~guided).astype(np.float32)
        if guided.any():
            teacher: Teacher = self._model._transfer_teacher
            chosen = th.as_tensor(teacher.act(self._model._last_obs), device=actions.device)
            chosen = chosen.reshape(actions.shape).to(actions.dtype)
            mask = th.as_tensor(guided, device=actions.device)
            actions = th.where(mask.reshape(-1, *([1] * (actions.ndim - 1))), chosen, actions)
            log_probs = self._policy.get_distribution(obs).log_prob(actions)
        return actions, values, log_probs


def _weighted(weights: th.Tensor | None) -> Callable[[th.Tensor], th.Tensor]:
    """The minibatch average: SB3's ``mean`` or, with guide weights, the weighted mean."""
    if weights is None:
        return lambda x: x.mean()
    n = weights.sum().clamp(min=1.0)
    return lambda x: (x * weights).sum() / n


@contextmanager
def _actor_fixed(model: Any, fixed: bool) -> Iterator[None]:
    """Actor tensors do not require gradients inside the block (critic warm-up)."""
    if not fixed:
        yield
        return
    params = [p for n, part in model.transfer_parts().items() if n.startswith("actor")
              for p in part.tensors.values()]  # fmt: skip
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


class FinetunePPOMixin:
    """Critic warm-up, source anchor and guide mask in PPO's ``train`` (see module docstring)."""

    def configure_finetune(self, **kwargs: Any) -> None:
        """As :meth:`TransferMixin.configure_finetune`; a guide also swaps in a
        :class:`GuidedRolloutBuffer` (same layout, plus who acted)."""
        super().configure_finetune(**kwargs)  # type: ignore[misc]
        model: Any = self
        if kwargs.get("guide") and not isinstance(model.rollout_buffer, GuidedRolloutBuffer):
            model.rollout_buffer = GuidedRolloutBuffer(
                model.n_steps, model.observation_space, model.action_space, device=model.device,
                gamma=model.gamma, gae_lambda=model.gae_lambda, n_envs=model.n_envs,
                **model.rollout_buffer_kwargs,
            )  # fmt: skip

    # --------------------------------------------------------------------- rollouts
    def collect_rollouts(
        self, env: Any, callback: Any, rollout_buffer: Any, n_rollout_steps: int
    ) -> bool:
        model: Any = self
        if not model.guide_active():
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]
        policy = model.policy
        model.policy = _GuidedPolicy(model)
        try:
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]
        finally:
            model.policy = policy

    # --------------------------------------------------------------------- update
    def train(self) -> None:
        model: Any = self
        warm = model.critic_warming_up()
        weight = model.anchor_weight_now()
        buffer = model.rollout_buffer
        guided = isinstance(buffer, GuidedRolloutBuffer) and not bool(buffer.learner.all())
        if not (warm or model.transfer_anchor or guided):
            super().train()  # type: ignore[misc]
            return
        model.policy.set_training_mode(True)
        model._update_learning_rate(model.policy.optimizer)
        progress = model._current_progress_remaining
        clip = model.clip_range(progress)
        clip_vf = None if model.clip_range_vf is None else model.clip_range_vf(progress)
        stats: dict[str, list[float]] = defaultdict(list)
        with _actor_fixed(model, warm):
            for _ in range(model.n_epochs):
                go_on = self._ppo_epoch(clip, clip_vf, warm, weight, stats)
                model._n_updates += 1
                if not go_on:
                    break
        self._log_update(stats, clip, clip_vf, warm, weight)

    def _ppo_epoch(
        self, clip: float, clip_vf: float | None, warm: bool, weight: float,
        stats: dict[str, list[float]],
    ) -> bool:  # fmt: skip
        """One pass over the rollout buffer; False when ``target_kl`` stops the update."""
        model: Any = self
        for batch in model.rollout_buffer.get(model.batch_size):
            loss, approx_kl = self._minibatch_loss(batch, clip, clip_vf, warm, weight, stats)
            stats["approx_kl"].append(approx_kl)
            if model.target_kl is not None and approx_kl > 1.5 * model.target_kl:
                return False
            model.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(model.policy.parameters(), model.max_grad_norm)
            model.policy.optimizer.step()
        return True

    def _evaluate(self, obs: th.Tensor, actions: th.Tensor) -> tuple[Any, ...]:
        """SB3's ``ActorCriticPolicy.evaluate_actions`` that also returns the distribution."""
        policy: Any = self.policy  # type: ignore[attr-defined]
        features = policy.extract_features(obs)
        if policy.share_features_extractor:
            latent_pi, latent_vf = policy.mlp_extractor(features)
        else:
            latent_pi = policy.mlp_extractor.forward_actor(features[0])
            latent_vf = policy.mlp_extractor.forward_critic(features[1])
        dist = policy._get_action_dist_from_latent(latent_pi)
        return policy.value_net(latent_vf).flatten(), dist.log_prob(actions), dist.entropy(), dist

    def _minibatch_loss(
        self, batch: Any, clip: float, clip_vf: float | None, warm: bool, weight: float,
        stats: dict[str, list[float]],
    ) -> tuple[th.Tensor, float]:  # fmt: skip
        """SB3's PPO loss (weighted by the guide mask) plus the anchor; returns it and approx KL."""
        model: Any = self
        actions = batch.actions
        if isinstance(model.action_space, spaces.Discrete):
            actions = actions.long().flatten()
        values, log_prob, entropy, dist = self._evaluate(batch.observations, actions)
        w = getattr(batch, "learner", None)
        avg = _weighted(w)
        adv = batch.advantages
        sel = adv if w is None else adv[w > 0]
        if model.normalize_advantage and len(sel) > 1:
            adv = (adv - sel.mean()) / (sel.std() + 1e-8)
        ratio = th.exp(log_prob - batch.old_log_prob)
        policy_loss = -avg(th.min(adv * ratio, adv * th.clamp(ratio, 1 - clip, 1 + clip)))
        values_pred = values
        if clip_vf is not None:
            values_pred = batch.old_values + th.clamp(values - batch.old_values, -clip_vf, clip_vf)
        value_loss = avg((batch.returns - values_pred) ** 2)
        entropy_loss = -avg(entropy if entropy is not None else -log_prob)
        if warm:
            loss = model.vf_coef * value_loss
        else:
            loss = policy_loss + model.ent_coef * entropy_loss + model.vf_coef * value_loss
        if model.transfer_anchor:
            kl = avg(
                kl_to_teacher(
                    model._transfer_teacher.distribution(batch.observations), dist.distribution
                )
            )
            stats["kl_to_source"].append(kl.item())
            if weight > 0 and not warm:
                loss = loss + weight * kl
        with th.no_grad():
            log_ratio = log_prob - batch.old_log_prob
            approx_kl = avg((th.exp(log_ratio) - 1) - log_ratio).item()
            stats["clip_fraction"].append(avg((th.abs(ratio - 1) > clip).float()).item())
        for key, value in (("policy_gradient_loss", policy_loss), ("value_loss", value_loss),
                           ("entropy_loss", entropy_loss), ("loss", loss)):  # fmt: skip
            stats[key].append(value.item())
        return loss, approx_kl

    def _log_update(
        self, stats: dict[str, list[float]], clip: float, clip_vf: float | None, warm: bool,
        weight: float,
    ) -> None:  # fmt: skip
        """SB3's ``train/*`` records plus ``transfer/value_loss_warmup``, the anchor's."""
        model: Any = self
        logger = model.logger
        buffer = model.rollout_buffer
        for key in (
            "entropy_loss",
            "policy_gradient_loss",
            "value_loss",
            "approx_kl",
            "clip_fraction",
        ):
            logger.record(f"train/{key}", float(np.mean(stats[key])))
        logger.record("train/loss", stats["loss"][-1])
        ev = explained_variance(buffer.values.flatten(), buffer.returns.flatten())
        logger.record("train/explained_variance", ev)
        if hasattr(model.policy, "log_std"):
            logger.record("train/std", th.exp(model.policy.log_std).mean().item())
        logger.record("train/n_updates", model._n_updates, exclude="tensorboard")
        logger.record("train/clip_range", clip)
        if clip_vf is not None:
            logger.record("train/clip_range_vf", clip_vf)
        if warm:
            logger.record("transfer/value_loss_warmup", float(np.mean(stats["value_loss"])))
        if model.transfer_anchor:
            logger.record("transfer/anchor_weight", 0.0 if warm else weight)
            logger.record("transfer/kl_to_source", float(np.mean(stats["kl_to_source"])))
        if isinstance(buffer, GuidedRolloutBuffer):
            logger.record("transfer/learner_fraction", float(buffer.learner.mean()))
