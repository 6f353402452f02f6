"""Atomic file writes: a kill at any moment leaves either the old file or the complete new one.

Each write goes to a temporary file next to the target (prefix :data:`TMP_PREFIX`), is fsynced
and renamed into place, and the folder is fsynced. Used for every file of a run directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "TMP_PREFIX",
    "atomic_path",
    "atomic_save",
    "atomic_write_json",
    "atomic_write_text",
    "fsync_dir",
    "fsync_file",
]

#: Name prefix of the temporary files (and checkpoint folders) before their rename.
TMP_PREFIX = ".tmp_"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` to write; on success it replaces ``path``.

    The temporary name keeps ``path``'s suffix (SB3 appends ``.zip`` otherwise); it is fsynced
    before ``os.replace``, so ``path`` is always either the old file or the complete new one.
    """
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}_{path.name}")
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    """Flush ``path``'s bytes to disk."""
    with path.open("rb") as f:
        os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries (a rename into it) to disk, where the platform allows."""
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
