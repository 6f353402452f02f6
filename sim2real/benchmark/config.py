"""``BenchmarkConfig``: what a transfer benchmark compares, on which target, with which budget.

A benchmark trains the arm ``scratch`` (a fresh model on the target) and each named transfer arm
(the source policy transferred with a :class:`~sim2real.transfer.TransferSpec`) with identical
target budgets, evaluation schedules and seeds, then compares them (``sim2real.metrics``).
YAML with literal values only; ``--set a.b=value`` overrides; errors name the file and the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim2real.config import MAX_SEED, StrictModel, find_config_file, load_model
from sim2real.errors import Sim2RealError
from sim2real.identification.arm import ARM as IDENTIFY
from sim2real.identification.arm import IdentifyArmSpec
from sim2real.randomization import load_domain
from sim2real.resources import data_dir
from sim2real.transfer.spec import TransferSpec

__all__ = [
    "SCRATCH",
    "BenchEvalConfig",
    "BenchmarkConfig",
    "MetricsConfig",
    "SourceConfig",
    "config_hash",
    "load_benchmark_config",
]

SCRATCH = "scratch"

MAX_SEEDS = 1000
"""Largest number of seeds of a benchmark."""
MAX_WORKERS = 1024
"""Largest number of parallel runs."""
MAX_BUDGET = 10**10
"""Largest target budget (environment steps per run)."""


class SourceConfig(StrictModel):
    """The pretrained source policy: an existing run, or a pretrain config (cached by hash)."""

    run: str | None = None
    """Run directory of a finished pretraining (or a name under ``policies/``)."""
    pretrain: str | None = None
    """Experiment config (path or name in ``configs/``) to pretrain the source; the run is
    cached under ``<cache_dir>/<config hash>`` so a second benchmark reuses it."""
    pretrain_set: list[str] = Field(default_factory=list)
    """``--set`` style overrides applied to the ``pretrain`` config."""
    steps: int | None = Field(None, ge=0)
    """Source pretraining samples (for the ``*_with_source`` metrics); default: read from the
    run's ``summary.json``."""

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        if (self.run is None) == (self.pretrain is None):
            raise ValueError("give exactly one of source.run or source.pretrain")
        return self


class BenchEvalConfig(StrictModel):
    """The evaluation schedule shared by every arm."""

    every: int = Field(1000, ge=1, le=MAX_BUDGET)
    """Evaluate every this many target environment steps (and at step 0)."""
    episodes: int = Field(5, ge=1, le=100_000)
    """Deterministic episodes per evaluation."""
    zero_shot_episodes: int = Field(10, ge=1, le=100_000)
    """Episodes of the zero-shot evaluation of the source policy on the target."""


