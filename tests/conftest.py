"""Shared test setup: small torch thread count so parallel workers do not oversubscribe 2 cores."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.set_num_threads(1)
