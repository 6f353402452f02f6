"""sim2real: sim-to-real RL transfer on PyBullet with Stable-Baselines3.

Importing ``sim2real`` is deliberately light (no torch, gymnasium or pybullet), so that
``sim2real.controller`` runs on a robot with only numpy. Import the parts you need:
``import sim2real.envs`` registers the ``sim2real/...`` Gymnasium ids.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
