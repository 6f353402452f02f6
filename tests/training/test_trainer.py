"""In-process `train()`: same seed -> same parameters, model_builder, NaN guard, load_run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sim2real.config import load_config
from sim2real.envs.registry import make_env
from sim2real.errors import ModelFileError, PhysicsError
from sim2real.training import RunBuilder, load_run, make_vec_env, read_eval_curve, train
from sim2real.training.resume import restore_adr_callback
from sim2real.training.run_dir import RunDir
from sim2real.training.vec_env import FiniteCheck

TINY = ["total_timesteps=128", "eval.freq=0", "eval.at_start=false", "checkpoint_freq=0"]


def _params(model: PPO) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in model.policy.parameters()]).numpy()


def test_same_seed_same_params(tmp_path: Path) -> None:
    a = train(load_config("smoke", [*TINY, "seed=7"]), tmp_path / "a", quiet=True)
    b = train(load_config("smoke", [*TINY, "seed=7"]), tmp_path / "b", quiet=True)
    c = train(load_config("smoke", [*TINY, "seed=8"]), tmp_path / "c", quiet=True)
    assert np.array_equal(_params(a.model), _params(b.model))
    assert not np.array_equal(_params(a.model), _params(c.model))


def test_run_builder_model_and_info(tmp_path: Path) -> None:
    built = []

    def make_model(prepared, venv):  # what transfer does: its own (pre-loaded) model on our env
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=64,
            batch_size=32,
            n_epochs=1,
            policy_kwargs={"net_arch": [8]},
            seed=0,
        )
        built.append(model)
        return model

    res = train(
        load_config("smoke", TINY),
        tmp_path / "r",
        quiet=True,
        builder=RunBuilder(model=make_model, info={"transfer": {"strategy": "finetune"}}),
    )
    assert res.model is built[0] and res.model.num_timesteps == 128
    meta = json.loads((res.path / "meta.json").read_text())
    assert meta["transfer"] == {"strategy": "finetune"}


def test_nan_actions_raise_physics_error_and_keep_the_run(tmp_path: Path) -> None:
    def make_model(prepared, venv):
        model = PPO("MlpPolicy", venv, n_steps=64, policy_kwargs={"net_arch": [8]}, seed=0)
        with torch.no_grad():
            model.policy.action_net.bias.fill_(float("nan"))
        return model

    with pytest.raises(PhysicsError) as err:
        train(
            load_config("smoke", TINY),
            tmp_path / "r",
            quiet=True,
            builder=RunBuilder(model=make_model),
        )
    msg = str(err.value)
    assert "\n" not in msg and "cartpole" in msg and "NaN" in msg and "step" in msg
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == msg
    assert (tmp_path / "r" / "failed_model.zip").is_file()


def test_finite_check_names_env_and_step() -> None:
    venv = FiniteCheck(make_vec_env("cartpole", "nominal", 1, 0), "cartpole")
    venv.reset()
    venv.step(np.zeros((1, 1), dtype=np.float32))
    with pytest.raises(PhysicsError, match=r"cartpole: inf in actions .* step 1"):
        venv.step(np.full((1, 1), np.inf, dtype=np.float32))
    venv.close()


class _BadObsVecEnv(DummyVecEnv):
    """Cart-pole whose second step observes ``value`` in one entry."""

    def __init__(self, value: float) -> None:
        super().__init__([lambda: make_env("cartpole")])
        self.value = value
        self.calls = 0

    def step_wait(self):  # type: ignore[override]
        obs, rew, done, info = super().step_wait()
        self.calls += 1
        if self.calls == 2:
            obs[0, 2] = self.value
        return obs, rew, done, info


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_finite_check_catches_nonfinite_observations(value: float) -> None:
    venv = FiniteCheck(_BadObsVecEnv(value), "cartpole")
    venv.reset()
    venv.step(np.zeros((1, 1), dtype=np.float32))  # finite: passes
    kind = "NaN" if np.isnan(value) else "inf"
    with pytest.raises(
        PhysicsError,
        match=rf"cartpole: {kind} in observations from the environment at training step 2",
    ):
        venv.step(np.zeros((1, 1), dtype=np.float32))
    venv.close()


def test_finite_check_passes_huge_finite_values() -> None:
    venv = FiniteCheck(_BadObsVecEnv(3e38), "cartpole")  # finite, near float32 max
    venv.reset()
    for _ in range(3):
        venv.step(np.full((1, 1), 3e38, dtype=np.float32))
    venv.close()


def test_load_run_dir_zip_and_errors(ppo_run: Path, tmp_path: Path) -> None:
    loaded = load_run(ppo_run)
    assert loaded.env_name == "cartpole" and loaded.config is not None
    assert loaded.vec_normalize is not None and loaded.vec_normalize.training is False
    env = loaded.make_env()
    obs = env.reset()
    action, _ = loaded.model.predict(obs, deterministic=True)
    assert action.shape == (1, 1)
    env.close()
    best = load_run(ppo_run / "best_model.zip")
    assert best.path == ppo_run and best.vec_normalize is not None
    # the best model comes with the statistics it was evaluated with, not the final ones
    assert (ppo_run / "best_vecnormalize.pkl").is_file()
    copy = Path(shutil.copytree(ppo_run, tmp_path / "copy"))
    final = load_run(copy)
    assert final.vec_normalize is not None
    marked = VecNormalize(final.make_env().venv)  # other statistics, saved as the best's
    marked.obs_rms.mean = final.vec_normalize.obs_rms.mean + 1.0
    marked.save(str(copy / "best_vecnormalize.pkl"))
    for best_vn in (
        load_run(copy, best=True).vec_normalize,
        load_run(copy / "best_model.zip").vec_normalize,
    ):
        assert best_vn is not None
        np.testing.assert_array_equal(best_vn.obs_rms.mean, marked.obs_rms.mean)
    final_vn = load_run(copy).vec_normalize
    assert final_vn is not None
    np.testing.assert_allclose(final_vn.obs_rms.mean, marked.obs_rms.mean - 1.0, atol=1e-12)
    ckpt = sorted((ppo_run / "checkpoints").iterdir())[-1] / "model.zip"
    assert load_run(ckpt).path == ppo_run
    curve = read_eval_curve(ppo_run)
    assert curve["timesteps"] == [0, 128, 256] and len(curve["mean"]) == 3
    stray = tmp_path / "stray.zip"
    stray.write_bytes((ppo_run / "model.zip").read_bytes())
    assert load_run(stray).config is None and load_run(stray).model.__class__ is PPO
    stray.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="corrupt"):
        load_run(stray)
    assert read_eval_curve(ppo_run, "heavy_pole")["timesteps"] == [0, 128, 256]
    with pytest.raises(ModelFileError, match="no curve"):
        read_eval_curve(ppo_run, "heavy")


def test_adr_state_round_trips_through_checkpoints(tmp_path: Path) -> None:
    adr = (
        "adr={parameters: {mass_scale/pole: {low: 0.5, high: 2.0, delta: 0.1}}, "
        "threshold_low: 1, threshold_high: 2, buffer_size: 1}"
    )
    cfg = load_config("smoke", ["domain=source", adr, "total_timesteps=256", "eval.freq=0"])
    res = train(cfg, tmp_path / "r", quiet=True)
    ckpt = RunDir(res.path).latest_checkpoint()
    saved = json.loads((ckpt.path / "adr.json").read_text())
    assert saved["ranges"]["mass_scale/pole"] != [1.0, 1.0]  # ADR moved the boundaries
    restored = restore_adr_callback(cfg, ckpt)
    assert restored is not None and restored.state_dict()["ranges"] == saved["ranges"]
