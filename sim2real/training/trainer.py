"""The run pipeline: ``prepare -> build -> learn -> finalize``, one run directory per run.

``train(config)`` chains four named stages:

1. **prepare** (:func:`~sim2real.training.start.prepare`): validate everything that can fail on
   bad input (config, output directory, checkpoint, budget, device, threads). A fresh run and a
   resumed one differ only in the ``Start`` this stage returns (``FreshStart``, ``ResumeStart``);
   no file is written and nothing is built, so an error never leaves half a run or overwrites one.
2. **build** (:func:`build`): vec envs, the model (the :class:`RunBuilder`'s, or restored from the
   checkpoint), then the run directory (``config.yaml``, ``meta.json``) and the callbacks.
3. **learn** (:func:`learn`): ``model.learn`` for the rest of the budget, inside
   :func:`translated_errors`, which turns every failure into one line and a run status; an
   adaptation run then trains its adaptation module (:func:`adapt`, RMA phase 2).
4. **finalize** (:func:`finalize`): final model and checkpoint, ``summary.json``, ``meta.json``.

Pretrain, transfer and benchmark runs differ only in the :class:`RunBuilder` (model factory,
extra callbacks, ``meta.json`` fields) handed to :func:`train`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure as configure_logger
from stable_baselines3.common.utils import set_random_seed

from sim2real.config import ExperimentConfig
from sim2real.errors import PhysicsError, Sim2RealError
from sim2real.evaluation.episodes import TRAIN_DOMAIN
from sim2real.evaluation.targets import make_target_env
from sim2real.randomization import ADRCallback
from sim2real.training.callbacks import (
    Checkpointer,
    EvaluationListener,
    HeadlessProgressCallback,
    MultiDomainEvalCallback,
    PeriodicCheckpointCallback,
    ProgressFileCallback,
    RichProgressCallback,
    TensorBoardExtrasCallback,
    progress_callback,
    randomization_callbacks,
)
from sim2real.training.provenance import utc_now
from sim2real.training.resume import restore_adr_callback
from sim2real.training.run_dir import RunDir
from sim2real.training.signals import StopAtSignal, StopSignals
from sim2real.training.start import RESUMABLE_CHANGES, ModelFactory, Prepared, prepare
from sim2real.training.vec_env import make_training_env

__all__ = [
    "PRETRAIN",
    "RESUMABLE_CHANGES",
    "Built",
    "Outcome",
    "RunBuilder",
    "RunResult",
    "TrainingInterrupted",
    "adapt",
    "build",
    "finalize",
    "learn",
    "train",
    "translated_errors",
]


METRIC_KEYS = [f"eval/{TRAIN_DOMAIN}/mean_reward", "rollout/ep_rew_mean"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C/SIGTERM during :func:`train`, raised after a checkpoint was saved."""

    def __init__(self, path: Path, steps: int) -> None:
        super().__init__(f"interrupted at step {steps}; checkpoint saved in {path}")
        self.path = path
        self.steps = steps


@dataclass
class RunResult:
    """What :func:`train` produced."""

    path: Path
    config: ExperimentConfig
    model: BaseAlgorithm
    summary: dict[str, Any]
    evaluations: dict[str, dict[str, list]] = field(default_factory=dict)


# ------------------------------------------------------------------------------ the builder
CallbackFactory = Callable[[RunDir], Iterable[BaseCallback]]
"""``factory(run) -> callbacks``: extra SB3 callbacks, given the run directory they write to."""


def _no_callbacks(run: RunDir) -> Iterable[BaseCallback]:
    return ()


@dataclass(frozen=True)
class RunBuilder:
    """What makes a run a pretrain, transfer or benchmark run; the pipeline is the same.

    Attributes:
        kind: ``meta.json``'s ``kind`` and the progress bar's label.
        model: the model factory; ``None`` builds ``config.algo`` from the config (and a resume
            loads the checkpoint with ``ALGOS[algo].load``). A factory's model is built again on
            resume and the checkpoint's state (weights, optimizers, counters) restored into it.
        callbacks: extra callbacks, run after the built-in ones.
        info: JSON-able fields merged into ``meta.json``.
    """

    kind: str = "pretrain"
    model: ModelFactory | None = None
    callbacks: CallbackFactory = _no_callbacks
    info: Mapping[str, Any] = field(default_factory=dict)

    def labelled(self, kind: str, **info: Any) -> RunBuilder:
        """The same builder under another ``kind`` with more ``meta.json`` fields."""
        return replace(self, kind=kind, info={**self.info, **info})


