"""The exported RMA pair: numpy controller == torch within 1e-5, history reset, tamper checks,
``inspect`` shows the parts, ``evaluate`` runs the artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim2real.controller import PolicyController
from sim2real.envs.registry import make_env
from sim2real.errors import ModelFileError
from sim2real.evaluation import evaluate, load_agent
from sim2real.export import export_policy
from tests.cli_runner import run_cli


@pytest.fixture(scope="module")
def exported_rma(rma_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_policy(rma_run, "torchscript", tmp_path_factory.mktemp("pol") / "rma")


def test_export_writes_both_networks(exported_rma: Path) -> None:
    meta = json.loads((exported_rma / "metadata.json").read_text())
    assert meta["adaptation"]["history"] == {"length": 8, "actions": True}
    assert set(meta["files"]) == {"artifact", "weights", "adaptation"}
    errors = meta["verification"]["max_abs_error"]
    assert errors["numpy adaptation pair"] <= 1e-5
    assert meta["observation"]["names"][-4:] == [f"adaptation.z[{i}]" for i in range(4)]


def test_numpy_pair_equals_torch_within_1e5(rma_run: Path, exported_rma: Path) -> None:
    ctrl = PolicyController.load(exported_rma)
    agent = load_agent(rma_run)
    env = make_env("cartpole")
    assert ctrl.obs_shape == env.observation_space.shape
    steps = 0
    for episode in range(2):
        obs, _ = env.reset(seed=episode)
        ctrl.reset()
        agent.reset()
        for _ in range(200):
            torch_action = agent.act(obs)
            np.testing.assert_allclose(
                ctrl.act(np.asarray(obs, np.float32)), torch_action, atol=1e-5
            )
            np.testing.assert_allclose(ctrl._policy.latent, agent.latent, atol=1e-5)
            obs, _, terminated, truncated, _ = env.step(torch_action)
            steps += 1
            if terminated or truncated:
                break
    assert steps > 20


def test_controller_history_resets(exported_rma: Path) -> None:
    ctrl = PolicyController.load(exported_rma)
    obs, _ = make_env("cartpole").reset(seed=0)
    obs = np.asarray(obs, np.float32)
    first = ctrl.act(obs)
    latent0 = ctrl._policy.latent
    for k in range(5):
        ctrl.act(obs + 0.05 * (k + 1))
    assert not np.allclose(ctrl._policy.latent, latent0)  # the history moved the estimate
    ctrl.reset()
    np.testing.assert_array_equal(ctrl.act(obs), first)
    np.testing.assert_array_equal(ctrl._policy.latent, latent0)


def test_tampered_adaptation_file_is_refused(exported_rma: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported_rma, copy)
    with (copy / "adaptation.npz").open("ab") as f:
        f.write(b"x")
    with pytest.raises(ModelFileError, match="sha256"):
        PolicyController.load(copy)


def test_evaluate_runs_the_artifact_on_a_target(exported_rma: Path) -> None:
    res = evaluate(load_agent(exported_rma), "cartpole", "heavy_pole", episodes=1)
    assert res.lengths[0] > 0


def test_inspect_shows_the_rma_parts(rma_run: Path) -> None:
    result = run_cli("inspect", str(rma_run))
    assert result.returncode == 0, result.stderr
    assert "actor.env_encoder" in result.stdout and "adaptation.head" in result.stdout


def test_onnxruntime_pair_equals_torch(rma_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    out = export_policy(rma_run, "onnx", tmp_path / "onnx")
    ctrl = PolicyController.load(out, backend="onnxruntime")
    agent = load_agent(rma_run)
    env = make_env("cartpole")
    obs, _ = env.reset(seed=3)
    ctrl.reset()
    agent.reset()
    for _ in range(50):
        action = agent.act(obs)
        np.testing.assert_allclose(ctrl.act(np.asarray(obs, np.float32)), action, atol=1e-5)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break


def test_cli_pretrain_export_evaluate(tmp_path: Path) -> None:
    from tests.adaptation.conftest import TINY

    sets = [a for s in [*TINY, "adaptation.timesteps=300"] for a in ("--set", s)]
    run = tmp_path / "run"
    res = run_cli("pretrain", "cartpole_ppo", *sets, "--out", str(run), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "policy + adaptation module" in res.stdout
    res = run_cli("export", str(run), "--out", str(tmp_path / "pol"), "--format", "torchscript")
    assert res.returncode == 0, res.stderr
    res = run_cli("evaluate", str(tmp_path / "pol"), "-t", "cartpole:heavy_pole", "-n", "1")
    assert res.returncode == 0, res.stderr


def test_transfer_from_an_rma_source_is_a_one_line_error(rma_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "tr"
    res = run_cli("transfer", "transfer_finetune", "--from", str(rma_run), "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert "adaptation (RMA)" in res.stderr and not out.exists()
