"""Project exceptions: every user-facing failure is a :class:`Sim2RealError` with a one-line message.

The library raises these; the CLI turns them into one line on stderr and exit status 2.
Messages say what is wrong *and* how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DatasetError",
    "DomainError",
    "ModelFileError",
    "ParameterError",
    "PhysicsError",
    "Sim2RealError",
    "SpaceMismatchError",
    "UnknownEnvError",
]


class Sim2RealError(Exception):
    """Base class of all sim2real errors meant for the user (one-line message, exit status 2)."""


class ConfigError(Sim2RealError, ValueError):
    """An experiment config is invalid (names the file, the key and the problem)."""


class DatasetError(Sim2RealError, ValueError):
    """A rollout dataset is unreadable or does not fit the env (names, shapes, NaN)."""


class DomainError(Sim2RealError, ValueError):
    """A domain description (source randomization or target shift) is invalid."""


class UnknownEnvError(Sim2RealError, KeyError):
    """An environment id or short name is not registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(Sim2RealError, ValueError):
    """A dynamics parameter is unknown or its value is outside the physically valid range."""


class PhysicsError(Sim2RealError, RuntimeError):
    """The physics produced NaN/inf (names the env and the step)."""


class ModelFileError(Sim2RealError, OSError):
    """A model, checkpoint or artifact file is missing, corrupt, truncated or tampered with."""


class CheckpointError(ModelFileError):
    """A checkpoint cannot be resumed (corrupt, missing, or its config no longer matches)."""


class SpaceMismatchError(Sim2RealError, ValueError):
    """Observation/action spaces of source and target differ (says what differs and the fix)."""
