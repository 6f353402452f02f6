"""The deployed RMA pair on the robot (numpy only): adaptation module + base policy, own history.

``AdaptedPolicy(obs)`` feeds ``obs`` to its :class:`~sim2real.controller.history.HistoryBuffer`,
runs the adaptation module on the history input (normalization baked into its weights) to get
the latent estimate ``z_hat``, and the base network on ``[obs, z_hat]``. The controller
:meth:`record`\\ s the action it finally sends and :meth:`reset`\\ s between episodes. The
exported ``metadata.json`` describes it in its ``adaptation`` block (written by
:mod:`sim2real.export.adaptation`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim2real.controller.history import HistoryBuffer, HistorySpec

__all__ = ["ADAPTATION_FILE", "AdaptedPolicy"]

ADAPTATION_FILE = "adaptation.npz"
"""The adaptation module's weights (``MlpPolicyWeights`` layout), files role ``adaptation``."""


class AdaptedPolicy:
    """``base([obs, adaptation(history)])``; raw output like the other backends (unclipped).

    Args:
        base: the base network backend (input ``n_obs + latent_dim``).
        adaptation: the adaptation module backend (input ``spec.input_size(n_obs, n_act)``).
        spec: the history the module reads.
        n_obs, n_act, latent_dim: sizes.
    """

    output_finite = False  # the controller checks every output

    def __init__(
        self,
        base: Callable[[np.ndarray], np.ndarray],
        adaptation: Callable[[np.ndarray], np.ndarray],
        spec: HistorySpec,
        n_obs: int,
        n_act: int,
        latent_dim: int,
    ) -> None:
        self._base, self._adapt = base, adaptation
        self._buffer = HistoryBuffer(spec, n_obs, n_act)
        self._x = np.zeros(n_obs + latent_dim, np.float32)
        self.n_obs = n_obs

    @property
    def latent(self) -> np.ndarray:
        """The latent estimate of the last call."""
        return self._x[self.n_obs :].copy()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Raw action for ``obs``; ``obs`` joins the history."""
        window = self._buffer.observe(obs)
        self._x[self.n_obs :] = self._adapt(window)
        self._x[: self.n_obs] = obs
        return self._base(self._x)

    def warm(self, obs: Any) -> None:
        """Run both networks once without changing the history."""
        self._adapt(self._buffer._input)
        self._base(self._x)

    def record(self, action: np.ndarray) -> None:
        """The action sent after the last observation."""
        self._buffer.record(action)

    def reset(self) -> None:
        """A new episode: forget the history."""
        self._buffer.clear()
