"""Source and target with different observation/action spaces: check, explain, adapt.

Two explicit adapters:

* ``match_names``: observation and action entries are matched by name (the envs'
  ``observation_names`` / ``action_names``). Weights reading a target observation entry that the
  source also had are copied; new entries start with zero weights (no influence until learned);
  entries the source had but the target lacks are dropped (equivalent to imputing 0, the mean
  under VecNormalize). Action rows of heads are mapped the same way; new actions keep fresh init.
* ``input_layer``: a learnable linear layer maps the target observation to the source's
  observation size in front of the transferred first layers (:class:`ObsAdapterExtractor`,
  initialized to the name match when names are known, else to the identity on shared positions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from sim2real.envs.registry import make_env
from sim2real.errors import SpaceMismatchError

__all__ = [
    "IndexMap",
    "ObsAdapterExtractor",
    "SpaceMaps",
    "check_spaces",
    "env_entry_names",
    "remap_tensor",
]


@dataclass(frozen=True)
class IndexMap:
    """For each target entry, the index of the same entry in the source (``-1``: new)."""

    source_size: int
    target_of: tuple[int, ...]

    @classmethod
    def by_name(cls, source: Sequence[str], target: Sequence[str]) -> IndexMap:
        """Match entries by name."""
        pos = {n: i for i, n in enumerate(source)}
        return cls(len(source), tuple(pos.get(n, -1) for n in target))

    @classmethod
    def identity(cls, n: int) -> IndexMap:
        """Same layout on both sides."""
        return cls(n, tuple(range(n)))

    @property
    def is_identity(self) -> bool:
        """True when the layouts are identical."""
        return self.target_of == tuple(range(self.source_size))


@dataclass(frozen=True)
class SpaceMaps:
    """How target observation/action entries relate to the source's."""

    obs: IndexMap
    act: IndexMap
    obs_adapter: bool = False  # an input layer maps target obs to the source obs size

    @property
    def identical(self) -> bool:
        """Nothing to adapt."""
        return self.obs.is_identity and self.act.is_identity and not self.obs_adapter


def env_entry_names(env: Any) -> tuple[list[str] | None, list[str] | None]:
    """Observation and action names of a (vec) env or an env name (built with its registered
    settings: ``env_kwargs`` can change the layout, e.g. the A1's ``gait``)."""
    if isinstance(env, str):
        built = make_env(env)
        try:
            return env_entry_names(built)
        finally:
            built.close()
    try:
        if hasattr(env, "get_attr"):  # VecEnv
            return (
                list(env.get_attr("observation_names", [0])[0]) or None,
                list(env.get_attr("action_names", [0])[0]) or None,
            )
        base = env.unwrapped
        return list(base.observation_names) or None, list(base.action_names) or None
    except (AttributeError, TypeError):
        return None, None


def _size(space: gym.Space, what: str) -> int:
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise SpaceMismatchError(
            f"{what} space {space} differs between source and target and is not a flat Box: "
            "no adapter handles it; transfer between identical spaces only"
        )
    return int(space.shape[0])


def _describe(src: Sequence[str] | None, tgt: Sequence[str] | None, ns: int, nt: int) -> str:
    if src is None or tgt is None:
        return f"source has {ns} entries, target {nt}"
    missing = [n for n in src if n not in tgt]
    extra = [n for n in tgt if n not in src]
    bits = [f"source has {ns} entries, target {nt}"]
    if missing:
        bits.append(f"missing on target: {', '.join(missing)}")
    if extra:
        bits.append(f"new on target: {', '.join(extra)}")
    if not missing and not extra:
        bits.append("same names in a different order")
    return "; ".join(bits)


