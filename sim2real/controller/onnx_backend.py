"""onnxruntime backend: runs ``policy.onnx`` (normalization and action scaling are in the graph)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim2real.errors import ModelFileError, Sim2RealError

__all__ = ["OnnxPolicy"]


class OnnxPolicy:
    """``policy(obs)`` runs the ONNX graph on one observation and returns the action (float32).

    Needs the ``onnxruntime`` package (``pip install sim2real[export]`` or ``onnxruntime``).
    """

    def __init__(
        self,
        path: str | Path,
        obs_dim: int,
        action_dim: int,
        threads: int = 1,
        model: bytes | None = None,
    ) -> None:
        """Open ``path`` (or ``model``, its already checked bytes; ``path`` then names it)."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise Sim2RealError(
                "the onnxruntime backend needs the export extra: pip install 'sim2real[export]' "
                "(on a robot: pip install onnxruntime; or use backend='numpy')"
            ) from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path) if model is None else model,
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFileError(
                f"{path}: onnxruntime cannot load the model ({type(exc).__name__}); "
                "the file is corrupt, re-export the policy"
            ) from None
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        if "obs" not in inputs or inputs["obs"][-1] != obs_dim:
            raise ModelFileError(f"{path}: graph input 'obs' missing or not of size {obs_dim}")
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        if "actions" not in outputs or outputs["actions"][-1] != action_dim:
            raise ModelFileError(
                f"{path}: graph output 'actions' missing or not of size {action_dim}"
            )
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self._feed = np.zeros((1, obs_dim), dtype=np.float32)
        self._outputs = ["actions"]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Action for one observation of shape ``(obs_dim,)``."""
        self._feed[0] = obs
        return self.session.run(self._outputs, {"obs": self._feed})[0][0]
