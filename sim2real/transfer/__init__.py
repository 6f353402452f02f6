"""Transfer and fine-tuning of SB3 PPO/SAC/TD3 policies: named parts, strategies, adapters, logs.

``transfer(source, target_env, spec)`` builds a new agent on the target from named parts of a
pretrained source; see :class:`TransferSpec` for what can be configured.
"""

from __future__ import annotations

from sim2real.transfer.adapters import ObsAdapterExtractor, SpaceMaps, check_spaces
from sim2real.transfer.algorithms import (
    TRANSFER_CLASSES,
    TransferMixin,
    TransferPPO,
    TransferSAC,
    TransferTD3,
    transfer_class_for,
)
from sim2real.transfer.api import rebuild_as, transfer
from sim2real.transfer.callbacks import (
    EarlyStopper,
    GradualUnfreezeCallback,
    StopOnEvalFile,
    StopOnTargetPlateau,
    StrategySchedule,
    TransferLogCallback,
    transfer_callbacks,
)
from sim2real.transfer.config import TransferConfig, load_transfer_config
from sim2real.transfer.inspect import describe_model
from sim2real.transfer.off_policy import TransferReplayBuffer
from sim2real.transfer.parts import Part, named_parts, parts_table, select_parts
from sim2real.transfer.ppo import GuidedRolloutBuffer
from sim2real.transfer.run import run_transfer
from sim2real.transfer.spec import (
    AnchorSpec,
    CriticWarmupSpec,
    EarlyStoppingSpec,
    ExplorationSpec,
    GuideSpec,
    OffPolicySpec,
    SourceReplaySpec,
    TransferSpec,
    UnfreezeStage,
)
from sim2real.transfer.surgery import TransferLog, apply_transfer
from sim2real.transfer.teacher import Teacher

__all__ = [
    "TRANSFER_CLASSES",
    "AnchorSpec",
    "CriticWarmupSpec",
    "EarlyStopper",
    "EarlyStoppingSpec",
    "ExplorationSpec",
    "GradualUnfreezeCallback",
    "GuideSpec",
    "GuidedRolloutBuffer",
    "ObsAdapterExtractor",
    "OffPolicySpec",
    "Part",
    "SourceReplaySpec",
    "SpaceMaps",
    "StopOnEvalFile",
    "StopOnTargetPlateau",
    "StrategySchedule",
    "Teacher",
    "TransferConfig",
    "TransferLog",
    "TransferLogCallback",
    "TransferMixin",
    "TransferPPO",
    "TransferReplayBuffer",
    "TransferSAC",
    "TransferSpec",
    "TransferTD3",
    "UnfreezeStage",
    "apply_transfer",
    "check_spaces",
    "describe_model",
    "load_transfer_config",
    "named_parts",
    "parts_table",
    "rebuild_as",
    "run_transfer",
    "select_parts",
    "transfer",
    "transfer_callbacks",
    "transfer_class_for",
]
