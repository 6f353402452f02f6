"""Shell-completion values for the ``sim2real`` arguments (Typer ``autocompletion=`` callbacks).

Completion runs the CLI once per TAB press, so these read only cheap sources (the env catalogue,
file names in ``configs/`` and ``policies/``, a domain file's ``targets``) and never import torch
or SB3. Each returns ``(value, help)`` pairs that start with what was typed; none found lets the
shell fall back to file names.
"""

from __future__ import annotations

from pathlib import Path

from sim2real.resources import data_dir

__all__ = [
    "complete_benchmark_config",
    "complete_env",
    "complete_experiment_config",
    "complete_policy_name",
    "complete_run",
    "complete_target",
    "complete_transfer_config",
]

Items = list[tuple[str, str]]
#: Top-level keys that mark a config file's kind (``sim2real benchmark`` also runs suites).
_KINDS = {"benchmark": ("benchmark:", "suite:"), "transfer": ("transfer:",)}


def _matching(items: Items, incomplete: str) -> Items:
    return [(value, text) for value, text in items if value.startswith(incomplete)]


def complete_env(incomplete: str) -> Items:
    """Env short names (``hopper``, ``hopper@mujoco``) with their one-line description."""
    from sim2real.envs.registry import ENVS

    return _matching([(e.name, e.description) for e in ENVS.values()], incomplete)


def _targets(env: str) -> list[str]:
    """Target names in ``envs/<env's domain file>.yaml`` (``[]`` for an unknown env)."""
    import yaml

    from sim2real.envs.registry import ENVS

    entry = ENVS.get(env)
    path = data_dir("envs") / f"{entry.domains}.yaml" if entry is not None else None
    if path is None or not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return []
    targets = data.get("targets") if isinstance(data, dict) else None
    return sorted(targets) if isinstance(targets, dict) else []


def complete_target(incomplete: str) -> Items:
    """``ENV`` names, and ``ENV:TARGET`` once the word holds a colon (zsh, fish: bash splits
    words at ``:``, so there only the env name completes)."""
    env, colon, _ = incomplete.partition(":")
    if not colon:
        return complete_env(incomplete)
    return _matching([(f"{env}:{t}", "target domain") for t in _targets(env)], incomplete)


def _config_kind(path: Path) -> str:
    """``benchmark``, ``transfer`` or ``experiment``, from the file's top-level keys."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return ""
    for kind, keys in _KINDS.items():
        if any(line.startswith(keys) for line in lines):
            return kind
    return "experiment"


def _configs(kind: str, incomplete: str) -> Items:
    root = data_dir("configs")
    files = sorted(root.glob("*.yaml")) if root.is_dir() else []
    names = [(p.stem, f"{kind} config") for p in files if _config_kind(p) == kind]
    return _matching(names, incomplete)


def complete_experiment_config(incomplete: str) -> Items:
    """Training configs in ``configs/`` (``sim2real pretrain``)."""
    return _configs("experiment", incomplete)


def complete_benchmark_config(incomplete: str) -> Items:
    """Benchmark and suite configs in ``configs/`` (``sim2real benchmark``)."""
    return _configs("benchmark", incomplete)


def complete_transfer_config(incomplete: str) -> Items:
    """Transfer configs in ``configs/`` (``sim2real transfer``)."""
    return _configs("transfer", incomplete)


def _policy_folders() -> list[str]:
    root = data_dir("policies")
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def complete_policy_name(incomplete: str) -> Items:
    """Shipped policy names (``sim2real policies show``)."""
    return _matching([(n, "shipped policy") for n in _policy_folders()], incomplete)


def complete_run(incomplete: str) -> Items:
    """``zoo:NAME`` for the shipped policies once a ``z`` is typed; otherwise nothing, so the
    shell completes run directories and files."""
    if not incomplete or not "zoo:".startswith(incomplete[:4]):
        return []
    from sim2real.zoo import ZOO_PREFIX

    return _matching([(ZOO_PREFIX + n, "shipped policy") for n in _policy_folders()], incomplete)
