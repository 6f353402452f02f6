"""Execution backends: a local process pool (default) or Ray tasks, one process/task per run.

Both call :func:`sim2real.benchmark.jobs.execute` on the same job objects, so for the same seeds
they produce the same curves. Each run uses one torch thread; ``workers`` runs go in parallel.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from sim2real.benchmark.jobs import RunJob, ZeroShotJob, execute
from sim2real.errors import ConfigError

__all__ = ["BACKENDS", "default_workers", "run_jobs"]

Job = RunJob | ZeroShotJob
OnResult = Callable[[Job, dict[str, Any]], None]
OnTick = Callable[[], None]
#: Seconds between ``on_tick`` calls while runs are in flight.
TICK_SECONDS = 2.0
BACKENDS = ("local", "ray")


def default_workers() -> int:
    """One worker per CPU core available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _run_local(
    jobs: Sequence[Job], workers: int, on_result: OnResult | None, on_tick: OnTick
) -> list[dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    ctx = multiprocessing.get_context("spawn")  # fresh interpreter per run: no torch state forked
    # one process per run (Python >= 3.11); on 3.10 workers are reused, results are the same
    # because every run seeds everything it uses
    per_child: dict[str, Any] = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, **per_child) as pool:
        pending = {pool.submit(execute, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, timeout=TICK_SECONDS, return_when=FIRST_COMPLETED)
            on_tick()
            for fut in done:
                i = pending.pop(fut)
                try:
                    results[i] = fut.result()
                except BaseException:
                    for other in pending:
                        other.cancel()
                    raise
                if on_result is not None:
                    on_result(jobs[i], results[i])
    return [results[i] for i in range(len(jobs))]


def _run_ray(
    jobs: Sequence[Job],
    workers: int,
    address: str | None,
    on_result: OnResult | None,
    on_tick: OnTick,
) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 'sim2real[ray]'") from None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = workers
        env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        ray.init(runtime_env={"env_vars": env}, **kwargs)
    task = ray.remote(num_cpus=1, max_calls=1)(execute)  # one worker process per run
    refs = {task.remote(job): i for i, job in enumerate(jobs)}
    results: dict[int, dict[str, Any]] = {}
    while refs:
        done, _ = ray.wait(list(refs), num_returns=1, timeout=TICK_SECONDS)
        on_tick()
        for ref in done:
            i = refs.pop(ref)
            results[i] = ray.get(ref)
            if on_result is not None:
                on_result(jobs[i], results[i])
    return [results[i] for i in range(len(jobs))]


def run_jobs(
    jobs: Sequence[Job],
    *,
    backend: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    on_result: OnResult | None = None,
    on_tick: OnTick | None = None,
) -> list[dict[str, Any]]:
    """Run ``jobs`` (in parallel) and return their results in job order.

    ``on_result(job, result)`` is called in the calling process as each job finishes, and
    ``on_tick()`` every :data:`TICK_SECONDS` while jobs run (for in-run progress).
    """
    if not jobs:
        return []
    n = min(workers or default_workers(), len(jobs))
    tick = on_tick or (lambda: None)
    if backend == "local":
        return _run_local(jobs, n, on_result, tick)
    if backend == "ray":
        return _run_ray(jobs, n, ray_address, on_result, tick)
    raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
