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
so a kill at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from sim2real.errors import CheckpointError, ConfigError

__all__ = [
    "Checkpoint",
    "RunDir",
    "atomic_path",
    "atomic_save",
    "atomic_write_json",
    "atomic_write_text",
    "git_state",
    "package_versions",
    "utc_now",
]

_PACKAGES = ("sim2real", "stable-baselines3", "torch", "gymnasium", "pybullet", "numpy")
_STEP_DIR = re.compile(r"^step_(\d+)$")
_TMP_PREFIX = ".tmp_"


def utc_now() -> str:
    """ISO-8601 UTC timestamp (seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` to write; on success it replaces ``path``.

    The temporary name keeps ``path``'s suffix (SB3 appends ``.zip`` otherwise); it is fsynced
    before ``os.replace``, so ``path`` is always either the old file or the complete new one.
    """
    tmp = path.with_name(f"{_TMP_PREFIX}{os.getpid()}_{path.name}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (readers never see half a file)."""
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def atomic_save(path: Path, save: Callable[[str], Any]) -> None:
    """``save(tmp)`` (e.g. ``model.save``) to a temporary file, then move it to ``path``."""
    with atomic_path(path) as tmp:
        save(str(tmp))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on, plus Python and the platform."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(start: Path | None = None) -> dict[str, Any] | None:
    """Commit, branch and dirty flag of the sim2real checkout (``None`` outside a git repo)."""
    where = start or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """One verified checkpoint folder."""

    path: Path
    steps: int
    files: dict[str, str]

    def file(self, name: str) -> Path | None:
        """Path of ``name`` inside the checkpoint, ``None`` if it was not saved."""
        return self.path / name if name in self.files else None


class RunDir:
    """Paths and read/write helpers of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

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
        return self.path / "config.yaml"

    @property
    def meta(self) -> Path:
        return self.path / "meta.json"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def evaluations(self) -> Path:
        return self.path / "evaluations.json"

    @property
    def model(self) -> Path:
        return self.path / "model.zip"

    @property
    def best_model(self) -> Path:
        return self.path / "best_model.zip"

    @property
    def vecnormalize(self) -> Path:
        return self.path / "vecnormalize.pkl"

    @property
    def best_vecnormalize(self) -> Path:
        """Observation statistics as they were when ``best_model.zip`` was saved."""
        return self.path / "best_vecnormalize.pkl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tb(self) -> Path:
        return self.path / "tb"

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
        path = self.path / "failed_model.zip"
        atomic_save(path, model.save)
        return path

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json`` atomically."""
        atomic_write_json(self.summary, summary)

    def remove_stale_tmp(self) -> list[Path]:
        """Delete what a killed write left behind (``.tmp_*`` files and checkpoint folders)."""
        found = [p for p in self.path.glob(f"{_TMP_PREFIX}*") if p.is_file()]
        if self.checkpoints.is_dir():
            found += list(self.checkpoints.glob(f"{_TMP_PREFIX}step_*"))
        for p in found:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        return found

    # ---------------------------------------------------------------- metadata
    def read_json(self, name: str) -> dict[str, Any]:
        """Read a JSON file of the run (``{}`` if absent)."""
        path = self.path / name
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: unreadable JSON ({exc}); the run is damaged") from None

    def write_meta(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into ``meta.json`` (created with command, versions, git, host)."""
        meta = self.read_json("meta.json") or {
            "command": " ".join(sys.argv),
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
    def new_checkpoint_dir(self, steps: int) -> Path:
        """A temporary folder to fill; :meth:`commit_checkpoint` makes it a checkpoint."""
        tmp = self.checkpoints / f".tmp_step_{steps:09d}_{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        return tmp

    def commit_checkpoint(self, tmp: Path, steps: int, extra: dict[str, Any], keep: int) -> Path:
        """Write the manifest, rename ``tmp`` to ``step_<steps>`` and prune old checkpoints."""
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        for name in files:
            _fsync(tmp / name)
        manifest = {"steps": steps, "time": utc_now(), "files": files, **extra}
        atomic_write_json(tmp / "manifest.json", manifest)
        final = self.checkpoints / f"step_{steps:09d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(self.checkpoints)
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
                f"{self.path}: no checkpoint to resume from (checkpoints/ is empty or missing)"
            )
        return verify_checkpoint(folders[-1])


def verify_checkpoint(folder: Path) -> Checkpoint:
    """Check every file of a checkpoint against its manifest's SHA-256."""
    manifest_path = folder / "manifest.json"
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
        if _sha256(path) != digest:
            raise CheckpointError(
                f"{path}: checkpoint file is corrupt or truncated (checksum mismatch); delete "
                f"{folder} to resume from the previous one"
            )
    if "model.zip" not in files:
        raise CheckpointError(f"{folder}: checkpoint has no model.zip")
    return Checkpoint(folder, steps, files)
