"""Set up the fine-tuning options of a :class:`~sim2real.transfer.spec.TransferSpec` on a new agent.

:func:`surgery_spec` turns two options into what the surgery already does (re-initialize the
value head; reset SAC's entropy coefficient); :func:`check_options` rejects combinations that
depend on the algorithm or on what was copied, with one line naming the option;
:func:`apply_finetune` resets the exploration, hands the model its frozen source
(:class:`~sim2real.transfer.teacher.Teacher`) and schedules, and fills the source replay buffer.
"""

from __future__ import annotations

import math
from typing import Any

import torch as th

from sim2real.errors import ConfigError
from sim2real.transfer.adapters import SpaceMaps
from sim2real.transfer.off_policy import collect_source_transitions, transfer_replay_buffer
from sim2real.transfer.spec import TransferSpec
from sim2real.transfer.surgery import TransferLog
from sim2real.transfer.teacher import Teacher

__all__ = ["apply_finetune", "check_options", "needs_teacher", "surgery_spec"]


def needs_teacher(spec: TransferSpec) -> bool:
    """Whether a strategy runs the frozen source policy during training."""
    return spec.anchor is not None or spec.guide is not None


def surgery_spec(spec: TransferSpec) -> TransferSpec:
    """The spec the surgery applies: ``critic_warmup.reinit_value_head`` adds ``critic.head``
    to ``reinit``; ``exploration.ent_coef`` is SAC's ``off_policy.ent_coef_init``."""
    update: dict[str, Any] = {}
    warm = spec.critic_warmup
    if warm is not None and warm.reinit_value_head and "critic.head" not in spec.reinit:
        update["reinit"] = [*spec.reinit, "critic.head"]
    if spec.exploration is not None and spec.exploration.ent_coef is not None:
        update["off_policy"] = spec.off_policy.model_copy(
            update={"ent_coef_init": spec.exploration.ent_coef}
        )
    return spec.model_copy(update=update) if update else spec


def _algo(model: Any) -> str:
    return type(model).__name__.removeprefix("Transfer").lower()


def check_options(spec: TransferSpec, model: Any, maps: SpaceMaps, log: TransferLog) -> None:
    """Combinations that make no sense for this algorithm or these copied parts.

    Raises:
        ConfigError: one line naming the option.
    """
    algo = _algo(model)
    if spec.critic_warmup is not None and algo != "ppo":
        raise ConfigError(
            f"transfer.critic_warmup is for PPO's value function; {algo.upper()} fills its "
            "critic before the actor learns with off_policy.warmup_steps"
        )
    exp = spec.exploration
    if exp is not None and exp.action_std is not None and algo != "ppo":
        raise ConfigError(
            f"transfer.exploration.action_std sets PPO's state-independent std; {algo.upper()} "
            "has none (SAC: use exploration.ent_coef)"
        )
    if exp is not None and exp.ent_coef is not None and algo != "sac":
        raise ConfigError(f"transfer.exploration.ent_coef is SAC's; {algo.upper()} has none")
    if spec.source_replay is not None and algo == "ppo":
        raise ConfigError(
            "transfer.source_replay needs an off-policy learner (SAC/TD3): PPO cannot learn "
            "from transitions of another policy; use transfer.anchor or transfer.guide"
        )
    learning_starts = int(getattr(model, "learning_starts", 0))
    warmup = spec.off_policy.warmup_policy == "pretrained" and learning_starts > 0
    if spec.guide is not None and algo != "ppo" and warmup:
        raise ConfigError(
            "transfer.guide with off_policy.warmup_policy 'pretrained': the warm-up is already "
            "collected by the transferred source policy; set off_policy.warmup_policy: random"
        )
    _check_source_use(spec, maps, log)


