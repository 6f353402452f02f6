"""Env factory: ``sim2real`` env + domain (randomization) wrapper + Monitor + VecEnv + VecNormalize.

Also the NaN/inf guard: SB3's ``VecCheckNan`` with a one-line :class:`PhysicsError` naming the
env and the step, so a diverging simulation stops training with a clear message.
"""

from __future__ import annotations

import functools
import pickle
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

from sim2real.errors import DomainError, ModelFileError, PhysicsError

__all__ = [
    "FiniteCheck",
    "load_vec_normalize",
    "make_env_fn",
    "make_vec_env",
    "randomization_available",
    "resolve_domain",
    "wrap_normalize",
]


def randomization_available() -> bool:
    """Whether ``sim2real.randomization`` (domains, wrapper) is importable."""
    try:
        from sim2real.randomization import DomainRandomizationWrapper, load_domain  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_domain(env: str, which: str | Any | None) -> Any | None:
    """The domain object for ``which`` (a name or a ready ``Domain``); ``None`` for nominal dynamics."""
    if which is None or (isinstance(which, str) and which == "nominal"):
        return None
    if not isinstance(which, str):
        return which
    if not randomization_available():
        raise DomainError(
            f"domain {which!r} needs sim2real.randomization, which is not available; "
            "use domain: nominal"
        )
    from sim2real.randomization import load_domain

    return load_domain(env, which)


def _build_env(
    env: str, domain: Any | None, adr: Any | None, env_kwargs: dict[str, Any]
) -> gym.Env:
    import sim2real.envs  # noqa: F401  (registers the ids in a subprocess too)
    from sim2real.envs.registry import make_env

    e = make_env(env, **env_kwargs)
    if domain is not None or adr is not None:
        from sim2real.randomization import DomainRandomizationWrapper

        e = DomainRandomizationWrapper(e, domain, adr=adr)
    return e


def make_env_fn(
    env: str, domain: Any | None = None, adr: Any | None = None, **env_kwargs: Any
) -> functools.partial[gym.Env]:
    """A picklable zero-argument constructor of one (randomized) env."""
    return functools.partial(_build_env, env, domain, adr, env_kwargs)


def make_vec_env(
    env: str,
    domain: str | Any | None = "nominal",
    n_envs: int = 1,
    seed: int = 0,
    *,
    vec_env: Literal["dummy", "subproc"] = "dummy",
    adr: Any | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> VecEnv:
    """``n_envs`` Monitor-wrapped copies of ``env`` on ``domain``, seeded ``seed, seed+1, ...``.

    ``domain`` is a name for :func:`sim2real.randomization.load_domain` (``source``, ``nominal``,
    a target name, ``file.yaml:NAME``) or a ``Domain`` object. No normalization is applied: see
    :func:`wrap_normalize`.
    """
    dom = resolve_domain(env, domain)
    cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    kwargs = {"start_method": "forkserver"} if cls is SubprocVecEnv else None
    return sb3_make_vec_env(
        make_env_fn(env, dom, adr, **(env_kwargs or {})),
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


class FiniteCheck(VecCheckNan):
    """``VecCheckNan`` that raises a one-line :class:`PhysicsError` naming env and step."""

    def __init__(self, venv: VecEnv, env_name: str) -> None:
        super().__init__(venv, raise_exception=True)
        self.env_name = env_name
        self.steps = 0

    def step_wait(self) -> Any:
        self.steps += self.num_envs
        return super().step_wait()

    def _check_val(self, event: str, **kwargs: Any) -> None:
        if all(
            np.isfinite(v).all() for v in kwargs.values() if isinstance(v, np.ndarray)
        ):  # one cheap pass per array on the hot path; details only on failure
            return
        bad = [
            f"{kind} in {name}"
            for name, value in kwargs.items()
            if isinstance(value, np.ndarray)
            for kind, found in (("NaN", np.isnan(value).any()), ("inf", np.isinf(value).any()))
            if found
        ]
        if not bad:
            return
        origin = "the policy (actions)" if event == "step_async" else "the environment"
        raise PhysicsError(
            f"{self.env_name}: {', '.join(bad)} from {origin} at training step {self.steps}; "
            "lower the learning rate or check the domain's parameter ranges"
        )
