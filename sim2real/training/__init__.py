"""Training with SB3: the run pipeline, env factory, model construction, callbacks, run directories.

``train(config, builder=...)`` is the entry point (pretrain, transfer and benchmark runs differ
only in their :class:`RunBuilder`); ``load_run`` and ``read_eval_curve`` read results back.
"""

from __future__ import annotations

from sim2real.training.algorithms import ALGOS, build_model, resolve_device
from sim2real.training.loading import LoadedRun, load_run, read_eval_curve, read_evaluations
from sim2real.training.run_dir import Checkpoint, RunDir
from sim2real.training.start import Prepared
from sim2real.training.trainer import PRETRAIN, RunBuilder, RunResult, TrainingInterrupted, train
from sim2real.training.vec_env import load_vec_normalize, make_vec_env, wrap_normalize

__all__ = [
    "ALGOS",
    "PRETRAIN",
    "Checkpoint",
    "LoadedRun",
    "Prepared",
    "RunBuilder",
    "RunDir",
    "RunResult",
    "TrainingInterrupted",
    "build_model",
    "load_run",
    "load_vec_normalize",
    "make_vec_env",
    "read_eval_curve",
    "read_evaluations",
    "resolve_device",
    "train",
    "wrap_normalize",
]