PRETRAIN = RunBuilder()
"""A run of the config's own algorithm (``sim2real pretrain``)."""


# ------------------------------------------------------------------------------ stage 2: build
@dataclass
class Built:
    """Stage 2's output: the model on its envs, the open run directory and the callbacks."""

    prepared: Prepared
    builder: RunBuilder
    run: RunDir
    model: BaseAlgorithm
    envs: list[Any]
    evals: MultiDomainEvalCallback
    checkpointer: Checkpointer
    callbacks: list[BaseCallback]
    progress: RichProgressCallback | HeadlessProgressCallback | None
    start_steps: int
    phase2: dict[str, Any] | None = None
    """An adaptation run's phase-2 record (:func:`adapt`), ``None`` before or without it."""


def build(prepared: Prepared, builder: RunBuilder = PRETRAIN, *, quiet: bool = False) -> Built:
    """Stage 2: envs and model (closed again on failure), then the run directory and callbacks."""
    config, start = prepared.config, prepared.start
    set_random_seed(config.seed)
    adr_cb = restore_adr_callback(config, start.checkpoint)
    envs: list[Any] = []
    try:
        venv = make_training_env(config, start.vec_normalize_file)
        envs.append(venv)
        eval_envs = _eval_envs(config)
        envs.extend(env for _, _, env in eval_envs.values())
        model = start.model(prepared, venv, builder.model)
        run = _open_run(prepared, builder, model)
        return _wired(prepared, builder, run, model, envs, eval_envs, adr_cb, quiet)
    except BaseException:
        _close(envs)
        raise


def _wired(
    prepared: Prepared,
    builder: RunBuilder,
    run: RunDir,
    model: BaseAlgorithm,
    envs: list[Any],
    eval_envs: dict[str, tuple[str, str, Any]],
    adr_cb: ADRCallback | None,
    quiet: bool,
) -> Built:
    """The built-in callbacks (evaluation, checkpoints, TensorBoard, DR/ADR), the builder's, and
    the progress bar, around the model on its open run directory."""
    config, start = prepared.config, prepared.start
    checkpointer = Checkpointer(run, config.checkpoint_keep, getattr(adr_cb, "state_dict", None))
    evals = MultiDomainEvalCallback(
        eval_envs,
        run,
        config.eval.freq,
        config.eval.episodes,
        seed=config.seed,
        deterministic=config.eval.deterministic,
        at_start=config.eval.at_start,
        history=start.history(run),
        config=config,
    )
    extra = list(builder.callbacks(run))
    evals.listeners.extend(cb for cb in extra if isinstance(cb, EvaluationListener))
    callbacks: list[BaseCallback] = [
        evals,
        PeriodicCheckpointCallback(checkpointer, config.checkpoint_freq),
        TensorBoardExtrasCallback(config.flat(), METRIC_KEYS),
        *randomization_callbacks(config.domain, adr_cb),
        *extra,
        ProgressFileCallback(run, config.total_timesteps, lambda: evals.latest),
    ]
    progress = None
    if not quiet:
        label = f"{builder.kind} {config.algo} {config.env}"
        progress = progress_callback(config.total_timesteps, label, lambda: evals.latest)
        callbacks.append(progress)
    start_steps = int(model.num_timesteps)
    return Built(
        prepared, builder, run, model, envs, evals, checkpointer, callbacks, progress, start_steps
    )


def _eval_envs(config: ExperimentConfig) -> dict[str, tuple[str, str, Any]]:
    """``key -> (env, domain, gym env)`` for the training domain and each ``eval.targets``
    (with the true dynamics in the observation for an adaptation run's phase 1)."""
    domains = [(TRAIN_DOMAIN, config.domain)] + [(f"target/{t}", t) for t in config.eval.targets]
    envs = {key: (config.env, d, make_target_env(config.env, d)) for key, d in domains}
    if config.adaptation is not None:
        from sim2real.adaptation.observation import DynamicsObservation

        envs = {k: (e, d, DynamicsObservation(env)) for k, (e, d, env) in envs.items()}
    return envs


