"""A transfer run through the trainer: same run directory, TensorBoard, checkpoints, resume.

The trainer builds the target vec env; :func:`run_transfer` plugs in a ``model_builder`` that
builds the target config's model as a template, transfers the source parts into a new agent with
those hyperparameters, and adds the transfer callbacks. On ``--resume`` the builder runs again
(same source, same spec: same frozen parts, multipliers and L2-SP anchors), the trainer loads the
checkpoint's weights and optimizer state into it, and gradual unfreezing re-applies the stages
already passed; normalization statistics come from the checkpoint. The run keeps a copy of its
source in ``source/``, used on resume if the original has gone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import ExperimentConfig
from sim2real.errors import ConfigError
from sim2real.training import RunBuilder, RunDir, RunResult, build_model, train
from sim2real.training.start import ModelFactory, Prepared
from sim2real.training.trainer import CallbackFactory
from sim2real.transfer.api import Source, load_source, transfer
from sim2real.transfer.callbacks import (
    EarlyStopper,
    StopOnEvalFile,
    TransferLogCallback,
    run_dir_of,
    transfer_callbacks,
)
from sim2real.transfer.config import TransferConfig
from sim2real.transfer.spec import TransferSpec

__all__ = ["SourceSnapshot", "check_resume", "run_transfer", "transfer_builder"]


def check_resume(config: TransferConfig, run_dir: str | Path) -> None:
    """The transfer block must not change on resume (the experiment part is checked by train)."""
    info = Path(run_dir) / "transfer.json"
    if not info.is_file():
        raise ConfigError(f"--resume {run_dir}: not a transfer run (transfer.json is missing)")
    saved = json.loads(info.read_text()).get("config", {})
    now = config.transfer.model_dump(mode="json", by_alias=True)
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if changed:
        k = changed[0]
        raise ConfigError(
            f"--resume {run_dir}: transfer.{k} changed ({saved.get(k)!r} -> {now.get(k)!r}); "
            "resume with the run's own transfer settings or start a new run"
        )


class SourceSnapshot(BaseCallback):
    """Copies the source (model, normalization statistics, config) into ``<run>/source/``.

    A transfer run thus stays resumable (the surgery and the L2-SP anchors are rebuilt from the
    source) even if the original source directory is moved or deleted.
    """

    def __init__(self, source: str | Path) -> None:
        super().__init__()
        self.source = Path(source)

    def _on_training_start(self) -> None:
        dest = run_dir_of(self.logger) / "source"
        if dest.exists():
            return
        tmp = dest.with_name("source.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.source.is_dir():
            for name in ("config.yaml", "model.zip", "vecnormalize.pkl"):
                if (self.source / name).is_file():
                    shutil.copy2(self.source / name, tmp / name)
        else:
            shutil.copy2(self.source, tmp / "model.zip")
            vn = self.source.parent / "vecnormalize.pkl"
            if vn.is_file():
                shutil.copy2(vn, tmp / "vecnormalize.pkl")
        tmp.rename(dest)

    def _on_step(self) -> bool:
        return True


def _source_for_resume(recorded: str, run_dir: Path) -> str:
    """The recorded source, or the run's snapshot of it when the original is gone."""
    if Path(recorded).exists():
        return recorded
    snap = run_dir / "source"
    if (snap / "config.yaml").is_file():
        return str(snap)
    if (snap / "model.zip").is_file():
        return str(snap / "model.zip")
    raise ConfigError(
        f"--resume {run_dir}: the source {recorded} no longer exists and the run has no "
        "snapshot of it (source/); restore it to resume"
    )


def transfer_builder(config: TransferConfig, resume: str | Path | None = None) -> RunBuilder:
    """The :class:`~sim2real.training.RunBuilder` of a transfer run (``sim2real transfer`` and
    the benchmark's transfer arms): the source's parts moved into the target config's model, the
    transfer callbacks, the source snapshot and the transfer block in ``transfer.json``.

    With ``resume`` the transfer block must match the run's, and a source that has gone is
    replaced by the run's snapshot of it.

    Raises:
        ConfigError, ModelFileError: one-line messages, before anything is built.
    """
    if resume is not None:
        check_resume(config, resume)
    source_path = str(config.transfer.source)
    if resume is not None:
        source_path = _source_for_resume(source_path, Path(resume))
    src = load_source(source_path)
    exp = config.experiment_config()
    _check_early_stopping(config.spec, exp)
    info = {
        "source": source_path,
        "source_env": src.env_name,
        "target": f"{exp.env}:{exp.domain}",
        "spec": config.spec.model_dump(mode="json", by_alias=True),
    }
    return RunBuilder(
        "transfer",
        _model_factory(src, config),
        _callback_factory(source_path, config.spec, exp.eval.freq),
        {"transfer": info},
    )


def _check_early_stopping(spec: TransferSpec, exp: ExperimentConfig) -> None:
    if spec.early_stopping is not None and not exp.eval.freq:
        raise ConfigError("transfer.early_stopping needs target evaluations: set eval.freq > 0")
    es_domain = spec.early_stopping.domain if spec.early_stopping else None
    if es_domain is not None and es_domain not in exp.eval.targets:
        raise ConfigError(
            f"transfer.early_stopping.domain {es_domain!r} is not evaluated: add it to eval.targets"
        )


def _model_factory(src: Source, config: TransferConfig) -> ModelFactory:
    """Build the target config's model as a template, then transfer the source into it."""
    spec, block = config.spec, config.transfer.model_dump(mode="json", by_alias=True)

    def make_model(prepared: Prepared, venv: VecEnv) -> BaseAlgorithm:
        template = build_model(prepared.config, venv, prepared.device)
        model: Any = transfer(
            src,
            venv,
            spec,
            template=template,
            seed=prepared.config.seed,
            normalize=not prepared.resuming,  # a resumed run's statistics come from its checkpoint
        )
        model.transfer_info = {**model.transfer_info, "config": block}
        return model

    return make_model


def _callback_factory(source_path: str, spec: TransferSpec, eval_freq: int) -> CallbackFactory:
    """Source snapshot, gradual unfreezing, the transfer log and (if set) early stopping."""

    def callbacks(run: RunDir) -> list[BaseCallback]:
        out: list[BaseCallback] = [
            SourceSnapshot(source_path),
            *transfer_callbacks(in_run_dir=True),
        ]
        if spec.early_stopping is not None:
            log = next(cb for cb in out if isinstance(cb, TransferLogCallback))
            es = spec.early_stopping
            key = "train_domain" if es.domain is None else f"target/{es.domain}"
            stopper = EarlyStopper(es.patience, es.min_evals, es.reward_threshold)
            out.append(StopOnEvalFile(None, eval_freq, key, stopper, log))
        return out

    return callbacks


def run_transfer(
    config: TransferConfig,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    *,
    quiet: bool = False,
    runs_root: str | Path = "runs",
) -> RunResult:
    """Run (or resume) a transfer run; returns the trainer's ``RunResult``.

    Raises:
        ConfigError, SpaceMismatchError, ModelFileError, CheckpointError: one-line messages.
    """
    builder = transfer_builder(config, resume)
    return train(
        config.experiment_config(),
        out_dir=out_dir,
        resume=resume,
        builder=builder,
        quiet=quiet,
        runs_root=runs_root,
    )
