"""``StrictModel``: the one pydantic base of every config and spec (unknown keys are errors).

A leaf module (pydantic only), so domains, ADR settings and transfer specs can share it with
:mod:`sim2real.config` without an import cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Base of config models: ``extra='forbid'`` (a misspelt key is an error), assignments
    validated. Subclasses may add settings (``frozen=True`` for value objects)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
