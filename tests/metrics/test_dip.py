"""The fine-tuning dip on synthetic curves: per run, over seeds with a CI, in every report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim2real.benchmark.report import build_report, render_markdown, summary_lines, write_report
from sim2real.metrics import ArmCurves, MetricOptions, bootstrap, compare_arms, fine_tuning_dip

STEPS = np.arange(0, 1001, 100, dtype=float)  # budget 1000: the first 25 % are steps 0..250


def test_dip_is_the_lowest_return_below_zero_shot_in_the_first_quarter() -> None:
    values = np.array([50, 20, 10, 40, 60, 70, 80, 90, 95, 99, 100], dtype=float)
    assert fine_tuning_dip(STEPS, values, 50.0) == -40.0  # 10 at step 200
    late = values.copy()
    late[[1, 2]], late[5] = 55, -100  # a later drop is not the fine-tuning dip
    assert fine_tuning_dip(STEPS, late, 50.0) == 0.0
    rising = np.linspace(60, 100, STEPS.size)
    assert fine_tuning_dip(STEPS, rising, 50.0) == pytest.approx(10.0)  # no dip: positive
    assert fine_tuning_dip(STEPS, values, 50.0, end=400) == -30.0  # only steps 0 and 100 count


def test_dip_over_seeds_has_the_bootstrap_ci_of_the_mean() -> None:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 100, STEPS.size)
    scratch = ArmCurves(STEPS, np.vstack([base + rng.normal(0, 1, STEPS.size) for _ in range(5)]))
    dips = np.array([-30.0, -25.0, -40.0, -10.0, -35.0])
    rows = []
    for d in dips:
        row = np.full(STEPS.size, 100.0)
        row[2] = 80.0 + d  # zero-shot 80, lowest at step 200
        rows.append(row)
    finetune = ArmCurves(STEPS, np.vstack(rows))
    opts = MetricOptions(n_boot=500, seed=3)
    m = compare_arms({"scratch": scratch, "finetune": finetune}, options=opts, zero_shot=80.0)
    dip = m.arms["finetune"].dip
    assert dip is not None
    assert dip.per_seed == tuple(dips)
    expected = bootstrap(lambda x: x.mean(axis=-1), [dips], n_boot=500, seed=3)
    assert dip.mean == expected
    assert dip.mean.value == pytest.approx(-28.0) and dip.mean.hi < 0
    assert compare_arms({"scratch": scratch}, options=opts).arms["scratch"].dip is None


def test_reports_show_the_dip(tmp_path) -> None:
    steps = [0.0, 100.0, 200.0, 300.0, 400.0]
    curves = {
        "scratch": {s: (steps, [0.0, 10, 20, 30, 40 + s]) for s in range(3)},
        "finetune": {s: (steps, [50.0, 30 - s, 60, 70, 80]) for s in range(3)},
    }
    zero = {"mean": 50.0, "std": 1.0, "episodes": 10, "returns": [50.0] * 10}
    report = build_report(curves, options=MetricOptions(n_boot=200), source_steps={},
                          extra={"zero_shot": zero})  # fmt: skip
    md = render_markdown(report, figure=None)
    assert "fine-tuning dip" in md and "| -21 [" in md  # mean of -20, -21, -22
    assert any("dip -21 [" in line for line in summary_lines(report))
    files = write_report(report, tmp_path)
    data = json.loads(files["json"].read_text())
    assert data["metrics"]["arms"]["finetune"]["dip"]["per_seed"] == [-20.0, -21.0, -22.0]


def test_the_dip_reaches_the_benchmark_tensorboard(tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from sim2real.benchmark.tb_report import write_tensorboard

    steps = [0.0, 100.0, 200.0, 300.0, 400.0]
    curves = {
        "scratch": {s: (steps, [0.0, 10, 20, 30, 40 + s]) for s in range(3)},
        "finetune": {s: (steps, [50.0, 30 - s, 60, 70, 80]) for s in range(3)},
    }
    zero = {"mean": 50.0, "std": 1.0, "episodes": 10, "returns": [50.0] * 10}
    report = build_report(curves, options=MetricOptions(n_boot=200), source_steps={},
                          extra={"zero_shot": zero})  # fmt: skip
    write_tensorboard(report, tmp_path)
    ea = EventAccumulator(str(tmp_path / "finetune" / "aggregate"))
    ea.Reload()
    assert ea.Scalars("transfer/dip")[0].value == pytest.approx(-21.0)
