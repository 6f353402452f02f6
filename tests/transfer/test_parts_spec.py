"""Named parts of SB3 policies and validation of the transfer spec."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sim2real.errors import ConfigError
from sim2real.transfer import TransferSpec, named_parts, select_parts
from sim2real.transfer.parts import unfreeze_order


def test_parts_cover_every_trainable_tensor_once(source) -> None:
    parts = named_parts(source)
    seen = [n for p in parts.values() for n in p.tensors]
    assert len(seen) == len(set(seen))
    online = {n for n, _ in source.policy.named_parameters() if "_target" not in n}
    assert set(seen) == online
    assert sum(p.numel for p in parts.values()) == sum(
        p.numel() for n, p in source.policy.named_parameters() if n in online
    )
    assert {"actor.features.0", "actor.features.1", "actor.head", "critic.head"} <= set(parts)


def test_selection_by_prefix_glob_and_all(source) -> None:
    parts = named_parts(source)
    assert select_parts(parts, ["actor.features"]) == ["actor.features.0", "actor.features.1"]
    assert set(select_parts(parts, ["*.head"])) == {"actor.head", "critic.head"}
    assert select_parts(parts, ["all"]) == list(parts)
    with pytest.raises(ConfigError, match=r"'actor\.feat' matches no part.*actor\.features\.0"):
        select_parts(parts, ["actor.feat"])


def test_unfreeze_order_is_head_down(source) -> None:
    parts = named_parts(source)
    levels = unfreeze_order(parts, ["actor.features.0", "actor.features.1", "critic.features.1"])
    assert levels == [["actor.features.1", "critic.features.1"], ["actor.features.0"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"strategy": ["finetune", "freeze"]}, "cannot be combined"),
        ({"strategy": ["layerwise_lr"]}, "needs one of"),
        ({"strategy": ["finetune", "layerwise_lr"]}, "needs lr_multipliers"),
        ({"lr_multipliers": {"actor": 0.1}}, "'layerwise_lr' is not in strategy"),
        ({"strategy": ["finetune", "l2sp"]}, "l2sp_alpha"),
        ({"strategy": ["freeze", "gradual_unfreeze"], "unfreeze": [{"at_step": 5}]}, "either"),
        (
            {"strategy": ["gradual_unfreeze"], "unfreeze": [{"at_step": 9}, {"at_step": 5}]},
            "increasing",
        ),
        ({"strategy": ["finetune", "layerwise_lr"], "lr_multipliers": {"a": 0}}, "must be > 0"),
        ({"copy": ["all"], "bogus": 1}, "Extra inputs"),
    ],
)
def test_spec_rejects_bad_combinations(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TransferSpec.model_validate(data)


def test_spec_accepts_sensible_combinations() -> None:
    spec = TransferSpec.model_validate(
        {
            "copy": ["actor.features", "critic.features"],
            "strategy": ["gradual_unfreeze", "layerwise_lr", "l2sp"],
            "lr_multipliers": {"actor.features": 0.1},
            "unfreeze": [{"at_step": 100}, {"at_step": 200, "parts": ["critic.features.0"]}],
            "l2sp_alpha": 0.01,
        }
    )
    assert spec.copy_parts == ["actor.features", "critic.features"]
    assert spec.model_dump(by_alias=True)["copy"] == spec.copy_parts
