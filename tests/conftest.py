"""Shared test setup: small torch thread count so parallel workers do not oversubscribe 2 cores;
each test starts from the env registrations it found (a config with ``env_kwargs``, such as
quadruped_ppo's ``gait: trot``, registers them for the whole process)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.set_num_threads(1)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_env_registrations():
    """Undo the env settings a test registered (``sim2real.envs.external.REGISTERED``)."""
    from sim2real.envs.external import REGISTERED

    before = dict(REGISTERED)
    yield
    REGISTERED.clear()
    REGISTERED.update(before)
