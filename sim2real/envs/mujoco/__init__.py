"""MuJoCo targets of sim2real's robots (requires the ``mujoco`` package)."""
