"""``ENV:TARGET`` strings and the envs they stand for (domain applied, optional fixed overrides)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from sim2real.envs import make_env
from sim2real.errors import DomainError
from sim2real.randomization import DomainRandomizationWrapper, load_domain

__all__ = ["DynamicsOverride", "make_target_env", "parse_target"]


def parse_target(text: str, default_env: str | None = None) -> tuple[str, str]:
    """Split ``ENV:TARGET`` into ``(env, target)``; ``ENV`` alone means ``ENV:nominal``.

    ``TARGET`` may be ``source``, ``nominal``, a target of ``envs/<env>.yaml`` or
    ``path/to/file.yaml:NAME``; a bare ``:TARGET`` uses ``default_env`` (the policy's env).

    Raises:
        DomainError: empty env with no default.
    """
    from sim2real.envs.external import split_env_target

    # ENV may be module:Class, TARGET file.yaml:NAME; ENV alone means ENV:nominal
    env, which = split_env_target(text.strip()) if ":" in text else (text, "")
    env, which = env.strip(), which.strip() or "nominal"
    if not env:
        if default_env is None:
            raise DomainError(
                f"target {text!r} names no env; write ENV:TARGET, e.g. cartpole:heavy_pole"
            )
        env = default_env
    return env, which


class DynamicsOverride(gym.Wrapper[Any, Any, Any, Any]):
    """Hold some dynamics parameters at fixed values (a sweep point) on top of the domain.

    The values are set before the inner reset (so the initial state sees them) and again after
    it (so a domain wrapper that also draws them cannot undo the override).
    """

    def __init__(self, env: gym.Env, values: Mapping[str, Any] | None = None) -> None:
        super().__init__(env)
        self.values: dict[str, Any] = dict(values or {})

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset with the override applied."""
        if self.values and hasattr(self.env.unwrapped, "set_dynamics"):
            self.env.unwrapped.set_dynamics(self.values)
        obs, info = self.env.reset(seed=seed, options=options)
        if self.values:  # through a dynamics adapter for third-party envs
            self.env.get_wrapper_attr("set_dynamics")(self.values)
        return obs, info


def make_target_env(
    env: str,
    target: str = "nominal",
    *,
    overrides: Mapping[str, Any] | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """``env`` with the ``target`` domain applied (and ``overrides`` fixed on top).

    Raises:
        UnknownEnvError, DomainError, ParameterError: one line naming what is wrong.
    """

    domain = load_domain(env, target)
    base = make_env(env, render_mode=render_mode)
    wrapped: gym.Env = DomainRandomizationWrapper(base, domain)
    return DynamicsOverride(wrapped, overrides) if overrides else wrapped
