"""The pickle-free weights file (``weights.npz``) of an exported MLP policy, and its numpy forward pass.

A policy is stored as a small *program*: observation normalization (VecNormalize statistics,
``epsilon`` and ``clip_obs``), then a sequence of layer ops (``linear``, activations), then an
action post-processing step (``unscale`` from [-1, 1] to the bounds for squashed SAC/TD3 actors,
``clip`` to the bounds for PPO). Everything is a plain numpy array, so ``np.load(...,
allow_pickle=False)`` reads it. Only numpy is imported here.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.errors import ModelFileError

__all__ = ["ACTIVATIONS", "WEIGHTS_FORMAT_VERSION", "LayerOp", "MlpPolicyWeights"]

#: Version of the ``.npz`` layout; bumped on incompatible changes.
WEIGHTS_FORMAT_VERSION = 1

#: Element-wise ops the numpy backend evaluates in place (``op(x)`` overwrites ``x``).
ACTIVATIONS = (
    "tanh",
    "relu",
    "elu",
    "leaky_relu",
    "sigmoid",
    "silu",
    "gelu",
    "gelu_tanh",
    "hardtanh",
    "identity",
)
POSTPROCESS = ("clip", "unscale")


@dataclass(frozen=True)
class LayerOp:
    """One op of the MLP program: ``linear`` (``weight`` of shape (out, in), ``bias``) or an activation.

    ``param`` holds an activation's constants: ``(alpha,)`` for elu, ``(slope,)`` for leaky_relu,
    ``(min, max)`` for hardtanh.
    """

    kind: str
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    param: tuple[float, ...] = ()


@dataclass
class MlpPolicyWeights:
    """Everything the numpy backend needs: normalization, layers, action post-processing.

    Attributes:
        obs_mean, obs_var: VecNormalize running statistics (``None``: no normalization).
        epsilon, clip_obs: VecNormalize constants; normalized obs is
            ``clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)``.
        ops: the layer program.
        postprocess: ``"unscale"`` (``low + (a + 1) / 2 * (high - low)``) or ``"clip"``.
        action_low, action_high: action bounds.
    """

    ops: list[LayerOp]
    action_low: np.ndarray
    action_high: np.ndarray
    postprocess: str = "clip"
    obs_mean: np.ndarray | None = None
    obs_var: np.ndarray | None = None
    epsilon: float = 1e-8
    clip_obs: float = 10.0
    extra: dict[str, str] = field(default_factory=dict)

    # ----------------------------------------------------------------------------- shapes
    @property
    def obs_dim(self) -> int:
        """Size of the observation vector (input of the first linear layer)."""
        return int(self._linears()[0].weight.shape[1])  # type: ignore[union-attr]

    @property
    def action_dim(self) -> int:
        """Size of the action vector (output of the last linear layer)."""
        return int(self._linears()[-1].weight.shape[0])  # type: ignore[union-attr]

    @property
    def normalized(self) -> bool:
        """True if observations are normalized with VecNormalize statistics."""
        return self.obs_mean is not None

    def _linears(self) -> list[LayerOp]:
        return [op for op in self.ops if op.kind == "linear"]

    def validate(self, source: str = "weights") -> None:
        """Check the program is consistent (shapes chain, known ops, finite values).

        Raises:
            ModelFileError: naming ``source`` and the problem.
        """

        def bad(msg: str) -> ModelFileError:
            return ModelFileError(f"{source}: {msg}; re-export the policy with `sim2real export`")

        linears = self._linears()
        if not linears:
            raise bad("no linear layer")
        width = int(linears[0].weight.shape[1])  # type: ignore[union-attr]
        for i, op in enumerate(self.ops):
            if op.kind == "linear":
                w, b = op.weight, op.bias
                if w is None or b is None or w.ndim != 2 or b.shape != (w.shape[0],):
                    raise bad(f"layer {i} has inconsistent weight/bias shapes")
                if w.shape[1] != width:
                    raise bad(f"layer {i} expects {w.shape[1]} inputs but gets {width}")
                if not (np.isfinite(w).all() and np.isfinite(b).all()):
                    raise bad(f"layer {i} holds non-finite weights")
                width = int(w.shape[0])
            elif op.kind not in ACTIVATIONS:
                raise bad(f"unknown op {op.kind!r} (known: linear, {', '.join(ACTIVATIONS)})")
        if self.postprocess not in POSTPROCESS:
            raise bad(f"unknown action post-processing {self.postprocess!r}")
        for name, arr in (("action_low", self.action_low), ("action_high", self.action_high)):
            if arr.shape != (self.action_dim,):
                raise bad(f"{name} has shape {arr.shape}, expected ({self.action_dim},)")
        if np.any(self.action_low > self.action_high):
            raise bad("action_low > action_high")
        if self.postprocess == "unscale" and not (
            np.isfinite(self.action_low).all() and np.isfinite(self.action_high).all()
        ):
            raise bad("squashed actions need finite action bounds")
        if self.normalized:
            for name, maybe in (("obs_mean", self.obs_mean), ("obs_var", self.obs_var)):
                if maybe is None or maybe.shape != (self.obs_dim,) or not np.isfinite(maybe).all():
                    raise bad(f"{name} is missing, non-finite or not of shape ({self.obs_dim},)")

    # ------------------------------------------------------------------------------ file io
    def save(self, path: str | Path) -> Path:
        """Write the weights as an uncompressed ``.npz`` of plain arrays (no pickle)."""
        arrays: dict[str, Any] = {
            "format_version": np.array(WEIGHTS_FORMAT_VERSION),
            "ops": np.array([op.kind for op in self.ops], dtype=np.str_),
            "postprocess": np.array(self.postprocess, dtype=np.str_),
            "action_low": np.asarray(self.action_low, dtype=np.float64),
            "action_high": np.asarray(self.action_high, dtype=np.float64),
            "epsilon": np.array(self.epsilon, dtype=np.float64),
            "clip_obs": np.array(self.clip_obs, dtype=np.float64),
        }
        if self.normalized:
            arrays["obs_mean"] = np.asarray(self.obs_mean, dtype=np.float64)
            arrays["obs_var"] = np.asarray(self.obs_var, dtype=np.float64)
        for i, op in enumerate(self.ops):
            if op.weight is not None:
                arrays[f"op{i}_weight"] = op.weight
                arrays[f"op{i}_bias"] = op.bias
            if op.param:
                arrays[f"op{i}_param"] = np.asarray(op.param, dtype=np.float64)
        path = Path(path)
        with path.open("wb") as fh:
            np.savez(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, data: bytes | None = None) -> MlpPolicyWeights:
        """Read a weights file written by :meth:`save` (``allow_pickle=False``) and validate it.

        ``data``: the file's bytes, already read (and checked) by the caller; ``path`` then only
        names the file in messages.

        Raises:
            ModelFileError: missing, truncated or corrupt file, or an inconsistent program.
        """
        path = Path(path)
        try:
            source: Any = path if data is None else io.BytesIO(data)
            with np.load(source, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except FileNotFoundError:
            raise ModelFileError(f"{path}: weights file not found") from None
        except (
            OSError,
            ValueError,
            EOFError,
            TypeError,
            AttributeError,
            zipfile.BadZipFile,
        ) as exc:
            raise ModelFileError(
                f"{path}: not a readable weights .npz ({type(exc).__name__}: {exc}); "
                "the file is truncated or corrupt, re-export the policy"
            ) from None
        try:
            version = int(arrays["format_version"])
            if version != WEIGHTS_FORMAT_VERSION:
                raise ModelFileError(
                    f"{path}: weights format version {version} is not supported "
                    f"(this sim2real reads version {WEIGHTS_FORMAT_VERSION}); re-export the policy"
                )
            ops = []
            for i, kind in enumerate(arrays["ops"].tolist()):
                param = tuple(arrays[f"op{i}_param"].tolist()) if f"op{i}_param" in arrays else ()
                if kind == "linear":
                    ops.append(LayerOp(kind, arrays[f"op{i}_weight"], arrays[f"op{i}_bias"]))
                else:
                    ops.append(LayerOp(kind, param=param))
            weights = cls(
                ops=ops,
                action_low=arrays["action_low"],
                action_high=arrays["action_high"],
                postprocess=str(arrays["postprocess"]),
                obs_mean=arrays.get("obs_mean"),
                obs_var=arrays.get("obs_var"),
                epsilon=float(arrays["epsilon"]),
                clip_obs=float(arrays["clip_obs"]),
            )
        except KeyError as exc:
            raise ModelFileError(
                f"{path}: weights file lacks entry {exc.args[0]!r}; re-export the policy"
            ) from None
        weights.validate(str(path))
        return weights

    # -------------------------------------------------------------------------- evaluation
    def forward(self, obs: np.ndarray) -> np.ndarray:
        """Reference (allocating, batched) forward pass: obs (..., obs_dim) -> actions (..., act_dim).

        The controller's numpy backend runs the same computation without allocations.
        """
        x = np.asarray(obs, dtype=np.float64)
        if self.obs_mean is not None and self.obs_var is not None:
            std = np.sqrt(self.obs_var + self.epsilon)
            x = np.clip((x - self.obs_mean) / std, -self.clip_obs, self.clip_obs)
        for op in self.ops:
            if op.kind == "linear":
                x = x @ op.weight.T.astype(np.float64) + op.bias  # type: ignore[union-attr]
            else:
                x = apply_activation(op, x.copy())
        if self.postprocess == "unscale":
            x = self.action_low + 0.5 * (x + 1.0) * (self.action_high - self.action_low)
        return np.clip(x, self.action_low, self.action_high)


def apply_activation(op: LayerOp, x: np.ndarray) -> np.ndarray:
    """Apply an activation op to ``x`` in place and return it."""
    kind = op.kind
    if kind == "tanh":
        np.tanh(x, out=x)
    elif kind == "relu":
        np.maximum(x, 0.0, out=x)
    elif kind == "hardtanh":
        np.clip(x, op.param[0], op.param[1], out=x)
    elif kind == "sigmoid":
        np.negative(x, out=x)
        np.exp(x, out=x)
        x += 1.0
        np.reciprocal(x, out=x)
    elif kind == "silu":
        x *= 1.0 / (1.0 + np.exp(-x))
    elif kind == "elu":
        alpha = op.param[0] if op.param else 1.0
        neg = x < 0
        x[neg] = alpha * np.expm1(x[neg])
    elif kind == "leaky_relu":
        slope = op.param[0] if op.param else 0.01
        np.maximum(x, slope * x, out=x)
    elif kind == "gelu":  # x * Phi(x), erf from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)
        x *= 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))
    elif kind == "gelu_tanh":
        x *= 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    elif kind != "identity":
        raise ValueError(f"unknown activation {kind!r}")
    return x


def _erf(x: np.ndarray) -> np.ndarray:
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-a * a))
