"""Transfer callbacks: gradual unfreezing, the transfer log (TensorBoard + JSON), early stopping.

The learning rate per part and the L2-SP term are recorded by the model itself at every update
(:class:`~sim2real.transfer.algorithms.TransferMixin`); these callbacks add what happens at given
steps and the files in the run directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from sim2real.errors import CheckpointError, Sim2RealError
from sim2real.evaluation.episodes import TRAIN_DOMAIN
from sim2real.training.atomic import atomic_write_json
from sim2real.training.run_dir import RunDir
from sim2real.transfer.algorithms import TransferMixin
from sim2real.transfer.surgery import TransferLog

__all__ = [
    "EarlyStopper",
    "GradualUnfreezeCallback",
    "StopOnEvalFile",
    "StopOnTargetPlateau",
    "StrategySchedule",
    "TransferLogCallback",
    "transfer_callbacks",
]


class TransferLogCallback(BaseCallback):
    """Writes the surgery table and counts to TensorBoard and ``transfer.json``, keeps events.

    ``transfer.json`` holds the spec, the per-tensor log, the unfreeze events and a sampled
    history of the learning rate per part (at most ~``max_points`` entries).
    """

    def __init__(
        self, path: str | Path | None = None, *, run: RunDir | None = None, max_points: int = 200
    ) -> None:
        super().__init__()
        self.path = Path(path) if path is not None else None
        self.run = run
        self.info: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.lr_history: list[dict[str, Any]] = []
        self.max_points = max_points
        self._every = 1
        self._last_lrs: dict[str, float] | None = None

    def _on_training_start(self) -> None:
        model = self.model
        assert isinstance(model, TransferMixin)
        self.info = dict(model.transfer_info)
        old = self._read()
        if old:  # resumed run: keep its history
            now = int(self.num_timesteps)
            self.info["log"] = old.get("log", self.info.get("log"))  # the surgery as it was done
            self.events = [e for e in old.get("events", []) if e["step"] <= now]
            self.lr_history = [h for h in old.get("lr_history", []) if h["step"] <= now]
        log = self.info.get("log", {})

        table = TransferLog(log.get("algo", ""), log.get("parts", []), log.get("unfreeze", []),
                            log.get("notes", []))  # fmt: skip
        exclude = ("stdout", "log", "json", "csv")
        self.logger.record("transfer/report", table.markdown(), exclude=exclude)
        for key, value in table.totals().items():
            self.logger.record(f"transfer/params/{key}", value)
        total = int(self.locals.get("total_timesteps", 0) or 0)
        self._every = max(1, total // self.max_points)
        self._record_lrs(force=True)
        self.write()

    def event(self, kind: str, parts: list[str]) -> None:
        """Record a freeze/unfreeze event (TensorBoard text + JSON)."""
        step = int(self.model.num_timesteps)  # may run before this callback's own on_step
        self.num_timesteps = step
        self.events.append({"step": step, "event": kind, "parts": parts})
        self.logger.record(
            "transfer/events", f"step {step}: {kind} {', '.join(parts)}",
            exclude=("stdout", "log", "json", "csv"),
        )  # fmt: skip
        self._record_lrs(force=True)
        self.write()

    def _record_lrs(self, force: bool = False) -> None:
        model = self.model
        assert isinstance(model, TransferMixin)
        lrs = model.part_learning_rates()
        changed = self._last_lrs is None or any(
            not math.isclose(lrs[k], self._last_lrs.get(k, -1.0)) for k in lrs
        )
        if force or (changed and self.num_timesteps % self._every == 0):
            self.lr_history.append({"step": int(self.num_timesteps), "lr": lrs})
            self._last_lrs = lrs

    def _on_rollout_end(self) -> None:
        self._record_lrs()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self._record_lrs(force=True)
        self.write()

    def _read(self) -> dict[str, Any]:
        if self.run is not None:
            return self.run.read_transfer_info()
        if self.path is not None and self.path.is_file():
            return json.loads(self.path.read_text())
        return {}

    def write(self) -> None:
        """Write the log atomically to the run's ``transfer.json`` or ``path`` (else no-op)."""
        data = {**self.info, "events": self.events, "lr_history": self.lr_history}
        if self.run is not None:
            self.run.write_transfer_info(data)
        elif self.path is not None:
            atomic_write_json(self.path, data)


