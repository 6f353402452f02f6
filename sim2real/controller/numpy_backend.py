"""Allocation-free numpy forward pass of an exported MLP policy (the controller's default backend).

At load time the program of :class:`~sim2real.controller.weights.MlpPolicyWeights` is compiled
into a flat list of ufunc calls on preallocated buffers:

* VecNormalize's clip is moved to raw observation units (``clip(obs, mean - c*std, mean + c*std)``)
  and the affine normalization is folded, in float64, into the first linear layer;
* biases are folded into the matrices (inputs carry a trailing constant 1);
* hidden layers run in float32 like the SB3 policy they came from; the activation writes straight
  into the next layer's input buffer (doing the float64 -> float32 cast for free).

Every artifact's numpy backend is checked against SB3 ``predict`` at export time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from sim2real.controller.weights import LayerOp, MlpPolicyWeights, apply_activation

__all__ = ["NumpyPolicy"]

# the clip ufunc itself: np.clip's Python wrapper costs ~2 us per call
_clip: Any = getattr(getattr(np, "_core", None), "umath", None)
_clip = getattr(_clip, "clip", None) or np.core.umath.clip  # type: ignore[attr-defined]


def _aug(size: int, dtype: type) -> np.ndarray:
    buf: np.ndarray = np.zeros(size + 1, dtype=dtype)
    buf[-1] = 1.0
    return buf


class NumpyPolicy:
    """Compiled numpy policy: ``policy(obs)`` returns the action in a shared float32 buffer.

    The returned array is overwritten by the next call; copy it to keep it. Actions are *not*
    clipped to the bounds here (the controller does that, once).
    """

    def __init__(self, weights: MlpPolicyWeights, hidden_dtype: type = np.float32) -> None:
        self.weights = weights
        self.obs_dim = weights.obs_dim
        self.action_dim = weights.action_dim
        self._steps: list[Callable[[], Any]] = []
        self._first: Callable[[np.ndarray], Any]
        self.out: np.ndarray = self._compile(weights, hidden_dtype)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Action for one observation of shape ``(obs_dim,)`` (no validation here)."""
        self._first(obs)
        for step in self._steps:
            step()
        return self.out

    # ------------------------------------------------------------------------- compilation
    def _compile(self, w: MlpPolicyWeights, hidden_dtype: type) -> np.ndarray:
        steps = self._steps
        n = self.obs_dim
        x0 = _aug(n, np.float64)
        dst = x0[:n]
        mean: np.ndarray = np.zeros(n)
        std: np.ndarray = np.ones(n)
        if w.obs_mean is not None and w.obs_var is not None:
            mean, std = w.obs_mean, np.sqrt(w.obs_var + w.epsilon)
            lo, hi = mean - w.clip_obs * std, mean + w.clip_obs * std
            self._first = lambda obs: _clip(obs, lo, hi, out=dst)
        else:
            self._first = lambda obs: np.copyto(dst, obs)

        ops = list(w.ops)
        cur_aug: np.ndarray | None = x0  # aug buffer holding the current values, if any
        cur: np.ndarray = dst
        first_linear = True
        for i, op in enumerate(ops):
            nxt = ops[i + 1] if i + 1 < len(ops) else None
            if op.kind == "linear":
                weight = op.weight.astype(np.float64)  # type: ignore[union-attr]
                bias = op.bias.astype(np.float64)  # type: ignore[union-attr]
                if first_linear:  # fold (x - mean) / std into the layer, in float64
                    weight = weight / std
                    bias = bias - weight @ mean
                    dtype: type = np.float64
                    first_linear = False
                else:
                    dtype = hidden_dtype
                # (out, in + 1) with the bias as last column: y = mat @ [x, 1]
                mat: np.ndarray = np.ascontiguousarray(
                    np.hstack([weight, bias[:, None]]), dtype=dtype
                )
                if cur_aug is None or cur_aug.dtype != dtype:
                    new_aug = _aug(cur.shape[0], dtype)
                    steps.append(partial(np.copyto, new_aug[:-1], cur))
                    cur_aug = new_aug
                out: np.ndarray = np.zeros(mat.shape[0], dtype=dtype)
                steps.append(partial(mat.dot, cur_aug, out))
                cur, cur_aug = out, None
            else:
                if nxt is not None and nxt.kind == "linear":
                    target_aug = _aug(cur.shape[0], hidden_dtype)
                    target = target_aug[:-1]
                else:
                    target_aug, target = None, cur
                steps.append(self._activation_step(op, cur, target))
                cur, cur_aug = target, target_aug
        if cur.dtype != np.float32:
            out32 = np.zeros(cur.shape, np.float32)
            steps.append(partial(np.copyto, out32, cur))
            cur = out32
        low = w.action_low.astype(np.float64)
        high = w.action_high.astype(np.float64)
        if w.postprocess == "unscale" and not (np.all(low == -1.0) and np.all(high == 1.0)):
            scale = 0.5 * (high - low)
            steps.append(partial(np.multiply, cur, scale.astype(np.float32), out=cur))
            steps.append(partial(np.add, cur, (low + scale).astype(np.float32), out=cur))
        return cur

    @staticmethod
    def _activation_step(op: LayerOp, src: np.ndarray, dst: np.ndarray) -> Callable[[], Any]:
        kind = op.kind
        if kind == "tanh":
            return partial(np.tanh, src, out=dst)
        if kind == "relu":
            return partial(np.maximum, src, 0.0, out=dst)
        if kind == "hardtanh":
            return partial(_clip, src, op.param[0], op.param[1], out=dst)
        if kind == "identity":
            return partial(np.copyto, dst, src)

        def generic() -> None:
            np.copyto(dst, apply_activation(op, src.astype(np.float64)))

        return generic
