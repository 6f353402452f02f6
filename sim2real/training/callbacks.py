"""Training callbacks: evaluation on the training domain and targets, checkpoints, TensorBoard extras, progress.

All of them are cheap per step (an integer comparison) so the framework adds no measurable
overhead to SB3's own loop; the real work happens only every ``freq`` steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HParam

from sim2real.config import ExperimentConfig
from sim2real.evaluation.agents import SB3Agent
from sim2real.evaluation.episodes import TRAIN_DOMAIN, evaluate_env
from sim2real.progress import format_duration, headless_every
from sim2real.randomization import ADRCallback, DomainStatsCallback
from sim2real.training.loading import LoadedPolicy
from sim2real.training.run_dir import RunDir

__all__ = [
    "Checkpointer",
    "EvaluationListener",
    "HeadlessProgressCallback",
    "MultiDomainEvalCallback",
    "PeriodicCheckpointCallback",
    "ProgressFileCallback",
    "RichProgressCallback",
    "TensorBoardExtrasCallback",
    "config_markdown",
    "progress_callback",
    "randomization_callbacks",
]

EXCLUDE_TEXT = ("stdout", "log", "json", "csv")


@runtime_checkable
class EvaluationListener(Protocol):
    """A callback that reacts to each evaluation (a schedule that follows the return).

    The trainer hands every such callback to :class:`MultiDomainEvalCallback`, which calls
    ``on_evaluation(step, means)`` (``means``: mean return per domain key) after each
    evaluation and, when a run resumes, once per evaluation already done, in order.
    """

    def on_evaluation(self, step: int, means: Mapping[str, float]) -> None: ...


class Checkpointer:
    """Saves resumable checkpoints: model (+optimizer), VecNormalize, replay buffer, ADR state."""

    def __init__(
        self, run: RunDir, keep: int = 2, adr_state: Callable[[], dict] | None = None
    ) -> None:
        self.run = run
        self.keep = keep
        self.adr_state = adr_state
        self.last_steps: int | None = None

    def save(self, model: BaseAlgorithm, reason: str = "periodic") -> Path:
        """Write ``checkpoints/step_<n>/`` atomically and return it."""
        adr = self.adr_state() if self.adr_state is not None else None
        path = self.run.save_checkpoint(model, reason=reason, keep=self.keep, adr_state=adr)
        self.last_steps = int(model.num_timesteps)
        return path


class PeriodicCheckpointCallback(BaseCallback):
    """Checkpoint every ``freq`` environment steps (0: never; the trainer saves at the end)."""

    def __init__(self, checkpointer: Checkpointer, freq: int) -> None:
        super().__init__()
        self.checkpointer = checkpointer
        self.freq = freq
        self._next = freq

    def _on_training_start(self) -> None:
        if self.freq:
            self._next = (self.num_timesteps // self.freq + 1) * self.freq

    def _on_step(self) -> bool:
        if self.freq and self.num_timesteps >= self._next:
            self.checkpointer.save(self.model)
            self._next = (self.num_timesteps // self.freq + 1) * self.freq
        elif any(i.get("checkpoint_episode") for i in self.locals.get("infos", ())):
            self.checkpointer.save(self.model, reason="episode")  # a real robot's episode ended
        return True


class MultiDomainEvalCallback(BaseCallback):
    """Deterministic evaluation on the training domain and each fixed target domain.

    Every evaluation is :func:`sim2real.evaluation.evaluate_env` with base seed ``seed`` (episode
    ``i`` resets with ``seed + i``), so ``sim2real evaluate RUN -t ENV:DOMAIN --seed SEED -n
    EPISODES`` reproduces the final one. Writes ``eval/<key>/{mean_reward,std_reward,
    mean_ep_length}`` to the SB3 logger (``key`` is ``train_domain``, the domain trained on, or
    ``target/<name>``), appends to ``evaluations.json`` (``timesteps``, ``wall_time_s`` since
    training started (continued across resume), ``mean``, ``std``, ``returns``, ``lengths``)
    and keeps ``best_model.zip`` (best training-domain mean) with its observation statistics in
    ``best_vecnormalize.pkl``. The policy sees observations normalized with the training
    statistics, which evaluation never updates.
    """

    def __init__(
        self,
        eval_envs: Mapping[str, tuple[str, str, Any]],
        run: RunDir,
        freq: int,
        episodes: int,
        *,
        seed: int = 0,
        deterministic: bool = True,
        at_start: bool = True,
        history: dict[str, dict[str, list]] | None = None,
        config: ExperimentConfig | None = None,
    ) -> None:
        super().__init__()
        self.config = config  # the run's (its observation history reaches the evaluated agent)
        self.eval_envs = dict(eval_envs)  # key -> (env name, domain, gym env)
        self.run = run
        self.freq = freq
        self.episodes = episodes
        self.seed = seed
        self.deterministic = deterministic
        self.at_start = at_start
        self.history: dict[str, dict[str, list]] = history or {}
        trained = self.history.get(TRAIN_DOMAIN, {}).get("mean", [])
        self.best_mean = max(trained) if trained else -np.inf
        self.latest: dict[str, float] = {
            k: v["mean"][-1] for k, v in self.history.items() if v["mean"]
        }
        self.eval_seconds = 0.0
        self._clock0 = time.perf_counter()
        self._next = freq
        self.listeners: list[EvaluationListener] = []

    def _on_training_start(self) -> None:
        times = self.history.get(TRAIN_DOMAIN, {}).get("wall_time_s", [])
        self._clock0 = time.perf_counter() - (times[-1] if times else 0.0)
        if self.freq:
            self._next = (self.num_timesteps // self.freq + 1) * self.freq
        self._replay_to_listeners()
        if self.at_start and not self.history and self.num_timesteps == 0:
            self.evaluate()

    def _replay_to_listeners(self) -> None:
        """A resumed run: the listeners see the evaluations done before the checkpoint."""
        done = self.history.get(TRAIN_DOMAIN, {}).get("timesteps", [])
        for i, step in enumerate(done):
            means = {k: v["mean"][i] for k, v in self.history.items() if len(v["mean"]) > i}
            for listener in self.listeners:
                listener.on_evaluation(int(step), means)

    def _on_step(self) -> bool:
        if self.freq and self.num_timesteps >= self._next:
            self.evaluate()
            self._next = (self.num_timesteps // self.freq + 1) * self.freq
        return True

    def _on_training_end(self) -> None:
        done = self.history.get(TRAIN_DOMAIN, {}).get("timesteps", [])
        if self.freq and (not done or done[-1] != self.num_timesteps):
            self.evaluate()

    def _record(self, key: str, step: int, wall: float, returns: list, lengths: list) -> None:
        rets, lens = np.asarray(returns, dtype=float), np.asarray(lengths, dtype=int)
        mean, std = float(rets.mean()), float(rets.std())
        entry = self.history.setdefault(
            key,
            {n: [] for n in ("timesteps", "wall_time_s", "mean", "std", "returns", "lengths")},
        )
        entry["timesteps"].append(step)
        entry["wall_time_s"].append(wall)
        entry["mean"].append(mean)
        entry["std"].append(std)
        entry["returns"].append(rets.tolist())
        entry["lengths"].append(lens.tolist())
        self.latest[key] = mean
        self.logger.record(f"eval/{key}/mean_reward", mean)
        self.logger.record(f"eval/{key}/std_reward", std)
        self.logger.record(f"eval/{key}/mean_ep_length", float(lens.mean()))

    def evaluate(self) -> dict[str, float]:
        """Run the evaluation now; returns the mean return per domain key."""
        t0 = time.perf_counter()
        train_vn = self.model.get_vec_normalize_env()
        policy = LoadedPolicy(self.model, train_vn, self.config)
        agent = SB3Agent(policy, deterministic=self.deterministic, label="training")
        step = int(self.num_timesteps)
        for key, (env_name, domain, env) in self.eval_envs.items():
            res = evaluate_env(agent, env, env_name, domain, episodes=self.episodes, seed=self.seed)
            self._record(key, step, round(t0 - self._clock0, 3), res.returns, res.lengths)
        self.run.write_evaluations(self.history)
        for listener in self.listeners:
            listener.on_evaluation(step, dict(self.latest))
        if self.latest.get(TRAIN_DOMAIN, -np.inf) > self.best_mean:
            self.best_mean = self.latest[TRAIN_DOMAIN]
            self.run.save_model(self.model, best=True)  # with the statistics it was evaluated with
        self.logger.dump(step)
        self.eval_seconds += time.perf_counter() - t0
        return dict(self.latest)


def config_markdown(flat: Mapping[str, Any]) -> str:
    """A two-column markdown table of a flattened config."""
    rows = [f"| `{k}` | `{v}` |" for k, v in flat.items()]
    return "\n".join(["| key | value |", "|---|---|", *rows])


class TensorBoardExtrasCallback(BaseCallback):
    """Writes the config as a markdown table and the hparams (with real metric tags) once."""

    def __init__(self, flat_config: Mapping[str, Any], metric_keys: list[str]) -> None:
        super().__init__()
        self.flat = dict(flat_config)
        self.metric_keys = metric_keys

    def _on_training_start(self) -> None:
        if self.num_timesteps:
            return  # resumed run: already written
        hparams = {
            k: v if isinstance(v, bool | int | float | str) or v is None else str(v)
            for k, v in self.flat.items()
        }
        self.logger.record("config", config_markdown(self.flat), exclude=EXCLUDE_TEXT)
        self.logger.record(
            "hparams", HParam(hparams, dict.fromkeys(self.metric_keys, 0.0)), exclude=EXCLUDE_TEXT
        )
        self.logger.dump(self.num_timesteps)

    def _on_step(self) -> bool:
        return True


class _SpeedColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} steps/s" if speed else "-- steps/s", style="cyan")


class RichProgressCallback(BaseCallback):
    """Rich progress bar on stderr: steps, steps/s, elapsed, remaining, latest eval returns."""

    def __init__(
        self, total: int, description: str, latest: Callable[[], Mapping[str, float]]
    ) -> None:
        super().__init__()
        self.total = total
        self.description = description
        self.latest = latest
        self._calls = 0
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _SpeedColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[eval]}"),
            console=Console(stderr=True),
            speed_estimate_period=30.0,
        )
        self._task: Any = None

    def _eval_text(self) -> str:
        parts = [f"{k.removeprefix('target/')} {v:.1f}" for k, v in self.latest().items()]
        return ("eval: " + ", ".join(parts)) if parts else ""

    def _on_training_start(self) -> None:
        self.progress.start()
        self._task = self.progress.add_task(
            self.description, total=self.total, completed=self.num_timesteps, eval=self._eval_text()
        )

    def _on_step(self) -> bool:
        self._calls += 1
        if self._calls % 16 == 0:
            self.progress.update(self._task, completed=self.num_timesteps, eval=self._eval_text())
        return True

    def _on_training_end(self) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (also on Ctrl-C)."""
        if self._task is not None:
            self.progress.update(self._task, completed=self.num_timesteps, eval=self._eval_text())
        self.progress.stop()


