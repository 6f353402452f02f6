"""Report writer and TensorBoard view from plain synthetic curves (no training)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from sim2real.benchmark.report import (
    BenchmarkReport,
    build_report,
    format_estimate,
    render_markdown,
    summary_lines,
    write_report,
)
from sim2real.metrics import Estimate, MetricOptions

STEPS = [0.0, 100.0, 200.0, 300.0, 400.0]


def _curves() -> dict[str, dict[int, tuple[list[float], list[float]]]]:
    rng = np.random.default_rng(0)
    out: dict[str, dict[int, tuple[list[float], list[float]]]] = {"scratch": {}, "finetune": {}}
    for seed in range(3):
        s = np.array(STEPS) / 4.0 + rng.normal(0, 1, 5)
        t = np.minimum(60 + np.array(STEPS) / 4.0, 100) + rng.normal(0, 1, 5)
        out["scratch"][seed] = (STEPS, s.tolist())
        out["finetune"][seed] = (STEPS, t.tolist())
    return out


@pytest.fixture
def report() -> BenchmarkReport:
    cfg = {
        "benchmark": "toy",
        "env": "cartpole",
        "target": "heavy",
        "budget": 400,
        "eval": {"every": 100, "episodes": 2},
        "seeds": [0, 1, 2],
        "arms": {"finetune": {"strategy": ["finetune"]}},
    }
    return build_report(
        _curves(),
        options=MetricOptions(n_boot=200),
        source_steps={"finetune": 1000},
        extra={
            "config": cfg,
            "zero_shot": {"mean": 55.0, "std": 1.0, "episodes": 4},
            "command": "sim2real benchmark toy.yaml",
        },
    )


def test_report_files(report: BenchmarkReport, tmp_path: Path) -> None:
    paths = write_report(report, tmp_path, title="toy")
    data = json.loads(paths["json"].read_text())
    comp = data["metrics"]["comparisons"]["finetune"]
    assert comp["jumpstart"]["value"] > 50
    assert comp["speedup"]["value"] > 1
    assert len(data["curves"]["scratch"]["per_seed"]) == 3
    md = paths["markdown"].read_text()
    assert (
        "| finetune |" in md and "learning_curves.png" in md and "sim2real benchmark toy.yaml" in md
    )
    assert paths["figure"].stat().st_size > 10_000
    assert paths["figure"].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("how", ["mean", "iqm", "median"])
def test_every_aggregate_renders_the_report(how: str, tmp_path: Path) -> None:
    """``metrics.aggregate`` accepts three aggregates; the report must render each, with the
    per-arm values of that aggregate (median once raised in render_markdown)."""
    report = build_report(
        _curves(), options=MetricOptions(n_boot=50, aggregate=how), source_steps={"finetune": 1000}
    )
    paths = write_report(report, tmp_path, title="toy")
    final = report.metrics.arms["finetune"].final
    assert final.estimate(how) == getattr(final, how)
    assert (
        f"| finetune | {format_estimate(report.metrics.arms['finetune'].initial.estimate(how))}"
        in (paths["markdown"].read_text())
    )
    per_seed = np.array(final.per_seed)
    if how == "median":
        assert final.median.value == pytest.approx(float(np.median(per_seed)))


def test_markdown_marks_censored_bounds(report: BenchmarkReport) -> None:
    assert "lower bound" not in render_markdown(report)
    assert "lower bound" in render_markdown(_with_speedup(report, speedup_bound="lower"))


def test_tensorboard_layout_scalars_hparams_image(report: BenchmarkReport, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2

    from sim2real.benchmark.tb_report import curve_tag, write_tensorboard

    paths = write_report(report, tmp_path)
    root = write_tensorboard(report, tmp_path / "tb", figure=paths["figure"], markdown="x")

    def load(run: str) -> EventAccumulator:
        acc = EventAccumulator(
            str(root / run), size_guidance={"tensors": 0, "images": 0, "scalars": 0}
        )
        acc.Reload()
        return acc

    for arm in ("scratch", "finetune"):
        for seed in range(3):
            acc = load(f"{arm}/seed_{seed}")
            assert [e.step for e in acc.Scalars("eval/target/heavy/return")] == [
                0,
                100,
                200,
                300,
                400,
            ]
            assert "_hparams_/session_start_info" in acc.summary_metadata
        agg = load(f"{arm}/aggregate")
        assert {curve_tag("heavy", arm, p) for p in ("value", "lower", "upper")} <= set(
            agg.Tags()["scalars"]
        )
    fin = load("finetune/aggregate").Tags()["scalars"]
    for name in ("speedup", "jumpstart", "auc_ratio", "asymptotic_gap"):
        assert f"transfer/{name}" in fin
    speed = load("finetune/aggregate").Scalars("transfer/speedup")[0].value
    assert speed == pytest.approx(report.metrics.comparisons["finetune"].speedup.value, rel=1e-6)

    summary = load("summary")
    assert "report/learning_curves" in summary.Tags()["images"]
    cfg = summary.Tensors("custom_scalars__config__")[0]
    lay = layout_pb2.Layout()
    lay.ParseFromString(cfg.tensor_proto.string_val[0])
    series = lay.category[0].chart[0].margin.series
    assert [s.value for s in series] == [
        curve_tag("heavy", "scratch"),
        curve_tag("heavy", "finetune"),
    ]


def test_estimates_with_an_unbounded_ci_side_format_and_print(report: BenchmarkReport) -> None:
    """A censored speedup's bootstrap CI can be unbounded above (stored as null in JSON)."""
    nan, inf = float("nan"), float("inf")
    assert format_estimate(Estimate(3.3, 2.47, inf)) == "3.3 [2.47, inf]"
    assert format_estimate(Estimate(3.3, nan, 4.0)) == "3.3 [-inf, 4]"
    assert format_estimate(Estimate(-3e-16, nan, nan)) == "0"
    assert format_estimate(Estimate(nan, 27.0, nan)) == "n/a"
    censored = _with_speedup(report, speedup=Estimate(5.0, 2.0, inf), speedup_bound="lower")
    lines = summary_lines(censored)
    assert any("speedup 5 [2, inf] (lower bound: censored runs)" in line for line in lines)
    assert "[2, inf]" in render_markdown(censored)


def _with_speedup(report: BenchmarkReport, **changes: object) -> BenchmarkReport:
    """``report`` with the finetune arm's comparison fields replaced."""
    comps = dict(report.metrics.comparisons)
    comps["finetune"] = dataclasses.replace(comps["finetune"], **changes)
    metrics = dataclasses.replace(report.metrics, comparisons=comps)
    return dataclasses.replace(report, metrics=metrics)
