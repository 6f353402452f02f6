"""Shared CLI output helpers: JSON to stdout, rich tables and messages."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rich.console import Console

__all__ = ["console", "err_console", "print_json"]

# soft_wrap: messages with paths/commands stay on one line (copy-pasteable) on narrow terminals
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def print_json(data: Any) -> None:
    """Print ``data`` as JSON only (no markup), for scripts."""
    print(json.dumps(data, indent=2, default=_default))
