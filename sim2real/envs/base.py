"""PyBullet engine of sim2real's robot environments: one BulletClient per env.

:class:`BulletRobotEnv` is the PyBullet subclass of the engine-agnostic
:class:`~sim2real.envs.robot_env.RobotEnv` (which owns the dynamics parameters, their fixed
application order, the latency buffer, observation noise/bias and the step skeleton). This
module adds what is PyBullet's:

* the client (``self._p``), the robot's body parameters
  (:class:`~sim2real.envs.body_dynamics.BodyDynamics`), gravity, and the frame skip as
  ``numSubSteps`` of one ``stepSimulation`` per control step;
* the simulator state (:meth:`get_sim_state`, :meth:`set_sim_state`): a flat float64 vector of
  the action history, every body's base pose and velocity, every joint's position and velocity
  and the task's own variables (``_task_state``), so the simulator can be put back into a
  recorded state (system identification resets it to each recorded step);
* ``rgb_array`` rendering.

Changed parameters are applied in the order of declaration (body parameters ``mass_scale``,
``inertia_scale``, friction, restitution, joint damping; then ``gravity``, ``motor_strength``,
``frame_skip``, ``action_latency``, observation noise; then robot-specific ones such as PD
gains), never in hash order, and each applied value is final (see ``robot_env``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim2real.envs._quiet import quiet_c_output

with quiet_c_output():  # PyBullet prints its build time on import
    import pybullet
    import pybullet_data
    from pybullet_utils.bullet_client import BulletClient

from sim2real.envs.body_dynamics import BodyDynamics
from sim2real.envs.bullet_state import WorldLayout, read_world, world_layout, write_world
from sim2real.envs.robot_env import MAX_LATENCY, RobotEnv

__all__ = ["MAX_LATENCY", "BulletRobotEnv"]


class BulletRobotEnv(RobotEnv):
    """A PyBullet robot task with normalized actions and named, settable dynamics parameters.

    Class attributes a subclass sets (besides :class:`RobotEnv`'s):
        solver_iterations: PyBullet constraint-solver iterations per substep.
    """

    solver_iterations: ClassVar[int] = 5
    engine: ClassVar[str] = "pybullet"
    #: PD-controlled robots add ``kp_scale``/``kd_scale`` via :meth:`_robot_parameters`.

    robot: BodyDynamics
    #: Joints of ``self.robot.body_id`` the actions drive, in action order; a torque-controlled
    #: robot sets them in ``_load`` (the torque-speed limit reads their speeds).
    _actuated_joints: list[int]

    # ------------------------------------------------------------------ engine hooks
    def _init_engine(self) -> None:
        with quiet_c_output():
            self._p = BulletClient(connection_mode=pybullet.DIRECT)
        self._client_id: int = self._p._client
        self._p.setAdditionalSearchPath(pybullet_data.getDataPath())

    def _load(self) -> BodyDynamics:
        """Load the scene into ``self._p``; return the robot's :class:`BodyDynamics`."""
        raise NotImplementedError

    def _simulate(self) -> None:
        pybullet.stepSimulation(physicsClientId=self._client_id)

    def _actuator_velocities(self) -> np.ndarray:
        states = pybullet.getJointStates(
            self.robot.body_id, self._actuated_joints, physicsClientId=self._client_id
        )
        return np.array([s[1] for s in states])

    def _set_gravity(self, gravity: np.ndarray) -> None:
        self._p.setGravity(*gravity.tolist())

    def _set_frame_skip(self, frame_skip: int) -> None:
        self._p.setPhysicsEngineParameter(
            fixedTimeStep=self.physics_timestep * frame_skip,
            numSubSteps=frame_skip,
            numSolverIterations=self.solver_iterations,
        )

    @property
    def bullet_client(self) -> BulletClient:
        """This env's own PyBullet client."""
        return self._p

    # ------------------------------------------------------------------ simulator state
    def _state_layout(self) -> WorldLayout:
        """``(body id, movable joint indices)`` of every body, cached (the scene never changes)."""
        layout = getattr(self, "_layout", None)
        if layout is None:
            layout = self._layout = world_layout(self._p)
        return layout

    def get_sim_state(self) -> np.ndarray:
        """The full simulator state as a flat float64 vector (what :meth:`set_sim_state` takes).

        Layout: elapsed steps, action-buffer head, the action buffer, the actuator
        model's lag and backlash states, then per body its base
        position (3), orientation quaternion (4), linear and angular velocity (3 + 3) and each
        movable joint's position and velocity, then the task's own variables. Dynamics
        parameters are not part of the state: they stay as set.
        """
        parts = self._control_state() + read_world(self._p, self._state_layout())
        parts += [float(v) for v in self._task_state()]
        return np.array(parts, dtype=np.float64)

    def set_sim_state(self, state: np.ndarray) -> None:
        """Put the simulator into ``state`` (from :meth:`get_sim_state` of this env class).

        Contact caches are not part of the state, so a step from a restored state can differ
        from the recorded one by the solver's warm start (tiny compared with a parameter change).

        Raises:
            ValueError: ``state`` has the wrong length for this env.
        """
        state = self._checked_state(state)
        i = write_world(self._p, self._state_layout(), state.tolist(), self._control_state_size)
        self._set_task_state(state[i:])

    def render(self) -> np.ndarray | None:
        """An RGB frame (H, W, 3) from a camera looking at :meth:`_camera_target`."""
        if self.render_mode != "rgb_array":
            return None
        width, height = 320, 240
        view = self._p.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=self._camera_target(),
            distance=self._camera_distance(),
            yaw=30.0,
            pitch=-20.0,
            roll=0.0,
            upAxisIndex=2,
        )
        proj = self._p.computeProjectionMatrixFOV(
            fov=60, aspect=width / height, nearVal=0.05, farVal=100.0
        )
        _, _, rgba, _, _ = self._p.getCameraImage(
            width,
            height,
            viewMatrix=view,
            projectionMatrix=proj,
            renderer=pybullet.ER_TINY_RENDERER,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]

    def _camera_target(self) -> list[float]:
        pos, _ = self._p.getBasePositionAndOrientation(self.robot.body_id)
        return list(pos)

    def _camera_distance(self) -> float:
        return 2.5

    def close(self) -> None:
        """Disconnect this env's physics client."""
        if getattr(self, "_p", None) is not None:
            try:
                self._p.disconnect()
            except pybullet.error:
                pass
            self._p = None
