"""Run a benchmark: resolve (or pretrain, cached) the source, plan arms x seeds, run, report.

Output folder::

    <out>/benchmark.yaml       the resolved benchmark config
    <out>/benchmark.json       run key, source, source steps (a different config is refused)
    <out>/runs/<arm>/seed_<k>/ one training run directory per arm x seed
    <out>/zero_shot.json       the source policy evaluated on the target, unchanged
    <out>/report.json, report.md, learning_curves.png
    <out>/tb/                  TensorBoard log root (see ``tb_report``)
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim2real.benchmark.backends import run_jobs
from sim2real.benchmark.config import IDENTIFY, SCRATCH, BenchmarkConfig, config_hash
from sim2real.benchmark.jobs import RunJob, ZeroShotJob
from sim2real.benchmark.progress import BenchmarkProgress
from sim2real.benchmark.report import BenchmarkReport, build_report, write_report
from sim2real.errors import ConfigError, ModelFileError, Sim2RealError
from sim2real.metrics import MetricOptions
from sim2real.resources import data_dir
from sim2real.training.run_dir import RunDir
from sim2real.zoo import ZOO_PREFIX, zoo_policy

__all__ = ["BenchmarkResult", "default_out_dir", "plan_jobs", "prepare_source", "run_benchmark"]

Progress = Callable[[str, dict[str, Any]], None]
#: What the ``identify`` arm reports beyond its curve: target steps (recorded + fine-tuning)
#: and simulation steps, separately.
_SPENT = ("recorded_steps", "target_steps", "sim_steps")


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` produced."""

    path: Path
    report: BenchmarkReport
    files: dict[str, Path]
    reused: int
    computed: int


def default_out_dir(config: BenchmarkConfig) -> Path:
    """``runs/benchmarks/<benchmark>__<target env>__<target>`` (stable, so a rerun resumes)."""
    target = config.target_name
    return Path("runs") / "benchmarks" / f"{config.benchmark}__{config.arm_env}__{target}"


def _find_run(name: str) -> Path:
    if name.startswith(ZOO_PREFIX):
        return zoo_policy(name).path.resolve()
    for candidate in (RunDir(name), RunDir(data_dir("policies") / name)):
        if candidate.is_run() and candidate.has_model():
            return candidate.path.resolve()
    raise ModelFileError(
        f"source run {name!r} not found (need a run directory with {RunDir.CONFIG} and "
        f"{RunDir.MODEL}, "
        f"a path or a name under {data_dir('policies')})"
    )


def _source_steps(run: Path, given: int | None) -> int:
    if given is not None:
        return given
    try:
        return int(RunDir(run).read_summary()["steps"])
    except (Sim2RealError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{run}: {RunDir.SUMMARY} has no step count; set source.steps to the pretraining "
            "samples"
        ) from None


def prepare_source(config: BenchmarkConfig, *, quiet: bool = True) -> tuple[Path, int]:
    """The source run directory and its pretraining samples; pretrains (cached) if needed."""
    src = config.source
    if src.run is not None:
        run = _find_run(src.run)
        return run, _source_steps(run, src.steps)
    from sim2real.config import load_config

    pre = load_config(str(src.pretrain), src.pretrain_set)
    if pre.env != config.env:
        raise ConfigError(
            f"source.pretrain trains env {pre.env!r} but the benchmark env is {config.env!r}"
        )
    run = Path(config.cache_dir) / f"{pre.env}__{config_hash(pre.to_dict())}"
    if not RunDir(run).finished():
        from sim2real.training import train

        resume = run if RunDir(run).has_checkpoints() else None
        train(
            None if resume else pre,
            out_dir=None if resume else run,
            resume=resume,
            quiet=quiet,
        )
    return run.resolve(), _source_steps(run, src.steps)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = (
            _merge(out[k], v)
            if isinstance(v, Mapping) and isinstance(out.get(k), dict)
            else copy.deepcopy(v)
        )
    return out


def target_config(config: BenchmarkConfig, source_run: Path, arm: str, seed: int) -> dict[str, Any]:
    """The ``ExperimentConfig`` dict of one run: the source's config + ``train`` overrides, with
    the benchmark's target, budget, evaluation schedule and seed (identical for every arm)."""
    base = RunDir(source_run).read_config_data()
    data = _merge(base, config.train)
    data.update(
        experiment=f"{config.benchmark}-{arm}",
        env=config.arm_env,
        domain=config.target,
        adr=None,
        total_timesteps=config.budget,
        eval={
            "freq": config.eval.every,
            "episodes": config.eval.episodes,
            "targets": [],
            "deterministic": True,
            "at_start": True,
        },
        checkpoint_freq=0,
        checkpoint_keep=1,
        seed=seed,
        torch_threads=1,
    )
    return data


