"""Model surgery: copy named parts from a source into a fresh target model, set up the strategy.

Everything is logged per tensor: copied (or adapted), re-initialized, fresh, frozen, its
learning-rate multiplier and whether L2-SP anchors it, with parameter counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th

from sim2real.errors import ConfigError, SpaceMismatchError
from sim2real.transfer.adapters import SpaceMaps, remap_tensor
from sim2real.transfer.algorithms import TransferMixin
from sim2real.transfer.parts import Part, named_parts, select_parts, unfreeze_order
from sim2real.transfer.spec import TransferSpec

__all__ = ["TransferLog", "apply_transfer", "resolve_unfreeze"]


@dataclass
class TransferLog:
    """What the surgery did; :meth:`to_dict` is what ``transfer.json`` and TensorBoard show."""

    algo: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    unfreeze: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Parameter counts per action (copied, adapted, reinitialized, fresh) and frozen."""
        out: dict[str, int] = {"copied": 0, "adapted": 0, "reinitialized": 0, "fresh": 0}
        out["frozen"] = 0
        for p in self.parts:
            out[p["action"]] += p["params"]
            out["frozen"] += p["params"] if p["frozen"] else 0
        out["total"] = sum(p["params"] for p in self.parts)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "algo": self.algo,
            "totals": self.totals(),
            "parts": self.parts,
            "unfreeze": self.unfreeze,
            "notes": self.notes,
        }

    def markdown(self) -> str:
        """A markdown table for TensorBoard's text tab."""
        rows = [
            "| part | action | params | frozen | lr x | L2-SP | tensors |",
            "|---|---|---:|---|---:|---|---|",
        ]
        for p in self.parts:
            tensors = ", ".join(f"{n} {tuple(s)}" for n, s in p["tensors"].items())
            rows.append(
                f"| {p['name']} | {p['action']} | {p['params']} | {'yes' if p['frozen'] else ''} "
                f"| {p['lr_mult']:g} | {'yes' if p['l2sp'] else ''} | {tensors} |"
            )
        t = self.totals()
        rows.append("")
        rows.append(", ".join(f"{k}: {v}" for k, v in t.items()))
        rows.extend(f"- {n}" for n in self.notes)
        return "\n".join(rows)


def resolve_unfreeze(
    spec: TransferSpec, parts: dict[str, Part], frozen: list[str]
) -> list[dict[str, Any]]:
    """Explicit ``[{at_step, parts}]`` stages; stages without parts take the next ULMFiT level."""
    levels = unfreeze_order(parts, frozen)
    pending = [lvl for lvl in levels]
    done: set[str] = set()
    stages = []
    for st in spec.unfreeze:
        if st.parts is None:
            pending = [[n for n in lvl if n not in done] for lvl in pending]
            pending = [lvl for lvl in pending if lvl]
            if not pending:
                raise ConfigError(
                    f"transfer.unfreeze: stage at step {st.at_step} has no frozen level left to "
                    f"unfreeze (frozen parts: {', '.join(frozen) or 'none'})"
                )
            names = pending.pop(0)
        else:
            names = select_parts(parts, st.parts, what="unfreeze")
            not_frozen = [n for n in names if n not in frozen]
            if not_frozen:
                raise ConfigError(
                    f"transfer.unfreeze: {', '.join(not_frozen)} are not frozen (frozen parts: "
                    f"{', '.join(frozen) or 'none'}); list them in transfer.freeze"
                )
        done |= set(names)
        stages.append({"at_step": st.at_step, "parts": names})
    return stages


