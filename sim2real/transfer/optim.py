"""Layer-wise learning rates and the L2-SP penalty on SB3's own optimizers.

SB3 builds one param group per optimizer and rewrites every group's ``lr`` at each ``train()``
(``BaseAlgorithm._update_learning_rate``). Here each optimizer is split into one param group per
learning-rate multiplier (parts sharing a multiplier share a group: fewer groups, less per-step
optimizer overhead), each group carrying its ``parts`` and ``lr_mult``; :func:`apply_lr_multipliers` is
called right after SB3's update (from :class:`~sim2real.transfer.algorithms.TransferMixin`), so
``lr = schedule(progress) * lr_mult`` holds at every update, with any schedule.

The grouped optimizer's ``state_dict()`` is converted back to SB3's single-group layout (and
split again on load) through torch's optimizer state-dict hooks, so a transferred ``model.zip``
still loads with plain ``PPO.load`` / ``SAC.load`` / ``TD3.load`` (e.g. for export).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch as th
from torch import nn

__all__ = [
    "L2SPHook",
    "apply_lr_multipliers",
    "group_by_multiplier",
    "l2sp_value",
    "part_of_param",
]

_GROUP_KEYS = ("parts", "lr_mult")


def part_of_param(parts: Mapping[str, Any]) -> dict[int, str]:
    """``id(parameter) -> part name`` for every tensor of every part."""
    return {id(p): name for name, part in parts.items() for p in part.tensors.values()}


def group_by_multiplier(
    optimizer: th.optim.Optimizer, owner: Mapping[int, str], multipliers: Mapping[str, float]
) -> list[nn.Parameter]:
    """Split ``optimizer`` (in place) into one param group per multiplier; return the original order.

    Each group lists its ``parts``; params that belong to no part join the 1.0 group. A model
    without multipliers keeps SB3's single group. Hyper-parameters (betas, eps,
    weight decay, ...) are kept; only ``lr`` differs between groups (``base * lr_mult``).
    Calling it again on an already grouped optimizer regroups it (state is kept per parameter).
    """
    order = [p for g in optimizer.param_groups for p in g["params"]]
    if len(optimizer.param_groups) > 1:
        order = getattr(optimizer, "_sim2real_order", order)
    base = {k: v for k, v in optimizer.param_groups[0].items() if k not in ("params", *_GROUP_KEYS)}
    base["lr"] = optimizer.param_groups[0]["lr"] / optimizer.param_groups[0].get("lr_mult", 1.0)
    buckets: dict[float, tuple[list[nn.Parameter], list[str]]] = {}
    for p in order:
        name = owner.get(id(p))
        mult = float(multipliers.get(name, 1.0)) if name is not None else 1.0
        params, names = buckets.setdefault(mult, ([], []))
        params.append(p)
        if name is not None and name not in names:
            names.append(name)
    optimizer.param_groups = []
    for mult, (params, names) in buckets.items():
        optimizer.add_param_group(
            {**base, "params": params, "parts": names, "lr_mult": mult, "lr": base["lr"] * mult}
        )
    optimizer._sim2real_order = order  # type: ignore[attr-defined]
    if not getattr(optimizer, "_sim2real_hooked", False):
        optimizer.register_state_dict_post_hook(_merge_state_dict)
        optimizer.register_load_state_dict_pre_hook(_split_state_dict)
        optimizer._sim2real_hooked = True  # type: ignore[attr-defined]
    return order


def _grouped_index(optimizer: th.optim.Optimizer) -> list[int]:
    """For each parameter in grouped order, its position in the original single-group order."""
    pos = {id(p): i for i, p in enumerate(optimizer._sim2real_order)}  # type: ignore[attr-defined]
    return [pos[id(p)] for g in optimizer.param_groups for p in g["params"]]


def _merge_state_dict(optimizer: th.optim.Optimizer, sd: dict[str, Any]) -> dict[str, Any]:
    """state_dict post-hook: grouped layout -> SB3's single-group layout."""
    if len(sd["param_groups"]) <= 1:
        return sd
    orig = _grouped_index(optimizer)
    g0 = sd["param_groups"][0]
    group = {k: v for k, v in g0.items() if k not in ("params", *_GROUP_KEYS)}
    group["lr"] = g0["lr"] / g0.get("lr_mult", 1.0)
    group["params"] = list(range(len(orig)))
    state = {orig[j]: s for j, s in sd["state"].items()}
    return {"state": state, "param_groups": [group]}


def _split_state_dict(optimizer: th.optim.Optimizer, sd: dict[str, Any]) -> dict[str, Any]:
    """load_state_dict pre-hook: SB3's single-group layout -> this optimizer's groups."""
    if len(sd["param_groups"]) != 1 or len(optimizer.param_groups) == 1:
        return sd
    orig = _grouped_index(optimizer)
    saved = sd["param_groups"][0]
    if len(saved["params"]) != len(orig):
        return sd  # let torch report the mismatch
    groups, j = [], 0
    for g in optimizer.param_groups:
        n = len(g["params"])
        mult = g.get("lr_mult", 1.0)
        groups.append(
            {
                **{k: v for k, v in saved.items() if k != "params"},
                "parts": g.get("parts"),
                "lr_mult": mult,
                "lr": saved["lr"] * mult,
                "params": list(range(j, j + n)),
            }
        )
        j += n
    state = {j: sd["state"][o] for j, o in enumerate(orig) if o in sd["state"]}
    return {"state": state, "param_groups": groups}


def apply_lr_multipliers(optimizer: th.optim.Optimizer) -> None:
    """Scale each group's ``lr`` (just written by SB3) by its ``lr_mult``."""
    for g in optimizer.param_groups:
        g["lr"] = g["lr"] * g.get("lr_mult", 1.0)


class L2SPHook:
    """Optimizer step pre-hook adding the gradient of ``alpha * ||w - w0||^2`` to anchored params.

    Adding ``2 * alpha * (w - w0)`` to ``w.grad`` right before ``optimizer.step()`` is exactly the
    gradient of the L2-SP term added to the loss (Li et al. 2018), applied after SB3's gradient
    clipping so the pull toward w0 is not distorted by it. Frozen parameters (no grad) are skipped.
    """

    def __init__(self, alpha: float, anchors: Iterable[tuple[nn.Parameter, th.Tensor]]) -> None:
        self.alpha = float(alpha)
        self.anchors = list(anchors)

    def __call__(self, optimizer: th.optim.Optimizer, args: Any, kwargs: Any) -> None:
        with th.no_grad():
            for p, w0 in self.anchors:
                if p.grad is not None:
                    p.grad.add_(p - w0, alpha=2.0 * self.alpha)


def l2sp_value(alpha: float, anchors: Iterable[tuple[nn.Parameter, th.Tensor]]) -> float:
    """``alpha * sum ||w - w0||^2`` over the anchored parameters."""
    pairs = list(anchors)
    if not pairs:
        return 0.0
    with th.no_grad():
        return alpha * float(th.stack([((p - w0) ** 2).sum() for p, w0 in pairs]).sum())