def _open_run(prepared: Prepared, builder: RunBuilder, model: BaseAlgorithm) -> RunDir:
    """The run directory with ``config.yaml``, ``meta.json`` and the TensorBoard logger."""
    config, start = prepared.config, prepared.start
    run = start.open_run(config)
    run.remove_stale_tmp()
    run.write_config(config.to_yaml())
    meta: dict[str, Any] = dict(
        kind=builder.kind,
        seed=config.seed,
        device=str(model.device),
        requested_device=config.device,
        torch_threads=prepared.threads,
        n_envs=config.n_envs,
        vec_env=config.vec_env,
        status="running",
        **start.meta(int(model.num_timesteps)),
    )
    run.write_meta(**{**meta, **dict(builder.info)})
    model.set_logger(configure_logger(str(run.tb), ["tensorboard"]))
    return run


def _close(envs: Iterable[Any]) -> None:
    for env in envs:
        try:
            env.close()
        except Exception:  # a crashed subprocess env cannot be closed cleanly
            pass


# ------------------------------------------------------------------------------ stage 3: learn
@dataclass
class Outcome:
    """How learning ended: ``status`` (``finished``/``interrupted``/``failed``) and the error."""

    status: str = "failed"
    error: str | None = None


def learn(built: Built, stop: StopSignals | None = None) -> None:
    """Stage 3: train for the rest of the budget (nothing if it is used up); with ``stop``, a
    signal ends training at the next env step (``KeyboardInterrupt``)."""
    remaining = built.prepared.config.total_timesteps - built.start_steps
    first = [] if stop is None else [StopAtSignal(stop)]
    if remaining > 0:
        built.model.learn(
            remaining,
            callback=CallbackList([*first, *built.callbacks]),
            reset_num_timesteps=not built.prepared.resuming,
        )
    if stop is not None:
        stop.check()  # a signal during the last step's callbacks or the end-of-training evaluation


def adapt(built: Built, stop: StopSignals | None = None) -> None:
    """Stage 3b of an adaptation run (RMA): train the adaptation module with the policy frozen
    (:func:`sim2real.adaptation.phase2.run_phase2`); its env steps are recorded as well. With
    ``stop``, a signal ends it after the current phase-2 iteration."""
    config = built.prepared.config
    if config.adaptation is None:
        return
    from sim2real.adaptation.phase2 import run_phase2

    if built.progress is not None:
        built.progress.close()
        built.progress = None
    vn = built.model.get_vec_normalize_env()
    built.phase2 = run_phase2(config, built.model, vn, None if stop is None else stop.check)


@contextmanager
def translated_errors(built: Built, outcome: Outcome) -> Iterator[Outcome]:
    """Record the run's status in ``outcome`` and turn failures into one-line errors.

    Raises:
        TrainingInterrupted: on Ctrl-C/SIGTERM (the run is resumable).
        PhysicsError: diverged simulation or NaN policy (the run is kept).
        Sim2RealError: a ``SubprocVecEnv`` worker died.
    """
    config, model = built.prepared.config, built.model
    try:
        yield outcome
        outcome.status = "finished"
    except KeyboardInterrupt:
        outcome.status = "interrupted"
        raise TrainingInterrupted(built.run.path, int(model.num_timesteps)) from None
    except PhysicsError as exc:
        outcome.error = f"{exc} [{_kept(built)}]"
        raise PhysicsError(outcome.error) from None
    except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
        if config.vec_env != "subproc":
            raise
        outcome.error = (
            f"{config.env}: a SubprocVecEnv worker died at training step {model.num_timesteps} "
            f"({type(exc).__name__}; its traceback is printed above); rerun with "
            f"vec_env=dummy for a clear message [{_kept(built)}]"
        )
        raise Sim2RealError(outcome.error) from None
    except ValueError as exc:
        if "found invalid values" not in str(exc):  # torch.distributions on NaN parameters
            raise
        outcome.error = (
            f"{config.env}: the policy produced NaN at training step {model.num_timesteps} "
            f"(training diverged); lower the learning rate [{_kept(built)}]"
        )
        raise PhysicsError(outcome.error) from None


