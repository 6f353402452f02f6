"""Fine-tuning strategies through ``sim2real transfer``: TensorBoard, resume, export, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch as th
import yaml

from tests.transfer.test_cli import TINY, run_cli, source_run, write_config  # noqa: F401

PPO_ALL = {
    "copy": ["all"],
    "strategy": ["finetune"],
    "critic_warmup": {"steps": 64, "reinit_value_head": True},
    "exploration": {"action_std": 0.5},
    "anchor": {"weight": 0.5, "schedule": "performance", "score_floor": -100.0},
    "guide": {"horizon": 20, "schedule": "threshold", "threshold": -1e9, "horizon_step": 5},
}


def _scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    ea.Reload()
    return {t: [(e.step, e.value) for e in ea.Scalars(t)] for t in ea.Tags()["scalars"]}


def test_ppo_strategies_run_resume_and_export(source_run: Path, tmp_path: Path) -> None:  # noqa: F811
    cfg = write_config(tmp_path, PPO_ALL)
    out = tmp_path / "run"
    args = ["transfer", str(cfg), "--from", str(source_run), "--target", "cartpole:weak_motor"]
    code, _, err = run_cli([*args, "--out", str(out), "-q"])
    assert code == 0, err
    tags = _scalars(out)
    for tag in ("transfer/value_loss_warmup", "transfer/anchor_weight", "transfer/kl_to_source",
                "transfer/guide_steps", "transfer/guide_horizon"):  # fmt: skip
        assert tag in tags, tag
    # every evaluation (at 0, 128, 256) passes the threshold: the horizon shrinks 20 -> 15 -> 10 -> 5
    horizons = [v for _, v in tags["transfer/guide_horizon"]]
    assert horizons[0] in (15.0, 20.0) and min(horizons) >= 5.0
    info = json.loads((out / "transfer.json").read_text())
    assert any("critic warm-up" in n for n in info["log"]["notes"])

    code, _, err = run_cli(["transfer", "--resume", str(out), "--set", "total_timesteps=384", "-q"])
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["steps"] == 384
    resumed = _scalars(out)
    # the threshold schedule was replayed from the evaluations: it continues, it does not restart
    after = [v for s, v in resumed["transfer/guide_horizon"] if s > 256]
    assert after and max(after) <= 5.0
    guide_steps = [v for _, v in resumed["transfer/guide_steps"]]
    assert guide_steps == sorted(guide_steps)

    exported = tmp_path / "policy"
    code, _, err = run_cli(["export", str(out), "--out", str(exported), "--json"])
    assert code == 0, err


def test_sac_source_replay_and_anchor_survive_resume(tmp_path: Path) -> None:
    from sim2real.config import config_from_dict
    from sim2real.training import train
    from sim2real.transfer import TransferReplayBuffer
    from sim2real.transfer.config import saved_transfer_config
    from sim2real.transfer.run import run_transfer

    off = {**TINY, "algo": "sac", "policy": {"net_arch": [16], "activation": "relu"},
           "hyperparams": {"learning_starts": 64, "buffer_size": 2000, "batch_size": 32},
           "total_timesteps": 128}  # fmt: skip
    src = tmp_path / "src"
    train(
        config_from_dict({**off, "env": "cartpole", "domain": "nominal"}), out_dir=src, quiet=True
    )
    block = {
        "source": str(src),
        "source_replay": {"transitions": 300, "fraction": 0.5},
        "anchor": {"weight": 0.1, "schedule": "linear", "decay_steps": 1000},
        "off_policy": {"warmup_policy": "random"},
    }
    cfg_path = tmp_path / "transfer_sac.yaml"
    cfg_path.write_text(yaml.safe_dump({**off, "domain": "weak_motor", "transfer": block}))
    from sim2real.transfer.config import load_transfer_config

    out = tmp_path / "run"
    first = run_transfer(load_transfer_config(cfg_path), out_dir=out, quiet=True)
    buf = first.model.replay_buffer
    assert isinstance(buf, TransferReplayBuffer) and buf.source is not None
    assert buf.source.size() == 300 and buf.fraction == 0.5
    assert buf.sampled[0] == buf.sampled[1]  # half of every batch came from the source
    source_obs = buf.source.observations[:300].copy()
    info = json.loads((out / "transfer.json").read_text())
    assert info["finetune"]["source_replay"]["sim_steps"] == 300
    assert "transfer/source_replay_fraction" in _scalars(out)

    shutil.rmtree(
        src
    )  # the source is rebuilt from the run's snapshot, the replay from the checkpoint
    config = saved_transfer_config(out, ["total_timesteps=192"])
    second = run_transfer(config, resume=out, quiet=True)
    buf2 = second.model.replay_buffer
    assert isinstance(buf2, TransferReplayBuffer) and buf2.source is not None
    assert (buf2.source.observations[:300] == source_obs).all()  # not collected again
    teacher = second.model._transfer_teacher.policy.state_dict()
    original = first.model._transfer_teacher.policy.state_dict()
    assert all(th.equal(teacher[k], original[k]) for k in original)
    assert second.summary["steps"] == 192
    code, _, err = run_cli(["export", str(out), "--out", str(tmp_path / "policy"), "--json"])
    assert code == 0, err


@pytest.mark.parametrize(
    ("transfer", "top", "message"),
    [
        ({"source_replay": {"transitions": 100}}, {}, "transfer.source_replay needs an off-policy"),
        ({"copy": ["critic"], "anchor": {"weight": 1, "schedule": "fixed"}}, {}, "no actor part"),
        ({"anchor": {"weight": 1, "schedule": "performance"}}, {"eval": {"freq": 0}},
         "transfer.anchor.schedule follows the target evaluations"),
    ],
)  # fmt: skip
def test_bad_strategy_combinations_exit_2(
    source_run: Path,  # noqa: F811
    tmp_path: Path,
    transfer: dict,
    top: dict,
    message: str,
) -> None:
    cfg = write_config(tmp_path, transfer, env="cartpole", domain="weak_motor", **top)
    code, _, err = run_cli(["transfer", str(cfg), "--from", str(source_run), "--out",
                            str(tmp_path / "run")])  # fmt: skip
    assert code == 2 and message in err and err.startswith("error: "), err
    assert len(err.strip().splitlines()) == 1
