"""SB3 PPO/SAC/TD3 subclasses that carry a transfer strategy through training, save and load.

:class:`TransferMixin` overrides two SB3 hooks and nothing else:

* ``_setup_model`` (also run by ``load``): splits the optimizers into one param group per part,
  re-applies the frozen parts and registers the L2-SP optimizer hooks, from plain attributes that
  SB3 saves with the model (``transfer_lr_multipliers``, ``transfer_frozen``,
  ``transfer_l2sp_alpha``, ``transfer_l2sp_w0``): a resumed run has the same strategy state;
* ``_update_learning_rate``: after SB3 writes the scheduled lr into every group, each group's lr
  is multiplied by its part's multiplier, and ``transfer/lr/<part>`` and ``transfer/l2sp`` are
  recorded with the SB3 logger.

Off-policy models additionally override ``_sample_action`` so that warm-up steps can be collected
by the transferred policy instead of uniform random actions.

The fine-tuning strategies that need the frozen source (anchor, guide) keep it in
``_transfer_teacher`` (never saved in ``model.zip``: the run rebuilds it from its source, or
from the run's ``source/`` snapshot, on resume); their schedules are plain saved attributes
(``transfer_critic_warmup``, ``transfer_anchor``, ``transfer_guide``) plus the state that
:meth:`TransferMixin.on_evaluation` derives from the evaluations (replayed on resume). PPO's
update is in :mod:`sim2real.transfer.ppo`, the SAC/TD3 seams in :mod:`sim2real.transfer.off_policy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm

from sim2real.errors import ConfigError
from sim2real.transfer.off_policy import AnchorHook
from sim2real.transfer.optim import (
    L2SPHook,
    apply_lr_multipliers,
    group_by_multiplier,
    l2sp_value,
    part_of_param,
)
from sim2real.transfer.parts import Part, named_parts
from sim2real.transfer.ppo import FinetunePPOMixin
from sim2real.transfer.teacher import Teacher, anchor_weight, guide_horizon, shrink_horizon

__all__ = [
    "TRANSFER_CLASSES",
    "TransferMixin",
    "TransferPPO",
    "TransferSAC",
    "TransferTD3",
    "transfer_class_for",
]


class TransferMixin:
    """Layer-wise lr, frozen parts and L2-SP for an SB3 algorithm (see module docstring)."""

    transfer_lr_multipliers: dict[str, float]
    transfer_frozen: list[str]
    transfer_l2sp_alpha: float
    transfer_l2sp_w0: dict[str, np.ndarray]
    transfer_warmup_policy: str
    transfer_info: dict[str, Any]
    transfer_critic_warmup: int
    transfer_anchor: dict[str, Any] | None
    transfer_guide: dict[str, Any] | None
    transfer_guide_steps: int

    #: saved counters a resumed run restores (``sim2real.training.resume.restore_into``)
    RESTORED_ATTRIBUTES = ("transfer_guide_steps",)

    # ------------------------------------------------------------------ setup / configuration
    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        for name, default in (
            ("transfer_lr_multipliers", {}),
            ("transfer_frozen", []),
            ("transfer_l2sp_alpha", 0.0),
            ("transfer_l2sp_w0", {}),
            ("transfer_warmup_policy", "random"),
            ("transfer_info", {}),
            ("transfer_critic_warmup", 0),
            ("transfer_anchor", None),
            ("transfer_guide", None),
            ("transfer_guide_steps", 0),
        ):
            if not hasattr(self, name):
                setattr(self, name, default)
        self._apply_transfer_state()
        self._register_anchor_hook()

    def configure_transfer(
        self,
        *,
        lr_multipliers: dict[str, float] | None = None,
        frozen: list[str] | None = None,
        l2sp_alpha: float | None = None,
        l2sp_w0: dict[str, np.ndarray] | None = None,
        warmup_policy: str | None = None,
    ) -> None:
        """Set (part of) the strategy state and apply it to the optimizers and parameters."""
        if lr_multipliers is not None:
            self.transfer_lr_multipliers = {k: float(v) for k, v in lr_multipliers.items()}
        if frozen is not None:
            self.transfer_frozen = list(frozen)
        if l2sp_alpha is not None:
            self.transfer_l2sp_alpha = float(l2sp_alpha)
        if l2sp_w0 is not None:
            self.transfer_l2sp_w0 = {k: np.asarray(v) for k, v in l2sp_w0.items()}
        if warmup_policy is not None:
            self.transfer_warmup_policy = warmup_policy
        self._apply_transfer_state()

    def transfer_parts(self) -> dict[str, Part]:
        """The model's named parts (see :func:`~sim2real.transfer.parts.named_parts`)."""
        return named_parts(self)

    def transfer_optimizers(self) -> list[th.optim.Optimizer]:
        """The optimizers whose groups follow the parts (PPO: 1; SAC/TD3: actor and critic)."""
        policy = self.policy  # type: ignore[attr-defined]
        if hasattr(policy, "optimizer"):
            return [policy.optimizer]
        return [policy.actor.optimizer, policy.critic.optimizer]

    def _apply_transfer_state(self) -> None:
        parts = self.transfer_parts()
        unknown = (set(self.transfer_lr_multipliers) | set(self.transfer_frozen)) - set(parts)
        if unknown:
            raise ConfigError(
                f"transfer state names unknown parts {sorted(unknown)}; parts: {', '.join(parts)}"
            )
        owner = part_of_param(parts)
        for opt in self.transfer_optimizers():
            group_by_multiplier(opt, owner, self.transfer_lr_multipliers)
        frozen = set(self.transfer_frozen)
        for name, part in parts.items():
            for p in part.tensors.values():
                p.requires_grad_(name not in frozen)
        self._register_l2sp(parts)

    def _register_l2sp(self, parts: dict[str, Part]) -> None:
        for handle in getattr(self, "_transfer_hooks", []):
            handle.remove()
        self._transfer_hooks: list[Any] = []
        self._transfer_anchors: list[tuple[th.nn.Parameter, th.Tensor]] = []
        if not self.transfer_l2sp_alpha or not self.transfer_l2sp_w0:
            return
        by_name = {n: p for part in parts.values() for n, p in part.tensors.items()}
        missing = set(self.transfer_l2sp_w0) - set(by_name)
        if missing:
            raise ConfigError(f"L2-SP anchors name unknown tensors {sorted(missing)}")
        device = self.device  # type: ignore[attr-defined]
        anchors = [
            (by_name[n], th.as_tensor(w0, dtype=by_name[n].dtype, device=device))
            for n, w0 in self.transfer_l2sp_w0.items()
        ]
        self._transfer_anchors = anchors
        for opt in self.transfer_optimizers():
            own = {id(p) for g in opt.param_groups for p in g["params"]}
            mine = [(p, w0) for p, w0 in anchors if id(p) in own]
            if mine:
                hook = L2SPHook(self.transfer_l2sp_alpha, mine)
                self._transfer_hooks.append(opt.register_step_pre_hook(hook))

    def _excluded_save_params(self) -> list[str]:
        base: list[str] = super()._excluded_save_params()  # type: ignore[misc]
        return [*base, "_transfer_hooks", "_transfer_anchors", "_frozen_count",
                "_transfer_teacher", "_anchor_hook", "_anchor_handle", "_guide_t", "_guide_last"]  # fmt: skip

    # ------------------------------------------------------------------ fine-tuning strategies
    def configure_finetune(
        self,
        *,
        critic_warmup: int = 0,
        anchor: dict[str, Any] | None = None,
        guide: dict[str, Any] | None = None,
        teacher: Teacher | None = None,
    ) -> None:
        """Set the critic warm-up steps, the anchor and guide specs and the frozen source."""
        self.transfer_critic_warmup = int(critic_warmup)
        self.transfer_anchor = dict(anchor) if anchor else None
        self.transfer_guide = dict(guide) if guide else None
        self._transfer_teacher = teacher
        self._transfer_score: float | None = None
        self._transfer_teacher_score: float | None = (
            None if not anchor else anchor.get("teacher_score")
        )
        self._guide_horizon = int(guide["horizon"]) if guide else 0
        self._register_anchor_hook()

    def _register_anchor_hook(self) -> None:
        handle = getattr(self, "_anchor_handle", None)
        if handle is not None:
            handle.remove()
        self._anchor_handle: Any = None
        self._anchor_hook: AnchorHook | None = None
        policy = self.policy  # type: ignore[attr-defined]
        if self.transfer_anchor and hasattr(policy, "actor") and hasattr(policy.actor, "optimizer"):
            self._anchor_hook = AnchorHook(self)
            self._anchor_handle = policy.actor.optimizer.register_step_pre_hook(self._anchor_hook)

    def critic_warming_up(self) -> bool:
        """PPO: whether this update belongs to the critic warm-up (its rollout started before
        ``transfer_critic_warmup`` steps)."""
        if not self.transfer_critic_warmup:
            return False
        rollout = int(getattr(self, "n_steps", 0)) * int(self.n_envs)  # type: ignore[attr-defined]
        return int(self.num_timesteps) - rollout < self.transfer_critic_warmup  # type: ignore[attr-defined]

    def anchor_weight_now(self) -> float:
        """The anchor weight lambda_t now (0 without an anchor)."""
        if not self.transfer_anchor:
            return 0.0
        score, teacher = (
            getattr(self, "_transfer_score", None),
            getattr(self, "_transfer_teacher_score", None),
        )
        return anchor_weight(self.transfer_anchor, int(self.num_timesteps), score, teacher)  # type: ignore[attr-defined]

    def guide_horizon_now(self) -> int:
        """Guide steps per episode now (0 without a guide)."""
        if not self.transfer_guide or getattr(self, "_transfer_teacher", None) is None:
            return 0
        current = getattr(self, "_guide_horizon", int(self.transfer_guide["horizon"]))
        return guide_horizon(self.transfer_guide, int(self.num_timesteps), current)  # type: ignore[attr-defined]

    def guide_active(self) -> bool:
        """Whether the source still guides the first steps of episodes."""
        return self.guide_horizon_now() > 0

    def guided_envs(self) -> np.ndarray:
        """Which envs the guide acts in at this step (their episode step < the horizon)."""
        n = int(self.n_envs)  # type: ignore[attr-defined]
        t = getattr(self, "_guide_t", None)
        if t is None or len(t) != n:
            t = self._guide_t = np.zeros(n, dtype=np.int64)
        self._guide_last = t < self.guide_horizon_now()
        return self._guide_last

    def _update_info_buffer(
        self, infos: list[dict[str, Any]], dones: np.ndarray | None = None
    ) -> None:
        super()._update_info_buffer(infos, dones)  # type: ignore[misc]
        if not self.transfer_guide or dones is None:
            return
        last = getattr(self, "_guide_last", None)
        if last is not None:
            self.transfer_guide_steps += int(np.sum(last))
        t = getattr(self, "_guide_t", None)
        if t is not None and len(t) == len(dones):
            t += 1
            t[np.asarray(dones, dtype=bool)] = 0
        self._guide_last = np.zeros(len(dones), dtype=bool)

    def on_evaluation(self, step: int, score: float) -> None:
        """React to a target evaluation (mean return ``score`` at ``step``): the performance
        anchor's score and, first, the teacher's score; the guide's threshold schedule."""
        if self.transfer_anchor and self.transfer_anchor.get("schedule") == "performance":
            if getattr(self, "_transfer_teacher_score", None) is None:
                self._transfer_teacher_score = float(score)
            self._transfer_score = float(score)
        if self.transfer_guide and self.transfer_guide.get("schedule") == "threshold":
            current = getattr(self, "_guide_horizon", int(self.transfer_guide["horizon"]))
            self._guide_horizon = shrink_horizon(self.transfer_guide, current, float(score))

    def _record_finetune(self, logger: Any) -> None:
        if self.transfer_anchor and self._anchor_hook is not None:
            logger.record("transfer/anchor_weight", self.anchor_weight_now())
            mean = self._anchor_hook.pop_mean()
            if mean is not None:
                teacher = getattr(self, "_transfer_teacher", None)
                td3 = teacher is not None and teacher.kind == "td3"
                logger.record(
                    "transfer/action_distance_to_source" if td3 else "transfer/kl_to_source", mean
                )
        if self.transfer_guide:
            logger.record("transfer/guide_steps", self.transfer_guide_steps)
            logger.record("transfer/guide_horizon", self.guide_horizon_now())
        buffer = getattr(self, "replay_buffer", None)
        sampled = getattr(buffer, "sampled", None)
        if sampled and sum(sampled) and getattr(buffer, "source", None) is not None:
            logger.record("transfer/source_replay_fraction", sampled[0] / sum(sampled))

    # ------------------------------------------------------------------ strategy at run time
    def set_frozen(self, names: list[str], frozen: bool) -> list[str]:
        """Freeze or unfreeze parts now; return the parts whose state changed."""
        current = set(self.transfer_frozen)
        changed = [n for n in names if (n in current) != frozen]
        new = current | set(names) if frozen else current - set(names)
        parts = self.transfer_parts()
        self.transfer_frozen = [n for n in parts if n in new]
        for n in changed:
            for p in parts[n].tensors.values():
                p.requires_grad_(not frozen)
        return changed

    def l2sp_penalty(self) -> float:
        """Current value of the L2-SP term ``alpha * ||w - w0||^2`` (0 without L2-SP)."""
        return l2sp_value(self.transfer_l2sp_alpha, getattr(self, "_transfer_anchors", []))

    def _frozen_numel(self) -> int:
        key = tuple(self.transfer_frozen)
        cached = getattr(self, "_frozen_count", None)
        if cached is None or cached[0] != key:
            parts = self.transfer_parts()
            cached = (key, sum(parts[n].numel for n in key))
            self._frozen_count = cached
        return cached[1]

    def part_learning_rates(self) -> dict[str, float]:
        """Active learning rate per part now (0 for frozen parts)."""
        frozen = set(self.transfer_frozen)
        out: dict[str, float] = {}
        for opt in self.transfer_optimizers():
            for g in opt.param_groups:
                for part in g.get("parts", ()):
                    out[part] = 0.0 if part in frozen else float(g["lr"])
        return out

    def _update_learning_rate(
        self, optimizers: list[th.optim.Optimizer] | th.optim.Optimizer
    ) -> None:
        super()._update_learning_rate(optimizers)  # type: ignore[misc]
        for opt in optimizers if isinstance(optimizers, list) else [optimizers]:
            apply_lr_multipliers(opt)
        logger = self.logger  # type: ignore[attr-defined]
        for part, lr in self.part_learning_rates().items():
            logger.record(f"transfer/lr/{part}", lr)
        logger.record("transfer/frozen_params", self._frozen_numel())
        if self.transfer_l2sp_alpha:
            logger.record("transfer/l2sp", self.l2sp_penalty())
        self._record_finetune(logger)


