"""What reaches TensorBoard: SB3's tags, eval tags per domain, the config text and hparams."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def _load(run: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run / "tb"), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_expected_tags_present(ppo_run: Path) -> None:
    acc = _load(ppo_run)
    scalars = set(acc.Tags()["scalars"])
    for tag in (
        "rollout/ep_rew_mean",
        "train/value_loss",
        "time/fps",
        "eval/train_domain/mean_reward",
        "eval/train_domain/std_reward",
        "eval/train_domain/mean_ep_length",
        "eval/target/heavy_pole/mean_reward",
        "dr/mass_scale/pole",
        "dr/episodes",
    ):
        assert tag in scalars, f"{tag} missing from {sorted(scalars)}"
    steps = [e.step for e in acc.Scalars("eval/train_domain/mean_reward")]
    assert steps == [0, 128, 256]
    tensors = set(acc.Tags()["tensors"])
    assert "config/text_summary" in tensors
    table = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| `policy.net_arch` | `[16]` |" in table
    plugins = acc.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in plugins
    assert b"eval/train_domain/mean_reward" in plugins["_hparams_/experiment"]
