"""``sim2real transfer`` / ``sim2real inspect`` end to end: run dir, TensorBoard, resume, errors."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.cli_runner import invoke

TINY = {
    "experiment": "tiny",
    "algo": "ppo",
    "hyperparams": {"n_steps": 64, "batch_size": 32, "n_epochs": 1},
    "policy": {"net_arch": [16], "activation": "tanh"},
    "n_envs": 1,
    "total_timesteps": 256,
    "eval": {"freq": 128, "episodes": 1},
    "checkpoint_freq": 128,
    "seed": 0,
    "device": "cpu",
}


def _mlp_params(sizes: list[int]) -> int:
    """Weights and biases of the linear layers ``sizes[0] -> sizes[1] -> ...``."""
    return sum(i * o + o for i, o in itertools.pairwise(sizes))


def _ppo_counts(net_arch: list[int]) -> tuple[int, int]:
    """(all parameters, feature-layer parameters) of TINY's PPO policy on the cart-pole:
    separate actor and critic towers of ``net_arch``, a Gaussian head with one log-std per
    action, and a scalar value head."""
    import gymnasium as gym

    import sim2real.envs  # noqa: F401  (registers the ids)

    env = gym.make("sim2real/CartPole-v0")
    n_obs, n_act = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    tower = _mlp_params([n_obs, *net_arch])
    heads = _mlp_params([net_arch[-1], n_act]) + n_act + _mlp_params([net_arch[-1], 1])
    return 2 * tower + heads, 2 * tower


N_PARAMS, N_FEATURE_PARAMS = _ppo_counts(TINY["policy"]["net_arch"])


def run_cli(args: list[str]) -> tuple[int, str, str]:
    proc = invoke(*args)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def source_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim2real.config import config_from_dict
    from sim2real.training import train

    out = tmp_path_factory.mktemp("src") / "run"
    cfg = config_from_dict({**TINY, "env": "cartpole", "domain": "nominal"})
    train(cfg, out_dir=out, quiet=True)
    return out


def write_config(tmp_path: Path, transfer: dict, **top) -> Path:
    path = tmp_path / "transfer_tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, **top, "transfer": transfer}))
    return path


def test_inspect_json_parses(source_run: Path) -> None:
    code, out, _ = run_cli(["inspect", str(source_run), "--json"])
    info = json.loads(out)
    assert code == 0 and info["algo"] == "ppo" and info["env"] == "cartpole"
    names = [p["name"] for p in info["parts"]]
    assert names == [
        "actor.features.0",
        "critic.features.0",
        "actor.head",
        "actor.log_std",
        "critic.head",
    ]
    assert info["total_params"] == sum(p["params"] for p in info["parts"]) == N_PARAMS


def test_transfer_run_and_resume_keep_the_strategy(source_run: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = write_config(
        tmp_path,
        {
            "copy": ["all"],
            "strategy": ["gradual_unfreeze", "layerwise_lr", "l2sp"],
            "unfreeze": [{"at_step": 100}],
            "lr_multipliers": {"actor.features": 0.5},
            "l2sp_alpha": 0.01,
        },
    )
    out = tmp_path / "run"
    args = ["transfer", str(cfg), "--from", str(source_run), "--target", "cartpole:weak_motor"]
    code, stdout, err = run_cli([*args, "--out", str(out), "--json"])
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["steps"] == 256 and summary["transfer"]["totals"]["frozen"] == N_FEATURE_PARAMS
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "transfer" and meta["transfer"]["target"] == "cartpole:weak_motor"
    assert yaml.safe_load((out / "config.yaml").read_text())["domain"] == "weak_motor"
    assert (out / "source" / "model.zip").is_file()  # the run keeps a copy of its source
    log = json.loads((out / "transfer.json").read_text())
    assert [(e["step"], e["event"]) for e in log["events"]] == [(100, "unfreeze")]

    # resume with a larger budget: same run dir, unfreezing not repeated, state restored
    code, stdout, err = run_cli(
        ["transfer", "--resume", str(out), "--set", "total_timesteps=384", "--json"]
    )
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 384
    log = json.loads((out / "transfer.json").read_text())
    assert [(e["step"], e["event"]) for e in log["events"]] == [(100, "unfreeze")]
    resumed = [h for h in log["lr_history"] if h["step"] == 256]
    assert resumed and resumed[-1]["lr"]["actor.features.0"] > 0  # unfrozen state restored

    ea = EventAccumulator(str(out / "tb"), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    scalars = set(ea.Tags()["scalars"])
    assert {
        "transfer/l2sp",
        "transfer/lr/actor.features.0",
        "transfer/params/copied",
        "transfer/frozen_params",
    } <= scalars
    frozen = [e.value for e in ea.Scalars("transfer/frozen_params")]
    assert frozen[0] == N_FEATURE_PARAMS and frozen[-1] == 0  # the unfreezing is visible over time
    assert "transfer/report/text_summary" in ea.Tags()["tensors"]
    l2sp_steps = [e.step for e in ea.Scalars("transfer/l2sp")]
    assert max(l2sp_steps) > 256  # one continuous curve across the resume

    code, stdout, _ = run_cli(["inspect", str(out), "--json"])
    assert json.loads(stdout)["transfer"]["totals"]["copied"] == N_PARAMS

    # the transfer block may not change on resume
    code, _, err = run_cli(["transfer", str(cfg), "--from", str(source_run), "--resume", str(out),
                            "--set", "transfer.l2sp_alpha=0.5"])  # fmt: skip
    assert code == 2 and "transfer.l2sp_alpha changed" in err


@pytest.mark.parametrize(
    ("transfer", "message"),
    [
        ({"copy": ["actor.feat"]}, "'actor.feat' matches no part"),
        ({"strategy": ["finetune", "freeze"]}, "cannot be combined"),
        ({"copy": ["all"], "early_stopping": {"patience": 2}, "source": None}, "no source"),
    ],
)
def test_bad_transfer_configs_exit_2_with_one_line(
    source_run: Path, tmp_path: Path, transfer: dict, message: str
) -> None:
    cfg = write_config(tmp_path, transfer, env="cartpole", domain="weak_motor")
    args = ["transfer", str(cfg), "--out", str(tmp_path / "run")]
    if "source" not in transfer:
        args += ["--from", str(source_run)]
    code, _, err = run_cli(args)
    assert code == 2 and message in err and err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_library_transfer_from_a_model_zip(source_run: Path) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    from sim2real.transfer import TransferPPO, named_parts, transfer

    model = transfer(str(source_run / "model.zip"), make_vec_env("sim2real/CartPole-v0"), {})
    assert isinstance(model, TransferPPO)
    assert model.transfer_info["log"]["totals"]["copied"] == sum(
        p.numel for p in named_parts(model).values()
    )


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_off_policy_transfer_with_normalization_and_resume(algo: str, tmp_path: Path) -> None:
    from sim2real.config import config_from_dict
    from sim2real.training import load_run, train

    off = {
        **TINY,
        "algo": algo,
        "hyperparams": {"learning_starts": 64, "buffer_size": 2000, "batch_size": 32},
        "policy": {"net_arch": [16], "activation": "relu"},
        "normalize": True,
        "total_timesteps": 192,
    }
    src = tmp_path / "src"
    train(
        config_from_dict({**off, "env": "cartpole", "domain": "nominal"}), out_dir=src, quiet=True
    )
    cfg = tmp_path / "t.yaml"
    block = {"strategy": ["freeze"], "normalization": "freeze", "off_policy": {"warmup_steps": 96}}
    cfg.write_text(yaml.safe_dump({**off, "domain": "weak_motor", "transfer": block}))
    out = tmp_path / "run"
    code, _, err = run_cli(["transfer", str(cfg), "--from", str(src), "--out", str(out), "-q"])
    assert code == 0, err
    source_vn = load_run(src).vec_normalize
    assert source_vn is not None
    target_vn = load_run(out).vec_normalize
    assert target_vn is not None  # frozen statistics: exactly the source's
    assert (target_vn.obs_rms.mean == source_vn.obs_rms.mean).all()
    shutil.rmtree(src)  # resume from the run's own snapshot of the source
    code, _, err = run_cli(["transfer", "--resume", str(out), "--set", "total_timesteps=256", "-q"])
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["steps"] == 256
    assert (load_run(out).vec_normalize.obs_rms.mean == source_vn.obs_rms.mean).all()
