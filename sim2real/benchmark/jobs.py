"""One benchmark job = one arm x seed training run (or the zero-shot evaluation), run in a worker.

Jobs are plain, picklable data and :func:`execute` is a top-level function, so the local
process pool and Ray run exactly the same code: same seeds, same results. A job whose run
directory already holds a finished run of the same benchmark (status and run key)
is not recomputed; an unfinished one is started again from scratch (so a resumed benchmark
gives the same numbers as an uninterrupted one).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunJob", "ZeroShotJob", "execute", "finished_result"]


@dataclass(frozen=True)
class RunJob:
    """Train one arm with one seed on the target.

    Attributes:
        arm: arm name (``scratch`` or a transfer arm).
        seed: seed of model, envs and evaluations.
        run_dir: where the run directory goes.
        config: the target-training ``ExperimentConfig`` as a dict.
        key: the benchmark's run key (a finished run with another key is not reused).
        source: source run directory (transfer arms) or ``None`` (scratch).
        spec: the transfer spec as a dict (transfer arms).
    """

    arm: str
    seed: int
    run_dir: str
    config: dict[str, Any]
    key: str
    source: str | None = None
    spec: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """``<arm>/seed_<seed>``."""
        return f"{self.arm}/seed_{self.seed}"


@dataclass(frozen=True)
class ZeroShotJob:
    """Evaluate the source policy, unchanged, on the target domain (episode ``i``: seed ``seed + i``)."""

    source: str
    env: str
    target: str
    episodes: int
    seed: int = 0

    @property
    def name(self) -> str:
        """``zero_shot``."""
        return "zero_shot"


def _curve(evaluations: dict[str, Any], target: str) -> dict[str, list[float]]:
    # the arms train on the target domain, so its evaluation is the training-domain entry; an
    # explicit target/<name> entry wins if present
    from sim2real.evaluation.episodes import TRAIN_DOMAIN

    entry = evaluations.get(f"target/{target}") or evaluations[TRAIN_DOMAIN]
    return {
        "steps": [float(s) for s in entry["timesteps"]],
        "values": [float(v) for v in entry["mean"]],
    }


def finished_result(job: RunJob) -> dict[str, Any] | None:
    """The result of an already finished run of ``job`` (same key), else ``None``."""
    from sim2real.errors import Sim2RealError
    from sim2real.training.run_dir import RunDir

    run = RunDir(job.run_dir)
    try:
        if not run.finished() or run.read_meta().get("benchmark", {}).get("key") != job.key:
            return None
        evaluations, summary = run.read_evaluations(), run.read_summary()
        curve = _curve(evaluations, job.config["domain"])
    except (Sim2RealError, KeyError):
        return None
    return {
        "arm": job.arm,
        "seed": job.seed,
        "run_dir": str(run.path),
        "reused": True,
        "wall_time_s": summary.get("wall_time_s"),
        **curve,
    }


def _limit_threads() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def _identify(job: RunJob) -> dict[str, Any]:
    """The ``identify`` arm (``sim2real.identification.arm``); reused when ``arm.json`` holds
    this benchmark's key."""
    from sim2real.identification.arm import ArmResult, IdentifyArmSpec, run_identify_arm

    run = Path(job.run_dir)
    try:
        res = ArmResult.model_validate_json((run / "arm.json").read_text())
        reused, wall = res.key == job.key, None
    except (OSError, ValueError):
        reused = False
    if not reused:
        _limit_threads()
        shutil.rmtree(run, ignore_errors=True)
        t0 = time.perf_counter()
        spec = IdentifyArmSpec.model_validate(job.spec or {})
        assert job.source is not None
        res = run_identify_arm(
            spec, source_run=job.source, base_config=job.config, run_dir=run, key=job.key
        )
        wall = round(time.perf_counter() - t0, 2)
    spent = {k: getattr(res, k) for k in ("recorded_steps", "target_steps", "sim_steps")}
    return {"arm": job.arm, "seed": job.seed, "run_dir": str(run), "reused": reused,
            "wall_time_s": wall, "steps": res.steps, "values": res.values, **spent}  # fmt: skip


def _run(job: RunJob) -> dict[str, Any]:
    from sim2real.identification.arm import ARM as IDENTIFY

    if job.arm == IDENTIFY:
        return _identify(job)
    done = finished_result(job)
    if done is not None:
        return done
    _limit_threads()
    from sim2real.training import train

    run = Path(job.run_dir)
    if run.exists():  # an interrupted run: start it again so results match a clean run
        shutil.rmtree(run)
    run.parent.mkdir(parents=True, exist_ok=True)
    config, builder = _config_and_builder(job)
    builder = builder.labelled(
        "benchmark", benchmark={"key": job.key, "arm": job.arm, "seed": job.seed, "spec": job.spec}
    )
    t0 = time.perf_counter()
    result = train(config, out_dir=run, builder=builder, quiet=True)
    return {
        "arm": job.arm,
        "seed": job.seed,
        "run_dir": str(result.path),
        "reused": False,
        "wall_time_s": round(time.perf_counter() - t0, 2),
        **_curve(result.evaluations, config.domain),
    }


def _config_and_builder(job: RunJob) -> tuple[Any, Any]:
    """Scratch: the config and its own model; a transfer arm: the transfer run's builder, so the
    arm is a transfer run like ``sim2real transfer`` makes (resumable with ``--resume``)."""
    from sim2real.config import config_from_dict, validate_model
    from sim2real.training import PRETRAIN

    where = f"benchmark run {job.name}"
    if job.source is None:
        return config_from_dict(job.config, where), PRETRAIN
    from sim2real.transfer.config import TransferConfig
    from sim2real.transfer.run import transfer_builder

    data = {**job.config, "transfer": {**(job.spec or {}), "source": job.source}}
    config = validate_model(TransferConfig, data, where)
    return config.experiment_config(), transfer_builder(config)


def _zero_shot(job: ZeroShotJob) -> dict[str, Any]:
    """``sim2real evaluate SOURCE -t ENV:TARGET -n EPISODES --seed SEED``, as a job."""
    _limit_threads()
    from sim2real.evaluation import evaluate, load_agent

    res = evaluate(
        load_agent(job.source), job.env, job.target, episodes=job.episodes, seed=job.seed
    )
    return {
        "mean": res.mean,
        "std": res.std,
        "episodes": job.episodes,
        "seed": job.seed,
        "returns": res.returns,
        "lengths": res.lengths,
        "job": asdict(job),
    }


def execute(job: RunJob | ZeroShotJob) -> dict[str, Any]:
    """Run ``job`` in this process and return its JSON-able result."""
    if isinstance(job, ZeroShotJob):
        return _zero_shot(job)
    return _run(job)
