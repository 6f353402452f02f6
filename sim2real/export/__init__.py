"""Export SB3 policies (PPO/SAC/TD3 MLPs) to ONNX/TorchScript + a pickle-free numpy weights file.

``export_policy(run_dir, "onnx", "policies/NAME")`` writes ``policy.onnx`` (normalization,
actor, action scaling baked in; input ``obs``, output ``actions``), ``weights.npz`` and
``metadata.json`` after proving both equal to SB3 ``predict(deterministic=True)``.
Needs torch (and onnx/onnxruntime for ONNX); the robot side is :mod:`sim2real.controller`.
"""

from __future__ import annotations

from sim2real.export.exporter import ExportFormat, export_policy
from sim2real.export.program import ExportedPolicy, policy_to_weights

__all__ = ["ExportFormat", "ExportedPolicy", "export_policy", "policy_to_weights"]