def _copy_part(
    src_part: Part, tgt_part: Part, maps: SpaceMaps
) -> tuple[str, dict[str, np.ndarray]]:
    """Copy tensors in place; returns the action and the copied values (w0)."""
    action = "copied"
    w0: dict[str, np.ndarray] = {}
    src_by_name = src_part.tensors
    for name, tgt in tgt_part.tensors.items():
        src = src_by_name.get(name)
        if src is None:
            raise ConfigError(
                f"part {tgt_part.name}: tensor {name} has no counterpart in the source (source "
                f"tensors: {', '.join(src_by_name)}); use the same policy architecture"
            )
        value = src.detach().cpu()
        if value.shape != tgt.shape or not maps.identical:
            try:
                adapted = remap_tensor(
                    value,
                    tgt.detach().cpu(),
                    in_space=tgt_part.in_space,
                    out_space=tgt_part.out_space,
                    maps=maps,
                )
            except SpaceMismatchError as exc:
                raise SpaceMismatchError(f"part {tgt_part.name}, tensor {name}: {exc}") from None
            if not th.equal(adapted, value) or adapted.shape != value.shape:
                action = "adapted"
            value = adapted
        with th.no_grad():
            tgt.copy_(value.to(tgt.device, tgt.dtype))
        w0[name] = value.numpy().copy()
    return action, w0


def _sync_targets(target: Any) -> None:
    policy = target.policy
    if hasattr(policy, "critic_target"):
        policy.critic_target.load_state_dict(policy.critic.state_dict())
    if hasattr(policy, "actor_target"):
        policy.actor_target.load_state_dict(policy.actor.state_dict())


def _entropy(source: Any, target: Any, spec: TransferSpec, log: TransferLog) -> None:
    opts = spec.off_policy
    log_ent = getattr(target, "log_ent_coef", None)
    if not hasattr(target, "ent_coef"):
        return
    if opts.ent_coef_init is not None:
        if log_ent is not None:
            with th.no_grad():
                log_ent.fill_(float(np.log(opts.ent_coef_init)))
        else:
            target.ent_coef_tensor = th.tensor(opts.ent_coef_init, device=target.device)
        log.notes.append(f"entropy coefficient reset to {opts.ent_coef_init:g}")
    elif opts.reset_ent_coef:
        log.notes.append("entropy coefficient reset to the target's initial ent_coef")
    elif log_ent is not None and getattr(source, "log_ent_coef", None) is not None:
        with th.no_grad():
            log_ent.copy_(source.log_ent_coef.detach().to(log_ent.device))
        log.notes.append(
            f"entropy coefficient carried over from the source: {float(log_ent.detach().exp()):.4g}"
        )


def _check_architecture(src: dict[str, Part], tgt: dict[str, Part]) -> None:
    """Same layers on both sides (an input adapter may add extractors to the target)."""
    src_layers = {n for n, p in src.items() if p.kind != "extractor"}
    tgt_layers = {n for n, p in tgt.items() if p.kind != "extractor"}
    if src_layers != tgt_layers:
        only_src = sorted(src_layers - tgt_layers)
        only_tgt = sorted(tgt_layers - src_layers)
        raise ConfigError(
            "the target policy's layers differ from the source's (only in source: "
            f"{', '.join(only_src) or '-'}; only in target: {', '.join(only_tgt) or '-'}): use "
            "the source's policy.net_arch (see `sim2real inspect SOURCE`)"
        )
    for name in src_layers:
        for tensor, p in tgt[name].tensors.items():
            q = src[name].tensors.get(tensor)
            hidden = tgt[name].in_space is None and tgt[name].out_space is None
            if q is not None and hidden and q.shape != p.shape:
                raise ConfigError(
                    f"{name}: {tensor} is {tuple(q.shape)} in the source but {tuple(p.shape)} in "
                    "the target: use the source's policy.net_arch (see `sim2real inspect SOURCE`)"
                )