def check_spaces(
    source_obs: gym.Space,
    source_act: gym.Space,
    target_obs: gym.Space,
    target_act: gym.Space,
    adapter: str,
    names: dict[str, Sequence[str] | None],
) -> SpaceMaps:
    """Relate the spaces, or raise :class:`SpaceMismatchError` saying what differs and the fix.

    ``names`` has keys ``source_obs``, ``target_obs``, ``source_act``, ``target_act`` (lists of
    entry names or None when unknown).
    """

    def unchanged(key: str, a: gym.Space, b: gym.Space) -> bool:
        src, tgt = names.get(f"source_{key}"), names.get(f"target_{key}")
        return a == b and (not src or not tgt or list(src) == list(tgt))

    same_obs = unchanged("obs", source_obs, target_obs)
    same_act = unchanged("act", source_act, target_act)
    if same_obs and same_act:
        return SpaceMaps(  # identical spaces (a privileged critic's Dict too): entry by entry
            IndexMap.identity(gym.spaces.flatdim(source_obs)),
            IndexMap.identity(gym.spaces.flatdim(source_act)),
        )
    ns_o, nt_o = _size(source_obs, "observation"), _size(target_obs, "observation")
    ns_a, nt_a = _size(source_act, "action"), _size(target_act, "action")
    diffs = []
    if not same_obs:
        d = _describe(names.get("source_obs"), names.get("target_obs"), ns_o, nt_o)
        diffs.append(f"observation differs ({d})")
    if not same_act:
        d = _describe(names.get("source_act"), names.get("target_act"), ns_a, nt_a)
        diffs.append(f"action differs ({d})")
    what = "; ".join(diffs)
    if adapter == "none":
        fixes = ["transfer.adapter=match_names (maps entries by name)"]
        if same_act:
            fixes.append("transfer.adapter=input_layer (learnable input layer)")
        raise SpaceMismatchError(f"{what}: set {' or '.join(fixes)}")
    if adapter == "input_layer":
        if not same_act:
            raise SpaceMismatchError(
                f"{what}: input_layer adapts observations only; use transfer.adapter=match_names "
                "for a different action space"
            )
        src, tgt = names.get("source_obs"), names.get("target_obs")
        init = IndexMap.by_name(src, tgt) if src and tgt else _positional(ns_o, nt_o)
        return SpaceMaps(init, IndexMap.identity(ns_a), obs_adapter=True)
    # match_names
    maps = []
    for key, same, ns in (("obs", same_obs, ns_o), ("act", same_act, ns_a)):
        src, tgt = names.get(f"source_{key}"), names.get(f"target_{key}")
        if same and not (src and tgt):
            maps.append(IndexMap.identity(ns))
            continue
        if not (src and tgt):
            raise SpaceMismatchError(
                f"{what}: match_names needs the {key} entry names of both envs (sim2real envs have "
                "them; pass source_names for a plain SB3 model)"
            )
        m = IndexMap.by_name(src, tgt)
        if all(i < 0 for i in m.target_of):
            raise SpaceMismatchError(f"{what}: no {key} entry name is shared, nothing to match")
        maps.append(m)
    return SpaceMaps(maps[0], maps[1])


def _positional(ns: int, nt: int) -> IndexMap:
    return IndexMap(ns, tuple(j if j < ns else -1 for j in range(nt)))


def _remap_axis(src: th.Tensor, tgt: th.Tensor, axis: int, m: IndexMap) -> th.Tensor:
    """``tgt`` with the entries along ``axis`` that exist in the source taken from ``src``."""
    out = tgt.clone()
    for j, i in enumerate(m.target_of):
        if i >= 0:
            out.select(axis, j).copy_(src.select(axis, i))
    return out


def remap_tensor(
    src: th.Tensor,
    tgt: th.Tensor,
    *,
    in_space: str | None,
    out_space: str | None,
    maps: SpaceMaps,
) -> th.Tensor:
    """Source tensor rearranged into the target's shape along the axes that read obs/act entries.

    Input columns of new entries are zero; output rows of new actions keep the target's init.
    """
    out = src
    reads_act = in_space == "obs+act" and not maps.act.is_identity
    remap_cols = not maps.obs_adapter and (not maps.obs.is_identity or reads_act)
    if in_space and src.dim() == 2 and remap_cols:
        # columns: [obs entries | act entries (Q networks)]; new entries get zero weight
        cols = [(maps.obs, 0, 0)]
        if in_space == "obs+act":
            cols.append((maps.act, maps.obs.source_size, len(maps.obs.target_of)))
        new = th.zeros(src.shape[0], tgt.shape[1], dtype=src.dtype)
        for m, s_off, t_off in cols:
            for j, i in enumerate(m.target_of):
                if i >= 0:
                    new[:, t_off + j] = src[:, s_off + i]
        out = new
    if out_space == "act" and not maps.act.is_identity:
        out = _remap_axis(out, tgt, 0, maps.act)
    if out.shape != tgt.shape:
        raise SpaceMismatchError(
            f"cannot adapt a tensor of shape {tuple(src.shape)} to {tuple(tgt.shape)}: the "
            "networks differ beyond the observation/action entries (use the same net_arch)"
        )
    return out


class ObsAdapterExtractor(BaseFeaturesExtractor):
    """Learnable linear map from the target observation to the source observation size.

    Args:
        observation_space: the target's (flat Box) observation space.
        source_dim: the source observation size (the transferred first layers' input).
        init_map: for each target entry its source index (-1: new); the weight starts as the
            0/1 matrix of this map, so at step 0 the transferred policy sees what it knows.
    """

    def __init__(
        self, observation_space: gym.spaces.Box, source_dim: int, init_map: Sequence[int]
    ) -> None:
        super().__init__(observation_space, features_dim=int(source_dim))
        n_in = int(np.prod(observation_space.shape))
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(n_in, int(source_dim))
        self.init_map = [int(i) for i in init_map]
        self.reset_to_map()

    def reset_to_map(self) -> None:
        """Set the weight to the 0/1 matrix of ``init_map`` and the bias to 0.

        Needed after SB3's orthogonal init of PPO policies, which re-initializes the extractor.
        """
        with th.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()
            for j, i in enumerate(self.init_map):
                if i >= 0:
                    self.linear.weight[i, j] = 1.0

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.linear(self.flatten(observations))
