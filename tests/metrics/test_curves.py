"""Per-run curve metrics on synthetic curves with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sim2real.metrics import (
    area_under_curve,
    asymptotic_performance,
    delayed_area,
    initial_performance,
    time_to_threshold,
)

STEPS = np.array([0.0, 100.0, 200.0, 300.0, 400.0])


def test_initial_and_asymptotic() -> None:
    v = [10.0, 20.0, 30.0, 40.0, 60.0]
    assert initial_performance(v) == 10.0
    assert asymptotic_performance(v) == 60.0
    assert asymptotic_performance(v, last_k=2) == 50.0
    assert asymptotic_performance(v, last_k=99) == pytest.approx(32.0)
    with pytest.raises(ValueError):
        asymptotic_performance(v, last_k=0)


def test_auc_of_linear_ramp_is_its_mean() -> None:
    v = STEPS / 4.0  # 0 .. 100, linear: the time-average is 50
    assert area_under_curve(STEPS, v) == pytest.approx(50.0)
    assert area_under_curve(STEPS, v, normalize=False) == pytest.approx(50.0 * 400)


def test_auc_horizon_interpolates_and_holds_last_value() -> None:
    v = STEPS / 4.0
    # [0, 200]: ramp 0..50 -> mean 25
    assert area_under_curve(STEPS, v, horizon=(0, 200)) == pytest.approx(25.0)
    # [0, 150]: ramp 0..37.5 -> mean 18.75 (interpolated end point)
    assert area_under_curve(STEPS, v, horizon=(0, 150)) == pytest.approx(18.75)
    # beyond the last eval the curve is held at 100: [0, 800] -> (50*400 + 100*400)/800
    assert area_under_curve(STEPS, v, horizon=(0, 800)) == pytest.approx(75.0)


def test_threshold_crossing_is_interpolated() -> None:
    v = [0.0, 10.0, 50.0, 90.0, 100.0]
    c = time_to_threshold(STEPS, v, 70.0)  # between 200 (50) and 300 (90): halfway
    assert not c.censored
    assert c.step == pytest.approx(250.0)
    assert time_to_threshold(STEPS, v, 90.0).step == pytest.approx(300.0)


def test_threshold_first_crossing_counts_even_if_it_drops_later() -> None:
    v = [0.0, 80.0, 20.0, 20.0, 90.0]
    c = time_to_threshold(STEPS, v, 40.0)
    assert c.step == pytest.approx(50.0) and not c.censored


def test_threshold_reached_at_start() -> None:
    c = time_to_threshold(STEPS, [100.0, 0, 0, 0, 0], 50.0)
    assert c.step == 0.0 and not c.censored


def test_never_reaching_threshold_is_censored_at_budget() -> None:
    c = time_to_threshold(STEPS, [0.0, 1.0, 2.0, 3.0, 4.0], 50.0)
    assert c.censored
    assert c.step == 400.0


def test_delayed_area_counts_source_samples() -> None:
    v = np.full(5, 100.0)
    # no delay: the plain area
    assert delayed_area(STEPS, v, delay=0, end=400, fill=0.0) == pytest.approx(100.0)
    # half the horizon spent pretraining at performance 0 -> half the area
    assert delayed_area(STEPS, v, delay=200, end=400, fill=0.0) == pytest.approx(50.0)
    # pretraining longer than the horizon: only the fill value
    assert delayed_area(STEPS, v, delay=1000, end=400, fill=7.0) == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("steps", "values"),
    [([], []), ([0, 1], [1.0]), ([0, 0], [1.0, 2.0]), ([0, 1], [np.nan, 1.0])],
)
def test_invalid_curves_raise(steps: list[float], values: list[float]) -> None:
    with pytest.raises(ValueError):
        area_under_curve(steps, values)
