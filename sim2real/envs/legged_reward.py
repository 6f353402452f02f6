"""Velocity-tracking locomotion reward in the style of legged_gym (Rudin et al. 2021).

Rudin, Hoeller, Reist, Hutter, "Learning to Walk in Minutes Using Massively Parallel Deep
Reinforcement Learning", CoRL 2021; code: ``legged_gym/envs/base/legged_robot.py`` (the
``_reward_*`` functions) and ``legged_robot_config.py`` (``rewards.scales``). As there, each term
is ``scale * dt * kernel`` (``dt`` the control period), so returns do not depend on the control
rate, and the step's total is clipped at zero (``only_positive_rewards``: penalties never make
dying early pay). The terms, their kernels and where each scale comes from:

==================  ======================================================  ==================
term                kernel (trunk frame; ``c`` = commanded forward speed)     scale, source
==================  ======================================================  ==================
tracking_lin_vel    ``exp(-((c - vx)^2 + vy^2) / 0.25)``                      1.0, base config
tracking_ang_vel    ``exp(-(c_wz - wz)^2 / 0.25)``, ``c_wz`` the heading      0.5, base config
                    command (below)
lin_vel_z           ``vz^2``                                                  -2.0, base config
ang_vel_xy          ``wx^2 + wy^2``                                           -0.05, base config
orientation         ``gx^2 + gy^2`` (gravity in the trunk frame)              -5.0, anymal_c flat
base_height         ``(z - 0.30 m)^2`` (0.30 m: the A1's standing height)     -10.0, ours (base 0)
torques             ``sum tau^2`` (N*m)                                       -2e-4, A1 config
dof_vel             ``sum qdot^2``                                            -1e-4, ours (base 0)
dof_acc             ``sum ((qdot - qdot_prev) / dt)^2``                       -2.5e-7, base config
action_rate         ``sum (a - a_prev)^2``                                    -0.01, base config
feet_air_time       ``sum over touchdowns of (air time - 0.5 s)``, if c > 0.1  1.0, base config
collision           thigh and calf links touching the floor (count)           -1.0, A1 config
clip                ``max(total, 0) - total``: makes the terms sum to the reward  --
==================  ======================================================  ==================

The commanded yaw rate is legged_gym's heading command (``heading_command = True`` in the base
config): ``c_wz = clip(0.5 * wrap(heading_target - heading), -1, 1)`` rad/s with the target
heading +x, so a robot that walks off course is asked to turn back (it observes ``c_wz``); with a
commanded yaw rate of 0 instead, walking in a circle at the commanded speed earns nearly the full
``tracking_lin_vel``, which trunk-frame velocities cannot tell from walking straight.

A foot is in contact when the floor pushes on it with more than 1 N, and touchdowns are
filtered with the previous step's contacts, as in legged_gym; the episode ends on trunk contact
(``terminate_after_contacts_on = ["base"]``). The engine supplies the contact forces; this module
knows no engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LeggedGymReward", "LeggedGymScales", "LeggedState"]


@dataclass(frozen=True)
class LeggedGymScales:
    """Weights of the reward terms (per second: multiplied by the control period)."""

    tracking_lin_vel: float = 1.0
    tracking_ang_vel: float = 0.5
    lin_vel_z: float = -2.0
    ang_vel_xy: float = -0.05
    orientation: float = -5.0
    base_height: float = -10.0
    torques: float = -2e-4
    dof_vel: float = -1e-4
    dof_acc: float = -2.5e-7
    action_rate: float = -0.01
    feet_air_time: float = 1.0
    collision: float = -1.0
    tracking_sigma: float = 0.25
    """Width of the exponential tracking kernels ((m/s)^2, (rad/s)^2)."""
    base_height_target: float = 0.30
    """Trunk height the base_height term pulls toward (m)."""
    air_time_target: float = 0.5
    """Swing duration above which a touchdown earns reward (s)."""
    contact_force: float = 1.0
    """Normal force above which a link counts as touching the floor (N)."""


@dataclass
class LeggedState:
    """What one step of the reward reads: trunk motion in its own frame, joints, contacts."""

    height: float
    velocity: tuple[float, float, float]
    angular_velocity: tuple[float, float, float]
    gravity_xy: tuple[float, float]
    joint_torque: np.ndarray
    joint_velocity: np.ndarray
    action: np.ndarray
    feet_force: np.ndarray
    """Normal floor force on each foot (N)."""
    leg_force: np.ndarray
    """Normal floor force on each thigh and calf link (N)."""
    command: float
    """Commanded forward speed (m/s)."""
    yaw_rate_command: float = 0.0
    """Commanded yaw rate (rad/s; the heading command)."""


class LeggedGymReward:
    """The reward terms of one legged robot, with the history they need (previous action,
    joint velocities, feet air time and contacts); :meth:`reset` at every episode start."""

    def __init__(self, n_joints: int, n_feet: int, dt: float, scales: LeggedGymScales) -> None:
        self.scales = scales
        self.dt = dt
        self._last_action = np.zeros(n_joints)
        self._last_qvel = np.zeros(n_joints)
        self._air_time = np.zeros(n_feet)
        self._last_contact = np.zeros(n_feet, dtype=bool)

    def reset(self) -> None:
        """Clear the history (the robot starts at rest, feet down, no previous action)."""
        self._last_action.fill(0.0)
        self._last_qvel.fill(0.0)
        self._air_time.fill(0.0)
        self._last_contact.fill(False)

    def state(self) -> list[float]:
        """The history as floats (for simulator states); :meth:`set_state` restores it."""
        parts = (self._last_action, self._last_qvel, self._air_time, self._last_contact)
        return [float(v) for part in parts for v in part.tolist()]

    def set_state(self, values: np.ndarray) -> None:
        """Restore what :meth:`state` returned."""
        i = 0
        for part in (self._last_action, self._last_qvel, self._air_time, self._last_contact):
            part[:] = values[i : i + len(part)]
            i += len(part)

    @property
    def state_size(self) -> int:
        """Number of floats in :meth:`state`."""
        return 2 * len(self._last_action) + 2 * len(self._air_time)

    def __call__(self, s: LeggedState) -> tuple[float, dict[str, float]]:
        """Reward of the step that ended in ``s`` and its terms (``reward_<term>``, summing to it);
        advances the history."""
        k, dt = self.scales, self.dt
        vx, vy, vz = s.velocity
        wx, wy, wz = s.angular_velocity
        gx, gy = s.gravity_xy
        qvel = s.joint_velocity
        kernels = {
            "tracking_lin_vel": math.exp(-((s.command - vx) ** 2 + vy * vy) / k.tracking_sigma),
            "tracking_ang_vel": math.exp(-((s.yaw_rate_command - wz) ** 2) / k.tracking_sigma),
            "lin_vel_z": vz * vz,
            "ang_vel_xy": wx * wx + wy * wy,
            "orientation": gx * gx + gy * gy,
            "base_height": (s.height - k.base_height_target) ** 2,
            "torques": float(s.joint_torque @ s.joint_torque),
            "dof_vel": float(qvel @ qvel),
            "dof_acc": float(np.square((qvel - self._last_qvel) / dt).sum()),
            "action_rate": float(np.square(s.action - self._last_action).sum()),
            "feet_air_time": self._feet_air_time(s),
            "collision": float((s.leg_force > k.contact_force).sum()),
        }
        self._last_qvel[:] = qvel
        self._last_action[:] = s.action
        terms = {f"reward_{n}": getattr(k, n) * dt * v for n, v in kernels.items()}
        total = sum(terms.values())
        terms["reward_clip"] = max(total, 0.0) - total
        return max(total, 0.0), terms

    def _feet_air_time(self, s: LeggedState) -> float:
        contact = s.feet_force > self.scales.contact_force
        touching = contact | self._last_contact  # legged_gym's contact filter
        self._last_contact[:] = contact
        first_contact = (self._air_time > 0.0) & touching
        self._air_time += self.dt
        reward = float(((self._air_time - self.scales.air_time_target) * first_contact).sum())
        self._air_time[touching] = 0.0
        return reward if s.command > 0.1 else 0.0
