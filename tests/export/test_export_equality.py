"""Exported artifacts (ONNX via onnxruntime, TorchScript via torch.jit.load, numpy weights) equal SB3."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from sim2real.controller import PolicyController, sha256_file
from tests._export_policies import ALGOS, exported, sample_obs, trained

TOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")


@pytest.mark.parametrize("normalize", [False, True], ids=["raw", "vecnormalize"])
@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_artifact_equals_sb3_predict(algo: str, normalize: bool, fmt: str) -> None:
    t = trained(algo, normalize)
    out = exported(algo, normalize, fmt)
    obs = sample_obs(300)
    if normalize:  # include observations far outside the clip range
        obs[:30] = (
            t.vec_normalize.obs_rms.mean + 50 * np.sqrt(t.vec_normalize.obs_rms.var)
        ).astype(np.float32)
    reference = t.reference(obs)
    if fmt == "onnx":
        session = ort.InferenceSession(str(out / "policy.onnx"), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["obs"]
        assert [o.name for o in session.get_outputs()] == ["actions"]
        got = session.run(["actions"], {"obs": obs})[0]
        onnx.checker.check_model(onnx.load(str(out / "policy.onnx")))
    else:
        module = torch.jit.load(str(out / "policy.pt"))
        with torch.no_grad():
            got = module(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(got, reference, atol=TOL, rtol=0)
    controller = PolicyController.load(out)
    np.testing.assert_allclose(
        np.stack([controller.act(o) for o in obs]), reference, atol=TOL, rtol=0
    )


@pytest.mark.parametrize("algo", ALGOS)
def test_metadata_describes_the_policy(algo: str) -> None:
    out = exported(algo, True)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["algorithm"] == algo
    assert meta["observation"]["names"] == [
        "cart_x",
        "cart_vx",
        "cos_theta",
        "sin_theta",
        "theta_dot",
    ]
    assert meta["observation"]["shape"] == [5]
    assert meta["observation"]["normalization"]["clip_obs"] == 5.0
    assert meta["action"] == {
        **meta["action"],
        "names": ["slider_force"],
        "low": [-1.0],
        "high": [1.0],
    }
    assert meta["control_period"] == pytest.approx(0.0165)
    assert meta["source"]["env_id"] == "sim2real/CartPole-v0"
    assert meta["sim2real_version"]
    for entry in meta["files"].values():
        assert sha256_file(out / entry["file"]) == entry["sha256"]
    verification = meta["verification"]
    assert verification["tolerance"] == TOL
    assert all(err <= TOL for err in verification["max_abs_error"].values())
    assert verification["observations"] > verification["random_observations"]  # + rollout


def test_weights_file_is_plain_arrays() -> None:
    out = exported("sac", True)
    with np.load(out / "weights.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
        assert "obs_mean" in data.files and "op0_weight" in data.files


def test_nonunit_action_bounds_are_unscaled() -> None:
    """SAC on Pendulum ([-2, 2] torque): tanh squash + unscale baked in, not just [-1, 1]."""
    t = trained("sac", True, "Pendulum-v1")
    out = exported("sac", True, "onnx", "Pendulum-v1")
    obs = sample_obs(200, dim=3)
    reference = t.reference(obs)
    assert np.abs(reference).max() > 1.0 or np.ptp(reference) > 0  # actually scaled to [-2, 2]
    controller = PolicyController.load(out)
    np.testing.assert_allclose(
        np.stack([controller.act(o) for o in obs]), reference, atol=TOL * 2, rtol=TOL
    )
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["action"]["low"] == [-2.0]
    assert meta["control_period"] == 0.05  # Pendulum's own ``dt``


def test_custom_clip_obs_and_epsilon_are_honoured(tmp_path) -> None:
    """Large epsilon and tiny variances: a normalizer that ignored epsilon would be far off."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from sim2real.export import export_policy

    t = trained("sac", False)
    vn = VecNormalize(make_vec_env("sim2real/CartPole-v0", n_envs=1), clip_obs=1.5, epsilon=0.05)
    vn.obs_rms.mean = np.array([0.1, -0.2, 0.9, 0.0, 0.3])
    vn.obs_rms.var = np.array([1e-4, 4.0, 1e-3, 0.01, 2.0])
    vn.training = False
    out = export_policy(t.model, "onnx", tmp_path / "p", vec_normalize=vn, env="cartpole")
    norm = json.loads((out / "metadata.json").read_text())["observation"]["normalization"]
    assert norm["epsilon"] == 0.05 and norm["clip_obs"] == 1.5
    obs = sample_obs(200)
    expected = t.model.predict(
        np.clip((obs - vn.obs_rms.mean) / np.sqrt(vn.obs_rms.var + 0.05), -1.5, 1.5).astype(
            np.float32
        ),
        deterministic=True,
    )[0]
    controller = PolicyController.load(out)
    np.testing.assert_allclose(np.stack([controller.act(o) for o in obs]), expected, atol=TOL)
    wrong_eps = t.model.predict(
        np.clip((obs - vn.obs_rms.mean) / np.sqrt(vn.obs_rms.var + 1e-8), -1.5, 1.5).astype(
            np.float32
        ),
        deterministic=True,
    )[0]
    assert np.abs(wrong_eps - expected).max() > 1e-3  # the test can tell


def test_a_saturating_policy_passes_verification(tmp_path) -> None:
    """SB3 clips a Box action to its bounds; the controller clips once, so the check must too.

    A policy whose mean action lies far outside [-1, 1] (as a trained bang-bang cart-pole
    policy does) used to fail its own export verification by the distance to the bound.
    """
    from sim2real.export import export_policy

    shared = trained(
        "ppo", False
    ).model  # a copy through save/load (deepcopy refuses non-leaf tensors)
    shared.save(tmp_path / "copy.zip")
    model = type(shared).load(tmp_path / "copy.zip", device="cpu")
    with torch.no_grad():
        model.policy.action_net.bias += 6.0
    obs = sample_obs(200)
    assert (model.predict(obs, deterministic=True)[0] == 1.0).all()  # saturated everywhere
    out = export_policy(model, "onnx", tmp_path / "p", env="cartpole")
    controller = PolicyController.load(out)
    assert np.array_equal(np.stack([controller.act(o) for o in obs]), np.ones((200, 1)))
