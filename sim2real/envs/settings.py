"""Third-party env settings that configs carry (``gym_packages``, ``env_kwargs``, ``dynamics``):
registering them for this process, and taking them from a source's config into a transfer's or
a benchmark's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim2real.envs.registry import resolve_env
from sim2real.errors import ConfigError, Sim2RealError
from sim2real.resources import data_dir, find_data_file

__all__ = [
    "ENV_SETTING_DEFAULTS",
    "drop_env_defaults",
    "inherit_env_settings",
    "register_env",
    "register_env_settings",
    "register_recorded_env",
]

ENV_SETTING_DEFAULTS: dict[str, Any] = {"gym_packages": [], "env_kwargs": {}, "dynamics": "auto"}


def drop_env_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (in place) without the env settings that equal their defaults."""
    for key, default in ENV_SETTING_DEFAULTS.items():
        if key in data and data[key] == default:
            del data[key]
    return data


def register_env(
    env: str,
    gym_packages: Iterable[str] = (),
    env_kwargs: Mapping[str, Any] | None = None,
    dynamics: str = "auto",
) -> None:
    """Check that ``env`` exists and record its settings for this process
    (:func:`sim2real.envs.external.register_external`).

    Raises:
        UnknownEnvError: one line (unknown id, failed import, not an Env class...).
    """
    from sim2real.envs.external import register_external

    register_external(env, list(gym_packages), env_kwargs, dynamics)
    resolve_env(env)


def register_recorded_env(source: Mapping[str, Any]) -> None:
    """Register the env an exported policy records (its metadata's ``source``: ``env`` and
    ``env_settings``), so evaluation and deployment build it as the policy was trained."""
    settings = source.get("env_settings")
    if source.get("env") and isinstance(settings, Mapping):
        register_env(
            source["env"],
            list(settings.get("gym_packages") or []),
            dict(settings.get("env_kwargs") or {}),
            str(settings.get("dynamics") or "auto"),
        )


def register_env_settings(data: Any) -> None:
    """Register the env of a raw config mapping that carries ``env`` plus (optionally)
    ``gym_packages``/``env_kwargs``/``dynamics``, at top level or under ``train:`` (benchmarks)
    or in the config it names (``source.pretrain``/``source.run``); for a ``mode="before"``
    model validator.

    Raises:
        ValueError: ``env: ...`` when the env cannot be found or built.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("env"), str):
        return
    settings: dict[str, Any] = {}
    source = data.get("source")
    if isinstance(source, Mapping):
        settings.update(_source_env_settings(source))
    for block in (data, data.get("train")):
        if isinstance(block, Mapping):
            settings.update({k: block[k] for k in ENV_SETTING_DEFAULTS if k in block})
    try:
        register_env(
            data["env"],
            list(settings.get("gym_packages") or []),
            dict(settings.get("env_kwargs") or {}),
            str(settings.get("dynamics") or "auto"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"env: {exc}") from None


def inherit_env_settings(data: dict[str, Any], source: Mapping[str, Any] | None) -> None:
    """Take a source run's third-party env settings into ``data`` (in place) when ``data``
    trains the same env and sets none of its own (a transfer onto the source's env)."""
    if not source or source.get("env") != data.get("env"):
        return
    for key in ENV_SETTING_DEFAULTS:
        if key in source and key not in data:
            data[key] = source[key]


def _source_env_settings(source: Mapping[str, Any]) -> dict[str, Any]:
    """The env settings of a benchmark's source (its pretrain config or run's config.yaml)."""
    path: Path | None = None
    if isinstance(source.get("pretrain"), str):
        path = find_data_file("configs", source["pretrain"])
    elif isinstance(source.get("run"), str):
        from sim2real.training.run_dir import RunDir  # run_dir imports this module
        from sim2real.zoo import resolve_location

        try:
            run = resolve_location(source["run"])
        except Sim2RealError:
            return {}  # an unknown zoo name is reported where the source is opened
        candidates = [RunDir(run).config, RunDir(data_dir("policies") / source["run"]).config]
        path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return {}
    from sim2real.config import read_yaml_mapping  # config imports this module

    try:
        data = read_yaml_mapping(path)
    except ConfigError:
        return {}
    return {k: data[k] for k in ENV_SETTING_DEFAULTS if k in data}