def plan_jobs(config: BenchmarkConfig, out: Path, source_run: Path) -> list[RunJob]:
    """One job per arm x seed (scratch first), with its run directory under ``out/runs``."""
    from sim2real.config import config_from_dict

    key = config.run_key()
    jobs = []
    for seed in config.seeds:
        for arm in config.arm_names:
            data = target_config(config, source_run, arm, seed)
            config_from_dict(data, f"benchmark train config (arm {arm})")  # fail early, in one line
            jobs.append(
                RunJob(
                    arm=arm,
                    seed=seed,
                    run_dir=str(out / "runs" / arm / f"seed_{seed}"),
                    config=data,
                    key=key,
                    source=None if arm == SCRATCH else str(source_run),
                    spec=None if arm == SCRATCH else config.arm_spec(arm),
                )
            )
    return jobs


def check_arms(config: BenchmarkConfig, source_run: Path) -> None:
    """Build every transfer arm's agent once (first seed), so a bad part selector or strategy
    is a one-line error before the output folder is claimed or any run starts.

    Raises:
        ConfigError, SpaceMismatchError, ModelFileError: as the arm's runs would.
    """
    from sim2real.config import config_from_dict
    from sim2real.training import build_model, make_vec_env, wrap_normalize
    from sim2real.training.history import history_spec_of
    from sim2real.transfer import transfer

    for arm in config.arm_names:
        if arm == SCRATCH:
            continue
        data = target_config(config, source_run, arm, config.seeds[0])
        exp = config_from_dict(data, f"benchmark train config (arm {arm})")
        venv: Any = make_vec_env(
            exp.env,
            exp.domain,
            1,
            exp.seed,
            history=history_spec_of(exp),
            privileged=exp.policy.privileged_critic,
        )
        try:
            if exp.normalize:
                venv = wrap_normalize(venv, training=True)
            template = build_model(exp, venv, "cpu")
            spec = config.identify.transfer if arm == IDENTIFY and config.identify else None
            spec = config.arm_spec(arm) if spec is None else spec
            transfer(
                str(source_run),
                venv,
                spec,
                template=template,
                seed=exp.seed,
                collect_source=False,  # a check: the runs collect their own source replay
            )
        finally:
            venv.close()


def _arm_source_steps(config: BenchmarkConfig, arm: str, source_steps: int) -> int:
    """Simulator samples an arm used besides the target's: the source pretraining, plus the
    source-domain transitions a ``source_replay`` arm collects in each run (scratch: 0)."""
    if arm == SCRATCH:
        return 0
    spec = config.arms.get(arm)
    replay = spec.source_replay if spec is not None else None
    return source_steps + (replay.transitions if replay is not None else 0)


def _claim_out_dir(config: BenchmarkConfig, out: Path, source_run: Path, source_steps: int) -> None:
    marker = out / "benchmark.json"
    key = config.run_key()
    if marker.is_file():
        old = json.loads(marker.read_text()).get("run_key")
        if old != key:
            raise ConfigError(
                f"{out} holds a benchmark with a different config (run key {old} != {key}); "
                "use another --out or delete that folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(
        json.dumps(
            {"run_key": key, "source": str(source_run), "source_steps": source_steps}, indent=2
        )
        + "\n"
    )
    (out / "benchmark.yaml").write_text(
        yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    )


