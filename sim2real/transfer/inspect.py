"""What a model offers for transfer: named parts, shapes, counts, spaces (``sim2real inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from sim2real.training.loading import load_policy
from sim2real.training.privileged import actor_space
from sim2real.transfer.adapters import env_entry_names
from sim2real.transfer.parts import parts_table

__all__ = ["describe_model", "network_inputs"]


def network_inputs(model: Any) -> dict[str, dict[str, int]]:
    """What each network reads: ``{network: {observation key: size}}`` (``obs`` for a flat
    observation); a privileged critic's ``pi_features_extractor``/``vf_features_extractor``
    select different keys."""
    policy = model.policy
    space = model.observation_space
    if not isinstance(space, spaces.Dict):
        return {"actor": {"obs": int(np.prod(space.shape or (1,)))}}
    out = {}
    for network, attr in (("actor", "pi_features_extractor"), ("critic", "vf_features_extractor")):
        extractor = getattr(policy, attr, None)
        keys = getattr(extractor, "keys", tuple(space.keys()))
        out[network] = {k: int(np.prod(space[k].shape or (1,))) for k in keys}
    return out


def describe_model(path: str | Path) -> dict[str, Any]:
    """JSON-able description of a run directory's or ``.zip``'s model.

    Raises:
        ModelFileError: missing or corrupt files.
    """
    src = load_policy(Path(path))
    model = src.model
    parts = parts_table(model)
    obs_names, act_names = env_entry_names(src.env) if src.env else (None, None)
    info = getattr(model, "transfer_info", None) or {}
    return {
        "path": str(src.path or path),
        "algo": type(model).__name__.removeprefix("Transfer").lower(),
        "env": src.env,
        "observation_size": int(np.prod(actor_space(model.observation_space).shape or (1,))),
        "inputs": network_inputs(model),
        "action_size": int(np.prod(model.action_space.shape or (1,))),
        "observation_names": obs_names,
        "action_names": act_names,
        "normalization": src.vec_normalize is not None,
        "total_params": sum(p["params"] for p in parts),
        "parts": parts,
        "transfer": (
            {"source": info.get("source"), "totals": info.get("log", {}).get("totals")}
            if info
            else None
        ),
    }