def apply_transfer(
    source: Any, target: TransferMixin, spec: TransferSpec, maps: SpaceMaps
) -> TransferLog:
    """Copy the selected parts of ``source`` into the fresh ``target`` and set up its strategy.

    Raises:
        ConfigError: unknown parts, or a strategy that makes no sense for the chosen parts.
        SpaceMismatchError: a copied tensor cannot be adapted to the target's spaces.
    """
    algo = type(target).__name__.removeprefix("Transfer").lower()
    src_parts, tgt_parts = named_parts(source), named_parts(target)
    log = TransferLog(algo=algo)
    _check_architecture(src_parts, tgt_parts)
    copy_sel = select_parts(tgt_parts, spec.copy_parts, what="copy")
    reinit = set(select_parts(tgt_parts, spec.reinit, what="reinit")) if spec.reinit else set()
    copied = [n for n in copy_sel if n not in reinit and n in src_parts]
    absent = [n for n in copy_sel if n not in src_parts]
    if absent:
        log.notes.append(f"new in the target, freshly initialized: {', '.join(absent)}")

    s = set(spec.strategy)
    frozen: list[str] = []
    if s & {"freeze", "gradual_unfreeze"}:
        if spec.freeze is None:
            frozen = [n for n in copied if tgt_parts[n].kind in ("features", "extractor")]
        else:
            frozen = select_parts(tgt_parts, spec.freeze, what="freeze")
        fresh_frozen = [n for n in frozen if n not in copied]
        if fresh_frozen:
            raise ConfigError(
                f"transfer.freeze: {', '.join(fresh_frozen)} would stay at random init (not "
                "copied); freeze copied parts only"
            )
        if not frozen:
            raise ConfigError("strategy freezes, but no copied feature part is left to freeze")
    mults: dict[str, float] = {}
    for sel, m in spec.lr_multipliers.items():
        for n in select_parts(tgt_parts, [sel], what="lr_multipliers"):
            mults[n] = m
    if "freeze" in s:
        useless = [n for n in mults if n in frozen]
        if useless:
            raise ConfigError(
                f"transfer.lr_multipliers: {', '.join(useless)} are frozen for good, a learning "
                "rate has no effect; remove them"
            )
    stages = resolve_unfreeze(spec, tgt_parts, frozen) if "gradual_unfreeze" in s else []

    w0: dict[str, np.ndarray] = {}
    actions: dict[str, str] = {}
    for n in copied:
        actions[n], values = _copy_part(src_parts[n], tgt_parts[n], maps)
        w0.update(values)
    anchored: list[str] = []
    if "l2sp" in s:
        anchored = (
            copied
            if spec.l2sp_parts is None
            else select_parts(tgt_parts, spec.l2sp_parts, what="l2sp_parts")
        )
        not_copied = [n for n in anchored if n not in copied]
        if not_copied:
            raise ConfigError(
                f"transfer.l2sp_parts: {', '.join(not_copied)} are not copied, so there is no "
                "pretrained w0 to pull toward"
            )
        if "freeze" in s:
            anchored = [n for n in anchored if n not in frozen]
    anchor_w0 = {t: w0[t] for n in anchored for t in tgt_parts[n].tensors}
    _sync_targets(target)
    if hasattr(target, "log_ent_coef") or hasattr(target, "ent_coef_tensor"):
        _entropy(source, target, spec, log)
    if hasattr(target, "learning_starts"):
        if spec.off_policy.warmup_steps is not None:
            target.learning_starts = spec.off_policy.warmup_steps
        log.notes.append(
            f"fresh replay buffer; {target.learning_starts} warm-up steps by the "
            f"{spec.off_policy.warmup_policy} policy before updates"
        )
    target.configure_transfer(
        lr_multipliers=mults,
        frozen=frozen,
        l2sp_alpha=spec.l2sp_alpha if anchored else 0.0,
        l2sp_w0=anchor_w0,
        warmup_policy=spec.off_policy.warmup_policy,
    )
    for name, part in tgt_parts.items():
        action = actions.get(name, "reinitialized" if name in reinit else "fresh")
        log.parts.append(
            {
                "name": name,
                "action": action,
                "params": part.numel,
                "frozen": name in frozen,
                "lr_mult": mults.get(name, 1.0),
                "l2sp": name in anchored,
                "tensors": part.shapes,
            }
        )
    log.unfreeze = stages
    return log