class _OffPolicyWarmupMixin:
    """Warm-up collected by the transferred policy (``transfer_warmup_policy == 'pretrained'``)."""

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        if getattr(self, "transfer_warmup_policy", "random") == "pretrained":
            learning_starts = 0  # act with the policy (plus its noise) from the first step
        action, buffer_action = super()._sample_action(learning_starts, action_noise, n_envs)  # type: ignore[misc]
        model: Any = self
        if model.guide_active():
            guided = model.guided_envs()
            if guided.any():
                chosen = model._transfer_teacher.act(model._last_obs)
                action[guided] = chosen[guided]
                buffer_action[guided] = model.policy.scale_action(chosen)[guided]
        return action, buffer_action


class TransferPPO(FinetunePPOMixin, TransferMixin, PPO):
    """PPO carrying a transfer strategy."""


class TransferSAC(_OffPolicyWarmupMixin, TransferMixin, SAC):
    """SAC carrying a transfer strategy."""


class TransferTD3(_OffPolicyWarmupMixin, TransferMixin, TD3):
    """TD3 carrying a transfer strategy."""


TRANSFER_CLASSES: dict[str, type[BaseAlgorithm]] = {
    "ppo": TransferPPO,
    "sac": TransferSAC,
    "td3": TransferTD3,
}


def transfer_class_for(model_or_class: Any) -> type[BaseAlgorithm]:
    """The transfer subclass for an SB3 PPO/SAC/TD3 model or class (or algo name)."""
    if isinstance(model_or_class, str):
        key = model_or_class.lower()
        if key not in TRANSFER_CLASSES:
            raise ConfigError(f"transfer supports algo ppo, sac or td3, not {model_or_class!r}")
        return TRANSFER_CLASSES[key]
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    for base, sub in ((PPO, TransferPPO), (SAC, TransferSAC), (TD3, TransferTD3)):
        if issubclass(cls, base):
            return sub
    raise ConfigError(f"transfer supports SB3 PPO, SAC and TD3 models, not {cls.__name__}")
