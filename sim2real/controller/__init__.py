"""Robot-side runtime for exported policies: numpy (+ onnxruntime) only, no pickle.

``PolicyController.load("policies/NAME")`` checks the sha256 of the files and the metadata;
``act(obs)`` returns safe actions. ``ControlLoop`` runs it at a fixed rate against anything that
implements ``RobotInterface``. Nothing here imports torch, Stable-Baselines3, gymnasium or
pybullet.
"""

from __future__ import annotations

from sim2real.controller.artifact import load_metadata, sha256_file
from sim2real.controller.loop import ControlLoop, LoopReport, RobotInterface, StepFeedback
from sim2real.controller.policy_controller import Backend, NonFinitePolicy, PolicyController
from sim2real.controller.recording import RolloutDataset, RolloutRecorder, load_rollouts
from sim2real.controller.weights import MlpPolicyWeights

__all__ = [
    "Backend",
    "ControlLoop",
    "LoopReport",
    "MlpPolicyWeights",
    "NonFinitePolicy",
    "PolicyController",
    "RobotInterface",
    "RolloutDataset",
    "RolloutRecorder",
    "StepFeedback",
    "load_metadata",
    "load_rollouts",
    "sha256_file",
]
