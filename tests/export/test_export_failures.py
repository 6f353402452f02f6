"""Export from a run directory, and the ways an export refuses: never a half-written artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sim2real.export.exporter as exporter
from sim2real.config import load_config
from sim2real.controller import PolicyController
from sim2real.errors import ModelFileError, Sim2RealError, SpaceMismatchError
from sim2real.export import export_policy
from sim2real.training import train
from tests._export_policies import trained


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny PPO run directory with VecNormalize, written by sim2real.training."""
    overrides = ["total_timesteps=128", "eval.freq=0", "checkpoint_freq=0", "normalize=true"]
    return train(
        load_config("smoke", overrides), tmp_path_factory.mktemp("run") / "r", quiet=True
    ).path


def test_export_from_run_dir_records_provenance(run_dir: Path, tmp_path: Path) -> None:
    out = export_policy(run_dir, "onnx", tmp_path / "policy")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["source"]["env"] == "cartpole" and meta["source"]["domain"] == "nominal"
    assert meta["source"]["model_sha256"] and meta["algorithm"] == "ppo"
    assert meta["observation"]["normalization"]["type"] == "VecNormalize"
    from sim2real.training import load_run

    run = load_run(run_dir)
    obs = np.random.default_rng(0).standard_normal((50, 5)).astype(np.float32)
    ref = run.model.predict(run.vec_normalize.normalize_obs(obs), deterministic=True)[0]
    ctrl = PolicyController.load(out)
    np.testing.assert_allclose(np.stack([ctrl.act(o) for o in obs]), ref, atol=1e-5)


def test_failed_verification_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = trained("ppo", True)
    real = exporter.reference_actions
    monkeypatch.setattr(exporter, "reference_actions", lambda *a: real(*a) + 1e-3)
    with pytest.raises(ModelFileError, match="verification failed") as info:
        export_policy(
            t.model, "onnx", tmp_path / "p", vec_normalize=t.vec_normalize, env="cartpole"
        )
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a temporary one


def test_existing_folder_needs_overwrite(tmp_path: Path) -> None:
    t = trained("td3", False)
    out = export_policy(t.model, "torchscript", tmp_path / "p", env="cartpole")
    with pytest.raises(Sim2RealError, match="already exists"):
        export_policy(t.model, "torchscript", out, env="cartpole")
    export_policy(t.model, "onnx", out, env="cartpole", overwrite=True)
    assert (out / "policy.onnx").is_file() and not (out / "policy.pt").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(Sim2RealError, match="not an exported policy"):
        export_policy(t.model, "onnx", tmp_path / "other", overwrite=True)


def test_wrong_env_and_bad_sources(tmp_path: Path) -> None:
    t = trained("ppo", False)
    with pytest.raises(SpaceMismatchError, match="Pendulum"):
        export_policy(t.model, "onnx", tmp_path / "p", env="Pendulum-v1")
    with pytest.raises(Sim2RealError, match="format"):
        export_policy(t.model, "tflite", tmp_path / "p")  # type: ignore[arg-type]
    bad = tmp_path / "model.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ModelFileError):
        export_policy(bad, "onnx", tmp_path / "q")
    with pytest.raises(ModelFileError, match="no such"):
        export_policy(tmp_path / "missing", "onnx", tmp_path / "q")


def test_discrete_actions_are_refused(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [8]}, device="cpu")
    with pytest.raises(Sim2RealError, match="action space"):
        export_policy(model, "onnx", tmp_path / "p")