class GradualUnfreezeCallback(BaseCallback):
    """Unfreezes parts at the configured steps (ULMFiT: from the head down).

    On resume, stages whose step has passed are re-applied at training start (no new events).
    """

    def __init__(
        self, stages: list[dict[str, Any]] | None = None, log: TransferLogCallback | None = None
    ) -> None:
        super().__init__()
        self.stages = sorted(stages or [], key=lambda s: s["at_step"])
        self.from_model = stages is None
        self.log = log

    def _apply_due(self, replay: bool = False) -> None:
        model = self.model
        assert isinstance(model, TransferMixin)
        while self.stages and self.num_timesteps >= self.stages[0]["at_step"]:
            stage = self.stages.pop(0)
            changed = model.set_frozen(list(stage["parts"]), frozen=False)
            if changed and self.log is not None and not replay:
                self.log.event("unfreeze", changed)

    def _on_training_start(self) -> None:
        if self.from_model:  # the stages resolved by the surgery
            info = getattr(self.model, "transfer_info", {})
            self.stages = sorted(
                info.get("log", {}).get("unfreeze", []), key=lambda s: s["at_step"]
            )
        self._apply_due(replay=True)  # resumed run: stages already passed, logged back then

    def _on_step(self) -> bool:
        if self.stages:
            self._apply_due()
        return True


class StrategySchedule(BaseCallback):
    """Hangs off the run's evaluation callback (an ``EvaluationListener``): each evaluation on
    the domain trained on goes to the model's schedules (performance anchor, guide threshold).

    At training start it also checks that a resumed source-replay run got its source
    transitions back from the checkpoint.
    """

    def on_evaluation(self, step: int, means: Mapping[str, float]) -> None:
        """Feed the mean return on the training (target) domain to the model."""
        model = self.model
        if isinstance(model, TransferMixin) and TRAIN_DOMAIN in means:
            model.on_evaluation(step, float(means[TRAIN_DOMAIN]))

    def _on_training_start(self) -> None:
        info = getattr(self.model, "transfer_info", {})
        wants = (info.get("spec") or {}).get("source_replay") is not None
        buffer = getattr(self.model, "replay_buffer", None)
        if wants and getattr(buffer, "source", None) is None:
            raise CheckpointError(
                "transfer.source_replay: the source transitions are missing (the checkpoint has "
                "no replay buffer); start a new run"
            )

    def _on_step(self) -> bool:
        return True


class EarlyStopper:
    """Patience / threshold logic on a sequence of evaluation means."""

    def __init__(self, patience: int | None, min_evals: int, threshold: float | None) -> None:
        self.patience, self.min_evals, self.threshold = patience, min_evals, threshold
        self.best = -math.inf
        self.n = 0
        self.since_best = 0
        self.reason = ""

    def update(self, mean: float) -> bool:
        """Feed one evaluation; True means stop."""
        self.n += 1
        if mean > self.best:
            self.best, self.since_best = mean, 0
        else:
            self.since_best += 1
        if self.threshold is not None and mean >= self.threshold:
            self.reason = f"target return {mean:.3g} reached the threshold {self.threshold:g}"
            return True
        if (
            self.patience is not None
            and self.n > self.min_evals
            and self.since_best >= self.patience
        ):
            self.reason = f"no improvement over {self.best:.3g} in {self.patience} evaluations"
            return True
        return False


class StopOnTargetPlateau(BaseCallback):
    """``callback_after_eval`` of an SB3 ``EvalCallback`` on the target: stops on plateau/threshold."""

    def __init__(self, stopper: EarlyStopper, log: TransferLogCallback | None = None) -> None:
        super().__init__()
        self.stopper, self.log = stopper, log

    def _on_step(self) -> bool:
        mean = float(getattr(self.parent, "last_mean_reward", -math.inf))
        if self.stopper.update(mean):
            if self.log is not None:
                self.log.event(f"early stop ({self.stopper.reason})", [])
            return False
        return True


class StopOnEvalFile(BaseCallback):
    """Early stopping on a run's evaluations (written by the trainer's eval callback).

    Checks at the same step multiples as the trainer's evaluation (``freq``), right after it.
    """

    def __init__(
        self, run: RunDir, freq: int, key: str, stopper: EarlyStopper,
        log: TransferLogCallback | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.run = run
        self.freq, self.key = freq, key
        self.stopper, self.log = stopper, log
        self._seen = 0
        self._next = freq

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.freq + 1) * self.freq

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next = (self.num_timesteps // self.freq + 1) * self.freq
        try:
            means = self.run.read_evaluations().get(self.key, {}).get("mean", [])
        except Sim2RealError:
            return True
        cont = True
        for mean in means[self._seen :]:
            if self.stopper.update(float(mean)):
                cont = False
        self._seen = len(means)
        if not cont and self.log is not None:
            self.log.event(f"early stop ({self.stopper.reason})", [])
        return cont


def transfer_callbacks(
    path: str | Path | None = None, *, run: RunDir | None = None
) -> list[BaseCallback]:
    """The log and gradual-unfreezing callbacks for a model made by :func:`transfer`.

    The log goes to the run directory ``run`` (its ``transfer.json``), or to the JSON file
    ``path``, or only to TensorBoard.
    """
    log = TransferLogCallback(path, run=run)
    # unfreezing first, so that the log sees the restored state when a run resumes
    return [GradualUnfreezeCallback(None, log), log, StrategySchedule()]