def _kept(built: Built) -> str:
    return (
        f"run {built.run.path} kept at step {built.model.num_timesteps}; resume from its last "
        "checkpoint with --resume"
    )


# ------------------------------------------------------------------------------ stage 4: finalize
def finalize(built: Built, outcome: Outcome, wall: float) -> dict[str, Any]:
    """Stage 4: close envs, save the final model and checkpoint, write summary and meta."""
    run, model = built.run, built.model
    if built.progress is not None:
        built.progress.close()
    _close(built.envs)
    summary = _save_final(built, outcome.status)
    summary.update(_summary(built, outcome.status, wall), error=outcome.error)
    run.write_summary(summary)
    run.write_meta(status=outcome.status, end_time=utc_now(), steps=int(model.num_timesteps))
    model.logger.close()
    return summary


def _save_final(built: Built, status: str) -> dict[str, Any]:
    """Save the final model (a failed run's goes to ``failed_model.zip``) and a last checkpoint."""
    run, model = built.run, built.model
    if status == "failed":
        return {"saved": [run.save_failed_model(model).name]}
    if built.checkpointer.last_steps != model.num_timesteps:
        built.checkpointer.save(model, reason=status)
    run.save_model(model)
    return {}


def _summary(built: Built, status: str, wall: float) -> dict[str, Any]:
    config, model, evals = built.prepared.config, built.model, built.evals
    steps = int(model.num_timesteps)
    final = {
        k: {"mean": v["mean"][-1], "std": v["std"][-1], "timesteps": v["timesteps"][-1]}
        for k, v in evals.history.items()
        if v["mean"]
    }
    return {
        "status": status,
        "env": config.env,
        "algo": config.algo,
        "seed": config.seed,
        "steps": steps,
        "wall_time_s": round(wall, 3),
        "steps_per_s": round((steps - built.start_steps) / wall, 1) if wall > 0 else None,
        "eval_time_s": round(evals.eval_seconds, 3),
        "final_eval": final,
        "best_source_mean": None if evals.best_mean == float("-inf") else evals.best_mean,
        "device": str(model.device),
        **_phase2_summary(built, steps),
    }


def _phase2_summary(built: Built, phase1_steps: int) -> dict[str, Any]:
    """``adaptation`` (phase 2's record) and ``pretrain_env_steps`` (both phases) of RMA runs."""
    if built.phase2 is None:
        return {}
    return {
        "adaptation": built.phase2,
        "pretrain_env_steps": phase1_steps + int(built.phase2["steps"]),
    }


# ------------------------------------------------------------------------------ the pipeline
def train(
    config: ExperimentConfig | None,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    *,
    builder: RunBuilder = PRETRAIN,
    quiet: bool = False,
    runs_root: str | Path = "runs",
) -> RunResult:
    """Train ``config`` (or resume the run at ``resume``) and write its run directory.

    Args:
        config: the experiment; with ``resume`` it may be ``None`` (use the run's own config) or
            a config that differs only in :data:`RESUMABLE_CHANGES` (e.g. a larger budget).
        out_dir: run directory to create (must not exist or be empty); default a unique
            ``runs/<env>__<experiment>__<seed>__<timestamp>``.
        resume: a run directory to continue from its latest checkpoint.
        builder: model factory, extra callbacks and ``meta.json`` fields of the run kind
            (default :data:`PRETRAIN`; transfer and benchmark runs pass theirs).
        quiet: no progress bar.

    Raises:
        ConfigError, DomainError, CheckpointError: bad input; nothing was written.
        PhysicsError: the simulation diverged; the run directory holds what could be saved.
        TrainingInterrupted: Ctrl-C/SIGTERM, after saving a resumable checkpoint.
    """
    built = build(prepare(config, out_dir, resume, runs_root), builder, quiet=quiet)
    outcome = Outcome()
    stop = StopSignals()
    t0 = time.perf_counter()
    try:
        with translated_errors(built, outcome):
            learn(built, stop)
            adapt(built, stop)
    finally:
        stop.hold()  # from the first signal on, further ones must not cut the final save short
        try:
            summary = finalize(built, outcome, time.perf_counter() - t0)
        finally:
            stop.restore()
    return RunResult(
        built.run.path, built.prepared.config, built.model, summary, built.evals.history
    )