def randomization_callbacks(domain: str, adr: ADRCallback | None) -> list[BaseCallback]:
    """Domain-parameter statistics (off on ``nominal``) and the ADR callback, if any."""
    out: list[BaseCallback] = [] if domain == "nominal" else [DomainStatsCallback()]
    return out if adr is None else [*out, adr]


class _PeriodicProgress(BaseCallback):
    """Base of the timed progress reporters: ``report()`` at the start (optionally), every
    ``every`` seconds and at the end, with the rate since training (re)started."""

    report_at_start = False

    def __init__(self, total: int, latest: Callable[[], Mapping[str, float]], every: float):
        super().__init__()
        self.total, self.latest, self.every = total, latest, every
        self._t0 = self._last = 0.0
        self._start_steps = 0

    def _on_training_start(self) -> None:
        self._t0 = self._last = time.perf_counter()
        self._start_steps = self.num_timesteps
        if self.report_at_start:
            self.report()

    def _on_step(self) -> bool:
        if time.perf_counter() - self._last >= self.every:
            self.report()
        return True

    def _on_training_end(self) -> None:
        self.report()

    def rate(self, now: float) -> float:
        """Steps per second since training (re)started."""
        return (self.num_timesteps - self._start_steps) / max(now - self._t0, 1e-9)

    def report(self) -> None:
        """Report the progress now."""
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to stop (the bar's interface)."""


class HeadlessProgressCallback(_PeriodicProgress):
    """One progress line every ``every`` seconds for logs (CI, Slurm, nohup) instead of a bar:
    ``label: 12,288/100,000 steps (12%), 1,024 steps/s, eta 1m26s, eval: source 812.0``."""

    def __init__(
        self,
        total: int,
        description: str,
        latest: Callable[[], Mapping[str, float]],
        every: float = 30.0,
        stream: Any = None,
    ) -> None:
        super().__init__(total, latest, every)
        self.description = description
        self.stream = stream if stream is not None else sys.stderr
        self.lines = 0

    def report(self) -> None:
        """Print the progress line."""
        self.print_line()

    def print_line(self, now: float | None = None) -> str:
        """Write (and return) the progress line now."""
        self._last = now = time.perf_counter() if now is None else now
        done, rate = self.num_timesteps, self.rate(now)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        evals = ", ".join(f"{k.removeprefix('target/')} {v:.1f}" for k, v in self.latest().items())
        line = (
            f"{self.description}: {done:,}/{self.total:,} steps ({100 * done / self.total:.0f}%), "
            f"{rate:,.0f} steps/s, eta {format_duration(eta)}"
            + (f", eval: {evals}" if evals else "")
        )
        print(line, file=self.stream, flush=True)
        self.lines += 1
        return line


class ProgressFileCallback(_PeriodicProgress):
    """``progress.json`` in the run directory at the start, every ``every`` seconds and at the
    end: steps, total, steps/s and the latest evaluation, for a watcher in another process (the
    benchmark's in-run progress and ETA). Advisory only: no result is read from it."""

    report_at_start = True

    def __init__(
        self,
        run: RunDir,
        total: int,
        latest: Callable[[], Mapping[str, float]],
        every: float = 5.0,
    ) -> None:
        super().__init__(total, latest, every)
        self.run = run

    def report(self) -> None:
        """Write ``progress.json``."""
        self._last = now = time.perf_counter()
        self.run.write_progress(
            {
                "steps": int(self.num_timesteps),
                "total": int(self.total),
                "steps_per_s": round(self.rate(now), 1),
                "elapsed_s": round(now - self._t0, 1),
                "eval": {k: float(v) for k, v in self.latest().items()},
            }
        )


def progress_callback(
    total: int, description: str, latest: Callable[[], Mapping[str, float]]
) -> RichProgressCallback | HeadlessProgressCallback:
    """The bar on a terminal; headless, a line every ``SIM2REAL_PROGRESS_EVERY`` seconds
    (default 30) when stderr is not a TTY."""
    if sys.stderr.isatty():
        return RichProgressCallback(total, description, latest)
    return HeadlessProgressCallback(total, description, latest, every=headless_every())