def _check_source_use(spec: TransferSpec, maps: SpaceMaps, log: TransferLog) -> None:
    used = [n for n in ("anchor", "guide", "source_replay") if getattr(spec, n) is not None]
    if used and not maps.identical:
        raise ConfigError(
            f"transfer.{used[0]} runs the source policy on the target's observations and "
            "actions, which differ from the source's (adapter); drop it or use the same spaces"
        )
    actor_copied = any(
        p["name"].startswith("actor") and p["action"] in ("copied", "adapted") for p in log.parts
    )
    if spec.anchor is not None and spec.anchor.states == "source" and spec.source_replay is None:
        raise ConfigError(
            "transfer.anchor.states 'source' anchors on stored source-domain states: it needs "
            "transfer.source_replay (SAC/TD3)"
        )
    if spec.anchor is not None and not actor_copied:
        raise ConfigError(
            "transfer.anchor keeps the policy near the copied source actor, but no actor part "
            "is copied (see transfer.copy / reinit); copy the actor or drop the anchor"
        )


def _reset_exploration(model: Any, spec: TransferSpec, log: TransferLog) -> None:
    exp = spec.exploration
    if exp is None or exp.action_std is None:
        return
    log_std = getattr(model.policy, "log_std", None)
    if not isinstance(log_std, th.nn.Parameter):
        raise ConfigError(
            "transfer.exploration.action_std needs a state-independent log_std (not gSDE)"
        )
    with th.no_grad():
        log_std.fill_(math.log(exp.action_std))
    log.notes.append(
        f"action std reset to {exp.action_std:g} (log_std {math.log(exp.action_std):.3g})"
    )


def _source_replay(src: Any, model: Any, spec: TransferSpec, seed: int, collect: bool) -> Any:
    """The source-domain transitions (``None`` when resuming: the checkpoint's buffer has them)."""
    opts = spec.source_replay
    if opts is None or not collect:
        return None
    if src.env is None:
        raise ConfigError(
            "transfer.source_replay collects transitions on the source's env, which is unknown "
            "for a bare model file; transfer from a run directory"
        )
    from sim2real.training.vec_env import make_vec_env

    venv = make_vec_env(src.env, opts.domain, 1, seed, history=src.history)
    try:
        return collect_source_transitions(
            src.model.policy, venv, opts.transitions, src.vec_normalize, seed
        )
    finally:
        venv.close()


def apply_finetune(
    src: Any, model: Any, spec: TransferSpec, log: TransferLog, *, seed: int = 0,
    collect: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Exploration reset, the frozen source, schedules and the source replay buffer on ``model``.

    ``collect`` is False when the run resumes (its checkpoint holds the replay buffer).
    Returns what goes into ``transfer.json`` under ``finetune``.
    """
    _reset_exploration(model, spec, log)
    teacher = Teacher(src.model.policy, model.device) if needs_teacher(spec) else None
    model.configure_finetune(
        critic_warmup=spec.critic_warmup.steps if spec.critic_warmup else 0,
        anchor=spec.anchor.model_dump(mode="json") if spec.anchor else None,
        guide=spec.guide.model_dump(mode="json") if spec.guide else None,
        teacher=teacher,
    )
    info: dict[str, Any] = {}
    if spec.source_replay is not None or (
        spec.anchor is not None and hasattr(model, "replay_buffer")
    ):
        source = _source_replay(src, model, spec, seed, collect)
        fraction = spec.source_replay.fraction if spec.source_replay else 0.0
        transfer_replay_buffer(model, source, fraction)
        if source is not None and spec.source_replay is not None:
            n = source.size()
            info["source_replay"] = {"transitions": n, "domain": spec.source_replay.domain,
                                     "sim_steps": n, "fraction": fraction}  # fmt: skip
            log.notes.append(
                f"source replay: {n} transitions of the source policy on "
                f"{src.env}:{spec.source_replay.domain} (simulator steps, not target steps), "
                f"{fraction:.0%} of each batch"
            )
    if spec.critic_warmup is not None:
        log.notes.append(f"critic warm-up: the actor is fixed for {spec.critic_warmup.steps} steps")
    if teacher is not None:
        log.notes.append("frozen source policy kept for " + " and ".join(
            n for n in ("anchor", "guide") if getattr(spec, n) is not None))  # fmt: skip
    return info
