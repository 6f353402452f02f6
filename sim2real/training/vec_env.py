"""Env factory: ``sim2real`` env + domain (randomization) wrapper + Monitor + VecEnv + VecNormalize.

Also the NaN/inf guard: SB3's ``VecCheckNan`` with a one-line :class:`PhysicsError` naming the
env and the step, so a diverging simulation stops training with a clear message.
"""

from __future__ import annotations

import functools
import pickle
import warnings
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecCheckNan,
    VecEnv,
    VecNormalize,
)

import sim2real.envs  # noqa: F401  (registers the ids in a subprocess too)
from sim2real.config import ExperimentConfig
from sim2real.controller.history import HistorySpec
from sim2real.envs.external import ExternalEnvEntry, ensure_registered
from sim2real.envs.registry import make_env, resolve_env
from sim2real.errors import ModelFileError, PhysicsError
from sim2real.randomization import DomainRandomizationWrapper, load_domain
from sim2real.training.history import HistoryObservation, history_spec_of
from sim2real.training.privileged import PrivilegedObservation

__all__ = [
    "FiniteCheck",
    "load_vec_normalize",
    "make_env_fn",
    "make_training_env",
    "make_vec_env",
    "resolve_domain",
    "wrap_normalize",
]


def resolve_domain(env: str, which: str | Any | None) -> Any | None:
    """The domain object for ``which`` (a name or a ready ``Domain``); ``None`` for nominal dynamics."""
    if which is None or (isinstance(which, str) and which == "nominal"):
        return None
    if not isinstance(which, str):
        return which
    return load_domain(env, which)


def _build_env(
    env: str,
    domain: Any | None,
    adr: Any | None,
    env_kwargs: dict[str, Any],
    entry: ExternalEnvEntry | None = None,
    history: HistorySpec | None = None,
    privileged: bool = False,
    dynamics_obs: bool = False,
) -> gym.Env:
    ensure_registered(entry)  # a third-party env's settings, in a worker process too
    e = make_env(env, **env_kwargs)
    if domain is not None or adr is not None:
        e = DomainRandomizationWrapper(e, domain, adr=adr)
    if dynamics_obs:
        from sim2real.adaptation.observation import DynamicsObservation

        e = DynamicsObservation(e)
    if history is not None:
        e = HistoryObservation(e, history)
    if privileged:
        e = PrivilegedObservation(e)
    return e


def make_env_fn(
    env: str,
    domain: Any | None = None,
    adr: Any | None = None,
    history: HistorySpec | None = None,
    privileged: bool = False,
    *,
    dynamics_obs: bool = False,
    **env_kwargs: Any,
) -> functools.partial[gym.Env]:
    """A picklable zero-argument constructor of one (randomized) env, with ``history`` (if
    given) over the randomization so the policy sees the randomized env's observations, and
    ``privileged`` (:class:`~sim2real.training.privileged.PrivilegedObservation`) outermost;
    ``dynamics_obs`` appends the true dynamics parameters to the observation (RMA phase 1,
    :class:`~sim2real.adaptation.DynamicsObservation`)."""
    entry = resolve_env(env)
    external = entry if isinstance(entry, ExternalEnvEntry) else None
    return functools.partial(
        _build_env, env, domain, adr, env_kwargs, external, history, privileged, dynamics_obs
    )


def make_vec_env(
    env: str,
    domain: str | Any | None = "nominal",
    n_envs: int = 1,
    seed: int = 0,
    *,
    vec_env: Literal["dummy", "subproc"] = "dummy",
    adr: Any | None = None,
    env_kwargs: dict[str, Any] | None = None,
    history: HistorySpec | None = None,
    privileged: bool = False,
    dynamics_obs: bool = False,
) -> VecEnv:
    """``n_envs`` Monitor-wrapped copies of ``env`` on ``domain``, seeded ``seed, seed+1, ...``.

    ``domain`` is a name for :func:`sim2real.randomization.load_domain` (``source``, ``nominal``,
    a target name, ``file.yaml:NAME``) or a ``Domain`` object; ``history`` feeds the policy
    past observations and actions (:class:`~sim2real.training.history.HistoryObservation`). No
    normalization is applied: see :func:`wrap_normalize` (with a history, VecNormalize keeps
    separate statistics for every entry of the input, past ones included: they converge to
    the current entry's, and the export bakes them in like any other input entry).
    ``dynamics_obs``: see :func:`make_env_fn`.
    """
    dom = resolve_domain(env, domain)
    cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    kwargs = {"start_method": "forkserver"} if cls is SubprocVecEnv else None
    return sb3_make_vec_env(
        make_env_fn(
            env, dom, adr, history, privileged, dynamics_obs=dynamics_obs, **(env_kwargs or {})
        ),
        n_envs=n_envs,
        seed=seed,
        vec_env_cls=cls,
        vec_env_kwargs=kwargs,
    )


