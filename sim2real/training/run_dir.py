"""The run directory: layout, metadata (command, versions, git, seed, device) and checkpoints.

Layout::

    runs/<env>__<experiment>__<seed>__<timestamp>/
        config.yaml  meta.json  summary.json  evaluations.json
        model.zip  vecnormalize.pkl  best_model.zip  best_vecnormalize.pkl
        checkpoints/step_000012288/{model.zip, vecnormalize.pkl, replay_buffer.pkl, adr.json,
                                    manifest.json}
        tb/  (TensorBoard events; a resumed run appends to the same folder)

A checkpoint is written to a temporary folder and renamed into place; its ``manifest.json``
holds the step count and a SHA-256 per file, so a truncated or corrupted checkpoint is detected
before anything is loaded or overwritten. Every other file (``config.yaml``, the JSON files and
the models) is written to a temporary file in the same folder, fsynced and renamed into place,
so a kill at any moment leaves either the old file or the new one (:mod:`sim2real.training.atomic`);
versions and git state come from :mod:`sim2real.training.provenance`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from sim2real.config import parse_yaml
from sim2real.controller.artifact import sha256_file
from sim2real.errors import CheckpointError, ConfigError
from sim2real.evaluation.episodes import upgrade_evaluations
from sim2real.training.atomic import (
    TMP_PREFIX,
    atomic_save,
    atomic_write_json,
    atomic_write_text,
    fsync_dir,
    fsync_file,
)
from sim2real.training.provenance import command_line, git_state, package_versions, utc_now

__all__ = ["Checkpoint", "RunDir", "verify_checkpoint"]

_STEP_DIR = re.compile(r"^step_(\d+)$")


# file and folder names of a run directory (only this module spells them)
CONFIG = "config.yaml"
META = "meta.json"
SUMMARY = "summary.json"
EVALUATIONS = "evaluations.json"
TRANSFER = "transfer.json"
MODEL = "model.zip"
BEST_MODEL = "best_model.zip"
FAILED_MODEL = "failed_model.zip"
VECNORMALIZE = "vecnormalize.pkl"
BEST_VECNORMALIZE = "best_vecnormalize.pkl"
REPLAY_BUFFER = "replay_buffer.pkl"
ADR_STATE = "adr.json"
MANIFEST = "manifest.json"
PROGRESS = "progress.json"
CHECKPOINTS = "checkpoints"
TENSORBOARD = "tb"
SOURCE_SNAPSHOT = "source"


@dataclass(frozen=True)
class Checkpoint:
    """One verified checkpoint folder."""

    path: Path
    steps: int
    files: dict[str, str]

    def file(self, name: str) -> Path | None:
        """Path of ``name`` inside the checkpoint, ``None`` if it was not saved."""
        return self.path / name if name in self.files else None

    @property
    def model(self) -> Path:
        """The checkpoint's ``model.zip`` (always present in a verified checkpoint)."""
        return self.path / MODEL

    @property
    def vecnormalize(self) -> Path | None:
        """The normalization statistics, ``None`` if the run does not normalize."""
        return self.file(VECNORMALIZE)

    @property
    def replay_buffer(self) -> Path | None:
        """An off-policy run's replay buffer, ``None`` otherwise."""
        return self.file(REPLAY_BUFFER)

    def read_adr_state(self) -> dict[str, Any] | None:
        """The ADR state saved with the checkpoint, ``None`` without ADR."""
        path = self.file(ADR_STATE)
        return None if path is None else json.loads(path.read_text())


