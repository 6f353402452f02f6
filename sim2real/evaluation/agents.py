"""Any policy as an ``Agent``: a run directory, an SB3 ``.zip`` or an exported artifact folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sim2real.controller.artifact import METADATA_FILE

__all__ = ["Agent", "ArtifactAgent", "SB3Agent", "load_agent"]


class Agent(Protocol):
    """What evaluation needs: a deterministic ``act(obs)``, ``reset()`` and provenance."""

    name: str
    kind: str
    env: str | None

    @property
    def obs_shape(self) -> tuple[int, ...]: ...

    @property
    def action_shape(self) -> tuple[int, ...]: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


@dataclass
class SB3Agent:
    """An SB3 model acting like at evaluation: ``predict(normalize_obs(obs), deterministic=True)``."""

    model: Any
    vec_normalize: Any | None
    name: str
    env: str | None
    run_path: Path | None = None
    kind: str = "sb3"
    deterministic: bool = True

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Observation shape the model expects."""
        return tuple(self.model.observation_space.shape)

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Action shape the model produces."""
        return tuple(self.model.action_space.shape)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action (unless ``deterministic`` is off)."""
        x = self.vec_normalize.normalize_obs(obs) if self.vec_normalize is not None else obs
        return self.model.predict(x, deterministic=self.deterministic)[0]

    def reset(self) -> None:
        """Stateless."""


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
    """Load a run directory / ``.zip`` (via ``load_run``) or an exported artifact folder.

    Raises:
        ModelFileError: missing or corrupt files.
    """
    path = Path(policy)
    if is_artifact(path):
        from sim2real.controller import PolicyController

        ctrl = PolicyController.load(path, backend=backend)  # type: ignore[arg-type]
        folder = Path(ctrl.metadata["_dir"])
        return ArtifactAgent(ctrl, folder.name, ctrl.metadata["source"].get("env"))
    from sim2real.training import RunDir, load_run

    run = load_run(path, device=device)
    name = path.name if path.is_dir() else path.stem
    run_path = run.path if RunDir(run.path).is_run() else None
    return SB3Agent(run.model, run.vec_normalize, name, run.env_name, run_path)
