"""The real robot as a target: a Gymnasium env over :class:`~sim2real.controller.RobotInterface`.

``RobotTargetEnv`` runs at the robot's control rate behind a safety layer and records every
transition in the rollout dataset format; ``SocketRobot``/``serve_robot`` put any
``RobotInterface`` (hardware driver or simulator) behind a local TCP socket. A config uses it as
any other env::

    env: sim2real.hardware:RobotTargetEnv
    dynamics: none
    domain: nominal
    env_kwargs: {address: "127.0.0.1:5555", observation_names: [...], action_names: [...],
                 control_period: 0.0165, max_episode_steps: 200, record: robot.npz}
"""

from __future__ import annotations

from sim2real.hardware.env import RobotTargetEnv, SafetyConfig
from sim2real.hardware.link import RobotDisconnected, SimulatedRobot, SocketRobot, serve_robot

__all__ = [
    "RobotDisconnected",
    "RobotTargetEnv",
    "SafetyConfig",
    "SimulatedRobot",
    "SocketRobot",
    "serve_robot",
]
