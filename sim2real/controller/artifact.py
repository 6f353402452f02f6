"""The exported policy directory: ``metadata.json``, the artifact (ONNX/TorchScript) and ``weights.npz``.

Layout written by :func:`sim2real.export.export_policy` and read here (numpy + json only)::

    policies/NAME/
        metadata.json   # what the policy expects and produces, sha256 of every file
        policy.onnx     # or policy.pt (TorchScript); obs -> actions, normalization baked in
        weights.npz     # the same MLP as plain arrays, for the numpy backend

Format version 2 adds the ``io`` block, what a non-Python robot stack needs to feed the model
and use its output (see ``docs/cpp.md``)::

    io:
      inputs:  [{name: obs, shape: [batch, N], dtype: float32}]     # batch: any size >= 1
      outputs: [{name: actions, shape: [batch, M], dtype: float32}]
      control_period: 0.0165                  # seconds per policy step (null: unknown)
      observation:                            # one entry per input element, in order
        - {index, name, source, frame, unit,  # the quantity the robot measures
           scale, offset, clip,               # normalization the MODEL applies itself:
           in_model: true}                    #   clip(obs * scale + offset, -clip, clip)
      action:                                 # one entry per output element, in order
        - {index, name, low, high,            # the model's output range (already clipped)
           command_scale, command_offset,     # command = action * command_scale + offset
           command_units, command}            # e.g. N*m of joint torque

Format version 3 adds the ``history`` block (``null`` for a policy without observation
history; layout and episode-start rule in :mod:`sim2real.controller.history`)::

    history:
      length: 4                 # past steps in the input
      actions: true             # past actions too
      observation_size: 5       # the robot's observation (what the controller takes)
      action_size: 1
      input_size: 29            # the model's input: observation + history
      layout: "obs[t] | obs[t-1] act[t-1] | ... | obs[t-k] act[t-k]"
      reset: ...                # what the past entries hold at an episode start

The same key facts are in the ONNX file's ``metadata_props`` (:func:`onnx_metadata_props`,
keys ``sim2real.*``). Version 1 files (no ``io``) and version 2 files (no ``history``) are still
read.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.controller.history import HistorySpec
from sim2real.controller.weights import MlpPolicyWeights
from sim2real.errors import ModelFileError

__all__ = [
    "ARTIFACT_FILES",
    "BATCH",
    "METADATA_FILE",
    "METADATA_FORMAT",
    "METADATA_VERSION",
    "READABLE_VERSIONS",
    "WEIGHTS_FILE",
    "VerifiedPolicy",
    "describe_history",
    "describe_io",
    "history_of",
    "history_sources",
    "io_problem",
    "load_metadata",
    "load_verified",
    "onnx_metadata_props",
    "read_verified",
    "resolve_artifact_dir",
    "sha256_file",
    "verify_file",
]

METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "weights.npz"
ARTIFACT_FILES = {"onnx": "policy.onnx", "torchscript": "policy.pt"}
METADATA_FORMAT = "sim2real-policy"
METADATA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
"""Metadata versions this code reads (1: before the ``io`` block, 2: before ``history``)."""
HISTORY_LAYOUT = "obs[t] | obs[t-1] act[t-1] | ... | obs[t-k] act[t-k]"
HISTORY_RESET = (
    "at an episode start (controller reset) every past observation is the first observation "
    "and every past action is 0; act[t-j] is the action sent after obs[t-j]"
)
BATCH = "batch"
"""The symbolic batch dimension in ``io.inputs[].shape`` (ONNX ``dim_param``)."""

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
    if meta["format_version"] not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{meta_path}: metadata version {meta['format_version']} is not supported "
            f"(this sim2real reads {', '.join(map(str, READABLE_VERSIONS))}); re-export the policy"
        )
    if not _spaces_ok(meta["observation"], meta["action"]):
        raise ModelFileError(
            f"{meta_path}: observation/action description is inconsistent (names, shape, bounds); "
            "re-export the policy"
        )
    if meta["format_version"] >= 2:
        problem = io_problem(meta)
        if problem is not None:
            raise ModelFileError(f"{meta_path}: io: {problem}; re-export the policy")
    problem = _history_problem(meta)
    if problem is not None:
        raise ModelFileError(f"{meta_path}: history: {problem}; re-export the policy")
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


def describe_io(
    *,
    observation_names: list[str],
    action_names: list[str],
    action_low: np.ndarray,
    action_high: np.ndarray,
    control_period: float | None,
    obs_mean: np.ndarray | None = None,
    obs_var: np.ndarray | None = None,
    epsilon: float = 1e-8,
    clip_obs: float = 10.0,
    observation_sources: list[dict[str, Any]] | None = None,
    action_commands: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``io`` block of format version 2 (see the module docstring).

    ``observation_sources``: per entry ``{source, frame, unit}`` (default: the name, frame
    ``env``, unit null); ``action_commands``: per entry ``{command_scale, command_offset,
    command_units, command}`` (default: scale 1, offset 0, units ``normalized``).
    """
    n_obs, n_act = len(observation_names), len(action_names)
    if obs_mean is not None and obs_var is not None:
        scale = 1.0 / np.sqrt(np.asarray(obs_var, np.float64) + epsilon)
        offset = -np.asarray(obs_mean, np.float64) * scale
        clip: float | None = float(clip_obs)
    else:
        scale, offset, clip = np.ones(n_obs), np.zeros(n_obs), None
    obs_entries = []
    for i, name in enumerate(observation_names):
        src = (observation_sources or [{}] * n_obs)[i]
        obs_entries.append(
            {"index": i, "name": name, "source": src.get("source", name),
             "frame": src.get("frame", "env"), "unit": src.get("unit"),
             "scale": float(scale[i]), "offset": float(offset[i]), "clip": clip,
             "in_model": True}
        )  # fmt: skip
    act_entries = []
    for i, name in enumerate(action_names):
        cmd = (action_commands or [{}] * n_act)[i]
        act_entries.append(
            {"index": i, "name": name, "low": float(action_low[i]), "high": float(action_high[i]),
             "command_scale": float(cmd.get("command_scale", 1.0)),
             "command_offset": float(cmd.get("command_offset", 0.0)),
             "command_units": cmd.get("command_units", "normalized"),
             "command": cmd.get("command", name)}
        )  # fmt: skip
    return {
        "inputs": [{"name": "obs", "shape": [BATCH, n_obs], "dtype": "float32"}],
        "outputs": [{"name": "actions", "shape": [BATCH, n_act], "dtype": "float32"}],
        "control_period": control_period,
        "observation": obs_entries,
        "action": act_entries,
    }


