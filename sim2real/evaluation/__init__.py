"""Evaluate any policy (run dir, SB3 ``.zip``, exported artifact) on any target; sweeps, videos, deploy.

``evaluate(load_agent(path), "cartpole", "heavy_pole")`` runs seeded deterministic episodes and
reports mean, std, 95% bootstrap CI and success rate; ``run_sweep`` + ``save_sweep`` make
robustness curves/heatmaps (PNG, JSON, TensorBoard); ``record_video`` writes GIF/MP4;
``compare_engines`` puts one target side by side in PyBullet and MuJoCo; ``deploy`` runs an exported policy in a real-time control loop against the simulator.
"""

from __future__ import annotations

from sim2real.evaluation.agents import Agent, ArtifactAgent, SB3Agent, load_agent
from sim2real.evaluation.deploy import SimulatedRobot, deploy
from sim2real.evaluation.engines import EngineComparison, compare_engines, engine_twins
from sim2real.evaluation.episodes import (
    TRAIN_DOMAIN,
    EvalResult,
    evaluate,
    evaluate_env,
    run_episodes,
    summarize,
    upgrade_evaluations,
)
from sim2real.evaluation.sweep import SweepAxis, parse_sweep, run_sweep, save_sweep
from sim2real.evaluation.targets import DynamicsOverride, make_target_env, parse_target
from sim2real.evaluation.video import record_video, write_video

__all__ = [
    "TRAIN_DOMAIN",
    "Agent",
    "ArtifactAgent",
    "DynamicsOverride",
    "EngineComparison",
    "EvalResult",
    "SB3Agent",
    "SimulatedRobot",
    "SweepAxis",
    "compare_engines",
    "deploy",
    "engine_twins",
    "evaluate",
    "evaluate_env",
    "load_agent",
    "make_target_env",
    "parse_sweep",
    "parse_target",
    "record_video",
    "run_episodes",
    "run_sweep",
    "save_sweep",
    "summarize",
    "upgrade_evaluations",
    "write_video",
]
