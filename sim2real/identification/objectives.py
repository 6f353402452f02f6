"""What a fit minimizes: how badly the simulator, under some dynamics, reproduces the recording.

* :class:`NextObservationLikelihood` (DROPO, Tiboni et al. 2023): the parameters follow a Gaussian
  ``N(mu, diag(sigma^2))``; for each recorded transition the simulator is reset to the recorded
  state, steps the recorded action under ``K`` parameter draws, and the observed next
  observation is scored under a Gaussian fitted to the ``K`` predictions (plus a small variance
  floor). The objective is the mean negative log-likelihood. Needs recorded simulator states.
  Its landscape is sharp (the floor is small), so a fit first finds ``mu`` on the smooth
  one-step squared error (:meth:`~NextObservationLikelihood.point_loss`).
* :class:`TrajectoryMatching`: one parameter vector; from a matched initial state (the recorded
  one, or one built from the observation where the env can) the recorded actions are replayed
  open-loop for ``horizon`` steps and the predictions are compared with the recording
  (mean squared error, per observation entry in units of its spread in the data).

Both use common random numbers (fixed draws), so an objective is a deterministic function of its
argument and the same seed gives the same fit. Unstable dynamics score :data:`PENALTY`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from sim2real.controller.recording import RolloutDataset
from sim2real.envs.base import MAX_LATENCY
from sim2real.errors import DatasetError, PhysicsError
from sim2real.identification.params import FitParameter, dynamics_values

__all__ = [
    "IDENTIFY_METHODS",
    "PENALTY",
    "FitSimulator",
    "NextObservationLikelihood",
    "Segments",
    "TrajectoryMatching",
    "identifiable_layer",
    "make_segments",
]

PENALTY = 1e12
"""Objective value of dynamics whose simulation blows up (NaN/inf)."""


def _histories(data: RolloutDataset) -> np.ndarray:
    """Per row, the ``MAX_LATENCY`` actions before it in its episode (oldest first, zero-padded
    like a fresh latency buffer)."""
    n, n_act = data.actions.shape
    out = np.zeros((n, MAX_LATENCY, n_act))
    for rows in data.episodes():
        acts = data.actions[rows]
        padded = np.vstack([np.zeros((MAX_LATENCY, n_act)), acts])
        for k, row in enumerate(rows):
            out[row] = padded[k : k + MAX_LATENCY]
    return out


#: What a simulator needs for identification: the dynamics interface and the simulator state.
IDENTIFY_METHODS = ("dynamics_specs", "set_dynamics", "get_sim_state", "set_sim_state")


def identifiable_layer(env: gym.Env) -> Any:
    """The innermost layer of ``env`` (the env itself, else a wrapper such as the PyBullet
    dynamics adapter) with every method of :data:`IDENTIFY_METHODS`.

    Raises:
        DatasetError: no layer has them all (names what is missing and where it can come from).
    """
    layers: list[Any] = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        layers.append(layer)
        layer = layer.env
    layers.append(layer)
    for candidate in reversed(layers):
        if all(callable(getattr(candidate, m, None)) for m in IDENTIFY_METHODS):
            return candidate
    name = type(env.unwrapped).__name__
    missing = [m for m in IDENTIFY_METHODS if not _has_wrapper_attr(env, m)]
    raise DatasetError(
        f"identify: {name} lacks {', '.join(missing)} (needed on the env or its dynamics "
        "wrapper); a PyBullet env gets them with dynamics: pybullet, any other env by "
        "implementing them or with a dynamics: module:Class wrapper"
    )


def _has_wrapper_attr(env: gym.Env, name: str) -> bool:
    try:
        return callable(env.get_wrapper_attr(name))
    except AttributeError:
        return False


class FitSimulator:
    """One env of the identified kind, reset to recorded states under chosen dynamics.

    Parameters outside the fit stay nominal; the observation noise of the simulator is off (the
    recording's noise is part of what the likelihood explains). Works on any env whose layers
    offer :data:`IDENTIFY_METHODS` (sim2real's envs, a third-party env through its dynamics
    adapter); a latency buffer is restored where the env has one (``set_action_history``).
    """

    def __init__(self, env: str, params: Sequence[FitParameter]) -> None:
        from sim2real.envs import make_env
        from sim2real.envs.external import env_names

        built = make_env(env)
        built.reset(seed=0)
        self.observation_names = env_names(built)[0]
        self._built = built
        try:
            self.env: Any = identifiable_layer(built)
        except DatasetError:
            built.close()
            raise
        self.params = list(params)
        self.sim_steps = 0

    def set_params(self, values: Sequence[float]) -> None:
        """Apply physical values of the fitted parameters."""
        self.env.set_dynamics(dynamics_values(self.params, values))

    def match_state(self, obs: np.ndarray) -> np.ndarray:
        """A simulator state showing ``obs`` (for recordings without states).

        Raises:
            DatasetError: the env cannot build a state from an observation.
        """
        try:
            return self.env.state_from_observation(obs)
        except (NotImplementedError, AttributeError):
            raise DatasetError(
                f"{type(self.env).__name__} cannot match a simulator state to a recorded "
                "observation; record the simulator state (evaluate/deploy --record do)"
            ) from None

    def rollout(self, state: np.ndarray, history: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Observations after each of ``actions`` replayed from ``state``."""
        env = self.env
        env.set_sim_state(state)
        set_history = getattr(env, "set_action_history", None)
        if set_history is not None:
            set_history(history)
        out = np.empty((len(actions), len(self.observation_names)))
        for i, a in enumerate(actions):
            out[i] = env.step(a)[0]
        self.sim_steps += len(actions)
        return out

    def close(self) -> None:
        """Close the env."""
        self._built.close()


@dataclass(frozen=True)
class Segments:
    """Start rows of open-loop replays of ``horizon`` steps, with their initial states."""

    starts: np.ndarray
    horizon: int
    states: np.ndarray
    histories: np.ndarray


def make_segments(
    data: RolloutDataset, sim: FitSimulator, horizon: int, max_segments: int
) -> Segments:
    """Evenly spread, non-overlapping segments of ``horizon`` steps inside episodes.

    Raises:
        DatasetError: no episode has ``horizon`` steps.
    """
    starts: list[int] = []
    for rows in data.episodes():
        starts += list(range(int(rows[0]), int(rows[-1]) - horizon + 2, horizon))
    if not starts:
        raise DatasetError(
            f"no recorded episode has {horizon} steps; record longer episodes or use a shorter "
            "--horizon"
        )
    pick = np.unique(np.linspace(0, len(starts) - 1, min(max_segments, len(starts))).astype(int))
    chosen = np.asarray(starts)[pick]
    histories = _histories(data)[chosen]
    if data.states is not None:
        states = data.states[chosen]
    else:
        states = np.stack([sim.match_state(data.observations[i]) for i in chosen])
    return Segments(chosen, horizon, states, histories)


def _scale(values: np.ndarray) -> np.ndarray:
    """Per-entry spread used to compare observation entries of different units."""
    std = values.std(axis=0)
    return np.where(std > 1e-8, std, 1.0)


class TrajectoryMatching:
    """Mean squared (scaled) error of ``horizon``-step open-loop replays under one parameter
    vector ``u`` (unit coordinates)."""

    def __init__(self, sim: FitSimulator, data: RolloutDataset, segments: Segments) -> None:
        self.sim, self.data, self.segments = sim, data, segments
        idx = segments.starts[:, None] + np.arange(segments.horizon)[None, :]
        self._targets = data.next_observations[idx]  # (S, H, n_obs)
        self._actions = data.actions[idx]
        self._scale = _scale(data.next_observations)
        self.n_residuals = int(self._targets.size)

    def predict(self, values: Sequence[float]) -> np.ndarray:
        """Predicted observations ``(segments, horizon, n_obs)`` under physical ``values``."""
        self.sim.set_params(values)
        seg = self.segments
        return np.stack(
            [self.sim.rollout(s, h, a) for s, h, a in zip(seg.states, seg.histories, self._actions)]
        )

    def __call__(self, u: np.ndarray) -> float:
        values = [p.to_physical(x) for p, x in zip(self.sim.params, u)]
        try:
            pred = self.predict(values)
        except PhysicsError:
            return PENALTY
        err = (pred - self._targets) / self._scale
        loss = float(np.mean(err * err))
        return loss if np.isfinite(loss) else PENALTY


class NextObservationLikelihood:
    """DROPO's objective over ``x = [mu (d), log sigma (d)]`` in unit coordinates.

    Args:
        sim: the simulator.
        data: transitions with recorded states.
        rows: the rows scored.
        n_samples: parameter draws per evaluation (``K``).
        seed: seed of the fixed standard-normal draws.
        floor: variance floor per entry, as a fraction of the entry's one-step change spread.
    """

    def __init__(
        self,
        sim: FitSimulator,
        data: RolloutDataset,
        rows: np.ndarray,
        n_samples: int,
        seed: int,
        floor: float = 0.01,
    ) -> None:
        if data.states is None:
            raise DatasetError(
                "the likelihood objective needs recorded simulator states; use "
                "--method trajectory for recordings without states"
            )
        self.sim, self.rows = sim, rows
        self._states = data.states[rows]
        self._histories = _histories(data)[rows]
        self._actions = data.actions[rows]
        self._targets = data.next_observations[rows]
        delta = self._delta = _scale(data.next_observations - data.observations)
        self._var_floor = (floor * delta) ** 2
        d = len(sim.params)
        self._z = np.random.default_rng(seed).standard_normal((n_samples, d))

    def predict(self, values: Sequence[float]) -> np.ndarray:
        """One-step predictions ``(rows, n_obs)`` under physical ``values``."""
        self.sim.set_params(values)
        return np.stack(
            [
                self.sim.rollout(s, h, a[None])[0]
                for s, h, a in zip(self._states, self._histories, self._actions)
            ]
        )

    def point_loss(self, u: np.ndarray) -> float:
        """Mean squared one-step error under one parameter vector ``u`` (unit coordinates), per
        entry in units of its one-step change: the smooth first stage that finds ``mu``."""
        try:
            pred = self.predict([p.to_physical(v) for p, v in zip(self.sim.params, u)])
        except PhysicsError:
            return PENALTY
        err = (pred - self._targets) / self._delta
        loss = float(np.mean(err * err))
        return loss if np.isfinite(loss) else PENALTY

    def draws(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """The ``K`` parameter vectors (unit coordinates) of ``N(mu, sigma^2)``."""
        return np.clip(mu[None, :] + sigma[None, :] * self._z, 0.0, 1.0)

    def __call__(self, x: np.ndarray) -> float:
        d = len(self.sim.params)
        mu, sigma = np.asarray(x[:d]), np.exp(np.asarray(x[d:]))
        preds = []
        try:
            for u in self.draws(mu, sigma):
                preds.append(self.predict([p.to_physical(v) for p, v in zip(self.sim.params, u)]))
        except PhysicsError:
            return PENALTY
        stack = np.stack(preds)  # (K, rows, n_obs)
        var = stack.var(axis=0) + self._var_floor
        err = self._targets - stack.mean(axis=0)
        nll = 0.5 * np.mean(err * err / var + np.log(var))
        return float(nll) if np.isfinite(nll) else PENALTY
