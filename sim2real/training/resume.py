"""Reading a run back to resume it: the saved config, the checkpointed model, evals and ADR state.

Everything here only reads; a problem raises a one-line ``ConfigError``/``CheckpointError``
before the trainer writes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file, recursive_setattr
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import ExperimentConfig, config_from_dict
from sim2real.errors import CheckpointError, Sim2RealError
from sim2real.training.algorithms import ALGOS
from sim2real.training.run_dir import Checkpoint, RunDir

__all__ = [
    "ModelBuilder",
    "eval_history",
    "load_checkpoint_model",
    "restore_adr_callback",
    "restore_into",
    "saved_config",
]

ModelBuilder = Callable[[VecEnv], BaseAlgorithm]


def saved_config(run: RunDir) -> ExperimentConfig:
    """The config stored in a run directory (``ConfigError``/``CheckpointError`` if unusable)."""
    return config_from_dict(run.read_config_data(), str(run.config))


def eval_history(run: RunDir, upto: int) -> dict[str, dict[str, list]]:
    data = run.read_evaluations()
    out: dict[str, dict[str, list]] = {}
    for key, entry in data.items():
        keep = [i for i, t in enumerate(entry.get("timesteps", [])) if t <= upto]
        out[key] = {name: [vals[i] for i in keep] for name, vals in entry.items()}
    return out


def load_checkpoint_model(
    config: ExperimentConfig,
    ckpt: Checkpoint,
    venv: VecEnv,
    device: str,
    builder: ModelBuilder | None,
) -> BaseAlgorithm:
    path = ckpt.model
    try:
        if builder is not None:
            model = builder(venv)
            restore_into(model, path, device)
            model.num_timesteps = ckpt.steps
        else:
            model = ALGOS[config.algo].load(path, env=venv, device=device)
        buffer = ckpt.replay_buffer
        if isinstance(model, OffPolicyAlgorithm) and buffer is not None:
            model.load_replay_buffer(buffer)
    except Sim2RealError:
        raise
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: cannot load the checkpoint ({reason})") from None
    return model


#: Training counters ``BaseAlgorithm.load`` restores that ``set_parameters`` leaves at zero.
RESTORED_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num")


def restore_into(model: BaseAlgorithm, path: Path, device: str) -> None:
    """Load a saved model into an already-built one (e.g. with transfer's optimizer groups).

    ``set_parameters`` loads only the state dicts (networks and optimizers); like
    ``BaseAlgorithm.load``, this also restores the saved torch variables (SAC's
    ``log_ent_coef``), the update/episode counters and the saved attributes the model names in
    ``RESTORED_ATTRIBUTES`` (e.g. transfer's guide-step count), so a resumed run continues exactly.
    """
    model.set_parameters(str(path), exact_match=True, device=device)
    data, _, variables = load_from_zip_file(path, device=device)
    for name in (*RESTORED_COUNTERS, *getattr(model, "RESTORED_ATTRIBUTES", ())):
        if data is not None and name in data:
            setattr(model, name, data[name])
    for name, tensor in (variables or {}).items():
        if tensor is not None:
            recursive_setattr(model, f"{name}.data", tensor.data)


def restore_adr_callback(config: ExperimentConfig, ckpt: Checkpoint | None) -> Any | None:
    """The ADR callback (state restored from the checkpoint) if the config enables ADR."""
    if config.adr is None:
        return None
    from sim2real.randomization import ADRCallback

    cb = ADRCallback(config.adr)
    state = ckpt.read_adr_state() if ckpt is not None else None
    if state is not None:
        cb.load_state_dict(state)
    return cb