class MetricsConfig(StrictModel):
    """How the metrics are computed (see :class:`sim2real.metrics.MetricOptions`)."""

    threshold: float | None = Field(None, allow_inf_nan=False)
    """Absolute return threshold for time-to-threshold; null derives it from scratch."""
    threshold_fraction: float = Field(0.8, gt=0, le=1)
    """Fraction of scratch's final return (or of its gain, see ``threshold_reference``)."""
    threshold_reference: Literal["final", "gain"] = "final"
    """``final``: fraction x final; ``gain``: initial + fraction x (final - initial)."""
    last_k: int = Field(3, ge=1)
    """Asymptotic performance = mean of the last k evaluations."""
    auc_reference: Literal["zero", "scratch_initial"] = "zero"
    """Measure AUCs above 0 or above scratch's initial return (for negative returns)."""
    aggregate: Literal["mean", "iqm", "median"] = "iqm"
    """Seed aggregate (rliable recommends the interquartile mean)."""
    n_boot: int = Field(2000, ge=100, le=1_000_000)
    """Bootstrap replicates."""
    confidence: float = Field(0.95, gt=0, lt=1)
    """Confidence level of the intervals."""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Seed of the bootstrap resampling."""


class BenchmarkConfig(StrictModel):
    """A transfer benchmark: scratch vs transfer arms on one target domain, over seeds."""

    benchmark: str = "benchmark"
    """Name (used in the default output folder)."""
    env: str
    """Env short name or Gymnasium id: the source's env."""
    target: str
    """Target domain: a name from ``envs/<env>.yaml`` or ``file.yaml:NAME``."""
    target_env: str | None = None
    """The env the target lives in, if not ``env``: the same robot in another engine (e.g.
    ``hopper@mujoco`` for ``env: hopper``, a sim2sim benchmark: the source stays on PyBullet,
    every arm trains and is evaluated on the MuJoCo twin). Null: ``env``."""
    source: SourceConfig
    """Where the source policy comes from."""
    train: dict[str, Any] = Field(default_factory=dict)
    """Experiment-config overrides for target training (all arms), applied on top of the
    source run's config (same algorithm, hyperparameters and network by default)."""
    arms: dict[str, TransferSpec] = Field(default_factory=dict)
    """Transfer arms: name -> transfer spec (``sim2real.transfer.TransferSpec`` fields)."""
    identify: IdentifyArmSpec | None = None
    """The ``identify`` arm: record target episodes with the source policy, fit the dynamics,
    fine-tune in simulation on the fit, then on the target (recorded steps count in its
    budget); null: not run. See docs/identification.md."""
    budget: int = Field(20_000, ge=1, le=MAX_BUDGET)
    """Target environment steps per run (every arm; at most ``MAX_BUDGET``)."""
    eval: BenchEvalConfig = Field(default_factory=lambda: BenchEvalConfig.model_validate({}))
    """Evaluation schedule on the target."""
    seeds: list[int] = Field(default_factory=lambda: list(range(5)))
    """Seeds (each arm runs every seed); an integer N means ``0..N-1``."""
    metrics: MetricsConfig = Field(default_factory=lambda: MetricsConfig.model_validate({}))
    """Metric and statistics settings."""
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS)
    """Parallel runs (processes or Ray tasks); null: the number of CPU cores."""
    backend: Literal["local", "ray"] = "local"
    """``local`` process pool or ``ray`` tasks (``ray`` extra)."""
    ray_address: str | None = None
    """Ray cluster address (null: ``RAY_ADDRESS`` or a local cluster)."""
    cache_dir: str = "runs/cache"
    """Where pretrained sources are cached by config hash."""

    @model_validator(mode="before")
    @classmethod
    def _register_env(cls, data: Any) -> Any:
        """A third-party env's settings (``train:`` or the source's config) before the target."""
        from sim2real.envs.settings import register_env_settings

        register_env_settings(data)
        return data

    @field_validator("target")
    @classmethod
    def _find_domain_file(cls, v: str) -> str:
        """``file.yaml:NAME`` with a relative file not found from the working directory is
        looked up in ``configs/`` and ``envs/`` (so shipped benchmarks run from anywhere)."""
        path, sep, name = v.rpartition(":")
        if not sep or not path.endswith((".yaml", ".yml")) or Path(path).is_file():
            return v
        for kind in ("configs", "envs"):
            candidate = data_dir(kind) / path
            if candidate.is_file():
                return f"{candidate}:{name}"
        raise ValueError(
            f"domain file {path!r} not found (relative to the working directory, configs/ or envs/)"
        )

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            if not 1 <= v <= MAX_SEEDS:
                raise ValueError(f"seeds must be from 1 to {MAX_SEEDS}")
            return list(range(v))
        return v

    @field_validator("seeds")
    @classmethod
    def _unique(cls, v: list[int]) -> list[int]:
        if len(v) > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds")
        if not v or len(set(v)) != len(v) or min(v) < 0 or max(v) > MAX_SEED:
            raise ValueError(f"seeds must be distinct integers from 0 to {MAX_SEED}, got {v}")
        return v

    @field_validator("arms", mode="before")
    @classmethod
    def _arm_names(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        if SCRATCH in v:
            raise ValueError(f"'{SCRATCH}' is always run; do not list it under arms")
        if IDENTIFY in v:
            raise ValueError(f"'{IDENTIFY}' is configured under identify:, not under arms")
        if not v:
            raise ValueError("list at least one transfer arm (name: transfer spec)")
        for name in v:
            if not str(name).replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"arm name {name!r}: use letters, digits, '_' and '-'")
        return {name: spec or {} for name, spec in v.items()}

    @field_validator("arms")
    @classmethod
    def _same_budget(cls, v: dict[str, TransferSpec]) -> dict[str, TransferSpec]:
        for name, spec in v.items():
            if spec.early_stopping is not None:
                raise ValueError(
                    f"arm {name!r}: early_stopping would end runs before the budget; a benchmark "
                    "compares identical budgets, so remove it"
                )
        return v

    def arm_spec(self, arm: str) -> dict[str, Any]:
        """The transfer spec of ``arm`` as written in the config (keys given, YAML names)."""
        if arm == IDENTIFY and self.identify is not None:
            return self.identify.model_dump(mode="json")
        return self.arms[arm].model_dump(mode="json", by_alias=True, exclude_unset=True)

    @model_validator(mode="after")
    def _identify_budget(self) -> BenchmarkConfig:
        if self.identify is not None:
            from sim2real.errors import ConfigError
            from sim2real.identification.arm import check_arm_budget

            try:
                check_arm_budget(self.identify, self.arm_env, self.budget)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return self

    @model_validator(mode="after")
    def _known_target(self) -> BenchmarkConfig:
        """The target domain exists and is valid (found now, not after the source is built)."""

        try:
            load_domain(self.arm_env, self.target)
        except (Sim2RealError, KeyError) as exc:
            raise ValueError(f"target: {exc}") from None
        return self

    @field_validator("target_env")
    @classmethod
    def _twin(cls, v: str | None, info: ValidationInfo) -> str | None:
        """``target_env`` is a registered env of the same robot as ``env``."""
        env = info.data.get("env")
        if v is None or env is None:
            return v
        from sim2real.envs import resolve_env

        try:
            twin, own = resolve_env(v), resolve_env(env)
        except Sim2RealError as exc:
            raise ValueError(str(exc)) from None
        if twin.domains != own.domains:
            raise ValueError(
                f"{v!r} is not the robot of env {env!r} (give its twin in another engine, "
                f"e.g. {own.domains}@mujoco)"
            )
        return twin.name

    @property
    def arm_env(self) -> str:
        """The env every arm trains and is evaluated on: ``target_env``, else ``env``."""
        return self.target_env or self.env

    @property
    def target_name(self) -> str:
        """The target's short name (``NAME`` of ``file.yaml:NAME``)."""
        path, sep, name = self.target.rpartition(":")
        return name if sep and path.endswith((".yaml", ".yml")) else self.target

    @property
    def arm_names(self) -> list[str]:
        """``scratch``, the transfer arms in config order, then ``identify`` if configured."""
        return [SCRATCH, *self.arms, *([IDENTIFY] if self.identify is not None else [])]

    def run_key(self) -> str:
        """Hash of everything that changes a single run's result (not seeds, workers, metrics)."""
        data = self.model_dump(
            mode="json",
            exclude={"seeds", "workers", "backend", "ray_address", "metrics", "benchmark", "arms"},
        )
        data["arms"] = {arm: self.arm_spec(arm) for arm in self.arms}
        if self.identify is None:  # keys of benchmarks without the arm stay as they were
            data.pop("identify", None)
        if self.target_env is None:  # likewise for benchmarks on the source's env
            data.pop("target_env", None)
        return config_hash(data)


def config_hash(data: Any, length: int = 16) -> str:
    """Stable short SHA-256 of a JSON-able value (sorted keys)."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def load_benchmark_config(
    path_or_name: str | Path, overrides: Iterable[str] = ()
) -> BenchmarkConfig:
    """Load a benchmark config by path or by name in ``configs/`` and apply ``--set`` overrides.

    Raises:
        ConfigError: missing file, invalid YAML, unknown key or wrong type (one line).
    """
    path = find_config_file(
        path_or_name, "benchmark config", lambda stem: "benchmark" in stem or stem == "quickstart"
    )
    return load_model(
        BenchmarkConfig, path, overrides, unknown_key_hint="see configs/benchmark_*.yaml"
    )
