"""IQM and the stratified percentile bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from sim2real.metrics import Estimate, aggregate, bootstrap, iqm


def test_iqm_matches_trimmed_mean_convention() -> None:
    # n=8: cut 2 from each end -> mean of the middle 4
    x = [100.0, 1, 2, 3, 4, 5, 6, -100.0]
    assert iqm(x) == pytest.approx(np.mean([2, 3, 4, 5]))
    # n=5: cut 1 from each end (scipy.stats.trim_mean(x, 0.25))
    assert iqm([1.0, 2, 3, 4, 1000]) == pytest.approx(3.0)
    # n<4: plain mean
    assert iqm([1.0, 2.0, 6.0]) == pytest.approx(3.0)
    # vectorized over rows
    np.testing.assert_allclose(iqm(np.array([[1.0, 2, 3, 100], [0, 0, 4, 4]]), axis=-1), [2.5, 2.0])


def test_aggregate_names() -> None:
    x = [1.0, 2.0, 10.0]
    assert aggregate(x, "mean") == pytest.approx(13 / 3)
    assert aggregate(x, "median") == 2.0
    with pytest.raises(ValueError):
        aggregate(x, "max")  # type: ignore[arg-type]


def _mean(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=-1)


def test_bootstrap_is_reproducible_and_contains_point() -> None:
    x = np.random.default_rng(1).normal(10.0, 2.0, size=20)
    a = bootstrap(_mean, [x], seed=3)
    b = bootstrap(_mean, [x], seed=3)
    assert a == b
    assert a.lo < a.value < a.hi
    assert a.value == pytest.approx(x.mean())


def test_bootstrap_ci_shrinks_with_more_seeds_and_covers_truth() -> None:
    rng = np.random.default_rng(0)
    small = bootstrap(_mean, [rng.normal(5.0, 1.0, size=5)])
    large = bootstrap(_mean, [rng.normal(5.0, 1.0, size=200)])
    assert (large.hi - large.lo) < (small.hi - small.lo)
    assert large.lo < 5.0 < large.hi


def test_bootstrap_coverage_is_roughly_nominal() -> None:
    rng = np.random.default_rng(42)
    hits = sum(
        bootstrap(_mean, [rng.normal(0.0, 1.0, size=30)], n_boot=500, seed=i).excludes(0.0) is False
        for i in range(200)
    )
    assert 0.88 <= hits / 200 <= 0.99


def test_stratified_bootstrap_keeps_strata_apart() -> None:
    # two arms with zero spread: any resample keeps each arm's value, so the CI is a point
    est = bootstrap(lambda a, b: a.mean(-1) - b.mean(-1), [np.full(5, 3.0), np.full(7, 1.0)])
    assert (est.value, est.lo, est.hi) == (2.0, 2.0, 2.0)


def test_single_seed_has_no_interval() -> None:
    est = bootstrap(_mean, [[4.0]])
    assert est.value == 4.0 and np.isnan(est.lo) and np.isnan(est.hi)
    assert est.to_dict() == {"value": 4.0, "lo": None, "hi": None}
    assert not Estimate(1.0, float("nan"), float("nan")).excludes(0.0)


def test_metrics_package_is_numpy_only() -> None:
    import subprocess
    import sys

    code = "import sys, sim2real.metrics; print(sorted({'torch', 'stable_baselines3', 'gymnasium'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_curve_band_brackets_the_mean_curve() -> None:
    from sim2real.metrics import curve_band

    rng = np.random.default_rng(0)
    curves = np.linspace(0, 100, 11)[None, :] + rng.normal(0, 5, size=(6, 11))
    point, lo, hi = curve_band(curves, "mean")
    np.testing.assert_allclose(point, curves.mean(axis=0))
    assert np.all(lo <= point) and np.all(point <= hi) and np.all(hi - lo > 0)
    p1, l1, h1 = curve_band(curves[:1], "iqm")
    np.testing.assert_array_equal(p1, l1)
    np.testing.assert_array_equal(p1, h1)
