"""The transfer spec: *what* to copy, *how* to train it and *when* to unfreeze, validated.

Strategies combine where sensible: ``finetune`` (everything trains) or ``freeze`` (copied feature
layers are not trained), optionally with ``layerwise_lr`` (learning-rate multipliers per part),
``gradual_unfreeze`` (frozen parts unfreeze from the head down at given steps, ULMFiT) and
``l2sp`` (penalty alpha * ||w - w0||^2 toward the pretrained weights, Li et al. 2018).
A field that belongs to a strategy that is not listed is an error, never silently ignored.

Fine-tuning options, each a block that is off when absent: ``critic_warmup`` (PPO: the actor
waits while the critic fits the target), ``exploration`` (reset action std / entropy
coefficient), ``anchor`` (decaying KL to the frozen source), ``guide`` (the source acts for the
first steps of each episode, Jump-Start RL) and ``source_replay`` (SAC/TD3: batches mix
source-domain transitions, RLPD). Checks that depend on the algorithm are made when the model
is built (:func:`sim2real.transfer.finetune.check_options`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from sim2real.strict import StrictModel

__all__ = [
    "AnchorSpec",
    "CriticWarmupSpec",
    "EarlyStoppingSpec",
    "ExplorationSpec",
    "GuideSpec",
    "NormalizationMode",
    "OffPolicySpec",
    "SourceReplaySpec",
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


class CriticWarmupSpec(StrictModel):
    """PPO: the actor is fixed for the first ``steps`` target steps while the value function
    (and the VecNormalize statistics, unless frozen) learn; the steps count in the budget
    (DPPO's ``n_critic_warmup_itr``)."""

    steps: int = Field(gt=0, description="Target steps during which only the critic learns.")
    reinit_value_head: bool = Field(
        False,
        description="Re-initialize the value head (critic.head) before the warm-up: the "
        "source's values were fit to other dynamics.",
    )


class ExplorationSpec(StrictModel):
    """Reset the transferred policy's exploration instead of inheriting the source's."""

    action_std: float | None = Field(
        None, gt=0, description="PPO: the action std (exp(log_std)) the target starts with."
    )
    ent_coef: float | None = Field(
        None, gt=0, description="SAC: the entropy coefficient the target starts with."
    )

    @model_validator(mode="after")
    def _one(self) -> ExplorationSpec:
        if self.action_std is None and self.ent_coef is None:
            raise ValueError("exploration needs action_std (PPO) or ent_coef (SAC)")
        return self


AnchorSchedule = Literal["fixed", "linear", "performance"]


class AnchorSpec(StrictModel):
    """Extra loss ``weight_t * KL(pi_source || pi)`` on the states the learner visits
    (kickstarting, Schmitt et al. 2018; TD3: squared distance to the source's action)."""

    weight: float = Field(gt=0, description="Initial (maximum) weight lambda_0.")
    schedule: AnchorSchedule = Field(
        "linear",
        description="fixed: lambda_0 throughout; linear: lambda_0 * max(1 - t / decay_steps, 0); "
        "performance: lambda_0 * max(1 - (score - floor) / (teacher_score - floor), 0) from the "
        "latest target evaluation (QDagger, Agarwal et al. 2022).",
    )
    decay_steps: int | None = Field(
        None, gt=0, description="'linear': target steps over which the weight reaches 0."
    )
    teacher_score: float | None = Field(
        None,
        description="'performance': the source's return on the target; default the first "
        "evaluation of the run (step 0, the transferred policy before any update).",
    )
    states: Literal["visited", "source"] = Field(
        "visited",
        description="visited: the states of the learner's batches; source: the source-domain "
        "states of each batch (behaviour cloning on stored source states; SAC/TD3 with "
        "source_replay).",
    )
    score_floor: float = Field(
        0.0,
        description="'performance': the return that counts as 0 (e.g. a hanging pole's), so "
        "that negative returns give a meaningful ratio.",
    )

    @model_validator(mode="after")
    def _schedule_fields(self) -> AnchorSpec:
        if (self.schedule == "linear") != (self.decay_steps is not None):
            raise ValueError("anchor.decay_steps is needed by, and only by, schedule 'linear'")
        if self.schedule != "performance" and self.teacher_score is not None:
            raise ValueError("anchor.teacher_score is only used by schedule 'performance'")
        return self


class GuideSpec(StrictModel):
    """Jump-start RL (Uchendu et al. 2023): the frozen source acts for the first ``horizon``
    steps of each episode, then the learner; the horizon shrinks on a schedule. Guide steps
    count in the budget; PPO learns only from the learner's own actions."""

    horizon: int = Field(gt=0, description="Guide steps per episode at the start.")
    schedule: Literal["linear", "threshold"] = Field(
        "linear",
        description="linear: horizon * max(1 - t / decay_steps, 0); threshold: shrink by "
        "horizon_step each time the target evaluation return reaches threshold.",
    )
    decay_steps: int | None = Field(
        None, gt=0, description="'linear': target steps until the learner acts alone."
    )
    threshold: float | None = Field(
        None, description="'threshold': evaluation return that shrinks the horizon."
    )
    horizon_step: int | None = Field(
        None, gt=0, description="'threshold': how much the horizon shrinks (default horizon/4)."
    )

    @model_validator(mode="after")
    def _schedule_fields(self) -> GuideSpec:
        if (self.schedule == "linear") != (self.decay_steps is not None):
            raise ValueError("guide.decay_steps is needed by, and only by, schedule 'linear'")
        if (self.schedule == "threshold") != (self.threshold is not None):
            raise ValueError("guide.threshold is needed by, and only by, schedule 'threshold'")
        if self.horizon_step is not None and self.schedule != "threshold":
            raise ValueError("guide.horizon_step is only used by schedule 'threshold'")
        return self


class SourceReplaySpec(StrictModel):
    """SAC/TD3 (RLPD, Ball et al. 2023): each batch mixes source-domain transitions (collected
    with the source policy on the source domain, counted as simulator steps) and target ones."""

    transitions: int = Field(
        gt=0, description="Source-domain transitions collected with the source policy."
    )
    fraction: float = Field(0.5, gt=0, lt=1, description="Share of each batch from the source.")
    domain: str = Field("source", description="Domain the source transitions are collected on.")


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
    critic_warmup: CriticWarmupSpec | None = Field(
        None, description="PPO: only the critic learns for the first steps (see CriticWarmupSpec)."
    )
    exploration: ExplorationSpec | None = Field(
        None, description="Start with this action std (PPO) / entropy coefficient (SAC)."
    )
    anchor: AnchorSpec | None = Field(
        None, description="Decaying KL anchor to the frozen source policy (see AnchorSpec)."
    )
    guide: GuideSpec | None = Field(
        None, description="The source acts for the first steps of each episode (see GuideSpec)."
    )
    source_replay: SourceReplaySpec | None = Field(
        None, description="SAC/TD3: batches mix source-domain transitions (see SourceReplaySpec)."
    )

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
        self._check_finetune_options()
        return self

    def _check_finetune_options(self) -> None:
        """Combinations of the fine-tuning options that cannot work (algorithm-independent)."""
        uses_source = [
            name for name in ("anchor", "guide", "source_replay") if getattr(self, name) is not None
        ]
        if uses_source and self.normalization == "reestimate":
            raise ValueError(
                f"transfer.{uses_source[0]} runs the source policy on the learner's observations, "
                "which needs the source's statistics: use normalization 'update' or 'freeze'"
            )
        if (
            self.exploration is not None
            and self.exploration.ent_coef is not None
            and (self.off_policy.ent_coef_init is not None or self.off_policy.reset_ent_coef)
        ):
            raise ValueError(
                "transfer.exploration.ent_coef and off_policy.ent_coef_init/reset_ent_coef both "
                "set the entropy coefficient; keep one"
            )

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
