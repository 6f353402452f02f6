"""SAC/TD3 fine-tuning strategies: source replay (RLPD), the anchor to the source, the guide.

Nothing here copies SB3's ``train``; the strategies use two seams SB3 already has:

* the replay buffer: :class:`TransferReplayBuffer` is an SB3 ``ReplayBuffer`` whose ``sample``
  draws ``fraction`` of each batch from a second buffer of source-domain transitions (collected
  by :func:`collect_source_transitions` with the source policy on the source domain, stored
  unnormalized like SB3 stores its own, and pickled with the buffer in every checkpoint, so a
  resumed run keeps the same source data) and remembers the batch's observations;
* the actor optimizer: :class:`AnchorHook`, a step pre-hook, adds the gradient of
  ``lambda_t * D(s)`` on the actor's batch (or on its source-domain part: ``anchor.states:
  source``, behaviour cloning on stored source states) (SAC: ``KL(pi_source || pi)`` of the pre-squash
  Gaussians, equal to the KL of the squashed ones; TD3: ``||mu(s) - mu_source(s)||^2``) to the
  actor's gradients right before ``step()``: exactly the gradient of the term added to SB3's
  actor loss (SAC/TD3 do not clip gradients).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch.distributions import Normal

from sim2real.transfer.teacher import Teacher, kl_to_teacher

__all__ = [
    "AnchorHook",
    "TransferReplayBuffer",
    "anchor_divergence",
    "collect_source_transitions",
    "transfer_replay_buffer",
]


class TransferReplayBuffer(ReplayBuffer):
    """Target replay buffer that mixes in source transitions and remembers the last batch.

    Attributes:
        source: the source-domain transitions (``None``: target only).
        fraction: share of each batch drawn from ``source``.
        last_observations: observations of the last sampled batch (the anchor's states).
        sampled: how many transitions were drawn from (source, target) so far.
    """

    source: ReplayBuffer | None = None
    fraction: float = 0.0
    last_observations: th.Tensor | None = None
    last_source_observations: th.Tensor | None = None

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        n_src = round(batch_size * self.fraction) if self.source is not None else 0
        parts = [super().sample(batch_size - n_src, env=env)]
        if n_src:
            assert self.source is not None
            self.source.device = self.device  # follows the learner (e.g. loaded onto a GPU)
            parts.append(self.source.sample(n_src, env=env))
            self.last_source_observations = parts[-1].observations
        counts = getattr(self, "sampled", (0, 0))
        self.sampled = (counts[0] + n_src, counts[1] + batch_size - n_src)
        batch = parts[0] if len(parts) == 1 else _concat(parts)
        self.last_observations = batch.observations
        return batch

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("last_observations", None)  # tensors of the last batch, not data
        state.pop("last_source_observations", None)
        return state


def _concat(parts: list[ReplayBufferSamples]) -> ReplayBufferSamples:
    fields: dict[str, Any] = {}
    for name in ReplayBufferSamples._fields:
        values = [getattr(p, name) for p in parts]
        fields[name] = None if any(v is None for v in values) else th.cat(values, dim=0)
    return ReplayBufferSamples(**fields)


def transfer_replay_buffer(model: Any, source: ReplayBuffer | None, fraction: float) -> None:
    """Replace ``model.replay_buffer`` by an empty :class:`TransferReplayBuffer` like it."""
    old = model.replay_buffer
    buf = TransferReplayBuffer(
        old.buffer_size,
        model.observation_space,
        model.action_space,
        device=model.device,
        n_envs=old.n_envs,
        optimize_memory_usage=old.optimize_memory_usage,
        handle_timeout_termination=old.handle_timeout_termination,
    )
    buf.source, buf.fraction = source, float(fraction) if source is not None else 0.0
    model.replay_buffer = buf


def collect_source_transitions(
    policy: Any, venv: Any, n: int, vec_normalize: Any = None, seed: int = 0
) -> ReplayBuffer:
    """``n`` transitions of ``policy`` (stochastic, as in its training) on the vec env ``venv``.

    Observations and rewards are stored unnormalized, as SB3 stores its own transitions (the
    batch is normalized with the learner's current statistics when sampled); actions scaled to
    [-1, 1]. ``vec_normalize`` (the source's statistics) normalizes what the policy sees.
    """
    buf = ReplayBuffer(
        n, venv.observation_space, venv.action_space, device="cpu", n_envs=venv.num_envs,
        handle_timeout_termination=True,
    )  # fmt: skip
    venv.seed(seed)
    obs = venv.reset()
    th.manual_seed(seed)
    for _ in range(int(np.ceil(n / venv.num_envs))):
        seen = vec_normalize.normalize_obs(obs) if vec_normalize is not None else obs
        action, _ = policy.predict(seen, deterministic=False)
        new_obs, rewards, dones, infos = venv.step(action)
        next_obs = new_obs.copy()
        for i, done in enumerate(dones):
            if done and infos[i].get("terminal_observation") is not None:
                next_obs[i] = infos[i]["terminal_observation"]
        buf.add(obs, next_obs, policy.scale_action(action), rewards, dones, infos)
        obs = new_obs
    return buf


def anchor_divergence(model: Any, teacher: Teacher, obs: th.Tensor) -> th.Tensor:
    """Mean anchor divergence on ``obs``: SAC ``KL(pi_source || pi)``, TD3 squared distance."""
    actor = model.actor
    if teacher.kind == "td3":
        return ((actor(obs) - teacher.mean_action(obs)) ** 2).sum(-1).mean()
    mean, log_std, _ = actor.get_action_dist_params(obs)
    return kl_to_teacher(teacher.distribution(obs), Normal(mean, log_std.exp())).mean()


class AnchorHook:
    """Actor-optimizer step pre-hook adding ``grad(lambda_t * D)`` on the actor's last batch."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.values: list[float] = []

    def __call__(self, optimizer: th.optim.Optimizer, args: Any, kwargs: Any) -> None:
        model = self.model
        states = (model.transfer_anchor or {}).get("states", "visited")
        key = "last_source_observations" if states == "source" else "last_observations"
        obs = getattr(model.replay_buffer, key, None)
        teacher = getattr(model, "_transfer_teacher", None)
        if obs is None or teacher is None:
            return
        weight = model.anchor_weight_now()
        params = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad]
        with th.enable_grad():
            div = anchor_divergence(model, teacher, obs)
            if weight > 0 and params:
                grads = th.autograd.grad(weight * div, params, allow_unused=True)
                with th.no_grad():
                    for p, g in zip(params, grads):
                        if g is None:
                            continue
                        if p.grad is None:
                            p.grad = g.clone()
                        else:
                            p.grad.add_(g)
        self.values.append(float(div.detach()))

    def pop_mean(self) -> float | None:
        """Mean divergence since the last call (``None`` if no actor step happened)."""
        if not self.values:
            return None
        out = float(np.mean(self.values))
        self.values = []
        return out
