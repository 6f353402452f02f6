"""Fixtures of the transfer tests (one tiny source per algorithm)."""

from __future__ import annotations

import pytest
from stable_baselines3.common.base_class import BaseAlgorithm

from tests.transfer.transfer_helpers import make_source


@pytest.fixture(params=["ppo", "sac", "td3"])
def algo(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def source(algo: str) -> BaseAlgorithm:
    return make_source(algo)
