"""Rollout datasets: recorded transitions of any target, real or simulated (owner of the format).

A dataset file is a NumPy ``.npz`` archive (numpy only, loaded with ``allow_pickle=False``), one
row per transition ``(observation, action) -> next_observation``:

=====================  ===============  ==========================================================
key                    shape            content
=====================  ===============  ==========================================================
``observations``       (N, n_obs)       observation the action was computed from
``actions``            (N, n_act)       action sent (normalized units, as the policy output it)
``next_observations``  (N, n_obs)       observation after the action
``rewards``            (N,)             reward (NaN-free; 0 where the robot reports none)
``terminations``       (N,)             the episode ended in a terminal state after this step
``truncations``        (N,)             the episode was cut (time limit, end of recording)
``timestamps``         (N,)             seconds of ``observations`` since the recording started
``episode_ids``        (N,)             episode of the row (non-decreasing, rows of an episode
                                        are consecutive steps)
``observation_names``  (n_obs,)         the env's observation layout
``action_names``       (n_act,)         the env's action layout
``states``             (N, n_state)     optional: the simulator's full state at ``observations``
                                        (``BulletRobotEnv.get_sim_state``), for simulated targets
``meta``               ()               JSON: env, control period, format version, recordings
=====================  ===============  ==========================================================

:class:`RolloutRecorder` collects transitions (from ``ControlLoop``, ``sim2real evaluate --record``
or ``deploy --record``); :meth:`RolloutDataset.save` writes atomically and appends to an existing
file of the same layout. :func:`load_rollouts` checks everything on load and raises a one-line
:class:`~sim2real.errors.DatasetError`.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.errors import DatasetError

__all__ = ["FORMAT_VERSION", "RolloutDataset", "RolloutRecorder", "load_rollouts"]

FORMAT_VERSION = 1
_FLOAT_KEYS = ("observations", "actions", "next_observations", "rewards", "timestamps")


@dataclass(frozen=True)
class RolloutDataset:
    """Recorded transitions (see the module docstring for the layout)."""

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    timestamps: np.ndarray
    episode_ids: np.ndarray
    observation_names: tuple[str, ...]
    action_names: tuple[str, ...]
    states: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def n_episodes(self) -> int:
        """Number of distinct episodes."""
        return len(np.unique(self.episode_ids))

    def episodes(self) -> list[np.ndarray]:
        """Row indices of each episode, in order."""
        _, starts = np.unique(self.episode_ids, return_index=True)
        return np.split(np.arange(len(self)), np.sort(starts)[1:])

    def select(self, rows: np.ndarray) -> RolloutDataset:
        """The dataset restricted to ``rows`` (e.g. the rows of some episodes)."""
        take = {k: getattr(self, k)[rows] for k in (*_FLOAT_KEYS, "terminations", "truncations")}
        states = self.states[rows] if self.states is not None else None
        return replace(self, episode_ids=self.episode_ids[rows], states=states, **take)

    def check_layout(self, observation_names: Sequence[str], action_names: Sequence[str]) -> None:
        """Raise :class:`DatasetError` unless the names equal an env's layout."""
        for kind, mine, theirs in (
            ("observation", self.observation_names, tuple(observation_names)),
            ("action", self.action_names, tuple(action_names)),
        ):
            if mine != theirs:
                where = self.meta.get("path", "dataset")
                diff = next(
                    (
                        f"entry {i}: {a!r} != {b!r}"
                        for i, (a, b) in enumerate(zip(mine, theirs))
                        if a != b
                    ),
                    f"{len(mine)} entries != {len(theirs)}",
                )
                raise DatasetError(
                    f"{where}: {kind} names do not match the env ({diff}); record the data "
                    "with the env you identify"
                )

    def concat(self, other: RolloutDataset) -> RolloutDataset:
        """Rows of ``self`` then ``other`` (episode ids of ``other`` shifted after ours)."""
        self.check_layout(other.observation_names, other.action_names)
        if (self.states is None) != (other.states is None) or (
            self.states is not None
            and other.states is not None
            and self.states.shape[1] != other.states.shape[1]
        ):
            raise DatasetError(
                "cannot append: one recording has simulator states and the other has none (or "
                "another state size); write it to a new file"
            )
        offset = int(self.episode_ids.max()) + 1 if len(self) else 0
        cat = {
            k: np.concatenate([getattr(self, k), getattr(other, k)])
            for k in (*_FLOAT_KEYS, "terminations", "truncations")
        }
        states = (
            np.concatenate([self.states, other.states])
            if self.states is not None and other.states is not None
            else None
        )
        meta = dict(self.meta)
        meta["recordings"] = [*self.meta.get("recordings", []), *other.meta.get("recordings", [])]
        return replace(
            self,
            episode_ids=np.concatenate([self.episode_ids, other.episode_ids + offset]),
            states=states,
            meta=meta,
            **cat,  # type: ignore[arg-type]
        )

    def save(self, path: str | Path, *, append: bool = True) -> Path:
        """Write to ``path`` atomically; with ``append``, after the rows already in the file."""
        path = Path(path)
        data = load_rollouts(path).concat(self) if append and path.exists() else self
        arrays: dict[str, np.ndarray] = {
            k: getattr(data, k) for k in (*_FLOAT_KEYS, "terminations", "truncations")
        }
        arrays["episode_ids"] = data.episode_ids
        arrays["observation_names"] = np.array(data.observation_names, dtype=str)
        arrays["action_names"] = np.array(data.action_names, dtype=str)
        if data.states is not None:
            arrays["states"] = data.states
        meta = {k: v for k, v in data.meta.items() if k != "path"}
        arrays["meta"] = np.array(json.dumps({**meta, "format_version": FORMAT_VERSION}))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp_{os.getpid()}_{path.name}")
        try:
            with tmp.open("wb") as f:
                np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def _fail(path: Path, problem: str) -> DatasetError:
    return DatasetError(f"{path}: {problem}")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise _fail(path, "no such rollout file; record one with `sim2real evaluate ... --record`")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise _fail(path, f"not a rollout dataset (.npz) ({type(exc).__name__})") from None