def wrap_normalize(
    venv: VecEnv, *, training: bool, norm_reward: bool = True, gamma: float = 0.99
) -> VecNormalize:
    """SB3 ``VecNormalize`` on observations (and rewards while training)."""
    return VecNormalize(
        venv, training=training, norm_obs=True, norm_reward=norm_reward and training, gamma=gamma
    )


def load_vec_normalize(
    path: str | Path, venv: VecEnv | None = None, *, training: bool = False
) -> VecNormalize:
    """Load saved statistics (onto ``venv`` if given); corrupt files raise :class:`ModelFileError`."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            vn = pickle.load(f)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: normalization statistics not found") from None
    except Exception as exc:  # pickle raises many types on corrupt data
        raise ModelFileError(
            f"{path}: normalization statistics are corrupt or truncated ({type(exc).__name__})"
        ) from None
    if not isinstance(vn, VecNormalize):
        raise ModelFileError(f"{path}: not a VecNormalize file (got {type(vn).__name__})")
    if venv is not None:
        if venv.observation_space.shape != vn.observation_space.shape:
            raise ModelFileError(
                f"{path}: statistics are for observations of shape {vn.observation_space.shape}, "
                f"the env has {venv.observation_space.shape}"
            )
        vn.set_venv(venv)
    vn.training = training
    if not training:
        vn.norm_reward = False
    return vn


# ``_has_nonfinite`` computes 0 * inf on purpose: the warning is the condition it reports
warnings.filterwarnings(
    "ignore", "invalid value encountered in dot", RuntimeWarning, r"sim2real\.training\.vec_env"
)


def _has_nonfinite(value: np.ndarray) -> bool:
    """Whether a float array holds NaN or +-inf: one dot with zeros (``0 * inf`` is NaN)."""
    if value.dtype.kind != "f":
        return False  # integer and boolean arrays cannot hold NaN or inf
    flat = value.reshape(-1)
    return bool(flat.dot(np.zeros_like(flat)) != 0.0)  # NaN != 0: some entry is not finite


class FiniteCheck(VecCheckNan):
    """``VecCheckNan`` that raises a one-line :class:`PhysicsError` naming env and step.

    The hot path costs one numpy call per array (actions; observations, rewards); the
    per-entry NaN/inf report is built only when something is wrong.
    """

    def __init__(self, venv: VecEnv, env_name: str) -> None:
        super().__init__(venv, raise_exception=True)
        self.env_name = env_name
        self.steps = 0

    def step_async(self, actions: np.ndarray) -> None:
        if _has_nonfinite(np.asarray(actions)):
            self._check_val(event="step_async", actions=actions)
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        self.steps += self.num_envs
        observations, rewards, dones, infos = self.venv.step_wait()
        if (
            not isinstance(observations, np.ndarray)  # dict/tuple observations: the full check
            or _has_nonfinite(observations)
            or _has_nonfinite(rewards)
        ):
            self._check_val(event="step_wait", observations=observations, rewards=rewards)
        self._observations = observations
        return observations, rewards, dones, infos

    def _check_val(self, event: str, **kwargs: Any) -> None:
        bad = [
            f"{kind} in {label}"
            for name, value in kwargs.items()
            for label, arr in _float_arrays(name, value)
            for kind, found in (("NaN", np.isnan(arr).any()), ("inf", np.isinf(arr).any()))
            if found
        ]
        if not bad:
            return
        origin = "the policy (actions)" if event == "step_async" else "the environment"
        raise PhysicsError(
            f"{self.env_name}: {', '.join(bad)} from {origin} at training step {self.steps}; "
            "lower the learning rate or check the domain's parameter ranges"
        )


def _float_arrays(name: str, value: Any) -> list[tuple[str, np.ndarray]]:
    """The float arrays in a value (an array, or a dict or tuple of arrays), with their names."""
    if isinstance(value, dict):
        named = [(f"{name}.{k}", np.asarray(v)) for k, v in value.items()]
    elif isinstance(value, tuple):
        named = [(f"{name}.{i}", np.asarray(v)) for i, v in enumerate(value)]
    else:
        named = [(name, np.asarray(value))]
    return [(label, arr) for label, arr in named if arr.dtype.kind == "f"]


def make_training_env(config: ExperimentConfig, vec_normalize_file: Path | None = None) -> VecEnv:
    """The vec env a run trains on: ``config``'s env, domain and ADR, normalization, NaN guard.

    ``vec_normalize_file`` (a checkpoint's statistics) continues normalization where it was.
    """
    venv = make_vec_env(
        config.env,
        config.domain,
        config.n_envs,
        config.seed,
        vec_env=config.vec_env,
        adr=config.adr,
        history=history_spec_of(config),
        privileged=config.policy.privileged_critic,
        dynamics_obs=config.adaptation is not None,
    )
    if config.normalize and vec_normalize_file is not None:
        venv = load_vec_normalize(vec_normalize_file, venv, training=True)
    elif config.normalize:
        gamma = float(config.hyperparams.get("gamma", 0.99))
        venv = wrap_normalize(venv, training=True, norm_reward=config.normalize_reward, gamma=gamma)
    return FiniteCheck(venv, config.env)
