"""Actuator models between a policy's command and the joint: backlash, deadband, lag, torque-speed.

:class:`ActuatorModel` turns the normalized command of each actuator (in [-1, 1], after the
action latency) into the command the motor applies, in this order::

    u ──► backlash ──► deadband ──► first-order lag ──► torque-speed limit ──► applied command

``motor_backlash`` (width ``w``, command units)
    A hysteresis band (Simulink's *Backlash* block): the output stays put while the command
    moves inside a band of width ``w`` around it and follows the command at distance ``w / 2``
    once it leaves the band. Output state 0 at every episode start.
``motor_deadband`` (``d``, command units)
    Commands with ``|u| <= d`` give zero; larger ones are shifted toward zero by ``d``
    (Simulink's *Dead Zone*: ``sign(u) * (|u| - d)``, continuous, so the largest output is
    ``1 - d``).
``motor_time_constant`` (``tau``, s)
    First-order lag (motor bandwidth ``1 / (2 pi tau)`` Hz), discretized exactly for a command
    held over the control period ``dt``: ``y_n = a * y_{n-1} + (1 - a) * u_n`` with
    ``a = exp(-dt / tau)``. After a unit step from rest, the command applied in control step
    ``n = 1, 2, ...`` is ``1 - exp(-n dt / tau)``: 63.2 % once ``n dt = tau``. State 0 at every
    episode start.
``motor_velocity_limit`` (no-load speed, rad/s or m/s) and ``motor_stall_torque`` (x max torque)
    The DC motor torque-speed curve of Isaac Lab's ``DCMotor`` (``_clip_effort``), in units of
    the actuator's effort limit (max torque x ``motor_strength``): for joint speed ``v``, no-load
    speed ``v0`` and stall torque ``s``, the command is clipped to
    ``[clip(s * (-1 - v / v0), -1, 0), clip(s * (1 - v / v0), 0, 1)]``: the torque available in
    the direction of motion falls linearly from the stall torque at rest to zero at ``v0``; a
    torque against the motion is limited only by the effort limit (for ``s >= 1``). ``v0 = 0``
    switches the limit off. The speed is read once per control step, at its start, as the
    torque is held for the whole control step. Offered only by torque-controlled robots (the
    PD robots' torque comes out of PyBullet's constraint solver, beyond the command's reach).

Every parameter's nominal value switches its stage off, and a model whose parameters are all
nominal is skipped entirely: nominal trajectories are bit-identical to an env without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sim2real.envs.parameters import ParameterSpec

__all__ = ["ACTUATOR_PARAMETERS", "TORQUE_SPEED_PARAMETERS", "ActuatorModel"]

#: Parameters of the torque-speed limit (torque-controlled robots only).
TORQUE_SPEED_PARAMETERS = ("motor_stall_torque", "motor_velocity_limit")
#: Every parameter an :class:`ActuatorModel` may handle, in declaration order.
ACTUATOR_PARAMETERS = (
    "motor_backlash",
    "motor_deadband",
    "motor_time_constant",
    *TORQUE_SPEED_PARAMETERS,
)


class ActuatorModel:
    """Per-actuator backlash, deadband, first-order lag and torque-speed limit (module docstring).

    Args:
        names: one entity name per actuator (the env's action names).
        torque_speed: offer the torque-speed limit parameters (torque-controlled robots).
    """

    def __init__(self, names: Sequence[str], torque_speed: bool = True) -> None:
        self.names = tuple(names)
        self.torque_speed = torque_speed
        n = len(self.names)
        self.backlash = np.zeros(n)
        self.deadband = np.zeros(n)
        self.time_constant = np.zeros(n)
        self.stall_torque = np.ones(n)
        self.velocity_limit = np.zeros(n)
        self._alpha = np.zeros(n)
        self._gain = np.ones(n)
        self._half_backlash = np.zeros(n)
        self._inv_velocity_limit = np.zeros(n)
        self._stall = np.ones(n)
        self._stages = (False, False, False, False)
        self._lag_state = np.zeros(n)
        self._backlash_state = np.zeros(n)
        self.active = False

    def specs(self) -> list[ParameterSpec]:
        """Parameter specs; every nominal value switches its stage off."""
        acts = self.names
        specs = [
            ParameterSpec(
                "motor_backlash",
                np.zeros(len(acts)),
                0.0,
                1.0,
                "x max command",
                "backlash: width of the hysteresis band on the command (0 = none)",
                acts,
            ),
            ParameterSpec(
                "motor_deadband",
                np.zeros(len(acts)),
                0.0,
                0.5,
                "x max command",
                "deadband: |command| at or below it gives zero, above shifted by it (0 = none)",
                acts,
            ),
            ParameterSpec(
                "motor_time_constant",
                np.zeros(len(acts)),
                0.0,
                1.0,
                "s",
                "first-order lag of the applied command, exp(-dt/tau) per step (0 = none)",
                acts,
            ),
        ]
        if self.torque_speed:
            specs += [
                ParameterSpec(
                    "motor_stall_torque",
                    np.ones(len(acts)),
                    0.1,
                    10.0,
                    "x max torque",
                    "DC motor stall torque (Isaac Lab saturation_effort / effort_limit)",
                    acts,
                ),
                ParameterSpec(
                    "motor_velocity_limit",
                    np.zeros(len(acts)),
                    0.0,
                    1000.0,
                    "rad/s (m/s for sliders)",
                    "DC motor no-load speed: torque-speed limit (0 = none)",
                    acts,
                ),
            ]
        return specs

    def apply(self, name: str, value: np.ndarray) -> None:
        """Set parameter ``name`` (one of :data:`ACTUATOR_PARAMETERS`); call :meth:`set_control_dt`
        after a batch of changes."""
        attribute = {
            "motor_backlash": "backlash",
            "motor_deadband": "deadband",
            "motor_time_constant": "time_constant",
            "motor_stall_torque": "stall_torque",
            "motor_velocity_limit": "velocity_limit",
        }[name]
        setattr(self, attribute, np.array(value, dtype=np.float64))

    def set_control_dt(self, dt: float) -> None:
        """Recompute the lag's discretization for control period ``dt`` and which stages are on."""
        self._alpha = np.array(
            [math.exp(-dt / tau) if tau > 0 else 0.0 for tau in self.time_constant.tolist()]
        )
        self._gain = 1.0 - self._alpha
        self._half_backlash = 0.5 * self.backlash
        on = self.velocity_limit > 0
        # off entities: 1/v0 = 0 and stall torque 1 give the bounds [-1, 1] exactly
        self._inv_velocity_limit = np.divide(
            1.0, self.velocity_limit, out=np.zeros_like(self.velocity_limit), where=on
        )
        self._stall = np.where(on, self.stall_torque, 1.0)
        self._stages = (
            bool(np.any(self.backlash)),
            bool(np.any(self.deadband)),
            bool(np.any(self.time_constant)),
            bool(np.any(on)),
        )
        self.active = any(self._stages)

    def reset(self) -> None:
        """Clear the lag and backlash states (episode start)."""
        self._lag_state.fill(0.0)
        self._backlash_state.fill(0.0)

    @property
    def state_size(self) -> int:
        """Number of floats in :meth:`state`."""
        return 2 * len(self.names)

    def state(self) -> list[float]:
        """Lag output then backlash output per actuator (part of the env's simulator state)."""
        return [*self._lag_state.tolist(), *self._backlash_state.tolist()]

    def set_state(self, values: np.ndarray) -> None:
        """Restore what :meth:`state` returned."""
        n = len(self.names)
        self._lag_state[:] = values[:n]
        self._backlash_state[:] = values[n : 2 * n]

    def command(self, action: np.ndarray, velocities: Callable[[], np.ndarray]) -> np.ndarray:
        """The applied command (float64, in [-1, 1]) for ``action``; advances the model's state.

        ``velocities`` returns each actuated joint's speed; it is called only when a
        torque-speed limit is on.
        """
        backlash, deadband, lag, torque_speed = self._stages
        u = np.asarray(action, dtype=np.float64)
        if backlash:
            half = self._half_backlash
            self._backlash_state = u = np.minimum(
                np.maximum(self._backlash_state, u - half), u + half
            )
        if deadband:
            u = np.sign(u) * np.maximum(np.abs(u) - self.deadband, 0.0)
        if lag:
            self._lag_state = u = self._alpha * self._lag_state + self._gain * u
        if torque_speed:
            low, high = self.torque_speed_bounds(velocities())
            u = np.minimum(np.maximum(u, low), high)
        return u

    def torque_speed_bounds(self, velocity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(lowest, highest)`` command at joint speed ``velocity`` (Isaac Lab ``DCMotor``):
        ``clip(s (-1 - v/v0), -1, 0)`` and ``clip(s (1 - v/v0), 0, 1)``; ``[-1, 1]`` where off."""
        ratio = np.asarray(velocity, dtype=np.float64) * self._inv_velocity_limit
        s = self._stall
        high = np.minimum(np.maximum(s * (1.0 - ratio), 0.0), 1.0)
        low = np.maximum(np.minimum(s * (-1.0 - ratio), 0.0), -1.0)
        return low, high
