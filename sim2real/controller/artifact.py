"""The exported policy directory: ``metadata.json``, the artifact (ONNX/TorchScript) and ``weights.npz``.

Layout written by :func:`sim2real.export.export_policy` and read here (numpy + json only)::

    policies/NAME/
        metadata.json   # what the policy expects and produces, sha256 of every file
        policy.onnx     # or policy.pt (TorchScript); obs -> actions, normalization baked in
        weights.npz     # the same MLP as plain arrays, for the numpy backend
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sim2real.errors import ModelFileError

__all__ = [
    "ARTIFACT_FILES",
    "METADATA_FILE",
    "METADATA_FORMAT",
    "METADATA_VERSION",
    "WEIGHTS_FILE",
    "load_metadata",
    "resolve_artifact_dir",
    "sha256_file",
    "verify_file",
]

METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "weights.npz"
ARTIFACT_FILES = {"onnx": "policy.onnx", "torchscript": "policy.pt"}
METADATA_FORMAT = "sim2real-policy"
METADATA_VERSION = 1

_REQUIRED = ("format", "format_version", "observation", "action", "files", "algorithm")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_artifact_dir(path: str | Path) -> Path:
    """The policy directory for ``path``: the directory itself, or the folder of a file in it.

    Raises:
        ModelFileError: no ``metadata.json`` there.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not (folder / METADATA_FILE).is_file():
        if not p.exists():
            raise ModelFileError(
                f"{p}: no such exported policy (give the folder `sim2real export` wrote)"
            )
        raise ModelFileError(
            f"{p}: not an exported policy (no {METADATA_FILE} in {folder}); "
            "create one with `sim2real export RUN_DIR --format onnx`"
        )
    return folder


def load_metadata(path: str | Path) -> dict[str, Any]:
    """Read and check ``metadata.json`` of an exported policy (``path``: folder or file in it).

    Raises:
        ModelFileError: missing, unreadable, not a sim2real policy, unsupported version or
            inconsistent observation/action descriptions.
    """
    folder = resolve_artifact_dir(path)
    meta_path = folder / METADATA_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"{meta_path}: unreadable metadata ({type(exc).__name__}: {exc}); "
            "the file is truncated or corrupt, re-export the policy"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != METADATA_FORMAT:
        raise ModelFileError(
            f"{meta_path}: not sim2real policy metadata (format != {METADATA_FORMAT!r})"
        )
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise ModelFileError(
            f"{meta_path}: metadata lacks {', '.join(missing)}; re-export the policy"
        )
    if meta["format_version"] != METADATA_VERSION:
        raise ModelFileError(
            f"{meta_path}: metadata version {meta['format_version']} is not supported "
            f"(this sim2real reads {METADATA_VERSION}); re-export the policy"
        )
    obs, act = meta["observation"], meta["action"]
    try:
        ok = (
            len(obs["shape"]) == 1
            and len(obs["names"]) == obs["shape"][0]
            and len(act["shape"]) == 1
            and len(act["names"]) == len(act["low"]) == len(act["high"]) == act["shape"][0]
            and all(lo <= hi for lo, hi in zip(act["low"], act["high"]))
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise ModelFileError(
            f"{meta_path}: observation/action description is inconsistent (names, shape, bounds); "
            "re-export the policy"
        )
    meta["_dir"] = str(folder)
    return meta


def verify_file(meta: dict[str, Any], role: str) -> Path:
    """Path of the file playing ``role`` (``"weights"`` or ``"artifact"``) after its sha256 check.

    Raises:
        ModelFileError: the file is not listed, missing, or its sha256 differs from the metadata.
    """
    folder = Path(meta["_dir"])
    entry = meta["files"].get(role)
    if not entry:
        raise ModelFileError(f"{folder}: the export holds no {role} file")
    path = folder / entry["file"]
    if not path.is_file():
        raise ModelFileError(f"{path}: file listed in {METADATA_FILE} is missing")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise ModelFileError(
            f"{path}: sha256 {actual[:12]}... does not match {METADATA_FILE} "
            f"({entry['sha256'][:12]}...); the file was modified or truncated, re-export the policy"
        )
    return path
