"""What ``sim2real benchmark`` shows while it runs: a live bar on a terminal, timed lines
otherwise (CI, Slurm, nohup), both with target steps, steps/s, ETA and the running jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sim2real.cli._output import err_console
from sim2real.progress import format_duration, headless_every

if TYPE_CHECKING:  # torch-free at import: shell completion loads this module
    from sim2real.benchmark.progress import ProgressSnapshot

__all__ = ["benchmark_progress"]

OnEvent = Callable[[str, dict[str, Any]], None]


def _run_text(data: dict[str, Any]) -> str:
    how = "reused" if data["reused"] else f"{data['wall_time_s']:.0f}s"
    return f"{data['arm']}/seed_{data['seed']} final {data['values'][-1]:.4g} ({how})"


def _message(event: str, data: dict[str, Any]) -> str | None:
    """The line printed for a ``source`` or ``zero_shot`` event (``None`` for other events)."""
    if event == "source":
        return f"source: {data['path']} ({data['steps']} pretraining steps)"
    if event == "zero_shot":
        return f"zero-shot on the target: {data['mean']:.4g}"
    return None


class _LiveBar:
    """The rich bar over target steps: runs done, steps/s, elapsed, ETA, the running jobs."""

    def __init__(self) -> None:
        self.bar = Progress(
            TextColumn("[bold]benchmark[/]"),
            BarColumn(),
            TextColumn("{task.fields[runs]}"),
            TextColumn("{task.fields[rate]}", style="cyan"),
            TimeElapsedColumn(),
            TextColumn("eta {task.fields[eta]}"),
            TextColumn("{task.description}"),
            console=err_console,
        )
        self.task = self.bar.add_task("", total=None, runs="", rate="", eta="--")

    def _show(self, snap: ProgressSnapshot) -> None:
        self.bar.update(
            self.task,
            completed=snap.steps,
            total=snap.steps_total,
            runs=f"{snap.runs_done}/{snap.runs_total} runs",
            rate=f"{snap.steps_per_s:,.0f} steps/s",
            eta=format_duration(snap.eta_s),
            description=snap.running_text(),
        )

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        message = _message(event, data)
        if message is not None:
            self.bar.console.print(message)
        elif event == "run":
            self.bar.console.print(_run_text(data))
            self._show(data["progress"])
        elif event == "tick":
            self._show(data["progress"])


class _Lines:
    """A line per finished run, and the progress line every ``every`` seconds in between."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._last = time.perf_counter()

    def _print(self, text: str) -> None:
        err_console.print(text, markup=False)

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        message = _message(event, data)
        if message is not None:
            self._print(message)
        elif event == "run":
            self._print(f"{_run_text(data)}; benchmark: {data['progress'].line()}")
        elif event == "tick" and time.perf_counter() - self._last >= self.every:
            snap = data["progress"]
            running = snap.running_text()
            self._print(f"benchmark: {snap.line()}" + (f"; running {running}" if running else ""))
        else:
            return
        self._last = time.perf_counter()


def benchmark_progress(show: bool) -> tuple[AbstractContextManager[Any], OnEvent]:
    """The display (a context manager) and the ``progress(event, data)`` callback of
    :func:`~sim2real.benchmark.run_benchmark`; nothing when ``show`` is false."""
    if not show:
        return nullcontext(), lambda event, data: None
    if err_console.is_terminal:
        live = _LiveBar()
        return live.bar, live
    return nullcontext(), _Lines(headless_every())
