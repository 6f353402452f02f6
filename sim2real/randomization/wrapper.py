"""The Gymnasium wrapper that applies a domain: sampled dynamics, pushes, action noise, ADR.

Works on any env exposing the dynamics interface (``dynamics_specs``, ``set_dynamics`` and a
``robot`` body-dynamics object with ``links``, ``link_names`` and ``push(link, force)`` for pushes,
e.g. :class:`~sim2real.envs.body_dynamics.BodyDynamics` or the MuJoCo one): every ``sim2real`` env,
and third-party PyBullet envs through :mod:`sim2real.randomization.adapters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from sim2real.errors import DomainError
from sim2real.randomization.adr import ADRBinding, ADRConfig, ADRState
from sim2real.randomization.domain import Domain
from sim2real.randomization.sampler import DomainSampler, plain_values

__all__ = ["DomainRandomizationWrapper"]

_OBS_PARAMS = frozenset({"obs_noise_std", "obs_bias"})
_AXIS = {"x": 0, "y": 1, "z": 2}


class DomainRandomizationWrapper(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Sample ``domain`` from the env's ``np_random`` at each reset and apply it.

    * Parameters are drawn after the inner reset (so the env's own seeding comes first) and set
      with one ``set_dynamics`` call; ``interval`` terms are redrawn every k steps.
    * ``info["domain"]`` holds the applied values on reset and on the last step of an episode
      (``{param: value}`` or ``{param: {entity: value}}``).
    * Pushes apply an external force to a link for ``duration`` steps every ``interval`` steps
      (``info["push"]`` holds the force when one starts); action noise is added before the
      env clips actions.
    * With ``adr``, the :class:`~sim2real.randomization.adr.ADRConfig` parameters are drawn from
      ADR ranges (overriding the domain's terms for them); boundary-pinned episodes report
      ``info["adr"] = {key, boundary, value, return}`` on their last step for ``ADRCallback``.

    Same seed -> same sequence of domains. A fixed target is a domain without randomness.
    The wrapper owns the parameters of its domain: constants are applied at the first reset
    only, so do not change those parameters behind its back.

    Args:
        env: an env with the dynamics interface (possibly wrapped).
        domain: the domain (``None``: nominal dynamics, e.g. ADR only).
        adr: ADR settings, or ``None``.
    """

    def __init__(
        self,
        env: gym.Env,
        domain: Domain | None = None,
        adr: ADRConfig | Mapping[str, Any] | None = None,
    ) -> None:
        if domain is not None and not isinstance(domain, Domain):
            raise TypeError(
                f"domain must be a Domain (see sim2real.randomization.load_domain), "
                f"got {type(domain).__name__}"
            )
        if adr is not None and not isinstance(adr, ADRConfig):
            adr = ADRConfig.model_validate(adr)
        gym.utils.RecordConstructorArgs.__init__(self, domain=domain, adr=adr)
        super().__init__(env)
        self.domain = domain if domain is not None else Domain(name="nominal")
        self.adr_config = adr
        self._sampler: DomainSampler | None = None
        self._adr_binding: ADRBinding | None = None
        self._adr: ADRState | None = None
        self._pending_ranges: dict[str, list[float]] | None = None
        self._rng: np.random.Generator = np.random.default_rng()
        self._values: dict[str, np.ndarray] = {}
        self._step = 0
        self._return = 0.0
        self._pinned: tuple[str, str, float] | None = None
        noise = self.domain.action_noise
        self._noise_std = noise.std if noise is not None else 0.0
        self._push_cfg = self.domain.pushes
        self._push_next = 0
        self._push_left = 0
        self._push_force = np.zeros(3)

    # ------------------------------------------------------------------ binding
    def _bind(self) -> None:
        getter = self.env.get_wrapper_attr
        specs = getter("dynamics_specs")()
        self._specs = specs
        self._set_dynamics = getter("set_dynamics")
        self._sampler = DomainSampler(self.domain, specs)
        self._has_interval = bool(self._sampler.interval_terms)
        if self.adr_config is not None:
            self._adr_binding = ADRBinding(self.adr_config, specs)
            self._adr = ADRState(self.adr_config, self._adr_binding.init)
            if self._pending_ranges is not None:
                self.set_adr_ranges(self._pending_ranges)
        if self._push_cfg is not None:
            self._bind_pushes(getter("robot"))
        touched = set(self.domain.parameters)
        if self._adr_binding is not None:
            touched |= {spec.name for _, spec, _, _ in self._adr_binding.items}
        self._reobserve = bool(touched & _OBS_PARAMS)

    def _bind_pushes(self, robot: Any) -> None:
        cfg = self._push_cfg
        assert cfg is not None
        if cfg.link is None:
            link = robot.links[0]
        elif cfg.link in robot.link_names:
            link = robot.links[robot.link_names.index(cfg.link)]
        else:
            raise DomainError(
                f"domain {self.domain.name}: pushes.link: unknown link {cfg.link!r}; choose from "
                f"{', '.join(robot.link_names)}"
            )
        self._push_robot, self._push_link = robot, link
        self._push_axes = [_AXIS[a] for a in cfg.axes]

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env, then draw and apply this episode's dynamics.

        A seeded reset fully determines the episode, whatever ran before: the observation
        noise/bias this wrapper randomizes is cleared before the inner reset (the previous
        episode's noise would otherwise draw from ``np_random`` ahead of this episode's values)
        and re-applied, with the reset observation recomputed, once they are drawn.
        """
        if self._values and self._reobserve:
            self._clear_observation_noise()
        obs, info = self.env.reset(seed=seed, options=options)
        if self._sampler is None:
            self._bind()
        assert self._sampler is not None
        rng = self._rng = self.env.np_random
        values = self._sampler.sample_reset(rng)
        self._pinned = None
        if self._adr is not None and self._adr_binding is not None:
            xs, pinned = self._adr.sample(rng)
            values = dict(values)
            self._adr_binding.apply(values, xs)
            if pinned is not None:
                self._pinned = (pinned[0], pinned[1], xs[pinned[0]])
        changed = {k: v for k, v in values.items() if self._values.get(k) is not v}
        if changed:  # constants (same array object every episode) are applied only once
            self._set_dynamics(changed)
            if self._reobserve and not _OBS_PARAMS.isdisjoint(changed):
                # the reset observation must carry this episode's new noise/bias
                obs = self.env.get_wrapper_attr("observe_reset")()
        self._values = values
        self._step = 0
        self._return = 0.0
        if self._push_cfg is not None:
            self._push_next = int(rng.integers(self._push_cfg.interval))
            self._push_left = 0
        info["domain"] = plain_values(values, self._specs)
        return obs, info

    def _clear_observation_noise(self) -> None:
        """Zero the observation parameters this wrapper draws; the next reset re-applies them."""
        mine = [name for name in _OBS_PARAMS if name in self._values]
        self._set_dynamics({name: np.zeros_like(self._values[name]) for name in sorted(mine)})
        for name in mine:
            del self._values[name]

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step with action noise and pushes; redraw ``interval`` terms when due."""
        if self._noise_std:
            action = np.asarray(action, dtype=np.float64)
            action = action + self._noise_std * self._rng.standard_normal(action.shape)
        push = self._push() if self._push_cfg is not None else None
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._step += 1
        self._return += float(reward)
        if push is not None:
            info["push"] = push
        if self._has_interval:
            assert self._sampler is not None
            due = self._sampler.sample_step(self._rng, self._step)
            if due:
                self._values = {**self._values, **due}
                self._set_dynamics(due)
        if terminated or truncated:
            info["domain"] = plain_values(self._values, self._specs)
            if self._pinned is not None:
                key, boundary, value = self._pinned
                info["adr"] = {
                    "key": key,
                    "boundary": boundary,
                    "value": value,
                    "return": self._return,
                }
        return obs, reward, terminated, truncated, info

    def _push(self) -> list[float] | None:
        """Apply the current push (if any); return the force when a new push starts."""
        cfg = self._push_cfg
        assert cfg is not None
        started = None
        if self._step == self._push_next:
            self._push_next += cfg.interval
            direction = np.zeros(3)
            if len(self._push_axes) == 1:
                direction[self._push_axes[0]] = 1.0 if self._rng.random() < 0.5 else -1.0
            else:
                d = self._rng.standard_normal(len(self._push_axes))
                direction[self._push_axes] = d / max(float(np.linalg.norm(d)), 1e-12)
            self._push_force = direction * float(cfg.force.sample(self._rng))
            self._push_left = cfg.duration
            started = self._push_force.tolist()
        if self._push_left > 0:
            self._push_left -= 1
            self._push_robot.push(self._push_link, self._push_force.tolist())
        return started

    # ------------------------------------------------------------------ ADR sync (VecEnv-safe)
    def adr_init(self) -> dict[str, float]:
        """Nominal starting value of each ADR key (binds to the env if needed)."""
        if self._sampler is None:
            self._bind()
        if self._adr_binding is None:
            raise DomainError("this env has no ADR config; pass adr=... to the wrapper")
        return dict(self._adr_binding.init)

    def set_adr_ranges(self, ranges: Mapping[str, list[float]]) -> None:
        """Replace the ADR ranges this env samples from (called by ``ADRCallback``)."""
        if self._adr is None:
            self._pending_ranges = {k: list(v) for k, v in ranges.items()}
            return
        for key, (lo, hi) in ranges.items():
            if key in self._adr.ranges:
                self._adr.ranges[key] = [float(lo), float(hi)]

    def adr_ranges(self) -> dict[str, list[float]]:
        """Current ADR ranges of this env (empty without ADR)."""
        return {} if self._adr is None else {k: list(v) for k, v in self._adr.ranges.items()}

    @property
    def domain_values(self) -> dict[str, Any]:
        """The values applied for the current episode (as in ``info["domain"]``)."""
        return plain_values(self._values, self._specs) if self._sampler is not None else {}