def run_benchmark(
    config: BenchmarkConfig,
    out: str | Path | None = None,
    *,
    command: str | None = None,
    progress: Progress | None = None,
    quiet: bool = True,
) -> BenchmarkResult:
    """Run (or resume) the benchmark and write its report.

    Args:
        out: output folder; default :func:`default_out_dir`. Finished runs found there (same
            config) are reused, not recomputed.
        command: the command line recorded in the report (default: this process's argv).
        progress: ``progress(event, data)`` called with ``source``, ``planned``, ``run`` and
            ``zero_shot`` events, and ``tick`` every few seconds while runs train (``run`` and
            ``tick`` carry ``data["progress"]``, a
            :class:`~sim2real.benchmark.progress.ProgressSnapshot`: target steps done, rate,
            ETA, the running jobs); the library itself prints nothing.
        quiet: no progress bar for source pretraining.
    """
    from sim2real.training.provenance import command_line, git_state, package_versions, utc_now

    notify = progress or (lambda event, data: None)
    out = Path(out) if out is not None else default_out_dir(config)
    started, t0 = utc_now(), time.perf_counter()
    source_run, source_steps = prepare_source(config, quiet=quiet)
    notify("source", {"path": str(source_run), "steps": source_steps})
    check_arms(config, source_run)
    _claim_out_dir(config, out, source_run, source_steps)

    results, zero_shot = _run_jobs(config, out, source_run, notify, watch=progress is not None)
    curves: dict[str, dict[int, tuple[list[float], list[float]]]] = {
        a: {} for a in config.arm_names
    }
    runs_info: dict[str, dict[str, Any]] = {a: {} for a in config.arm_names}
    for res in results:
        curves[res["arm"]][res["seed"]] = (res["steps"], res["values"])
        runs_info[res["arm"]][str(res["seed"])] = {
            k: res[k] for k in ("run_dir", "reused", "wall_time_s", *_SPENT) if k in res
        }
    m = config.metrics
    options = MetricOptions(**m.model_dump())
    report = build_report(
        curves,
        options=options,
        source_steps={a: _arm_source_steps(config, a, source_steps) for a in config.arm_names},
        baseline=SCRATCH,
        extra={
            "config": config.model_dump(mode="json"),
            "target_name": config.target_name,
            "source": {"run": str(source_run), "steps": source_steps},
            "zero_shot": {k: zero_shot[k] for k in ("mean", "std", "episodes", "returns")},
            "runs": runs_info,
            "command": command or command_line(),
            "versions": package_versions(),
            "git": git_state(),
            "started": started,
            "finished": utc_now(),
            "wall_time_s": round(time.perf_counter() - t0, 1),
        },
    )
    files = _write_outputs(config, report, out)
    reused = sum(1 for r in results if r.get("reused"))
    return BenchmarkResult(out, report, files, reused=reused, computed=len(results) - reused)


def _run_jobs(
    config: BenchmarkConfig, out: Path, source_run: Path, notify: Progress, *, watch: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run every arm x seed (finished ones are reused) and, once, the zero-shot evaluation;
    with ``watch``, ``tick`` events carry the in-run progress (not computed otherwise)."""
    jobs: list[RunJob | ZeroShotJob] = list(plan_jobs(config, out, source_run))
    zero_shot_file = out / "zero_shot.json"
    if not zero_shot_file.is_file():
        jobs.insert(
            0,
            ZeroShotJob(
                str(source_run), config.arm_env, config.target, config.eval.zero_shot_episodes
            ),
        )
    notify("planned", {"jobs": len(jobs)})
    tracker = BenchmarkProgress([j for j in jobs if isinstance(j, RunJob)])

    def on_result(job: RunJob | ZeroShotJob, res: dict[str, Any]) -> None:
        if isinstance(job, ZeroShotJob):
            notify("zero_shot", res)
            return
        tracker.finished(job, bool(res.get("reused")))
        notify("run", {**res, "progress": tracker.snapshot()})

    results = run_jobs(
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address,
        on_result=on_result,
        on_tick=(lambda: notify("tick", {"progress": tracker.snapshot()})) if watch else None,
    )
    if isinstance(jobs[0], ZeroShotJob):
        zero_shot_file.write_text(json.dumps(results.pop(0), indent=2) + "\n")
    return results, json.loads(zero_shot_file.read_text())


def _target_label(config: BenchmarkConfig) -> str:
    """``TARGET``, or ``ENV:TARGET`` when the target is on another env (engine) than the source."""
    prefix = f"{config.target_env}:" if config.target_env else ""
    return prefix + config.target_name


def _write_outputs(config: BenchmarkConfig, report: BenchmarkReport, out: Path) -> dict[str, Path]:
    """report.json, report.md, the figure and the TensorBoard folder (regenerated each time)."""
    files = write_report(
        report, out, title=f"{config.benchmark}: {config.env} -> {_target_label(config)}"
    )
    from sim2real.benchmark.tb_report import write_tensorboard

    shutil.rmtree(out / "tb", ignore_errors=True)
    files["tensorboard"] = write_tensorboard(
        report, out / "tb", figure=files["figure"], markdown=files["markdown"].read_text()
    )
    return files
