"""Phase 1's privileged input: the env's current dynamics parameters appended to the observation.

Each parameter entry is normalized so that nominal is 0: scale parameters (``is_scale``) as
``log(value)``, others as ``(value - nominal) / |nominal|`` (``value - nominal`` when nominal is
0), clipped to +-10. Only the policy in phase 1 and the phase-2 regression targets read it;
deployment never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from sim2real.envs.parameters import ParameterSpec
from sim2real.errors import ConfigError

__all__ = ["DynamicsObservation", "dynamics_names", "normalized_dynamics"]

_CLIP = 10.0


def dynamics_names(specs: Mapping[str, ParameterSpec]) -> list[str]:
    """``param`` or ``param.entity`` for each entry of :func:`normalized_dynamics`, in order."""
    return [
        f"dyn.{name}.{entity}" if spec.entities else f"dyn.{name}"
        for name, spec in specs.items()
        for entity in (spec.entities or ("",))
    ]


def normalized_dynamics(
    specs: Mapping[str, ParameterSpec], values: Mapping[str, np.ndarray]
) -> np.ndarray:
    """The parameter values as one float32 vector, 0 at nominal (see the module docstring)."""
    parts = []
    for name, spec in specs.items():
        value = np.asarray(values[name], dtype=np.float64).reshape(-1)
        nominal = spec.nominal.reshape(-1)
        if spec.is_scale:
            part = np.log(np.maximum(value, 1e-6))
        else:
            scale = np.where(np.abs(nominal) > 0, np.abs(nominal), 1.0)
            part = (value - nominal) / scale
        parts.append(part)
    out = np.concatenate(parts) if parts else np.zeros(0)
    return np.clip(out, -_CLIP, _CLIP).astype(np.float32)


class DynamicsObservation(gym.ObservationWrapper[Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Append the normalized current dynamics parameters to a flat ``Box`` observation.

    Wrap it outside the :class:`~sim2real.randomization.DomainRandomizationWrapper`, so the
    values read (``get_dynamics`` after each reset and step) are the ones just sampled. The
    last :attr:`n_dynamics` entries of the observation are the parameters.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape or ()) != 1:
            raise ValueError(f"adaptation needs a flat Box observation, got {space}")
        try:
            self.specs: dict[str, ParameterSpec] = dict(env.get_wrapper_attr("dynamics_specs")())
            self._get = env.get_wrapper_attr("get_dynamics")
        except AttributeError:
            self.specs = {}
        if not self.specs:
            raise ConfigError(
                f"adaptation: env {env.spec.id if env.spec else env} exposes no dynamics "
                "parameters to encode; use an env with parameters (see `sim2real envs`)"
            )
        self.names = dynamics_names(self.specs)
        self.n_dynamics = len(self.names)
        low = np.concatenate([space.low, np.full(self.n_dynamics, -_CLIP)]).astype(np.float32)
        high = np.concatenate([space.high, np.full(self.n_dynamics, _CLIP)]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        """The observation with the current dynamics appended."""
        dyn = normalized_dynamics(self.specs, self._get())
        return np.concatenate([np.asarray(observation, dtype=np.float32), dyn])
