"""In-run progress and ETA of a benchmark, from the ``progress.json`` each running run writes.

The runs train in worker processes (or Ray tasks); each writes its steps to ``progress.json`` in
its run directory every few seconds (:class:`~sim2real.training.callbacks.ProgressFileCallback`).
:class:`BenchmarkProgress` sums them over the planned jobs: target steps done of all planned,
the rate since the benchmark started (reused runs excluded) and the time left at that rate.
An ``identify`` arm's progress is its target fine-tuning (``<run>/target``); its recording,
fit and simulation fine-tuning show as 0 steps until then, so its ETA is a lower bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim2real.benchmark.jobs import RunJob
from sim2real.progress import format_duration
from sim2real.training.run_dir import PROGRESS, RunDir

__all__ = ["BenchmarkProgress", "ProgressSnapshot", "RunProgress"]

#: Subfolder of an ``identify`` arm's run with its target fine-tuning run.
_IDENTIFY_TARGET = "target"


@dataclass(frozen=True)
class RunProgress:
    """One running job: ``name`` (``arm/seed_k``), steps done and planned."""

    name: str
    steps: int
    total: int


@dataclass(frozen=True)
class ProgressSnapshot:
    """The benchmark's state at one moment."""

    runs_done: int
    runs_total: int
    steps: int
    steps_total: int
    steps_per_s: float
    eta_s: float
    running: list[RunProgress] = field(default_factory=list)

    def line(self) -> str:
        """For example ``3/10 runs, 104,388/300,000 target steps (35%), 2,339 steps/s, eta 1m24s``."""
        pct = 100 * self.steps / self.steps_total if self.steps_total else 100.0
        return (
            f"{self.runs_done}/{self.runs_total} runs, {self.steps:,}/{self.steps_total:,} "
            f"target steps ({pct:.0f}%), {self.steps_per_s:,.0f} steps/s, "
            f"eta {format_duration(self.eta_s)}"
        )

    def running_text(self) -> str:
        """``scratch/seed_1 41%, finetune/seed_1 12%`` (the jobs with steps so far)."""
        return ", ".join(f"{r.name} {100 * r.steps / max(r.total, 1):.0f}%" for r in self.running)


class BenchmarkProgress:
    """Steps done over a benchmark's planned run jobs (zero-shot jobs carry no steps)."""

    def __init__(self, jobs: Sequence[RunJob], clock: Callable[[], float] | None = None) -> None:
        self.jobs = {job.run_dir: job for job in jobs}
        self._now = time.perf_counter if clock is None else clock
        self._t0 = self._now()
        self._started_wall = time.time()
        self._done: dict[str, int] = {}
        self._reused_steps = 0

    @staticmethod
    def budget(job: RunJob) -> int:
        """Target steps of ``job`` (its training budget)."""
        return int(job.config["total_timesteps"])

    def finished(self, job: RunJob, reused: bool) -> None:
        """Count ``job`` as done (a reused run's steps do not enter the rate)."""
        self._done[job.run_dir] = self.budget(job)
        if reused:
            self._reused_steps += self.budget(job)

    def _running_steps(self, job: RunJob) -> int:
        """Steps of an unfinished job from its fresh ``progress.json`` (0 before it writes one;
        a file left by an earlier, interrupted benchmark is older than this one and ignored)."""
        folder = Path(job.run_dir)
        for candidate in (folder, folder / _IDENTIFY_TARGET):
            path = candidate / PROGRESS
            try:
                fresh = path.stat().st_mtime >= self._started_wall
            except OSError:
                continue
            if fresh:
                steps = int(RunDir(candidate).read_progress().get("steps", 0))
                return min(max(steps, 0), self.budget(job))
        return 0

    def snapshot(self) -> ProgressSnapshot:
        """Steps done, rate and ETA now."""
        running = [
            RunProgress(job.name, self._running_steps(job), self.budget(job))
            for folder, job in self.jobs.items()
            if folder not in self._done
        ]
        active = [r for r in running if r.steps > 0]
        steps = sum(self._done.values()) + sum(r.steps for r in running)
        total = sum(self.budget(j) for j in self.jobs.values())
        elapsed = self._now() - self._t0
        computed = steps - self._reused_steps
        rate = computed / elapsed if elapsed > 0 else 0.0
        eta = (total - steps) / rate if rate > 0 else float("inf")
        return ProgressSnapshot(len(self._done), len(self.jobs), steps, total, rate, eta, active)
