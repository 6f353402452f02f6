"""Arm-vs-scratch comparison on synthetic learning curves with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim2real.metrics import ArmCurves, MetricOptions, align_curves, compare_arms

STEPS = np.arange(0.0, 1001.0, 100.0)  # 0, 100, ..., 1000
SCRATCH = STEPS / 10.0  # 0 -> 100 linearly; crosses 80 at step 800
TRANSFER = np.minimum(50.0 + STEPS / 4.0, 100.0)  # 50, 75, 100, ...; crosses 80 at step 120


def _arm(
    curve: np.ndarray, n: int = 5, noise: float = 0.0, source: float = 0.0, seed: int = 0
) -> ArmCurves:
    rng = np.random.default_rng(seed)
    rows = [curve + noise * rng.standard_normal(curve.size) for _ in range(n)]
    return ArmCurves.from_runs([(STEPS, r) for r in rows], source_steps=source, seeds=range(n))


def test_known_answers_without_noise() -> None:
    rep = compare_arms({"scratch": _arm(SCRATCH), "finetune": _arm(TRANSFER)})
    assert rep.threshold == pytest.approx(80.0)
    c = rep.comparisons["finetune"]
    assert c.jumpstart.value == pytest.approx(50.0)
    assert c.asymptotic_gap.value == pytest.approx(0.0)
    assert c.speedup.value == pytest.approx(800.0 / 120.0)
    assert c.speedup_bound == "exact"
    # AUC: scratch ramp mean 50; transfer: 50->100 over [0, 200] then 100 -> (75*200 + 100*800)/1000
    assert rep.arms["scratch"].auc.iqm.value == pytest.approx(50.0)
    assert rep.arms["finetune"].auc.iqm.value == pytest.approx(95.0)
    assert c.auc_ratio.value == pytest.approx(1.9)
    assert c.transfer_ratio.value == pytest.approx(0.9)
    assert not c.negative_transfer
    # identical seeds: the bootstrap interval collapses to the point
    assert c.speedup.lo == pytest.approx(c.speedup.hi)
    data = json.loads(json.dumps(rep.to_dict()))  # JSON-able
    assert data["comparisons"]["finetune"]["speedup"]["value"] == pytest.approx(800.0 / 120.0)
    assert data["arms"]["finetune"]["seeds"] == [0, 1, 2, 3, 4]


def test_source_samples_are_counted() -> None:
    rep = compare_arms({"scratch": _arm(SCRATCH), "ft": _arm(TRANSFER, source=400.0)})
    c = rep.comparisons["ft"]
    assert c.speedup.value == pytest.approx(800.0 / 120.0)
    assert c.speedup_with_source.value == pytest.approx(800.0 / 520.0)
    # first 400 of 1000 steps at scratch's initial return (0), then the transfer curve's first 600
    expected = (0.0 * 400 + 75.0 * 200 + 100.0 * 400) / 1000
    assert rep.arms["ft"].auc_with_source.iqm.value == pytest.approx(expected)
    assert c.auc_ratio_with_source.value == pytest.approx(expected / 50.0)


def test_noisy_seeds_give_intervals_that_exclude_one() -> None:
    rep = compare_arms(
        {"scratch": _arm(SCRATCH, noise=3.0, seed=1), "ft": _arm(TRANSFER, noise=3.0, seed=2)}
    )
    c = rep.comparisons["ft"]
    assert c.speedup.lo < c.speedup.value < c.speedup.hi
    assert c.speedup.lo > 1.0
    assert c.auc_ratio.lo > 1.0
    assert len(rep.arms["ft"].time_to_threshold.per_seed) == 5


def test_censored_runs_are_reported_and_bound_the_speedup() -> None:
    never = np.minimum(STEPS / 20.0, 40.0)  # plateaus at 40 < 80
    rep = compare_arms({"scratch": _arm(SCRATCH), "bad": _arm(never)})
    c = rep.comparisons["bad"]
    assert rep.arms["bad"].n_censored == 5
    assert rep.arms["bad"].censored == (True,) * 5
    assert rep.arms["bad"].time_to_threshold.per_seed == (1000.0,) * 5
    assert c.speedup_bound == "upper"  # transfer time is at least the budget
    assert c.speedup.value == pytest.approx(0.8)

    rep = compare_arms(
        {"scratch": _arm(never), "ft": _arm(TRANSFER)}, options=MetricOptions(threshold=80.0)
    )
    assert rep.comparisons["ft"].speedup_bound == "lower"
    rep = compare_arms(
        {"scratch": _arm(never), "bad": _arm(never)}, options=MetricOptions(threshold=80.0)
    )
    assert rep.comparisons["bad"].speedup_bound == "undefined"


def test_negative_transfer_is_flagged_only_when_significant() -> None:
    worse = np.minimum(STEPS / 20.0, 40.0)
    rep = compare_arms(
        {
            "scratch": _arm(SCRATCH, noise=2.0, seed=1),
            "neg": _arm(worse, noise=2.0, seed=2),
            "same": _arm(SCRATCH, noise=2.0, seed=3),
        }
    )
    assert rep.comparisons["neg"].negative_transfer
    assert rep.comparisons["neg"].asymptotic_gap.hi < 0
    assert not rep.comparisons["same"].negative_transfer
    same = rep.comparisons["same"].asymptotic_gap
    assert same.lo < 0 < same.hi


def test_threshold_options() -> None:
    start100 = SCRATCH - 100.0  # -100 -> 0
    arms = {"scratch": _arm(start100), "ft": _arm(TRANSFER - 100.0)}
    rep = compare_arms(
        arms, options=MetricOptions(threshold_reference="gain", threshold_fraction=0.5)
    )
    assert rep.threshold == pytest.approx(-50.0)
    assert compare_arms(arms, options=MetricOptions(threshold=-10.0)).threshold == -10.0
    rep = compare_arms(arms, options=MetricOptions(auc_reference="scratch_initial"))
    assert rep.arms["scratch"].auc.iqm.value == pytest.approx(50.0)


def test_mean_and_iqm_aggregates_differ_with_an_outlier() -> None:
    rows = [SCRATCH] * 4 + [SCRATCH * 0.0]
    arm = ArmCurves.from_runs([(STEPS, r) for r in rows])
    rep = compare_arms(
        {"scratch": arm, "ft": _arm(TRANSFER)}, options=MetricOptions(aggregate="mean")
    )
    final = rep.arms["scratch"].final
    assert final.mean.value == pytest.approx(80.0)
    assert final.iqm.value == pytest.approx(100.0)


def test_align_curves_interpolates_and_truncates() -> None:
    steps, values = align_curves(
        [([0, 100, 200], [0.0, 1.0, 2.0]), ([0, 50, 150], [0.0, 1.0, 3.0])]
    )
    np.testing.assert_array_equal(steps, [0, 100])
    np.testing.assert_allclose(values, [[0.0, 1.0], [0.0, 2.0]])
    with pytest.raises(ValueError):
        compare_arms({"ft": _arm(TRANSFER)})


def test_arm_above_threshold_from_the_start_has_infinite_speedup() -> None:
    rep = compare_arms({"scratch": _arm(SCRATCH), "great": _arm(np.full(STEPS.size, 100.0))})
    c = rep.comparisons["great"]
    assert c.speedup_bound == "infinite" and np.isposinf(c.speedup.value)
    assert rep.to_dict()["comparisons"]["great"]["speedup"]["value"] is None  # JSON has no inf
    assert rep.arms["great"].time_to_threshold.per_seed == (0.0,) * 5
    assert c.speedup_with_source.value > 0
