"""The window of recent (observation, action) pairs an adaptation module reads (numpy only).

One implementation for RMA's phase-2 rollouts, evaluation and the robot-side controller, so
all three feed the module the same window: the last ``length`` pairs, oldest first, zeros
before the episode's first step; a pair is pushed after its action was taken.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PairHistory"]


class PairHistory:
    """``window`` has shape ``(n_envs, length, n_obs + n_act)``; row ``-1`` is the newest pair.

    Args:
        length: pairs kept.
        n_obs: observation entries per pair.
        n_act: action entries per pair.
        n_envs: parallel envs (one window each).
    """

    def __init__(self, length: int, n_obs: int, n_act: int, n_envs: int = 1) -> None:
        if length < 1 or n_obs < 1 or n_act < 1 or n_envs < 1:
            raise ValueError(
                f"length, n_obs, n_act and n_envs must be >= 1, got {length, n_obs, n_act, n_envs}"
            )
        self.length, self.n_obs, self.n_act = length, n_obs, n_act
        self.window = np.zeros((n_envs, length, n_obs + n_act), dtype=np.float32)

    def push(self, obs: np.ndarray, action: np.ndarray) -> None:
        """Append one pair per env (``obs``: ``(n_envs, n_obs)``, ``action``: ``(n_envs, n_act)``),
        dropping the oldest."""
        w = self.window
        w[:, :-1] = w[:, 1:].copy() if w.shape[1] > 1 else w[:, :-1]
        w[:, -1, : self.n_obs] = obs
        w[:, -1, self.n_obs :] = action

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Forget the pairs of every env (``mask=None``) or of the envs where ``mask`` is true."""
        if mask is None:
            self.window.fill(0.0)
        else:
            self.window[np.asarray(mask, dtype=bool)] = 0.0
