"""Locate the project's data folders (envs/, configs/, policies/) in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

__all__ = ["DataKind", "data_dir", "find_data_file"]

DataKind = Literal["envs", "configs", "policies"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(kind: DataKind) -> Path:
    """Return the folder holding ``kind`` data.

    An installed wheel carries the folders under ``sim2real/_data/``; a source checkout (or an
    editable install) has them at the repository root, next to the package.
    """
    bundled = _PACKAGE_DIR / "_data" / kind
    if bundled.is_dir():
        return bundled
    return _PACKAGE_DIR.parent / kind


def find_data_file(
    kind: DataKind, name: str, suffixes: tuple[str, ...] = (".yaml", ".yml")
) -> Path | None:
    """Find ``name`` (a path, or a bare name looked up in ``data_dir(kind)``); ``None`` if absent."""
    direct = Path(name)
    if direct.is_file():
        return direct
    base = data_dir(kind)
    for candidate in (base / name, *(base / f"{name}{s}" for s in suffixes)):
        if candidate.is_file():
            return candidate
    return None
