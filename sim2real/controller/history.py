"""Observation history (numpy only): the last ``k`` observations and actions as policy input.

One implementation serves training (the Gymnasium wrapper
:class:`sim2real.training.history.HistoryObservation`), evaluation (``SB3Agent``) and the robot
(:class:`~sim2real.controller.PolicyController`), so all three feed the policy the same vector.

Layout of the policy input with ``length=k`` (``obs[t]`` is the observation the policy acts on,
``act[t-j]`` the action sent to the env after it saw ``obs[t-j]``)::

    obs[t] | obs[t-1] act[t-1] | obs[t-2] act[t-2] | ... | obs[t-k] act[t-k]

The current step keeps the env's own names; older entries are named ``obs[t-j].NAME`` and
``act[t-j].NAME``. Without ``actions`` the ``act[...]`` blocks are left out. At an episode start
every past observation is the first observation and every past action is zero (the robot stood
still before it started: no step from the previous episode leaks in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MAX_HISTORY", "HistoryBuffer", "HistorySpec"]

MAX_HISTORY = 256
"""Longest history (past steps); longer inputs are better served by a recurrent policy."""


@dataclass(frozen=True)
class HistorySpec:
    """How many past steps the policy sees (``length``) and whether their actions too."""

    length: int
    actions: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.length, int) or not 1 <= self.length <= MAX_HISTORY:
            raise ValueError(f"history length must be an integer from 1 to {MAX_HISTORY}")

    def input_size(self, n_obs: int, n_act: int) -> int:
        """Size of the policy input for ``n_obs`` observations and ``n_act`` actions."""
        return n_obs + self.length * (n_obs + (n_act if self.actions else 0))

    def names(self, observation_names: Sequence[str], action_names: Sequence[str]) -> list[str]:
        """Names of the policy input entries, in order (see the module docstring)."""
        out = list(observation_names)
        for j in range(1, self.length + 1):
            out += [f"obs[t-{j}].{name}" for name in observation_names]
            if self.actions:
                out += [f"act[t-{j}].{name}" for name in action_names]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The metadata's ``history`` block (without the sizes; see ``describe_history``)."""
        return {"length": self.length, "actions": self.actions}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistorySpec:
        """Read :meth:`to_dict` back (``ValueError``/``KeyError``/``TypeError`` if malformed)."""
        actions = data["actions"]
        if not isinstance(actions, bool):
            raise TypeError("history.actions must be true or false")
        return cls(int(data["length"]), actions)


class HistoryBuffer:
    """The past ``spec.length`` observations and actions, fed one step at a time:
    :meth:`clear` at every episode start, :meth:`observe` each observation (returns the policy
    input), :meth:`record` the action sent after it. The input returned is a view that the
    next :meth:`observe` overwrites: copy it to keep it."""

    def __init__(self, spec: HistorySpec, n_obs: int, n_act: int, dtype: Any = np.float32) -> None:
        self.spec = spec
        self.n_obs, self.n_act = n_obs, n_act
        width = n_obs + (n_act if spec.actions else 0)
        self._input = np.zeros(spec.input_size(n_obs, n_act), dtype)
        # the past blocks as rows: row j-1 is obs[t-j] (then act[t-j]); shifting rows ages them
        self._past = self._input[n_obs:].reshape(spec.length, width)
        self._action = np.zeros(n_act, dtype)
        self._started = False

    @property
    def size(self) -> int:
        """Size of the policy input."""
        return int(self._input.size)

    @property
    def input(self) -> np.ndarray:
        """The last policy input (a read-only view)."""
        view = self._input.view()
        view.flags.writeable = False
        return view

    @property
    def started(self) -> bool:
        """Whether the episode has had its first observation."""
        return self._started

    def clear(self) -> None:
        """Start a new episode: the next :meth:`observe` fills the history."""
        self._started = False
        self._action[:] = 0.0

    def record(self, action: np.ndarray) -> None:
        """The action sent after the last observation (it becomes ``act[t-1]``)."""
        self._action[:] = np.reshape(action, -1)

    def observe(self, obs: np.ndarray) -> np.ndarray:
        """The policy input for ``obs``. The first observation of an episode also fills every
        past observation, with zero past actions; later ones age the history by one step."""
        if not self._started:
            self._input[: self.n_obs] = obs
            self._past[:, : self.n_obs] = obs
            self._past[:, self.n_obs :] = 0.0
            self._started = True
            return self._input
        self._past[1:] = self._past[:-1].copy()
        self._past[0, : self.n_obs] = self._input[: self.n_obs]
        if self.spec.actions:
            self._past[0, self.n_obs :] = self._action
        self._input[: self.n_obs] = obs
        return self._input
