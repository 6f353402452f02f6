"""The shipped export (``policies/cartpole_ppo_source/export``, used by ``.ci/controller-only``)
is the shipped model's, intact, and acts as SB3 does."""

from __future__ import annotations

import numpy as np

from sim2real.controller import PolicyController, sha256_file
from sim2real.controller.artifact import load_verified
from sim2real.resources import data_dir

SOURCE = data_dir("policies") / "cartpole_ppo_source"


def test_shipped_export_is_the_shipped_model() -> None:
    verified = load_verified(SOURCE / "export")  # every file's sha256 and the weights' shapes
    assert verified.metadata["source"]["model_sha256"] == sha256_file(SOURCE / "model.zip")


def test_shipped_export_acts_as_sb3() -> None:
    from stable_baselines3 import PPO

    from sim2real.training.run_dir import RunDir

    obs = np.random.default_rng(0).uniform(-1, 1, (32, 5)).astype(np.float32)
    ctrl = PolicyController.load(SOURCE / "export", backend="numpy")
    model = PPO.load(RunDir(SOURCE).model, device="cpu")
    vecnormalize = RunDir(SOURCE).vecnormalize_for(RunDir(SOURCE).model)
    assert vecnormalize is None  # the source has no VecNormalize: SB3 sees the raw observation
    expected, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose([ctrl.act(o) for o in obs], expected, atol=1e-5)