class RunDir:
    """Sole owner of a run directory's layout: every file name and every read/write of them.

    Also answers for a model file that is not in a run directory (a bare ``.zip`` with its
    ``vecnormalize.pkl`` beside it): ``RunDir(folder)`` then names that folder's files.
    """

    CONFIG, META, SUMMARY, EVALUATIONS, TRANSFER = CONFIG, META, SUMMARY, EVALUATIONS, TRANSFER
    MODEL, BEST_MODEL, VECNORMALIZE = MODEL, BEST_MODEL, VECNORMALIZE

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ---------------------------------------------------------------- finding runs
    def is_run(self) -> bool:
        """Whether this is a run directory (it holds a ``config.yaml``)."""
        return self.config.is_file()

    def has_model(self) -> bool:
        """Whether the run holds a final ``model.zip``."""
        return self.model.is_file()

    @classmethod
    def of(cls, path: str | Path) -> RunDir | None:
        """The run a path belongs to: a run directory itself, or the run of a model file
        (``model.zip``, ``best_model.zip`` or a checkpoint's ``model.zip``); ``None`` for a
        stray file or folder."""
        path = Path(path)
        candidates = (path,) if path.is_dir() else (path.parent, path.parent.parent.parent)
        for cand in candidates:
            if cls(cand).is_run():
                return cls(cand)
        return None

    def model_file(self, best: bool = False) -> Path:
        """``model.zip``, or ``best_model.zip`` with ``best``."""
        return self.best_model if best else self.model

    def vecnormalize_for(self, model_file: Path) -> Path | None:
        """The statistics that belong to ``model_file`` (``best_vecnormalize.pkl`` for the best
        model if it was saved, else ``vecnormalize.pkl``), ``None`` if there are none."""
        if model_file.name == BEST_MODEL and self.best_vecnormalize.is_file():
            return self.best_vecnormalize
        return self.vecnormalize if self.vecnormalize.is_file() else None

    # ---------------------------------------------------------------- creation
    @classmethod
    def create(
        cls, env: str, experiment: str, seed: int, out: str | Path | None = None, root: str = "runs"
    ) -> RunDir:
        """Make a fresh run directory; never reuses a non-empty one.

        ``out`` is used as given (it must not exist or be empty); otherwise a unique
        ``<root>/<env>__<experiment>__<seed>__<timestamp>`` is created.
        """
        if out is not None:
            path = cls.check_new(out)
            path.mkdir(parents=True, exist_ok=True)
            return cls(path)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{env}__{experiment}__{seed}__{stamp}")
        base = Path(root) / safe
        for i in range(1000):
            path = base if i == 0 else base.with_name(f"{base.name}-{i}")
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path)
            except FileExistsError:
                continue
        raise ConfigError(f"cannot create a unique run directory under {root}")  # pragma: no cover

    @staticmethod
    def check_new(out: str | Path) -> Path:
        """Raise :class:`ConfigError` if ``out`` exists and is not an empty directory."""
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(
                f"output directory {path} already exists and is not empty: choose another "
                "--out, or continue it with --resume"
            )
        return path

    # ---------------------------------------------------------------- layout
    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def meta(self) -> Path:
        return self.path / META

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    @property
    def evaluations(self) -> Path:
        return self.path / EVALUATIONS

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def best_model(self) -> Path:
        return self.path / BEST_MODEL

    @property
    def vecnormalize(self) -> Path:
        return self.path / VECNORMALIZE

    @property
    def best_vecnormalize(self) -> Path:
        """Observation statistics as they were when ``best_model.zip`` was saved."""
        return self.path / BEST_VECNORMALIZE

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def tb(self) -> Path:
        return self.path / TENSORBOARD

    @property
    def transfer_info(self) -> Path:
        """A transfer run's ``transfer.json`` (spec, surgery log, events, LR history)."""
        return self.path / TRANSFER

    @property
    def source_snapshot(self) -> Path:
        """A transfer run's copy of its source (``source/``)."""
        return self.path / SOURCE_SNAPSHOT

    # ---------------------------------------------------------------- writes
    def write_config(self, text: str) -> None:
        """Write ``config.yaml`` atomically."""
        atomic_write_text(self.config, text)

    def save_model(self, model: Any, best: bool = False) -> None:
        """Save ``model.zip`` + ``vecnormalize.pkl`` (``best_*`` with ``best``) atomically."""
        atomic_save(self.best_model if best else self.model, model.save)
        vn = model.get_vec_normalize_env()
        if vn is not None:
            atomic_save(self.best_vecnormalize if best else self.vecnormalize, vn.save)

    def save_failed_model(self, model: Any) -> Path:
        """Save a failed run's model as ``failed_model.zip`` (never over ``model.zip``)."""
        path = self.path / FAILED_MODEL
        atomic_save(path, model.save)
        return path

    def write_progress(self, progress: dict[str, Any]) -> None:
        """Write ``progress.json`` atomically (steps so far of a running run, for watchers such
        as the benchmark's ETA; not a result)."""
        atomic_write_json(self.path / PROGRESS, progress)

    def read_progress(self) -> dict[str, Any]:
        """``progress.json`` (``{}`` if absent or unreadable: it is advisory)."""
        try:
            return self.read_json(PROGRESS)
        except CheckpointError:
            return {}

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json`` atomically."""
        atomic_write_json(self.summary, summary)

    def remove_stale_tmp(self) -> list[Path]:
        """Delete what a killed write left behind (``.tmp_*`` files and checkpoint folders)."""
        found = [p for p in self.path.glob(f"{TMP_PREFIX}*") if p.is_file()]
        if self.checkpoints.is_dir():
            found += list(self.checkpoints.glob(f"{TMP_PREFIX}step_*"))
        for p in found:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        return found

    def write_evaluations(self, history: dict[str, dict[str, list]]) -> None:
        """Write ``evaluations.json`` atomically."""
        atomic_write_json(self.evaluations, history)

    def write_transfer_info(self, info: dict[str, Any]) -> None:
        """Write a transfer run's ``transfer.json`` atomically."""
        atomic_write_json(self.transfer_info, info)

    def write_source_snapshot(self, source: Path) -> None:
        """Copy a transfer run's source (a run directory or a model file with its statistics)
        into ``source/`` once, so the run stays resumable if the original goes."""
        dest = self.source_snapshot
        if dest.exists():
            return
        tmp = dest.with_name(f"{TMP_PREFIX}{SOURCE_SNAPSHOT}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        files = {MODEL: source, VECNORMALIZE: source.parent / VECNORMALIZE}
        if source.is_dir():
            origin = RunDir(source)
            files = {CONFIG: origin.config, MODEL: origin.model, VECNORMALIZE: origin.vecnormalize}
        for name, path in files.items():
            if path.is_file():
                shutil.copy2(path, tmp / name)
        tmp.rename(dest)

    # ---------------------------------------------------------------- reads
    def read_json(self, name: str) -> dict[str, Any]:
        """Read a JSON file of the run (``{}`` if absent)."""
        path = self.path / name
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: unreadable JSON ({exc}); the run is damaged") from None

    def read_meta(self) -> dict[str, Any]:
        """``meta.json`` (``{}`` if absent)."""
        return self.read_json(META)

    def read_summary(self) -> dict[str, Any]:
        """``summary.json`` (``{}`` if absent)."""
        return self.read_json(SUMMARY)

    def read_evaluations(self) -> dict[str, dict[str, list]]:
        """``evaluations.json`` (``{}`` if absent); an old run's ``source`` key is read as
        ``train_domain``."""
        return upgrade_evaluations(self.read_json(EVALUATIONS))

    def read_transfer_info(self) -> dict[str, Any]:
        """A transfer run's ``transfer.json`` (``{}`` if absent)."""
        return self.read_json(TRANSFER)

    def read_config_data(self) -> dict[str, Any]:
        """``config.yaml`` as plain data (read with the config loader's YAML parser).

        Raises:
            CheckpointError: not a run directory, or the file is unreadable.
        """
        if not self.is_run():
            raise CheckpointError(f"{self.path}: not a run directory ({CONFIG} is missing)")
        try:
            return parse_yaml(self.config.read_text()) or {}
        except (OSError, yaml.YAMLError):
            raise CheckpointError(f"{self.config}: unreadable YAML; the run is damaged") from None

    def finished(self) -> bool:
        """Whether the run ended with status ``finished`` (``meta.json``)."""
        return self.read_meta().get("status") == "finished"

    def source_snapshot_path(self) -> Path | None:
        """What to load the source snapshot from (the folder, or its model file), if any."""
        snap = RunDir(self.source_snapshot)
        if snap.is_run():
            return snap.path
        return snap.model if snap.has_model() else None

    def write_meta(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into ``meta.json`` (created with command, versions, git, host)."""
        meta = self.read_meta() or {
            "command": command_line(),
            "argv": list(sys.argv),
            "cwd": os.getcwd(),
            "host": platform.node(),
            "versions": package_versions(),
            "git": git_state(),
        }
        meta.update(fields)
        atomic_write_json(self.meta, meta)
        return meta

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(
        self, model: Any, *, reason: str, keep: int, adr_state: dict[str, Any] | None = None
    ) -> Path:
        """Write ``checkpoints/step_<n>/`` (model with optimizer, statistics, replay buffer,
        ADR state, manifest) atomically, prune all but the newest ``keep``, return its path."""
        steps = int(model.num_timesteps)
        tmp = self.new_checkpoint_dir(steps)
        model.save(tmp / MODEL)
        vn = model.get_vec_normalize_env()
        if vn is not None:
            vn.save(str(tmp / VECNORMALIZE))
        if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None:
            model.save_replay_buffer(tmp / REPLAY_BUFFER)
        if adr_state is not None:
            atomic_write_json(tmp / ADR_STATE, adr_state)
        return self.commit_checkpoint(tmp, steps, {"reason": reason}, keep)

    def has_checkpoints(self) -> bool:
        """Whether any checkpoint folder exists."""
        return bool(self.list_checkpoints())

    def new_checkpoint_dir(self, steps: int) -> Path:
        """A temporary folder to fill; :meth:`commit_checkpoint` makes it a checkpoint."""
        tmp = self.checkpoints / f".tmp_step_{steps:09d}_{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        return tmp

    def commit_checkpoint(self, tmp: Path, steps: int, extra: dict[str, Any], keep: int) -> Path:
        """Write the manifest, rename ``tmp`` to ``step_<steps>`` and prune old checkpoints."""
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        for name in files:
            fsync_file(tmp / name)
        manifest = {"steps": steps, "time": utc_now(), "files": files, **extra}
        atomic_write_json(tmp / MANIFEST, manifest)
        final = self.checkpoints / f"step_{steps:09d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_dir(self.checkpoints)
        for old in self.list_checkpoints()[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def list_checkpoints(self) -> list[Path]:
        """Checkpoint folders, oldest first (by step)."""
        if not self.checkpoints.is_dir():
            return []
        found = [
            (int(m.group(1)), p)
            for p in self.checkpoints.iterdir()
            if (m := _STEP_DIR.match(p.name))
        ]
        return [p for _, p in sorted(found)]

    def latest_checkpoint(self) -> Checkpoint:
        """The newest checkpoint, verified against its manifest.

        Raises:
            CheckpointError: none exists, or the newest one is truncated/corrupt/incomplete.
        """
        folders = self.list_checkpoints()
        if not folders:
            raise CheckpointError(
                f"{self.path}: no checkpoint to resume from ({CHECKPOINTS}/ is empty or missing)"
            )
        return verify_checkpoint(folders[-1])


def verify_checkpoint(folder: Path) -> Checkpoint:
    """Check every file of a checkpoint against its manifest's SHA-256."""
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        files = dict(manifest["files"])
        steps = int(manifest["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        raise CheckpointError(
            f"{folder}: checkpoint manifest missing or unreadable; the checkpoint is incomplete "
            "(delete this folder to resume from the previous one)"
        ) from None
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(
                f"{path}: checkpoint file is missing (delete {folder} to resume from the previous one)"
            )
        if sha256_file(path) != digest:
            raise CheckpointError(
                f"{path}: checkpoint file is corrupt or truncated (checksum mismatch); delete "
                f"{folder} to resume from the previous one"
            )
    if MODEL not in files:
        raise CheckpointError(f"{folder}: checkpoint has no {MODEL}")
    return Checkpoint(folder, steps, files)
