"""Allocation-free numpy forward pass of an exported MLP policy (the controller's default backend).

On this class of CPU a numpy call costs ~0.5-1 us whatever the (small) array size, so the
latency of one action is the *number* of calls. At load time the program of
:class:`~sim2real.controller.weights.MlpPolicyWeights` is compiled into the shortest list of
ufunc/BLAS calls on preallocated buffers:

* the input step is a single clip: VecNormalize's clip moved to raw observation units
  (``clip(obs, mean - c*std, mean + c*std)``), or, without normalization, a guard clip to
  ``+-OBS_GUARD`` (no real sensor reads 1e15; it keeps every finite observation finite through
  the network, which is what lets the controller skip a check of the output);
* the affine normalization is folded into the first linear layer and every bias into its matrix
  (inputs carry a trailing constant 1), so a linear layer is one ``dot``;
* layers up to 128 wide run in float64: no float32 <-> float64 casts between calls (a cast
  costs more than the arithmetic of a small layer); wider ones in float32 like the SB3 policy
  (their float64 matrices cost more memory traffic than the casts save);
* an affine action post-processing (``unscale``) is folded into a final linear layer.

Every artifact's numpy backend is checked against SB3 ``predict`` at export time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from sim2real.controller.weights import LayerOp, MlpPolicyWeights, apply_activation

__all__ = ["OBS_GUARD", "NumpyPolicy"]

#: Raw observations of a policy without VecNormalize are clipped to +-OBS_GUARD.
OBS_GUARD = 1e15

# the clip ufunc itself: np.clip's Python wrapper costs ~2 us per call
_clip: Any = getattr(getattr(np, "_core", None), "umath", None)
_clip = getattr(_clip, "clip", None) or np.core.umath.clip  # type: ignore[attr-defined]

# |activation(x)| <= _BOUND[kind](|x| bound, params): used to prove the output finite
_BOUND: dict[str, Callable[[float, tuple[float, ...]], float]] = {
    "tanh": lambda b, p: 1.0,
    "sigmoid": lambda b, p: 1.0,
    "hardtanh": lambda b, p: max(abs(v) for v in p) if p else 1.0,
    "relu": lambda b, p: b,
    "identity": lambda b, p: b,
    "silu": lambda b, p: b,
    "gelu": lambda b, p: b,
    "gelu_tanh": lambda b, p: b,
    "elu": lambda b, p: max(b, abs(p[0]) if p else 1.0),
    "leaky_relu": lambda b, p: b * max(1.0, abs(p[0]) if p else 0.01),
}


def _aug(size: int, dtype: type) -> np.ndarray:
    buf: np.ndarray = np.zeros(size + 1, dtype=dtype)
    buf[-1] = 1.0
    return buf


class NumpyPolicy:
    """Compiled numpy policy: ``policy(obs)`` returns the raw action in a shared buffer.

    The returned array is overwritten by the next call; copy it to keep it. Actions are *not*
    clipped to the bounds here (the controller does that, once).

    Attributes:
        output_finite: True if every finite observation provably yields a finite action (an
            interval bound through the layers stays far from overflow); the controller then
            checks only the input for NaN/inf.
    """

    def __init__(self, weights: MlpPolicyWeights, hidden_dtype: type | None = None) -> None:
        if hidden_dtype is None:  # float64 matrices of wide layers cost more memory traffic than
            widest = max(op.weight.shape[0] for op in weights.ops if op.weight is not None)
            hidden_dtype = np.float64 if widest <= 128 else np.float32  # the casts they save
        self.weights = weights
        self.obs_dim = weights.obs_dim
        self.action_dim = weights.action_dim
        self._steps: list[Callable[[], Any]] = []
        self._first: Callable[[np.ndarray], Any]
        self.out: np.ndarray = self._compile(weights, hidden_dtype)
        # float32 is the narrowest type any value passes through (the action buffer)
        self.output_finite = self._output_bound(weights) < 1e35

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Action for one observation of shape ``(obs_dim,)`` (no validation here)."""
        self._first(obs)
        for step in self._steps:
            step()
        return self.out

    # ------------------------------------------------------------------------- compilation
    def _input_bounds(self, w: MlpPolicyWeights) -> tuple[np.ndarray, np.ndarray]:
        if w.obs_mean is not None and w.obs_var is not None:
            std = np.sqrt(w.obs_var + w.epsilon)
            return w.obs_mean - w.clip_obs * std, w.obs_mean + w.clip_obs * std
        guard = np.full(self.obs_dim, OBS_GUARD)
        return -guard, guard

    def _output_bound(self, w: MlpPolicyWeights) -> float:
        """An upper bound of ``|value|`` anywhere in the network, over all inputs the first step
        lets through."""
        bound = w.clip_obs if w.normalized else OBS_GUARD  # of the (normalized) network input
        largest = bound
        for op in w.ops:
            if op.kind == "linear":
                weight, bias = op.weight, op.bias
                assert weight is not None and bias is not None
                row_sums = np.abs(weight.astype(np.float64)).sum(axis=1)
                bound = float(np.max(row_sums) * bound + np.max(np.abs(bias)))
            else:
                bound = _BOUND[op.kind](bound, op.param)
            largest = max(largest, bound)
        if w.postprocess == "unscale":  # bounds are finite here (validated)
            spread = float(np.max(np.abs(w.action_high - w.action_low)))
            bound = bound * spread + float(np.max(np.abs(w.action_low)))
        return max(largest, bound)

    def _compile(self, w: MlpPolicyWeights, hidden_dtype: type) -> np.ndarray:
        steps = self._steps
        n = self.obs_dim
        x0 = _aug(n, np.float64)
        dst = x0[:n]
        lo, hi = self._input_bounds(w)
        self._first = lambda obs: _clip(obs, lo, hi, out=dst)
        mean: np.ndarray = np.zeros(n) if w.obs_mean is None else w.obs_mean
        std = np.ones(n) if w.obs_var is None else np.sqrt(w.obs_var + w.epsilon)

        ops = list(w.ops)
        low = w.action_low.astype(np.float64)
        high = w.action_high.astype(np.float64)
        unscale = w.postprocess == "unscale" and not (np.all(low == -1.0) and np.all(high == 1.0))
        fold_unscale = unscale and ops[-1].kind == "linear"
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
                if nxt is None and fold_unscale:  # low + (a + 1) * scale, folded in
                    scale = 0.5 * (high - low)
                    weight, bias = weight * scale[:, None], bias * scale + low + scale
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
        if unscale and not fold_unscale:
            scale = 0.5 * (high - low)
            steps.append(partial(np.multiply, cur, scale.astype(cur.dtype), out=cur))
            steps.append(partial(np.add, cur, (low + scale).astype(cur.dtype), out=cur))
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
