"""evaluate / sweep / video on cartpole targets, for SB3 models and exported artifacts alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim2real.errors import DomainError, ParameterError, SpaceMismatchError
from sim2real.evaluation import (
    SB3Agent,
    evaluate,
    load_agent,
    parse_sweep,
    parse_target,
    record_video,
    run_sweep,
    save_sweep,
)
from sim2real.training import LoadedPolicy
from tests._export_policies import exported, trained


def _sb3_agent(algo: str = "ppo") -> SB3Agent:
    t = trained(algo, True)
    policy = LoadedPolicy(t.model, t.vec_normalize, env="cartpole")
    return SB3Agent(policy, label=f"{algo}-sb3")


def test_artifact_and_sb3_model_score_the_same() -> None:
    """The exported controller is the same policy: identical seeded returns on a shifted target."""
    sb3 = evaluate(_sb3_agent(), "cartpole", "heavy_pole", episodes=3, seed=5)
    art = evaluate(load_agent(exported("ppo", True)), "cartpole", "heavy_pole", episodes=3, seed=5)
    assert art.returns == sb3.returns and art.lengths == sb3.lengths
    assert sb3.ci95[0] <= sb3.mean <= sb3.ci95[1]
    assert sb3.std == pytest.approx(np.std(sb3.returns))
    assert sb3.success_rate is None  # cart-pole defines no success


def test_target_changes_the_dynamics() -> None:
    agent = load_agent(exported("ppo", True))
    nominal = evaluate(agent, "cartpole", "nominal", episodes=2, seed=0)
    override = evaluate(
        agent, "cartpole", "nominal", episodes=2, seed=0, overrides={"motor_strength": 0.05}
    )
    assert nominal.returns != override.returns


def test_parse_target_and_errors() -> None:
    assert parse_target("cartpole:heavy_pole") == ("cartpole", "heavy_pole")
    assert parse_target("cartpole") == ("cartpole", "nominal")
    assert parse_target(":laggy", default_env="cartpole") == ("cartpole", "laggy")
    with pytest.raises(DomainError):
        parse_target(":laggy")
    with pytest.raises(DomainError):
        evaluate(load_agent(exported("ppo", True)), "cartpole", "no_such_target", episodes=1)
    with pytest.raises(SpaceMismatchError, match="reacher"):
        evaluate(load_agent(exported("ppo", True)), "reacher", "nominal", episodes=1)


def test_parse_sweep() -> None:
    axis = parse_sweep("mass_scale.pole=0.5:2:4")
    assert axis.param == "mass_scale" and axis.entity == "pole" and len(axis.values) == 4
    assert axis.override(2.0) == {"mass_scale": {"pole": 2.0}}
    for bad in ("mass_scale", "mass_scale=1:2", "mass_scale=a:2:3", "mass_scale=1:2:0"):
        with pytest.raises(ParameterError, match="lo:hi:n"):
            parse_sweep(bad)


def test_sweep_curve_and_heatmap_outputs(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    agent = load_agent(exported("ppo", True))
    curve = run_sweep(
        agent, "cartpole", "nominal", [parse_sweep("motor_strength=0.05:1:3")], episodes=2
    )
    assert len(curve["mean"]) == 3 and curve["mean"][0] != curve["mean"][-1]
    files = save_sweep(curve, tmp_path)
    assert json.loads(Path(files["json"]).read_text())["axes"][0]["param"] == "motor_strength"
    assert Path(files["png"]).read_bytes()[:4] == b"\x89PNG"
    runs = list(Path(files["tensorboard"]).iterdir())
    acc = EventAccumulator(str(runs[0]), size_guidance={"scalars": 0, "images": 0}).Reload()
    means = [e.value for e in acc.Scalars("eval/sweep/motor_strength/mean_return")]
    assert means == pytest.approx(curve["mean"])
    assert "eval/sweep/figure" in acc.Tags()["images"]

    heat = run_sweep(
        agent,
        "cartpole",
        "nominal",
        [parse_sweep("mass_scale=0.5:2:2"), parse_sweep("frame_skip=1:2:3")],
        episodes=1,
    )
    assert np.asarray(heat["mean"]).shape == (2, 2)  # integer parameter: 1, 1.5, 2 -> 1, 2
    assert Path(save_sweep(heat, tmp_path, tensorboard=False)["png"]).is_file()
    with pytest.raises(ParameterError, match="unknown dynamics parameter"):
        run_sweep(agent, "cartpole", "nominal", [parse_sweep("warp=1:2:2")], episodes=1)
    with pytest.raises(ParameterError, match="valid range"):
        run_sweep(agent, "cartpole", "nominal", [parse_sweep("mass_scale=-1:2:2")], episodes=1)


def test_single_episode_has_no_ci() -> None:
    result = evaluate(load_agent(exported("ppo", True)), "cartpole", episodes=1)
    assert result.ci95 == (None, None)
    sweep = run_sweep(
        load_agent(exported("ppo", True)),
        "cartpole",
        "nominal",
        [parse_sweep("mass_scale=1:2:2")],
        episodes=1,
    )
    assert sweep["ci95_low"] == [None, None]
    json.dumps(sweep, allow_nan=False)


def test_video_mp4(tmp_path: Path) -> None:
    pytest.importorskip("imageio_ffmpeg")
    info = record_video(
        load_agent(exported("ppo", True)), "cartpole", "nominal", tmp_path / "ep.mp4"
    )
    assert Path(info["path"]).stat().st_size > 0 and info["frames"] > 1


def test_video_gif(tmp_path: Path) -> None:
    from PIL import Image

    info = record_video(
        load_agent(exported("sac", False)), "cartpole", "nominal", tmp_path / "ep.gif"
    )
    with Image.open(info["path"]) as gif:
        assert gif.n_frames == info["frames"] > 1
        assert gif.size == (320, 240)
