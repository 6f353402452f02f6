"""The ``sim2real`` command line: one console script, one subcommand per job."""

from __future__ import annotations

from sim2real.cli.app import app, main

__all__ = ["app", "main"]
