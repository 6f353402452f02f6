"""The transfer spec: *what* to copy, *how* to train it and *when* to unfreeze, validated.

Strategies combine where sensible: ``finetune`` (everything trains) or ``freeze`` (copied feature
layers are not trained), optionally with ``layerwise_lr`` (learning-rate multipliers per part),
``gradual_unfreeze`` (frozen parts unfreeze from the head down at given steps, ULMFiT) and
``l2sp`` (penalty alpha * ||w - w0||^2 toward the pretrained weights, Li et al. 2018).
A field that belongs to a strategy that is not listed is an error, never silently ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from sim2real.strict import StrictModel

__all__ = [
    "EarlyStoppingSpec",
    "NormalizationMode",
    "OffPolicySpec",
    "Strategy",
    "TransferSpec",
    "UnfreezeStage",
]

Strategy = Literal["finetune", "freeze", "layerwise_lr", "gradual_unfreeze", "l2sp"]
NormalizationMode = Literal["freeze", "update", "reestimate"]


class UnfreezeStage(StrictModel):
    """One gradual-unfreezing event."""

    at_step: int = Field(gt=0, description="Target environment step at which the parts unfreeze.")
    parts: list[str] | None = Field(
        None,
        description="Parts to unfreeze; default: the next level from the head down "
        "(heads, then the last hidden layers, ... then the first layers).",
    )


class EarlyStoppingSpec(StrictModel):
    """Stop training on the target when its evaluation return stops improving or is good enough."""

    patience: int | None = Field(
        3, ge=1, description="Evaluations without improvement before stopping (None: never)."
    )
    min_evals: int = Field(2, ge=0, description="Evaluations always done before stopping.")
    reward_threshold: float | None = Field(
        None, description="Stop as soon as the mean target return reaches this."
    )
    domain: str | None = Field(
        None,
        description="Evaluation to watch: None = the domain the transfer trains on (the target), "
        "or a name listed in eval.targets.",
    )


class OffPolicySpec(StrictModel):
    """Options for SAC/TD3 transfers (ignored for PPO)."""

    fresh_replay_buffer: Literal[True] = Field(
        True,
        description="The target starts with an empty replay buffer (source transitions come "
        "from other dynamics and would bias the critic).",
    )
    reset_ent_coef: bool = Field(
        False,
        description="SAC: start the entropy coefficient afresh (target's ent_coef setting) instead "
        "of carrying over the source's learned temperature.",
    )
    ent_coef_init: float | None = Field(
        None, gt=0, description="SAC: explicit initial entropy coefficient (implies a reset)."
    )
    warmup_steps: int | None = Field(
        None,
        ge=0,
        description="Steps collected before gradient updates start (SB3 learning_starts); "
        "None keeps the algorithm's setting.",
    )
    warmup_policy: Literal["pretrained", "random"] = Field(
        "pretrained",
        description="Who acts during warm-up: the transferred policy (with its exploration "
        "noise) or uniform random actions as in plain SB3.",
    )


class TransferSpec(StrictModel):
    """What, how and when to transfer from a source policy to a new agent on the target."""

    copy_parts: list[str] = Field(
        default_factory=lambda: ["all"],
        alias="copy",
        description="Parts copied from the source (see `sim2real inspect`); prefixes such as "
        "'actor.features' and 'all' work. Everything else is freshly initialized.",
    )
    reinit: list[str] = Field(
        default_factory=list,
        description="Parts re-initialized after copying (e.g. ['actor.head', 'critic.head']).",
    )
    strategy: list[Strategy] = Field(
        default_factory=lambda: list[Strategy](["finetune"]),
        description="Combination of finetune | freeze | layerwise_lr | gradual_unfreeze | l2sp.",
    )
    freeze: list[str] | None = Field(
        None,
        description="Parts frozen by 'freeze'/'gradual_unfreeze'; default: every copied part "
        "except heads and log-std (the feature extraction).",
    )
    lr_multipliers: dict[str, float] = Field(
        default_factory=dict,
        description="'layerwise_lr': part selector -> learning-rate multiplier (others 1.0).",
    )
    unfreeze: list[UnfreezeStage] = Field(
        default_factory=list, description="'gradual_unfreeze': the stages, in step order."
    )
    l2sp_alpha: float = Field(
        0.0, ge=0, description="'l2sp': penalty weight alpha in alpha * ||w - w0||^2."
    )
    l2sp_parts: list[str] | None = Field(
        None, description="'l2sp': parts anchored to w0; default: every copied trainable part."
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Stop on the target evaluation (needs target evaluation)."
    )
    normalization: NormalizationMode = Field(
        "update",
        description="VecNormalize statistics: carried over and frozen ('freeze'), carried over "
        "and updated ('update'), or re-estimated on the target from scratch ('reestimate').",
    )
    adapter: Literal["none", "match_names", "input_layer"] = Field(
        "none",
        description="When spaces differ: 'match_names' maps observation/action entries by name; "
        "'input_layer' adds a learnable layer from the target observation to the source's.",
    )
    off_policy: OffPolicySpec = Field(default_factory=lambda: OffPolicySpec.model_validate({}))

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _check_combination(self) -> TransferSpec:
        s = set(self.strategy)
        if len(s) != len(self.strategy):
            raise ValueError(f"strategy lists a strategy twice: {self.strategy}")
        if "finetune" in s and s & {"freeze", "gradual_unfreeze"}:
            raise ValueError(
                "strategy 'finetune' trains everything, so it cannot be combined with 'freeze' or "
                "'gradual_unfreeze'; drop 'finetune'"
            )
        if not s & {"finetune", "freeze", "gradual_unfreeze"}:
            raise ValueError(
                "strategy needs one of 'finetune', 'freeze' or 'gradual_unfreeze' to say which "
                "parts train (layerwise_lr and l2sp combine with them)"
            )
        if "freeze" in s and "gradual_unfreeze" in s:
            raise ValueError(
                "use either 'freeze' (frozen for good) or 'gradual_unfreeze' (frozen, then "
                "unfrozen by stage), not both"
            )
        self._requires("layerwise_lr", bool(self.lr_multipliers), "lr_multipliers")
        self._requires("gradual_unfreeze", bool(self.unfreeze), "unfreeze")
        self._requires("l2sp", self.l2sp_alpha > 0, "l2sp_alpha (> 0)")
        if self.l2sp_parts is not None and "l2sp" not in s:
            raise ValueError("l2sp_parts is set but 'l2sp' is not in strategy")
        if self.freeze is not None and not s & {"freeze", "gradual_unfreeze"}:
            raise ValueError(
                "freeze is set but neither 'freeze' nor 'gradual_unfreeze' is in strategy"
            )
        for sel, mult in self.lr_multipliers.items():
            if not mult > 0:
                raise ValueError(
                    f"lr_multipliers[{sel!r}] = {mult}: must be > 0 (freeze the part instead of 0)"
                )
        steps = [st.at_step for st in self.unfreeze]
        if steps != sorted(steps):
            raise ValueError(f"unfreeze stages must be in increasing at_step order, got {steps}")
        if (
            self.early_stopping
            and self.early_stopping.patience is None
            and self.early_stopping.reward_threshold is None
        ):
            raise ValueError("early_stopping needs patience or reward_threshold")
        return self

    def _requires(self, strategy: str, present: bool, field_name: str) -> None:
        listed = strategy in self.strategy
        if listed and not present:
            raise ValueError(f"strategy '{strategy}' needs {field_name}")
        if present and not listed:
            raise ValueError(f"{field_name} is set but '{strategy}' is not in strategy")

    @property
    def trains_everything(self) -> bool:
        """True when no part is frozen at any time."""
        return "finetune" in self.strategy