def describe_history(spec: HistorySpec, n_obs: int, n_act: int) -> dict[str, Any]:
    """The ``history`` block of format version 3 for a robot observation of ``n_obs`` entries."""
    return {
        **spec.to_dict(),
        "observation_size": n_obs,
        "action_size": n_act,
        "input_size": spec.input_size(n_obs, n_act),
        "layout": HISTORY_LAYOUT,
        "reset": HISTORY_RESET,
    }


def history_of(meta: dict[str, Any]) -> HistorySpec | None:
    """The observation history of checked metadata (``None``: the policy has none)."""
    block = meta.get("history")
    return None if block is None else HistorySpec.from_dict(block)


def history_sources(
    spec: HistorySpec,
    observation_names: list[str],
    action_names: list[str],
    sources: list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """``observation_sources`` of every model input entry (for :func:`describe_io`): a past
    observation is the same quantity as its current entry, a past action the controller's own
    output (``source: action.NAME``, frame ``controller``)."""
    base = sources or [{"source": name} for name in observation_names]
    acts = [{"source": f"action.{n}", "frame": "controller", "unit": None} for n in action_names]
    out = list(base)
    for _ in range(spec.length):
        out += base + (acts if spec.actions else [])
    return out


def _history_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with the ``history`` block (``None``: absent, null or consistent)."""
    block = meta.get("history")
    if block is None:
        return None
    try:
        spec = history_of(meta)
        assert spec is not None
        n_obs, n_act = block["observation_size"], block["action_size"]
        n_input = meta["observation"]["shape"][0]
        if type(n_obs) is not int or n_obs < 1 or n_act != meta["action"]["shape"][0]:
            return "observation_size/action_size do not fit the observation and action"
        if spec.input_size(n_obs, n_act) != n_input or block["input_size"] != n_input:
            return f"length {spec.length} with {n_obs} observations does not give {n_input} inputs"
    except (KeyError, TypeError, ValueError, AssertionError):
        return "missing or malformed (length, actions, observation_size, action_size)"
    return None


def io_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a version-2 ``io`` block (``None`` if it fits the metadata)."""
    io: Any = meta.get("io")
    try:
        n_obs, n_act = meta["observation"]["shape"][0], meta["action"]["shape"][0]
        (inp,), (out,) = io["inputs"], io["outputs"]
        if inp["shape"] != [BATCH, n_obs] or out["shape"] != [BATCH, n_act]:
            return f"shapes {inp['shape']} -> {out['shape']} differ from {n_obs} -> {n_act}"
        if [e["index"] for e in io["observation"]] != list(range(n_obs)):
            return "observation entries are not one per input element, in order"
        if [e["index"] for e in io["action"]] != list(range(n_act)):
            return "action entries are not one per output element, in order"
        numbers = [e[k] for e in io["observation"] for k in ("scale", "offset")]
        numbers += [e[k] for e in io["action"] for k in ("command_scale", "command_offset")]
        if not all(_is_number(x) and math.isfinite(x) for x in numbers):
            return "a scale or offset is not a finite number"
        period = io["control_period"]
        if period is not None and not (_is_number(period) and period > 0):
            return f"control_period {period!r} is not a positive number"
    except (KeyError, TypeError, ValueError):
        return "missing or malformed (inputs, outputs, observation, action, control_period)"
    return None


def onnx_metadata_props(meta: dict[str, Any]) -> dict[str, str]:
    """The key facts of the metadata as ONNX ``metadata_props`` (string -> string, values JSON)."""
    io = meta["io"]
    obs, act = io["observation"], io["action"]
    facts: dict[str, Any] = {
        "format": meta["format"],
        "format_version": meta["format_version"],
        "input": io["inputs"][0]["name"],
        "input_shape": io["inputs"][0]["shape"],
        "output": io["outputs"][0]["name"],
        "output_shape": io["outputs"][0]["shape"],
        "control_period": io["control_period"],
        "observation_names": [e["name"] for e in obs],
        "observation_scale": [e["scale"] for e in obs],
        "observation_offset": [e["offset"] for e in obs],
        "observation_clip": obs[0]["clip"] if obs else None,
        "normalization_in_model": True,
        "action_names": [e["name"] for e in act],
        "action_low": [e["low"] for e in act],
        "action_high": [e["high"] for e in act],
        "command_scale": [e["command_scale"] for e in act],
        "command_offset": [e["command_offset"] for e in act],
        "command_units": [e["command_units"] for e in act],
        "history": meta.get("history"),
    }
    return {f"sim2real.{k}": json.dumps(v) for k, v in facts.items()}


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
