"""Named parts of SB3 PPO/SAC/TD3 policies: what transfer can copy, freeze, re-initialize and tune.

A *part* is one layer-sized piece of a policy with a stable, algorithm-independent name:

==========================  ===================================================================
part                        tensors (PPO / SAC / TD3)
==========================  ===================================================================
``actor.extractor``         features extractor of the actor (only when it has parameters)
``actor.features.<i>``      i-th hidden layer: ``mlp_extractor.policy_net`` / ``actor.latent_pi``
                            / ``actor.mu`` (TD3, all but the last Linear)
``actor.head``              ``action_net`` / ``actor.mu`` / last Linear of TD3 ``actor.mu``
``actor.log_std``           ``log_std`` (PPO, SAC) - absent for TD3
``critic.extractor``        features extractor of the critic (only when it has parameters)
``critic.features.<i>``     i-th hidden layer of ``mlp_extractor.value_net`` / of every Q network
``critic.head``             ``value_net`` / last Linear of every Q network
``actor.env_encoder``       RMA (PPO): the env encoder of the dynamics, instead of
                            ``actor.extractor`` (``features_extractor.env_encoder``)
``adaptation.features.<i>`` RMA: i-th hidden layer of the adaptation module (``adaptation.net``)
``adaptation.head``         RMA: its last Linear (the latent estimate)
==========================  ===================================================================

Parts are selected by *prefix* on dot boundaries (``actor`` selects every actor part,
``critic.features`` every critic hidden layer), by ``all``, or by a glob (``*.head``).
Target networks (``critic_target``, ``actor_target``) are not parts: they follow their online
network after surgery.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

from sim2real.errors import ConfigError

__all__ = [
    "Part",
    "PartKind",
    "model_policy",
    "named_parts",
    "parts_table",
    "select_parts",
    "unfreeze_order",
]

PartKind = Literal["extractor", "features", "head", "log_std"]


@dataclass
class Part:
    """One named, layer-sized piece of a policy.

    Attributes:
        name: stable name, e.g. ``actor.features.0``.
        kind: ``extractor``, ``features``, ``head`` or ``log_std``.
        network: ``actor`` or ``critic``.
        depth: distance from the input (extractor -1, first hidden layer 0, heads last).
        tensors: full parameter names (as in ``policy.named_parameters()``) -> parameter.
        in_space: ``obs`` (or ``obs+act`` for Q networks) when the part reads the observation.
        out_space: ``act`` when the part's output rows are the action entries.
    """

    name: str
    kind: PartKind
    network: str
    depth: int
    tensors: dict[str, nn.Parameter] = field(default_factory=dict)
    in_space: str | None = None
    out_space: str | None = None

    @property
    def numel(self) -> int:
        """Number of scalar parameters."""
        return sum(p.numel() for p in self.tensors.values())

    @property
    def shapes(self) -> dict[str, list[int]]:
        """Tensor name -> shape."""
        return {n: list(p.shape) for n, p in self.tensors.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (for ``sim2real inspect``)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "network": self.network,
            "depth": self.depth,
            "params": self.numel,
            "tensors": self.shapes,
        }


def model_policy(model: Any) -> nn.Module:
    """The ``policy`` module of an SB3 algorithm, or ``model`` itself if it is a policy."""
    policy = getattr(model, "policy", model)
    if not isinstance(policy, nn.Module):
        raise ConfigError(f"expected an SB3 model or policy, got {type(model).__name__}")
    return policy


def _linear_layers(seq: nn.Module) -> list[list[tuple[str, nn.Module]]]:
    """Split a Sequential into layers: each Linear starts a layer; norm layers join the previous."""
    layers: list[list[tuple[str, nn.Module]]] = []
    for child_name, child in seq.named_children():
        if isinstance(child, nn.Sequential):  # e.g. gSDE mu wrapped with Hardtanh
            for sub in _linear_layers(child):
                layers.append([(f"{child_name}.{n}", m) for n, m in sub])
            continue
        if not any(True for _ in child.parameters()):
            continue
        if isinstance(child, nn.Linear) or not layers:
            layers.append([(child_name, child)])
        else:
            layers[-1].append((child_name, child))
    return layers


class _Builder:
    def __init__(self, policy: nn.Module) -> None:
        self.policy = policy
        self.ids = {id(p): n for n, p in policy.named_parameters()}
        self.parts: dict[str, Part] = {}

    def add(
        self, name: str, kind: PartKind, network: str, depth: int, module: Any, **kw: Any
    ) -> None:
        params = (
            [module] if isinstance(module, nn.Parameter) else list(module.parameters(recurse=True))
        )
        part = self.parts.setdefault(name, Part(name, kind, network, depth, **kw))
        for p in params:
            full = self.ids.get(id(p))
            if full is not None and all(p is not q for q in part.tensors.values()):
                part.tensors[full] = p

    def add_extractor(self, network: str, extractor: nn.Module | None) -> None:
        if extractor is not None and any(True for _ in extractor.parameters()):
            name = "env_encoder" if hasattr(extractor, "env_encoder") else "extractor"
            self.add(f"{network}.{name}", "extractor", network, -1, extractor, in_space="obs")

    def add_mlp(
        self,
        network: str,
        seqs: list[nn.Module],
        *,
        has_head: bool,
        in_space: str,
        head_out: str | None,
    ) -> None:
        """Hidden layers of one or more parallel Sequentials (Q ensembles share the part)."""
        for seq in seqs:
            layers = _linear_layers(seq)
            hidden = layers[:-1] if has_head else layers
            for i, layer in enumerate(hidden):
                for _, module in layer:
                    self.add(
                        f"{network}.features.{i}",
                        "features",
                        network,
                        i,
                        module,
                        in_space=in_space if i == 0 else None,
                    )
            if has_head and layers:
                for _, module in layers[-1]:
                    self.add(
                        f"{network}.head",
                        "head",
                        network,
                        len(hidden),
                        module,
                        in_space=in_space if not hidden else None,
                        out_space=head_out,
                    )


def named_parts(model: Any) -> dict[str, Part]:
    """Named parts of an SB3 PPO/A2C (``ActorCriticPolicy``), SAC or TD3 model or policy.

    Raises:
        ConfigError: the policy type is not one of those.
    """
    policy: Any = model_policy(model)
    b = _Builder(policy)
    if hasattr(policy, "mlp_extractor"):  # ActorCriticPolicy (PPO, A2C)
        shared = getattr(policy, "share_features_extractor", True)
        b.add_extractor("actor", policy.pi_features_extractor)
        if not shared:
            b.add_extractor("critic", policy.vf_features_extractor)
        ext = policy.mlp_extractor
        b.add_mlp("actor", [ext.policy_net], has_head=False, in_space="obs", head_out=None)
        b.add_mlp("critic", [ext.value_net], has_head=False, in_space="obs", head_out=None)
        n_pi = len(_linear_layers(ext.policy_net))
        n_vf = len(_linear_layers(ext.value_net))
        b.add("actor.head", "head", "actor", n_pi, policy.action_net, out_space="act",
              in_space="obs" if n_pi == 0 else None)  # fmt: skip
        if isinstance(getattr(policy, "log_std", None), nn.Parameter):
            b.add("actor.log_std", "log_std", "actor", n_pi, policy.log_std, out_space="act")
        b.add("critic.head", "head", "critic", n_vf, policy.value_net,
              in_space="obs" if n_vf == 0 else None)  # fmt: skip
        if isinstance(getattr(policy, "adaptation", None), nn.Module):  # RMA
            b.add_mlp("adaptation", [policy.adaptation.net], has_head=True, in_space="history",
                      head_out=None)  # fmt: skip
    elif hasattr(policy, "actor") and hasattr(policy, "critic"):  # SAC, TD3
        actor, critic = policy.actor, policy.critic
        b.add_extractor("actor", actor.features_extractor)
        if not getattr(critic, "share_features_extractor", False):
            b.add_extractor("critic", critic.features_extractor)
        if hasattr(actor, "latent_pi"):  # SAC
            b.add_mlp("actor", [actor.latent_pi], has_head=False, in_space="obs", head_out=None)
            n = len(_linear_layers(actor.latent_pi))
            b.add("actor.head", "head", "actor", n, actor.mu, out_space="act",
                  in_space="obs" if n == 0 else None)  # fmt: skip
            b.add("actor.log_std", "log_std", "actor", n, actor.log_std, out_space="act",
                  in_space="obs" if n == 0 else None)  # fmt: skip
        else:  # TD3 / DDPG
            b.add_mlp("actor", [actor.mu], has_head=True, in_space="obs", head_out="act")
        b.add_mlp("critic", list(critic.q_networks), has_head=True, in_space="obs+act",
                  head_out=None)  # fmt: skip
    else:
        raise ConfigError(
            f"unsupported policy {type(policy).__name__}: transfer handles SB3 PPO/A2C, SAC and TD3"
        )
    return {n: p for n, p in b.parts.items() if p.tensors}


def select_parts(
    parts: dict[str, Part], selectors: Iterable[str], *, what: str = "parts"
) -> list[str]:
    """Part names matched by ``selectors`` (``all``, dot-prefixes or globs), in model order.

    Raises:
        ConfigError: a selector matches nothing (lists the available parts).
    """
    chosen: set[str] = set()
    for sel in selectors:
        if sel == "all":
            hits = set(parts)
        elif any(c in sel for c in "*?["):
            hits = {n for n in parts if fnmatch.fnmatchcase(n, sel)}
        else:
            hits = {n for n in parts if n == sel or n.startswith(sel + ".")}
        if not hits:
            raise ConfigError(
                f"transfer {what}: {sel!r} matches no part of this model; available parts: "
                f"{', '.join(parts)} (prefixes like 'actor.features' and 'all' work too)"
            )
        chosen |= hits
    return [n for n in parts if n in chosen]


def unfreeze_order(parts: dict[str, Part], names: Iterable[str]) -> list[list[str]]:
    """Group ``names`` into ULMFiT levels from the head down (heads first, extractors last)."""
    levels: dict[int, list[str]] = {}
    for n in names:
        p = parts[n]
        # distance from the output of its own network: head/log_std 0, last hidden 1, ...
        top = max(q.depth for q in parts.values() if q.network == p.network)
        levels.setdefault(top - p.depth, []).append(n)
    return [levels[k] for k in sorted(levels)]


def parts_table(model: Any) -> list[dict[str, Any]]:
    """JSON-able list of the model's parts with shapes and parameter counts."""
    return [p.to_dict() for p in named_parts(model).values()]
