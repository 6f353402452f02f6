"""What an export starts from: a run directory, an SB3 ``.zip`` or an in-memory SB3 model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim2real.errors import ModelFileError

__all__ = ["PolicySource", "resolve_source"]


@dataclass
class PolicySource:
    """A loaded SB3 model with its normalization and provenance."""

    model: Any
    vec_normalize: Any | None
    algorithm: str
    env: str | None
    domain: str | None
    path: Path | None
    model_file: Path | None = None

    @property
    def name(self) -> str:
        """A default name for the exported policy (run folder or model file stem)."""
        if self.path is None:
            return f"{self.algorithm}-policy"
        return self.path.name if self.path.is_dir() else self.path.stem


def _algorithm_name(model: Any) -> str:
    return type(model).__name__.lower()


def resolve_source(
    source: Any,
    *,
    vec_normalize: Any | None = None,
    env: str | None = None,
    domain: str | None = None,
    best: bool = False,
) -> PolicySource:
    """Load ``source`` (run dir, ``.zip`` path, or SB3 ``BaseAlgorithm``) with ``load_run``.

    ``vec_normalize``, ``env`` and ``domain`` fill in what a bare model does not record;
    ``best`` picks a run directory's ``best_model.zip``.

    Raises:
        ModelFileError: missing or corrupt files.
    """
    from stable_baselines3.common.base_class import BaseAlgorithm

    if isinstance(source, BaseAlgorithm):
        return PolicySource(source, vec_normalize, _algorithm_name(source), env, domain, None)
    if not isinstance(source, (str, Path)):
        raise TypeError(f"source must be a path or an SB3 model, not {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise ModelFileError(f"{path}: no such run directory or model file")
    from sim2real.training import RunDir, load_run

    run = load_run(path, best=best)
    config = run.config
    vn = vec_normalize if vec_normalize is not None else run.vec_normalize
    if isinstance(vn, (str, Path)):
        from sim2real.training import load_vec_normalize

        vn = load_vec_normalize(vn)
    return PolicySource(
        model=run.model,
        vec_normalize=vn,
        algorithm=config.algo if config is not None else _algorithm_name(run.model),
        env=env or run.env_name,
        domain=domain or (config.domain if config is not None else None),
        path=path,
        model_file=RunDir(path).model_file(best) if path.is_dir() else path,
    )
