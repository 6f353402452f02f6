"""A transfer run through the trainer: same run directory, TensorBoard, checkpoints, resume.

The trainer builds the target vec env; :func:`transfer_builder` is the run's ``RunBuilder``: its
model factory builds the target config's model as a template and transfers the source parts into
a new agent with those hyperparameters, and it adds the transfer callbacks. ``sim2real transfer``
and the benchmark's transfer arms use this one builder. On ``--resume`` the factory runs again
(same source, same spec: same frozen parts, multipliers and L2-SP anchors), the trainer loads the
checkpoint's weights and optimizer state into it, and gradual unfreezing re-applies the stages
already passed; normalization statistics come from the checkpoint. The run keeps a copy of its
source in ``source/``, used on resume if the original has gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import ExperimentConfig
from sim2real.controller.history import HistorySpec
from sim2real.errors import ConfigError
from sim2real.training import (
    LoadedPolicy,
    RunBuilder,
    RunDir,
    RunResult,
    build_model,
    load_policy,
    train,
)
from sim2real.training.history import history_spec_of
from sim2real.training.start import ModelFactory, Prepared
from sim2real.training.trainer import CallbackFactory
from sim2real.transfer.api import transfer
from sim2real.transfer.callbacks import (
    EarlyStopper,
    StopOnEvalFile,
    TransferLogCallback,
    transfer_callbacks,
)
from sim2real.transfer.config import TransferConfig
from sim2real.transfer.spec import TransferSpec
from sim2real.zoo import resolve_location

__all__ = ["SourceSnapshot", "check_resume", "run_transfer", "transfer_builder"]


def check_resume(config: TransferConfig, run_dir: str | Path) -> None:
    """The transfer block must not change on resume (the experiment part is checked by train)."""
    run = RunDir(run_dir)
    if not run.transfer_info.is_file():
        raise ConfigError(f"--resume {run_dir}: not a transfer run ({RunDir.TRANSFER} is missing)")
    saved = run.read_transfer_info().get("config", {})
    now = config.transfer.model_dump(mode="json", by_alias=True)
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if changed:
        k = changed[0]
        raise ConfigError(
            f"--resume {run_dir}: transfer.{k} changed ({saved.get(k)!r} -> {now.get(k)!r}); "
            "resume with the run's own transfer settings or start a new run"
        )


class SourceSnapshot(BaseCallback):
    """Copies the source (model, normalization statistics, config) into the run's ``source/``.

    A transfer run thus stays resumable (the surgery and the L2-SP anchors are rebuilt from the
    source) even if the original source directory is moved or deleted.
    """

    def __init__(self, source: str | Path, run: RunDir) -> None:
        super().__init__()
        self.source = Path(source)
        self.run = run

    def _on_training_start(self) -> None:
        self.run.write_source_snapshot(self.source)

    def _on_step(self) -> bool:
        return True


def _source_for_resume(recorded: str, run_dir: Path) -> str:
    """The recorded source, or the run's snapshot of it when the original is gone."""
    if Path(recorded).exists():
        return recorded
    snapshot = RunDir(run_dir).source_snapshot_path()
    if snapshot is None:
        raise ConfigError(
            f"--resume {run_dir}: the source {recorded} no longer exists and the run has no "
            "snapshot of it (source/); restore it to resume"
        )
    return str(snapshot)


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
    source_path = str(resolve_location(str(config.transfer.source)))
    if resume is not None:
        source_path = _source_for_resume(source_path, Path(resume))
    src = load_policy(source_path)
    exp = config.experiment_config()
    _check_early_stopping(config.spec, exp)
    _check_history(src, exp)
    _check_not_adaptation(src)
    info = {
        "source": source_path,
        "source_env": src.env,
        "target": f"{exp.env}:{exp.domain}",
        "spec": config.spec.model_dump(mode="json", by_alias=True),
    }
    return RunBuilder(
        "transfer",
        _model_factory(src, config),
        _callback_factory(source_path, config.spec, exp.eval.freq),
        {"transfer": info},
    )


def _check_history(src: LoadedPolicy, exp: ExperimentConfig) -> None:
    """Source and target feed the policy the same observation history (or none), and both
    have a privileged critic or neither (the critic's input differs).

    Raises:
        ConfigError: naming both and the ``--set`` that fixes the target.
    """
    critic = isinstance(src.model.observation_space, spaces.Dict)
    if critic != exp.policy.privileged_critic:
        raise ConfigError(
            f"policy.privileged_critic: the source policy was trained with it "
            f"{'on' if critic else 'off'}, the target config has it "
            f"{'on' if exp.policy.privileged_critic else 'off'}; set the same "
            f"(--set policy.privileged_critic={str(critic).lower()})"
        )
    have, want = src.history, history_spec_of(exp)
    if have == want:
        return
    raise ConfigError(
        f"history: the source policy was trained with history {_show(have)} but the target "
        f"config has {_show(want)}; give the target the source's (--set 'history={_show(have)}')"
    )


def _check_not_adaptation(src: LoadedPolicy) -> None:
    """Transfer from an RMA source is not supported (its input holds the true dynamics).

    Raises:
        ConfigError: naming the source.
    """
    from sim2real.adaptation.networks import RMAPolicy

    if isinstance(src.model.policy, RMAPolicy):
        raise ConfigError(
            f"transfer.source {src.name}: an adaptation (RMA) policy; transfer from it is not "
            "supported yet: evaluate or export it zero-shot, or transfer from a plain source"
        )


def _show(spec: HistorySpec | None) -> str:
    """A history block as YAML (``null`` for none)."""
    if spec is None:
        return "null"
    return f"{{length: {spec.length}, actions: {str(spec.actions).lower()}}}"


def _check_early_stopping(spec: TransferSpec, exp: ExperimentConfig) -> None:
    follows_eval = [
        name
        for name, on in (
            ("anchor", spec.anchor is not None and spec.anchor.schedule == "performance"),
            ("guide", spec.guide is not None and spec.guide.schedule == "threshold"),
        )
        if on
    ]
    if follows_eval and not exp.eval.freq:
        raise ConfigError(
            f"transfer.{follows_eval[0]}.schedule follows the target evaluations: set eval.freq > 0"
        )
    if spec.early_stopping is not None and not exp.eval.freq:
        raise ConfigError("transfer.early_stopping needs target evaluations: set eval.freq > 0")
    es_domain = spec.early_stopping.domain if spec.early_stopping else None
    if es_domain is not None and es_domain not in exp.eval.targets:
        raise ConfigError(
            f"transfer.early_stopping.domain {es_domain!r} is not evaluated: add it to eval.targets"
        )


def _model_factory(src: LoadedPolicy, config: TransferConfig) -> ModelFactory:
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
            collect_source=not prepared.resuming,  # ... and its source replay buffer
        )
        model.transfer_info = {**model.transfer_info, "config": block}
        return model

    return make_model


def _callback_factory(source_path: str, spec: TransferSpec, eval_freq: int) -> CallbackFactory:
    """Source snapshot, gradual unfreezing, the transfer log and (if set) early stopping."""

    def callbacks(run: RunDir) -> list[BaseCallback]:
        out: list[BaseCallback] = [SourceSnapshot(source_path, run), *transfer_callbacks(run=run)]
        if spec.early_stopping is not None:
            log = next(cb for cb in out if isinstance(cb, TransferLogCallback))
            es = spec.early_stopping
            key = "train_domain" if es.domain is None else f"target/{es.domain}"
            stopper = EarlyStopper(es.patience, es.min_evals, es.reward_threshold)
            out.append(StopOnEvalFile(run, eval_freq, key, stopper, log))
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
