"""Any policy as an ``Agent``: a run directory, an SB3 ``.zip`` or an exported artifact folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from gymnasium import spaces

from sim2real.controller.artifact import METADATA_FILE
from sim2real.controller.history import HistoryBuffer
from sim2real.zoo import resolve_location

if TYPE_CHECKING:  # the training package imports evaluation (its eval callback)
    from sim2real.training.loading import LoadedPolicy

__all__ = ["Agent", "ArtifactAgent", "LoadedPolicyNames", "SB3Agent", "load_agent"]


class Agent(Protocol):
    """What evaluation needs: a deterministic ``act(obs)``, ``reset()`` and provenance."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def env(self) -> str | None: ...

    @property
    def obs_shape(self) -> tuple[int, ...]: ...

    @property
    def action_shape(self) -> tuple[int, ...]: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


class LoadedPolicyNames:
    """``name``, ``env`` and ``run_path`` of an agent over a loaded SB3 policy (its
    ``policy: LoadedPolicy`` and ``label: str | None`` fields)."""

    policy: LoadedPolicy
    label: str | None

    @property
    def name(self) -> str:
        """The label, else the policy's name (run folder or model file stem)."""
        return self.label or self.policy.name

    @property
    def env(self) -> str | None:
        """The env the policy was trained on, if known."""
        return self.policy.env

    @property
    def run_path(self) -> Path | None:
        """The run directory the policy belongs to, ``None`` outside a run."""
        return self.policy.run_dir


@dataclass
class SB3Agent(LoadedPolicyNames):
    """A loaded SB3 policy acting like at evaluation: ``predict(normalize_obs(obs))``.

    Actions are deterministic unless ``deterministic`` is off; ``label`` replaces the policy's
    default name. A policy trained with an observation history keeps it here (the same
    :class:`~sim2real.controller.history.HistoryBuffer` as training's wrapper and the
    controller): it acts on the env's own observations, like an exported policy.
    """

    policy: LoadedPolicy
    deterministic: bool = True
    label: str | None = None
    kind: str = "sb3"
    _history: HistoryBuffer | None = field(init=False, default=None, repr=False)
    _critic_only: dict[str, np.ndarray] = field(init=False, default_factory=dict, repr=False)
    _actor_space: Any = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        space = self.policy.model.observation_space
        if isinstance(space, spaces.Dict):  # a privileged critic's inputs: zeros, never read
            self._critic_only = {  # by the actor (the critic is not needed to act)
                k: np.zeros(sub.shape or (), np.float32)
                for k, sub in space.items()
                if k != "observation"
            }
            space = space["observation"]
        self._actor_space = space
        spec = self.policy.history
        if spec is not None:
            n_act = int(np.prod(self.policy.model.action_space.shape or (1,)))
            n_input = int(np.prod(space.shape or (1,)))
            n_obs = (n_input - spec.length * (n_act if spec.actions else 0)) // (spec.length + 1)
            self._history = HistoryBuffer(spec, n_obs, n_act)

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Observation shape the agent takes (the env's; without the history it keeps)."""
        if self._history is not None:
            return (self._history.n_obs,)
        return tuple(self._actor_space.shape or ())

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Action shape the model produces."""
        return tuple(self.policy.model.action_space.shape or ())

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action (unless ``deterministic`` is off)."""
        vn = self.policy.vec_normalize
        if self._history is not None:
            obs = self._history.observe(np.asarray(obs, np.float32)).copy()
        model_input: Any = obs
        if self._critic_only:
            model_input = {"observation": obs, **self._critic_only}
        x = vn.normalize_obs(model_input) if vn is not None else model_input
        action = self.policy.model.predict(x, deterministic=self.deterministic)[0]
        if self._history is not None:
            self._history.record(action)
        return action

    def reset(self) -> None:
        """Start an episode (clears the observation history, if any)."""
        if self._history is not None:
            self._history.clear()


@dataclass
class ArtifactAgent:
    """An exported policy run by the robot-side :class:`~sim2real.controller.PolicyController`."""

    controller: Any
    name: str
    env: str | None
    kind: str = "artifact"

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Observation shape the controller expects."""
        return tuple(self.controller.obs_shape)

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Action shape the controller produces."""
        return (len(self.controller.action_names),)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Guarded action (numpy backend by default)."""
        return self.controller.act(np.asarray(obs, dtype=np.float32))

    def reset(self) -> None:
        """Reset the controller's rate limit / hold-last state."""
        self.controller.reset()


def is_artifact(path: Path) -> bool:
    """True for an exported policy folder (or a file inside one)."""
    folder = path if path.is_dir() else path.parent
    return (folder / METADATA_FILE).is_file()


def load_agent(policy: str | Path, *, backend: str = "numpy", device: str = "cpu") -> Agent:
    """Load a run directory / ``.zip`` (via ``load_policy``) or an exported artifact folder.

    Raises:
        ModelFileError: missing or corrupt files.
    """
    path = resolve_location(policy)
    if is_artifact(path):
        from sim2real.controller import PolicyController
        from sim2real.envs.settings import register_recorded_env

        ctrl = PolicyController.load(path, backend=backend)  # type: ignore[arg-type]
        folder = Path(ctrl.metadata["_dir"])
        source = ctrl.metadata["source"]
        register_recorded_env(source)  # gym_packages, env_kwargs
        return ArtifactAgent(ctrl, folder.name, source.get("env"))
    from sim2real.training import load_policy

    loaded = load_policy(path, device=device)
    from sim2real.adaptation.networks import RMAPolicy

    if isinstance(loaded.model.policy, RMAPolicy):  # policy + adaptation module, never the truth
        from sim2real.adaptation.agent import AdaptedAgent

        return AdaptedAgent(loaded)
    return SB3Agent(loaded)
