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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.controller.weights import MlpPolicyWeights
from sim2real.errors import ModelFileError

__all__ = [
    "ARTIFACT_FILES",
    "METADATA_FILE",
    "METADATA_FORMAT",
    "METADATA_VERSION",
    "WEIGHTS_FILE",
    "VerifiedPolicy",
    "load_metadata",
    "load_verified",
    "read_verified",
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
    if not _spaces_ok(meta["observation"], meta["action"]):
        raise ModelFileError(
            f"{meta_path}: observation/action description is inconsistent (names, shape, bounds); "
            "re-export the policy"
        )
    _check_files(meta["files"], meta_path)
    meta["_dir"] = str(folder)
    return meta


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)


def _spaces_ok(obs: Any, act: Any) -> bool:
    try:
        return (
            len(obs["shape"]) == 1
            and type(obs["shape"][0]) is int
            and obs["shape"][0] > 0
            and len(obs["names"]) == obs["shape"][0]
            and len(act["shape"]) == 1
            and type(act["shape"][0]) is int
            and act["shape"][0] > 0
            and len(act["names"]) == len(act["low"]) == len(act["high"]) == act["shape"][0]
            and all(_is_number(v) for v in [*act["low"], *act["high"]])
            and all(lo <= hi for lo, hi in zip(act["low"], act["high"]))
        )
    except (KeyError, TypeError):
        return False


def _check_files(files: Any, meta_path: Path) -> None:
    """``files``: role -> {file: a plain name in the folder, sha256: 64 hex digits}."""
    if not isinstance(files, dict) or not {"weights", "artifact"} <= files.keys():
        raise ModelFileError(
            f"{meta_path}: 'files' must list the weights and artifact files; re-export the policy"
        )
    for role, entry in files.items():
        name = entry.get("file") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or Path(name).name != name or name[0] == ".":
            raise ModelFileError(
                f"{meta_path}: the {role} file must be a plain file name in the policy folder, "
                f"not {name!r}; re-export the policy"
            )
        if not (isinstance(digest, str) and len(digest) == 64 and _is_hex(digest)):
            raise ModelFileError(
                f"{meta_path}: the {role} entry has no valid sha256; re-export the policy"
            )


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def verify_file(meta: dict[str, Any], role: str) -> Path:
    """Path of the file playing ``role`` (``"weights"`` or ``"artifact"``) after its sha256 check.

    Raises:
        ModelFileError: the file is not listed, missing, or its sha256 differs from the metadata.
    """
    return read_verified(meta, role)[0]


def read_verified(meta: dict[str, Any], role: str) -> tuple[Path, bytes]:
    """Path and bytes of the file playing ``role``; the bytes are the ones whose sha256 matched.

    Raises:
        ModelFileError: the file is not listed, missing, or its sha256 differs from the metadata.
    """
    folder = Path(meta["_dir"])
    entry = meta["files"].get(role)
    if not entry:
        raise ModelFileError(f"{folder}: the export holds no {role} file")
    path = folder / entry["file"]
    try:
        data = path.read_bytes()
    except OSError:
        raise ModelFileError(f"{path}: file listed in {METADATA_FILE} is missing") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry["sha256"]:
        raise ModelFileError(
            f"{path}: sha256 {actual[:12]}... does not match {METADATA_FILE} "
            f"({entry['sha256'][:12]}...); the file was modified or truncated, re-export the policy"
        )
    return path, data


@dataclass(frozen=True)
class VerifiedPolicy:
    """An exported policy after every check: metadata, weights and the artifact's bytes."""

    metadata: dict[str, Any]
    weights: MlpPolicyWeights
    artifact_path: Path
    artifact: bytes

    @property
    def artifact_format(self) -> str:
        """``"onnx"`` or ``"torchscript"``."""
        return str(self.metadata["files"]["artifact"].get("format"))


def load_verified(path: str | Path) -> VerifiedPolicy:
    """Load an exported policy the way every backend must: metadata, then every file's sha256,
    then the weights against the metadata (sizes, action bounds, normalization).

    The bytes hashed are the bytes used, so a file swapped after the check is never loaded.

    Raises:
        ModelFileError: missing/corrupt/tampered files or inconsistent metadata.
    """
    meta = load_metadata(path)
    for role in meta["files"]:
        if role not in ("weights", "artifact"):
            read_verified(meta, role)
    weights_path, weights_bytes = read_verified(meta, "weights")
    artifact_path, artifact_bytes = read_verified(meta, "artifact")
    weights = MlpPolicyWeights.load(weights_path, data=weights_bytes)
    check_weights_match(meta, weights, weights_path)
    return VerifiedPolicy(meta, weights, artifact_path, artifact_bytes)


def check_weights_match(meta: dict[str, Any], weights: MlpPolicyWeights, source: Path) -> None:
    """The metadata describes these (sha256-checked) weights: sizes, bounds, normalization.

    Raises:
        ModelFileError: naming the first difference.
    """
    n_obs, n_act = meta["observation"]["shape"][0], meta["action"]["shape"][0]
    if (weights.obs_dim, weights.action_dim) != (n_obs, n_act):
        raise ModelFileError(
            f"{source}: network maps {weights.obs_dim} -> {weights.action_dim} but "
            f"metadata says {n_obs} -> {n_act}; re-export the policy"
        )
    low = np.asarray(meta["action"]["low"], np.float64)
    high = np.asarray(meta["action"]["high"], np.float64)
    if not (np.array_equal(weights.action_low, low) and np.array_equal(weights.action_high, high)):
        raise ModelFileError(
            f"{source}: action bounds differ from the metadata's (edited {METADATA_FILE}?); "
            "re-export the policy"
        )
    norm = meta["observation"].get("normalization")
    if bool(norm) != weights.normalized or (
        norm
        and not (
            isinstance(norm, dict)
            and norm.get("clip_obs") == weights.clip_obs
            and norm.get("epsilon") == weights.epsilon
        )
    ):
        raise ModelFileError(
            f"{source}: observation normalization differs from the metadata's; re-export the policy"
        )
