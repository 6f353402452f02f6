"""Headless rendering for MuJoCo: choose EGL when there is no display (run on import, which
``sim2real.envs`` does first, before anything imports mujoco)."""

from __future__ import annotations

import os
import sys

__all__ = ["prefer_egl"]


def prefer_egl() -> None:
    """Set ``MUJOCO_GL=egl`` on Linux without ``DISPLAY`` unless the user chose a backend.

    Without a display, MuJoCo's default (GLFW) cannot create a context and rendering aborts the
    process; EGL renders offscreen. MuJoCo reads the variable when it is first imported.
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")


prefer_egl()