def _check_shapes(path: Path, raw: dict[str, np.ndarray]) -> None:
    required = (*_FLOAT_KEYS, "terminations", "truncations", "episode_ids")
    missing = [k for k in (*required, "observation_names", "action_names") if k not in raw]
    if missing:
        raise _fail(path, f"missing arrays {', '.join(missing)}; not a sim2real rollout file")
    n_obs, n_act = len(raw["observation_names"]), len(raw["action_names"])
    n = len(raw["actions"])
    want: dict[str, tuple[int, ...]] = {
        "observations": (n, n_obs),
        "next_observations": (n, n_obs),
        "actions": (n, n_act),
    }
    want.update({k: (n,) for k in ("rewards", "timestamps", "terminations", "truncations")})
    want["episode_ids"] = (n,)
    if "states" in raw:
        want["states"] = (n, raw["states"].shape[-1] if raw["states"].ndim == 2 else -1)
    for key, shape in want.items():
        if raw[key].shape != shape:
            raise _fail(path, f"{key} has shape {raw[key].shape}, expected {shape}")
        if raw[key].dtype.kind not in "fiub":
            raise _fail(path, f"{key} holds {raw[key].dtype}, expected numbers")
    if n == 0:
        raise _fail(path, "holds no transitions; record at least one episode")


def _check_finite(path: Path, raw: dict[str, np.ndarray], names: tuple[str, ...]) -> None:
    for key in (*_FLOAT_KEYS, "states"):
        if key not in raw:
            continue
        arr = raw[key]
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            col = f", {names[int(np.argwhere(bad)[0][1])]}" if key.endswith("observations") else ""
            raise _fail(
                path,
                f"{key} holds NaN/inf (row {row}, episode {int(raw['episode_ids'][row])}{col}); "
                "drop that episode or record it again",
            )
    if np.any(np.diff(raw["episode_ids"]) < 0):
        raise _fail(path, "episode_ids decrease; rows of an episode must be consecutive")


