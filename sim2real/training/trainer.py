"""``train(config)``: vec envs -> model -> ``learn`` with callbacks -> a self-describing run directory.

Everything that can fail on bad input (config, domains, device, checkpoint) is checked before
the run directory is created or touched, so an error never leaves half a run or overwrites one.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure as configure_logger
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv

from sim2real.config import ExperimentConfig
from sim2real.errors import CheckpointError, ConfigError, PhysicsError, Sim2RealError
from sim2real.evaluation.episodes import TRAIN_DOMAIN
from sim2real.evaluation.targets import make_target_env
from sim2real.training.algorithms import build_model, resolve_device, setup_torch
from sim2real.training.callbacks import (
    Checkpointer,
    MultiDomainEvalCallback,
    PeriodicCheckpointCallback,
    RichProgressCallback,
    TensorBoardExtrasCallback,
)
from sim2real.training.resume import (
    RESUMABLE_CHANGES,
    ModelBuilder,
    check_resumable,
    eval_history,
    load_checkpoint_model,
    restore_adr_callback,
    saved_config,
)
from sim2real.training.run_dir import (
    Checkpoint,
    RunDir,
    atomic_save,
    atomic_write_json,
    utc_now,
)
from sim2real.training.vec_env import (
    FiniteCheck,
    load_vec_normalize,
    make_vec_env,
    randomization_available,
    wrap_normalize,
)

__all__ = ["RESUMABLE_CHANGES", "RunResult", "TrainingInterrupted", "train"]


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


def _build_env(config: ExperimentConfig, ckpt: Checkpoint | None, adr: Any | None) -> VecEnv:
    venv = make_vec_env(
        config.env, config.domain, config.n_envs, config.seed, vec_env=config.vec_env, adr=adr
    )
    if config.normalize:
        vn_file = ckpt.file("vecnormalize.pkl") if ckpt is not None else None
        if ckpt is not None and vn_file is None:
            venv.close()
            raise CheckpointError(f"{ckpt.path}: vecnormalize.pkl missing but normalize is on")
        if vn_file is not None:
            venv = load_vec_normalize(vn_file, venv, training=True)
        else:
            gamma = float(config.hyperparams.get("gamma", 0.99))
            venv = wrap_normalize(
                venv, training=True, norm_reward=config.normalize_reward, gamma=gamma
            )
    return FiniteCheck(venv, config.env)


def _eval_envs(config: ExperimentConfig) -> dict[str, tuple[str, str, Any]]:
    """``key -> (env, domain, gym env)`` for the training domain and each ``eval.targets``."""
    domains = [(TRAIN_DOMAIN, config.domain)] + [(f"target/{t}", t) for t in config.eval.targets]
    return {key: (config.env, d, make_target_env(config.env, d)) for key, d in domains}


def _close(envs: Iterable[Any]) -> None:
    for env in envs:
        try:
            env.close()
        except Exception:  # a crashed subprocess env cannot be closed cleanly
            pass


def _summary(
    config: ExperimentConfig,
    model: BaseAlgorithm,
    evals: MultiDomainEvalCallback,
    status: str,
    wall: float,
    start_steps: int,
    device: str,
) -> dict[str, Any]:
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
        "steps_per_s": round((steps - start_steps) / wall, 1) if wall > 0 else None,
        "eval_time_s": round(evals.eval_seconds, 3),
        "final_eval": final,
        "best_source_mean": None if evals.best_mean == float("-inf") else evals.best_mean,
        "device": device,
    }


def train(
    config: ExperimentConfig | None,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    *,
    model_builder: ModelBuilder | None = None,
    extra_callbacks: Iterable[BaseCallback] = (),
    run_info: Mapping[str, Any] | None = None,
    quiet: bool = False,
    kind: str = "pretrain",
    runs_root: str | Path = "runs",
) -> RunResult:
    """Train ``config`` (or resume the run at ``resume``) and write its run directory.

    Args:
        config: the experiment; with ``resume`` it may be ``None`` (use the run's own config) or
            a config that differs only in :data:`RESUMABLE_CHANGES` (e.g. a larger budget).
        out_dir: run directory to create (must not exist or be empty); default a unique
            ``runs/<env>__<experiment>__<seed>__<timestamp>``.
        resume: a run directory to continue from its latest checkpoint.
        model_builder: ``model_builder(vec_env) -> BaseAlgorithm`` replaces the default model
            construction (transfer passes its pre-loaded, modified model this way).
        extra_callbacks: further SB3 callbacks (run after the built-in ones).
        run_info: JSON-able dict merged into ``meta.json``.
        quiet: no progress bar.

    Raises:
        ConfigError, DomainError, CheckpointError: bad input; nothing was written.
        PhysicsError: the simulation diverged; the run directory holds what could be saved.
        KeyboardInterrupt: after saving a resumable checkpoint.
    """
    ckpt: Checkpoint | None = None
    if resume is not None:
        run = RunDir(resume)
        saved = saved_config(run)
        if config is None:
            config = saved
        else:
            check_resumable(saved, config, run)
        ckpt = run.latest_checkpoint()
        _check_budget(saved, config, ckpt, run)
    elif config is None:
        raise ConfigError("train() needs a config or a run directory to resume")
    elif out_dir is not None:
        RunDir.check_new(out_dir)
    device = resolve_device(config.device, config.algo)
    threads = setup_torch(config.torch_threads)
    set_random_seed(config.seed)
    if (config.adr is not None or config.eval.targets) and not randomization_available():
        raise ConfigError("adr / eval.targets need sim2real.randomization, which is not available")

    adr_cb = restore_adr_callback(config, ckpt)
    envs: list[Any] = []
    try:
        venv = _build_env(config, ckpt, config.adr)
        envs.append(venv)
        eval_envs = _eval_envs(config)
        envs.extend(e for _, _, e in eval_envs.values())
        if ckpt is not None:
            model = load_checkpoint_model(config, ckpt, venv, device, model_builder)
        elif model_builder is not None:
            model = model_builder(venv)
            if model.get_env() is not venv:
                model.set_env(venv)
        else:
            model = build_model(config, venv, device)
    except BaseException:
        _close(envs)
        raise

    if resume is None:
        run = RunDir.create(config.env, config.experiment, config.seed, out_dir, str(runs_root))
    run.remove_stale_tmp()
    run.write_config(config.to_yaml())
    start_steps = int(model.num_timesteps)
    meta: dict[str, Any] = dict(
        kind=kind,
        seed=config.seed,
        device=str(model.device),
        requested_device=config.device,
        torch_threads=threads,
        n_envs=config.n_envs,
        vec_env=config.vec_env,
        status="running",
        **(
            {"start_time": utc_now()}
            if ckpt is None
            else {"resumed_at": utc_now(), "resumed_from_step": start_steps}
        ),
    )
    run.write_meta(**{**meta, **dict(run_info or {})})
    model.set_logger(configure_logger(str(run.tb), ["tensorboard"]))

    checkpointer = Checkpointer(run, config.checkpoint_keep, getattr(adr_cb, "state_dict", None))
    evals = MultiDomainEvalCallback(
        eval_envs,
        run,
        config.eval.freq,
        config.eval.episodes,
        seed=config.seed,
        deterministic=config.eval.deterministic,
        at_start=config.eval.at_start,
        history=eval_history(run, start_steps) if ckpt is not None else None,
    )
    callbacks: list[BaseCallback] = [
        evals,
        PeriodicCheckpointCallback(checkpointer, config.checkpoint_freq),
        TensorBoardExtrasCallback(config.flat(), METRIC_KEYS),
        *_randomization_callbacks(config, adr_cb),
        *extra_callbacks,
    ]
    progress = None
    if not quiet:
        progress = RichProgressCallback(
            config.total_timesteps, f"{kind} {config.algo} {config.env}", lambda: evals.latest
        )
        callbacks.append(progress)

    t0 = time.perf_counter()
    status, error = "failed", None
    stop = _StopSignals()
    try:
        remaining = config.total_timesteps - start_steps
        if remaining > 0:
            model.learn(
                remaining, callback=CallbackList(callbacks), reset_num_timesteps=ckpt is None
            )
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise TrainingInterrupted(run.path, int(model.num_timesteps)) from None
    except PhysicsError as exc:
        error = f"{exc} [{_kept(run, model)}]"
        raise PhysicsError(error) from None
    except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
        if config.vec_env != "subproc":
            raise
        error = (
            f"{config.env}: a SubprocVecEnv worker died at training step {model.num_timesteps} "
            f"({type(exc).__name__}; its traceback is printed above); rerun with "
            f"vec_env=dummy for a clear message [{_kept(run, model)}]"
        )
        raise Sim2RealError(error) from None
    except ValueError as exc:
        if "found invalid values" not in str(exc):  # torch.distributions on NaN parameters
            raise
        error = (
            f"{config.env}: the policy produced NaN at training step {model.num_timesteps} "
            f"(training diverged); lower the learning rate [{_kept(run, model)}]"
        )
        raise PhysicsError(error) from None
    finally:
        stop.hold()  # from the first signal on, further ones must not cut the final save short
        try:
            if progress is not None:
                progress.close()
            _close(envs)
            summary = _finalize(run, model, checkpointer, status)
            summary.update(
                _summary(
                    config,
                    model,
                    evals,
                    status,
                    time.perf_counter() - t0,
                    start_steps,
                    str(model.device),
                ),
                error=error,
            )
            atomic_write_json(run.summary, summary)
            run.write_meta(status=status, end_time=utc_now(), steps=int(model.num_timesteps))
            model.logger.close()
        finally:
            stop.restore()
    return RunResult(run.path, config, model, summary, evals.history)


def _finalize(run: RunDir, model: BaseAlgorithm, checkpointer: Checkpointer, status: str) -> dict:
    """Save the final model (a failed run's goes to ``failed_model.zip``) and a last checkpoint."""
    if status == "failed":
        atomic_save(run.path / "failed_model.zip", model.save)
        return {"saved": ["failed_model.zip"]}
    if checkpointer.last_steps != model.num_timesteps:
        checkpointer.save(model, reason=status)
    run.save_model(model)
    return {}


class _StopSignals:
    """SIGINT/SIGTERM during training: the first raises ``KeyboardInterrupt``, later ones wait.

    Installed in the main thread over handlers that raise ``KeyboardInterrupt`` (Python's
    default for SIGINT; the CLI's for SIGTERM). After the first signal, or once :meth:`hold` is
    called (the final save), signals are only counted, so a second SIGTERM a few ms after the
    first cannot abort the save that the first one started. :meth:`restore` puts the previous
    handlers back.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.stopping = False
        self.held = 0
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is signal.default_int_handler:
                    self.previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.stopping:
            self.held += 1
            return
        self.stopping = True
        raise KeyboardInterrupt

    def hold(self) -> None:
        """From now on only count signals (also those whose handler was not ours)."""
        self.stopping = True
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                previous = signal.signal(sig, self._on_signal)
                self.previous.setdefault(sig, previous)

    def restore(self) -> None:
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
        self.previous.clear()


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


def _kept(run: RunDir, model: BaseAlgorithm) -> str:
    return (
        f"run {run.path} kept at step {model.num_timesteps}; resume from its last checkpoint "
        "with --resume"
    )


def _randomization_callbacks(config: ExperimentConfig, adr_cb: Any | None) -> list[BaseCallback]:
    out: list[BaseCallback] = []
    if config.domain != "nominal" and randomization_available():
        try:
            from sim2real.randomization import DomainStatsCallback
        except ImportError:
            pass
        else:
            out.append(DomainStatsCallback())
    if adr_cb is not None:
        out.append(adr_cb)
    return out
