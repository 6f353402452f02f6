"""Stage 1 of the run pipeline, *prepare*: validate a fresh run or a resume, write nothing.

A fresh run and a resumed one differ only in the :class:`Start` that :func:`prepare` returns:
:class:`FreshStart` creates a run directory and a new model, :class:`ResumeStart` reopens a run
directory and restores its latest verified checkpoint. Every check on bad input (config, output
directory, checkpoint, budget, device, threads) happens here, before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import ExperimentConfig
from sim2real.errors import CheckpointError, ConfigError
from sim2real.training.algorithms import build_model, resolve_device, setup_torch
from sim2real.training.provenance import utc_now
from sim2real.training.resume import eval_history, load_checkpoint_model, saved_config
from sim2real.training.run_dir import Checkpoint, RunDir

__all__ = [
    "RESUMABLE_CHANGES",
    "FreshStart",
    "ModelFactory",
    "Prepared",
    "ResumeStart",
    "Start",
    "prepare",
]

#: config keys that may differ when a run is resumed (everything else must match)
RESUMABLE_CHANGES = (
    "total_timesteps",
    "eval.",
    "checkpoint_freq",
    "checkpoint_keep",
    "device",
    "torch_threads",
)


ModelFactory = Callable[["Prepared", VecEnv], BaseAlgorithm]
"""``factory(prepared, venv) -> model``: a new model on the training vec env ``venv``."""


class Start(Protocol):
    """How a run starts: fresh (:class:`FreshStart`) or from a checkpoint (:class:`ResumeStart`)."""

    checkpoint: Checkpoint | None
    vec_normalize_file: Path | None

    def open_run(self, config: ExperimentConfig) -> RunDir: ...

    def model(
        self, prepared: Prepared, venv: VecEnv, factory: ModelFactory | None
    ) -> BaseAlgorithm: ...

    def meta(self, start_steps: int) -> dict[str, Any]: ...

    def history(self, run: RunDir) -> dict[str, dict[str, list]] | None: ...


@dataclass(frozen=True)
class FreshStart:
    """A new run directory (``out_dir``, or a unique one under ``runs_root``), a new model."""

    out_dir: Path | None
    runs_root: str = "runs"
    checkpoint: None = None
    vec_normalize_file: None = None

    def open_run(self, config: ExperimentConfig) -> RunDir:
        """Create the run directory."""
        return RunDir.create(
            config.env, config.experiment, config.seed, self.out_dir, self.runs_root
        )

    def model(
        self, prepared: Prepared, venv: VecEnv, factory: ModelFactory | None
    ) -> BaseAlgorithm:
        """The factory's model on ``venv`` (default: ``config.algo`` from the config)."""
        if factory is None:
            return build_model(prepared.config, venv, prepared.device)
        model = factory(prepared, venv)
        if model.get_env() is not venv:
            model.set_env(venv)
        return model

    def meta(self, start_steps: int) -> dict[str, Any]:
        """``meta.json`` fields of a fresh start."""
        return {"start_time": utc_now()}

    def history(self, run: RunDir) -> None:
        """No evaluations yet."""
        return None


@dataclass(frozen=True)
class ResumeStart:
    """An existing run directory, continued from its latest verified checkpoint."""

    run: RunDir
    checkpoint: Checkpoint
    vec_normalize_file: Path | None

    def open_run(self, config: ExperimentConfig) -> RunDir:
        """The run directory being resumed."""
        return self.run

    def model(
        self, prepared: Prepared, venv: VecEnv, factory: ModelFactory | None
    ) -> BaseAlgorithm:
        """The checkpoint's model (loaded, or restored into the factory's model)."""
        builder = None if factory is None else (lambda v: factory(prepared, v))
        return load_checkpoint_model(
            prepared.config, self.checkpoint, venv, prepared.device, builder
        )

    def meta(self, start_steps: int) -> dict[str, Any]:
        """``meta.json`` fields of a resume."""
        return {"resumed_at": utc_now(), "resumed_from_step": start_steps}

    def history(self, run: RunDir) -> dict[str, dict[str, list]]:
        """The evaluations up to the checkpoint."""
        return eval_history(run, self.checkpoint.steps)


@dataclass(frozen=True)
class Prepared:
    """Stage 1's output: a validated config, how the run starts, device and threads."""

    config: ExperimentConfig
    start: FreshStart | ResumeStart
    device: str
    threads: int

    @property
    def resuming(self) -> bool:
        """Whether the run continues from a checkpoint."""
        return self.start.checkpoint is not None


def prepare(
    config: ExperimentConfig | None,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    runs_root: str | Path = "runs",
) -> Prepared:
    """Stage 1: validate the inputs of a fresh run or of a resume; nothing is written.

    Raises:
        ConfigError, DomainError, CheckpointError: bad input (one line).
    """
    start: FreshStart | ResumeStart
    if resume is not None:
        config, start = _resume_start(RunDir(resume), config)
    elif config is None:
        raise ConfigError("train() needs a config or a run directory to resume")
    else:
        start = FreshStart(None if out_dir is None else RunDir.check_new(out_dir), str(runs_root))
    device = resolve_device(config.device, config.algo)
    return Prepared(config, start, device, setup_torch(config.torch_threads))


def _resume_start(
    run: RunDir, config: ExperimentConfig | None
) -> tuple[ExperimentConfig, ResumeStart]:
    saved = saved_config(run)
    if config is None:
        config = saved
    else:
        check_resumable(saved, config, run)
    ckpt = run.latest_checkpoint()
    _check_budget(saved, config, ckpt, run)
    vn_file = ckpt.vecnormalize
    if config.normalize and vn_file is None:
        raise CheckpointError(f"{ckpt.path}: {RunDir.VECNORMALIZE} missing but normalize is on")
    return config, ResumeStart(run, ckpt, vn_file)


def check_resumable(saved: ExperimentConfig, new: ExperimentConfig, run: RunDir) -> None:
    old_flat, new_flat = saved.flat(), new.flat()
    changed = [
        k
        for k in sorted(set(old_flat) | set(new_flat))
        if old_flat.get(k) != new_flat.get(k) and not k.startswith(RESUMABLE_CHANGES)
    ]
    if changed:
        k = changed[0]
        raise ConfigError(
            f"--resume {run.path}: the config no longer matches the run ({k}: "
            f"{old_flat.get(k)!r} -> {new_flat.get(k)!r}"
            + (f", +{len(changed) - 1} more" if len(changed) > 1 else "")
            + "); resume with the run's own config or start a new run"
        )


def _check_budget(
    saved: ExperimentConfig, config: ExperimentConfig, ckpt: Checkpoint, run: RunDir
) -> None:
    """A ``total_timesteps`` at or below the checkpoint's steps would train nothing."""
    if config.total_timesteps > ckpt.steps:
        return
    if config.total_timesteps == saved.total_timesteps:
        raise ConfigError(
            f"--resume {run.path}: nothing to resume, the run has done all {ckpt.steps} steps "
            "of its budget; give a larger total_timesteps (--set total_timesteps=N) to continue it"
        )
    raise ConfigError(
        f"--resume {run.path}: total_timesteps={config.total_timesteps} is not above the "
        f"{ckpt.steps} steps the run has already done (its budget is "
        f"{saved.total_timesteps}); give a larger total_timesteps to continue it"
    )