def load_rollouts(path: str | Path) -> RolloutDataset:
    """Read and check a rollout file.

    Raises:
        DatasetError: missing/unreadable file, missing arrays, shapes that disagree with the
            names, NaN/inf values or unordered episodes (one line naming file and problem).
    """
    path = Path(path)
    raw = _read_npz(path)
    _check_shapes(path, raw)
    obs_names = tuple(str(n) for n in raw["observation_names"].tolist())
    _check_finite(path, raw, obs_names)
    try:
        meta = json.loads(str(raw["meta"])) if "meta" in raw else {}
    except ValueError:
        raise _fail(path, "meta is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise _fail(path, "written by a newer sim2real (format version); upgrade sim2real")
    return RolloutDataset(
        observations=raw["observations"].astype(np.float64),
        actions=raw["actions"].astype(np.float64),
        next_observations=raw["next_observations"].astype(np.float64),
        rewards=raw["rewards"].astype(np.float64),
        terminations=raw["terminations"].astype(bool),
        truncations=raw["truncations"].astype(bool),
        timestamps=raw["timestamps"].astype(np.float64),
        episode_ids=raw["episode_ids"].astype(np.int64),
        observation_names=obs_names,
        action_names=tuple(str(n) for n in raw["action_names"].tolist()),
        states=raw["states"].astype(np.float64) if "states" in raw else None,
        meta={**meta, "path": str(path)},
    )


class RolloutRecorder:
    """Collect transitions episode by episode; :meth:`dataset` / :meth:`save` hand them over.

    Call :meth:`start_episode` with the first observation, then :meth:`add_step` after each
    action with what followed. ``state_fn`` (optional) returns the simulator's state and is
    called with every observation (for simulated targets).

    Args:
        observation_names, action_names: the env's layout (checked again on load).
        meta: JSON-able provenance (env, target, policy, control period...).
        state_fn: ``() -> np.ndarray`` of the simulator state, or ``None`` (real robots).
        dt: seconds between two observations when :meth:`add_step` gets no timestamp.
    """

    def __init__(
        self,
        observation_names: Sequence[str],
        action_names: Sequence[str],
        *,
        meta: dict[str, Any] | None = None,
        state_fn: Callable[[], np.ndarray] | None = None,
        dt: float = 1.0,
    ) -> None:
        self.dt = float(dt)
        self.observation_names = tuple(observation_names)
        self.action_names = tuple(action_names)
        self.meta = dict(meta or {})
        self.state_fn = state_fn
        self._rows: list[tuple[Any, ...]] = []
        self._episode = -1
        self._obs: np.ndarray | None = None
        self._time = 0.0
        self._state: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """Transitions recorded so far."""
        return len(self._rows)

    def snapshot(self) -> np.ndarray | None:
        """The simulator state now (``None`` without ``state_fn``)."""
        return self.state_fn() if self.state_fn is not None else None

    def start_episode(
        self, obs: np.ndarray, timestamp: float = 0.0, state: np.ndarray | None = None
    ) -> None:
        """Begin an episode at observation ``obs`` (seconds ``timestamp``; ``state``: the
        simulator state at ``obs``, default :meth:`snapshot` now)."""
        self._episode += 1
        self._obs = np.array(obs, dtype=np.float64)
        self._time = float(timestamp)
        self._state = state if state is not None else self.snapshot()

    def add_step(
        self,
        action: np.ndarray,
        next_obs: np.ndarray,
        reward: float = 0.0,
        terminated: bool = False,
        truncated: bool = False,
        timestamp: float | None = None,
        state: np.ndarray | None = None,
    ) -> None:
        """Record the transition from the current observation under ``action`` to ``next_obs``
        (observed at ``timestamp``, default one step later; ``state`` at ``next_obs``, default
        :meth:`snapshot` now)."""
        if self._obs is None:
            raise RuntimeError("call start_episode() before add_step()")
        nxt = np.array(next_obs, dtype=np.float64)
        self._rows.append(
            (
                self._obs,
                np.array(action, dtype=np.float64).ravel(),
                nxt,
                float(reward),
                bool(terminated),
                bool(truncated),
                self._time,
                self._episode,
                self._state,
            )
        )
        self._obs = nxt
        self._time = float(timestamp) if timestamp is not None else self._time + self.dt
        self._state = state if state is not None else self.snapshot()

    def end(self) -> None:
        """Mark the last transition truncated if its episode did not end (recording stopped)."""
        if self._rows and not (self._rows[-1][4] or self._rows[-1][5]):
            last = list(self._rows[-1])
            last[5] = True
            self._rows[-1] = tuple(last)

    def check_appendable(self, path: str | Path) -> None:
        """Raise :class:`DatasetError` now if ``path`` exists but cannot take this recording
        (another env's names, states vs none), so no episode is run in vain."""
        path = Path(path)
        if path.suffix != ".npz":
            raise DatasetError(f"{path}: a rollout file must end in .npz")
        if not path.exists():
            return
        old = load_rollouts(path)
        old.check_layout(self.observation_names, self.action_names)
        if (old.states is None) != (self.state_fn is None):
            raise DatasetError(
                f"{path}: holds {'no ' if old.states is None else ''}simulator states and this "
                "recording does the opposite; record to a new file"
            )

    def dataset(self) -> RolloutDataset:
        """Everything recorded so far."""
        if not self._rows:
            raise DatasetError("nothing was recorded: the recording holds no transitions")
        cols = list(zip(*self._rows))
        states = np.stack(cols[8]) if self.state_fn is not None else None
        return RolloutDataset(
            observations=np.stack(cols[0]),
            actions=np.stack(cols[1]),
            next_observations=np.stack(cols[2]),
            rewards=np.array(cols[3]),
            terminations=np.array(cols[4]),
            truncations=np.array(cols[5]),
            timestamps=np.array(cols[6]),
            episode_ids=np.array(cols[7], dtype=np.int64),
            observation_names=self.observation_names,
            action_names=self.action_names,
            states=states,
            meta={**self.meta, "recordings": [dict(self.meta)]},
        )

    def save(self, path: str | Path, *, append: bool = True) -> Path:
        """Write everything recorded (see :meth:`RolloutDataset.save`)."""
        return self.dataset().save(path, append=append)
