"""Distributions: draws respect their support and match their moments; bad parameters rejected."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sim2real.randomization.distributions import (
    Choice,
    Constant,
    Distribution,
    LogUniform,
    Normal,
    TruncatedNormal,
    Uniform,
)

N = 40_000
parse = TypeAdapter(Distribution).validate_python


def draws(dist, n: int = N, seed: int = 0) -> np.ndarray:
    return np.asarray(dist.sample(np.random.default_rng(seed), n), dtype=np.float64)


def test_uniform_moments_and_bounds():
    x = draws(Uniform(low=0.8, high=1.2))
    assert x.min() >= 0.8 and x.max() <= 1.2
    assert x.mean() == pytest.approx(1.0, abs=0.005)
    assert x.std() == pytest.approx(0.4 / math.sqrt(12), rel=0.03)


def test_log_uniform_is_uniform_in_log():
    x = draws(LogUniform(low=0.1, high=10.0))
    assert x.min() >= 0.1 and x.max() <= 10.0
    logs = np.log(x)
    assert logs.mean() == pytest.approx(0.0, abs=0.03)
    assert logs.std() == pytest.approx(2 * math.log(10) / math.sqrt(12), rel=0.03)


def test_normal_moments():
    x = draws(Normal(mean=1.0, std=0.1))
    assert x.mean() == pytest.approx(1.0, abs=0.003)
    assert x.std() == pytest.approx(0.1, rel=0.03)


def test_truncated_normal_bounds_and_symmetric_mean():
    d = TruncatedNormal(mean=1.0, std=0.5, low=0.5, high=1.5)
    x = draws(d)
    assert x.min() >= 0.5 and x.max() <= 1.5
    assert x.mean() == pytest.approx(1.0, abs=0.01)
    assert x.std() < 0.5  # truncation narrows the spread
    assert isinstance(d.sample(np.random.default_rng(0)), float)


def test_truncated_normal_one_sided_shifts_mean():
    x = draws(TruncatedNormal(mean=0.0, std=1.0, low=0.0, high=10.0))
    assert x.min() >= 0.0
    assert x.mean() == pytest.approx(math.sqrt(2 / math.pi), abs=0.02)  # half-normal mean


def test_choice_frequencies_follow_weights():
    x = draws(Choice(values=[0, 1, 2], weights=[1, 2, 1]))
    assert set(np.unique(x)) == {0.0, 1.0, 2.0}
    freq = [np.mean(x == v) for v in (0, 1, 2)]
    np.testing.assert_allclose(freq, [0.25, 0.5, 0.25], atol=0.01)


def test_constant_consumes_no_randomness():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert Constant(value=2.5).sample(rng) == 2.5
    assert rng.bit_generator.state == state
    assert not Constant(value=1).is_random


@given(
    low=st.floats(-100, 100, allow_nan=False),
    width=st.floats(0, 100, allow_nan=False),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=50, deadline=None)
def test_uniform_samples_never_leave_bounds(low, width, seed):
    x = draws(Uniform(low=low, high=low + width), n=64, seed=seed)
    assert np.all((x >= low) & (x <= low + width))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"dist": "uniform", "low": 2, "high": 1}, "low 2 > high 1"),
        ({"dist": "log_uniform", "low": 0, "high": 1}, "greater than 0"),
        ({"dist": "normal", "mean": 0, "std": -1}, "greater than or equal to 0"),
        ({"dist": "choice", "values": [1, 2], "weights": [1]}, "1 weights for 2 values"),
        ({"dist": "gaussian", "mean": 0, "std": 1}, "does not match any of the expected tags"),
        ({"dist": "uniform", "low": 0, "high": 1, "scale": 3}, "Extra inputs"),
    ],
)
def test_invalid_distributions_rejected(data, match):
    with pytest.raises(ValidationError, match=match):
        parse(data)
