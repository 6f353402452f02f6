"""Transfer configs: an experiment config (the target run) plus a ``transfer:`` block.

The ``transfer:`` block is a :class:`~sim2real.transfer.spec.TransferSpec` with the ``source``
(a run directory or model file; ``--from`` overrides it). ``env``/``domain`` name the target
(``--target ENV:TARGET`` overrides them); a missing ``env`` is taken from the source run.
The run directory's ``config.yaml`` holds the experiment part (readable by every tool), and
``transfer.json`` the transfer block, so a transfer run resumes from those two files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from sim2real.config import (
    ExperimentConfig,
    apply_overrides,
    config_from_dict,
    find_config_file,
    load_model,
    validate_model,
)
from sim2real.envs.settings import inherit_env_settings
from sim2real.errors import CheckpointError, ConfigError
from sim2real.training.run_dir import RunDir
from sim2real.transfer.spec import TransferSpec
from sim2real.zoo import resolve_location

__all__ = [
    "TransferBlock",
    "TransferConfig",
    "load_transfer_config",
    "saved_transfer_config",
    "source_env",
]


class TransferBlock(TransferSpec):
    """The ``transfer:`` block: the spec plus where the pretrained source is."""

    source: str | None = Field(
        None, description="Source run directory or SB3 .zip (overridden by --from)."
    )


class TransferConfig(ExperimentConfig):
    """An experiment on the target domain plus how to transfer into it."""

    transfer: TransferBlock = Field(default_factory=lambda: TransferBlock.model_validate({}))
    """What, how and when to transfer (see ``TransferSpec``) and from which source."""

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["transfer"] = self.transfer.model_dump(mode="json", by_alias=True)
        return data

    def experiment_config(self) -> ExperimentConfig:
        """The experiment part alone (what the trainer runs and writes to ``config.yaml``)."""
        data = {k: v for k, v in self.to_dict().items() if k != "transfer"}
        return config_from_dict(data, "<transfer config>")

    @property
    def spec(self) -> TransferSpec:
        """The transfer spec without the source."""
        return TransferSpec.model_validate(
            self.transfer.model_dump(by_alias=True, exclude={"source"})
        )


def source_env(source: str | Path) -> str | None:
    """The env name of a source run (from its ``config.yaml``), ``None`` if unknown."""
    run = RunDir.of(resolve_location(source))
    if run is None:
        return None
    try:
        return run.read_config_data().get("env")
    except CheckpointError:
        return None


def source_config_data(source: str | Path) -> dict[str, Any] | None:
    """The raw ``config.yaml`` mapping of a source run, ``None`` if there is none."""
    run = RunDir.of(source)
    if run is None:
        return None
    try:
        return run.read_config_data()
    except CheckpointError:
        return None


_HINT = "see docs of TransferSpec"


def _complete(
    data: dict[str, Any], source: str | None, target: str | None, where: str
) -> dict[str, Any]:
    block = data.setdefault("transfer", {}) or {}
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: transfer: must be a mapping")
    data["transfer"] = block
    if source is not None:
        block["source"] = str(source)
    if not block.get("source"):
        raise ConfigError(f"{where}: no source: give --from RUN_DIR|MODEL or transfer.source")
    if target is not None:
        from sim2real.envs.external import split_env_target

        env, domain = split_env_target(target)  # ENV may be module:Class, TARGET file.yaml:NAME
        if env:
            data["env"] = env
        data["domain"] = domain
    if not data.get("env"):
        found = source_env(block["source"])
        if found is None:
            raise ConfigError(
                f"{where}: env unknown: set env in the config or --target ENV:TARGET (the "
                "source is not a sim2real run)"
            )
        data["env"] = found
    inherit_env_settings(data, source_config_data(block["source"]))  # gym_packages etc.
    return data


def load_transfer_config(
    path_or_name: str | Path,
    overrides: Iterable[str] = (),
    *,
    source: str | None = None,
    target: str | None = None,
) -> TransferConfig:
    """Load a transfer config by path or name in ``configs/`` with ``--set``/``--from``/``--target``.

    Raises:
        ConfigError: missing file, bad YAML, unknown key, invalid strategy combination (one line).
    """
    path = find_config_file(
        path_or_name, "transfer config", lambda stem: stem.startswith("transfer_")
    )
    return load_model(
        TransferConfig,
        path,
        overrides,
        unknown_key_hint=_HINT,
        complete=lambda data: _complete(data, source, target, str(path)),
    )


def saved_transfer_config(run_dir: str | Path, overrides: Iterable[str] = ()) -> TransferConfig:
    """The transfer config of an existing transfer run (``config.yaml`` + ``transfer.json``).

    Raises:
        CheckpointError: not a transfer run directory.
    """
    run = RunDir(run_dir)
    if not run.is_run() or not run.transfer_info.is_file():
        raise CheckpointError(
            f"{run.path}: not a transfer run ({RunDir.CONFIG} or {RunDir.TRANSFER} is missing)"
        )
    data = run.read_config_data()
    try:
        data["transfer"] = run.read_transfer_info()["config"]
    except KeyError:
        raise CheckpointError(
            f"{run.transfer_info}: no transfer config; the run is damaged"
        ) from None
    apply_overrides(data, overrides)
    return validate_model(TransferConfig, data, str(run.config), _HINT)
