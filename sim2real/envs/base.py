"""Base class of sim2real's PyBullet environments: one BulletClient per env, first-class dynamics.

Subclasses load a robot and define the task through five hooks (``_load``, ``_reset_state``,
``_apply_action``, ``_observe``, ``_reward``). The base class owns everything shared:

* the dynamics parameters (:meth:`get_dynamics`, :meth:`set_dynamics`, :meth:`reset_dynamics`):
  the robot's body parameters (:class:`~sim2real.envs.body_dynamics.BodyDynamics`), gravity,
  frame skip (control period), action latency, motor strength and observation noise/bias;
* the step loop: latency buffer, one ``stepSimulation`` per control step (``numSubSteps`` =
  frame skip), noise, non-finite detection, ``rgb_array`` rendering;
* the simulator state (:meth:`get_sim_state`, :meth:`set_sim_state`): a flat float64 vector of
  every body's base pose and velocity, every joint's position and velocity, the action history
  and the task's own variables (``_task_state``), so the simulator can be put back into a recorded
  state (system identification resets it to each recorded step).

Values set with :meth:`set_dynamics` persist across ``reset`` until changed again, so a domain
wrapper (or a user) sets them between episodes and they really act in the physics.

Changed parameters are applied in one fixed order, the order of declaration (body parameters
``mass_scale``, ``inertia_scale``, friction, restitution, joint damping; then ``gravity``,
``motor_strength``, ``frame_skip``, ``action_latency``, observation noise; then robot-specific
ones such as PD gains), never in hash order, and each applied value is final: the same seed
gives the same physics in every process, whatever ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from sim2real.envs._quiet import quiet_c_output

with quiet_c_output():  # PyBullet prints its build time on import
    import pybullet
    import pybullet_data
    from pybullet_utils.bullet_client import BulletClient

from sim2real.envs.body_dynamics import BODY_PARAMETERS, BodyDynamics
from sim2real.envs.parameters import ParameterSet, ParameterSpec, ParameterValue
from sim2real.errors import PhysicsError

__all__ = ["MAX_LATENCY", "BulletRobotEnv"]

#: Largest supported action latency, in control steps.
MAX_LATENCY = 10


class BulletRobotEnv(gym.Env[np.ndarray, np.ndarray]):
    """A PyBullet robot task with normalized actions and named, settable dynamics parameters.

    Class attributes a subclass sets:
        observation_names: one name per observation entry (the documented layout).
        action_names: one name per action entry (actuated joint or command).
        physics_timestep: physics substep in seconds.
        default_frame_skip: substeps per control step (control period = timestep * frame skip).
    """

    # Gymnasium declares ``metadata`` an instance attribute, so no ClassVar here
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012
    observation_names: ClassVar[tuple[str, ...]] = ()
    action_names: ClassVar[tuple[str, ...]] = ()
    physics_timestep: ClassVar[float] = 1.0 / 240.0
    default_frame_skip: ClassVar[int] = 4
    solver_iterations: ClassVar[int] = 5
    #: Nominal gravity vector (m/s^2); the ``gravity`` parameter starts here.
    nominal_gravity: ClassVar[tuple[float, float, float]] = (0.0, 0.0, -9.81)
    #: PD-controlled robots add ``kp_scale``/``kd_scale`` via :meth:`_robot_parameters`.

    def __init__(
        self,
        render_mode: str | None = None,
        dynamics: Mapping[str, ParameterValue] | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        self.render_mode = render_mode
        with quiet_c_output():
            self._p = BulletClient(connection_mode=pybullet.DIRECT)
        self._client_id: int = self._p._client
        self._p.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.robot: BodyDynamics = self._load()
        n_obs, n_act = len(self.observation_names), len(self.action_names)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n_obs,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n_act,), np.float32)
        self.parameters = ParameterSet(
            [*self.robot.specs(), *self._common_parameters(), *self._robot_parameters()]
        )
        # hot-path caches of parameter values (refreshed in _sync_parameters)
        self._motor_strength = np.ones(n_act)
        self._noise_std = np.zeros(n_obs)
        self._noise_bias = np.zeros(n_obs)
        self._has_noise = False
        self._latency = 0
        self._frame_skip = self.default_frame_skip
        self._act_buf = np.zeros((MAX_LATENCY + 1, n_act))
        self._act_head = 0
        self._elapsed_steps = 0
        self._reset_raw = np.zeros(n_obs)
        if dynamics:
            self.parameters.set(dynamics)
        self._sync_parameters()

    # ------------------------------------------------------------------ hooks for subclasses
    def _load(self) -> BodyDynamics:
        """Load the scene into ``self._p``; return the robot's :class:`BodyDynamics`."""
        raise NotImplementedError

    def _robot_parameters(self) -> list[ParameterSpec]:
        """Extra robot-specific parameters (e.g. PD gain scales); applied in :meth:`_apply_extra`."""
        return []

    def _apply_extra(self, name: str, value: np.ndarray) -> None:
        """Apply a robot-specific parameter declared in :meth:`_robot_parameters`."""
        raise KeyError(name)

    def _reset_state(self) -> None:
        """Put robot and task into an initial state drawn from ``self.np_random``."""
        raise NotImplementedError

    def _apply_action(self, action: np.ndarray) -> None:
        """Send ``action`` (in [-1, 1], after latency) to the motors, scaled by motor strength."""
        raise NotImplementedError

    def _observe(self) -> np.ndarray:
        """Noise-free observation (float64, layout ``observation_names``)."""
        raise NotImplementedError

    def _reward(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Reward, termination flag and extra info for the transition just simulated.

        Called right after :meth:`_observe`, so it may use state that ``_observe`` cached.
        """
        raise NotImplementedError

    def _task_state(self) -> list[float]:
        """Task variables outside the physics that the next step depends on (e.g. the reset
        height a walker's ``torso_dz`` is measured from); restored by :meth:`_set_task_state`."""
        return []

    def _set_task_state(self, values: np.ndarray) -> None:
        """Restore what :meth:`_task_state` returned."""

    # ------------------------------------------------------------------ dynamics interface
    @property
    def control_dt(self) -> float:
        """Control period in seconds (physics timestep x frame skip)."""
        return self.physics_timestep * self._frame_skip

    @property
    def bullet_client(self) -> BulletClient:
        """This env's own PyBullet client."""
        return self._p

    def dynamics_specs(self) -> dict[str, ParameterSpec]:
        """Specs of every dynamics parameter (nominal, bounds, unit, entities)."""
        return dict(self.parameters.specs)

    def get_dynamics(self) -> dict[str, np.ndarray]:
        """Current parameter values."""
        return self.parameters.values()

    def set_dynamics(self, values: Mapping[str, ParameterValue]) -> None:
        """Validate and apply parameter values now; they persist across resets.

        Raises:
            ParameterError: unknown parameter or value outside its valid range (nothing changes).
        """
        self.parameters.set(values)
        self._sync_parameters()

    def reset_dynamics(self) -> None:
        """Restore every parameter to its nominal value."""
        self.parameters.reset()
        self._sync_parameters()

    def _common_parameters(self) -> list[ParameterSpec]:
        acts, obs = self.action_names, self.observation_names
        return [
            ParameterSpec(
                "gravity",
                np.array(self.nominal_gravity, dtype=np.float64),
                -30.0,
                30.0,
                "m/s^2",
                "gravity vector",
                ("x", "y", "z"),
            ),
            ParameterSpec(
                "motor_strength",
                np.ones(len(acts)),
                0.0,
                5.0,
                "x nominal",
                "actuator strength (max torque/force) multiplier",
                acts,
                is_scale=True,
            ),
            ParameterSpec(
                "frame_skip",
                np.array(float(self.default_frame_skip)),
                1,
                20,
                "substeps",
                f"physics substeps of {self.physics_timestep:g} s per control step",
                integer=True,
            ),
            ParameterSpec(
                "action_latency",
                np.array(0.0),
                0,
                MAX_LATENCY,
                "control steps",
                "delay between a policy action and its execution",
                integer=True,
            ),
            ParameterSpec(
                "obs_noise_std",
                np.zeros(len(obs)),
                0.0,
                10.0,
                "obs units",
                "std of zero-mean Gaussian noise added to each observation",
                obs,
            ),
            ParameterSpec(
                "obs_bias",
                np.zeros(len(obs)),
                -10.0,
                10.0,
                "obs units",
                "constant offset added to each observation (sensor bias)",
                obs,
            ),
        ]

    def _sync_parameters(self) -> None:
        """Apply parameters changed since the last sync, in declaration order (module docstring)."""
        params = self.parameters
        for name in params.pop_dirty():
            value = params.get(name)
            if name in BODY_PARAMETERS:
                self.robot.apply(name, value)
            elif name == "gravity":
                self._p.setGravity(*value.tolist())
            elif name == "motor_strength":
                self._motor_strength = value
            elif name == "frame_skip":
                self._frame_skip = int(value)
                self._p.setPhysicsEngineParameter(
                    fixedTimeStep=self.physics_timestep * self._frame_skip,
                    numSubSteps=self._frame_skip,
                    numSolverIterations=self.solver_iterations,
                )
            elif name == "action_latency":
                self._latency = int(value)
            elif name == "obs_noise_std":
                self._noise_std = value
            elif name == "obs_bias":
                self._noise_bias = value
            else:
                self._apply_extra(name, value)
        self._has_noise = bool(np.any(self._noise_std) or np.any(self._noise_bias))

    # ------------------------------------------------------------------ simulator state
    def _state_layout(self) -> list[tuple[int, list[int]]]:
        """``(body id, movable joint indices)`` of every body, cached (the scene never changes)."""
        layout = getattr(self, "_layout", None)
        if layout is None:
            p = self._p
            layout = []
            for i in range(p.getNumBodies()):
                body = p.getBodyUniqueId(i)
                joints = [
                    j
                    for j in range(p.getNumJoints(body))
                    if p.getJointInfo(body, j)[2] != pybullet.JOINT_FIXED
                ]
                layout.append((body, joints))
            self._layout: list[tuple[int, list[int]]] | None = layout
        return layout

    def get_sim_state(self) -> np.ndarray:
        """The full simulator state as a flat float64 vector (what :meth:`set_sim_state` takes).

        Layout: elapsed steps, action-buffer head, the action buffer, then per body its base
        position (3), orientation quaternion (4), linear and angular velocity (3 + 3) and each
        movable joint's position and velocity, then the task's own variables. Dynamics
        parameters are not part of the state: they stay as set.
        """
        p = self._p
        parts: list[float] = [float(self._elapsed_steps), float(self._act_head)]
        parts += self._act_buf.ravel().tolist()
        for body, joints in self._state_layout():
            pos, orn = p.getBasePositionAndOrientation(body)
            lin, ang = p.getBaseVelocity(body)
            parts += [*pos, *orn, *lin, *ang]
            for q, qd, *_ in p.getJointStates(body, joints) if joints else []:
                parts += [q, qd]
        parts += [float(v) for v in self._task_state()]
        return np.array(parts, dtype=np.float64)

    def set_sim_state(self, state: np.ndarray) -> None:
        """Put the simulator into ``state`` (from :meth:`get_sim_state` of this env class).

        Contact caches are not part of the state, so a step from a restored state can differ
        from the recorded one by the solver's warm start (tiny compared with a parameter change).

        Raises:
            ValueError: ``state`` has the wrong length for this env.
        """
        state = np.asarray(state, dtype=np.float64)
        expected = getattr(self, "_state_size", None)
        if expected is None:
            expected = self._state_size = len(self.get_sim_state())
        if state.shape != (expected,):
            raise ValueError(
                f"{type(self).__name__}: a sim state has {expected} values, got shape "
                f"{state.shape}; record it with the same env"
            )
        cid, values = self._client_id, state.tolist()
        self._elapsed_steps, self._act_head = int(values[0]), int(values[1])
        i = 2 + self._act_buf.size
        self._act_buf[:] = state[2:i].reshape(self._act_buf.shape)
        for body, joints in self._state_layout():
            v = values[i : i + 13]
            pybullet.resetBasePositionAndOrientation(body, v[0:3], v[3:7], physicsClientId=cid)
            pybullet.resetBaseVelocity(body, v[7:10], v[10:13], physicsClientId=cid)
            i += 13
            if joints:
                n = 2 * len(joints)
                qs = [[q] for q in values[i : i + n : 2]]
                qds = [[qd] for qd in values[i + 1 : i + n : 2]]
                pybullet.resetJointStatesMultiDof(body, joints, qs, qds, physicsClientId=cid)
                i += n
        self._set_task_state(state[i:])

    def state_from_observation(self, obs: np.ndarray) -> np.ndarray:
        """A simulator state whose observation is ``obs`` (for recordings without states).

        Raises:
            NotImplementedError: the observation does not determine the state for this env.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot build a state from an observation")

    def set_action_history(self, actions: np.ndarray) -> None:
        """Fill the latency buffer with past actions (oldest first, the last one most recent),
        so a restored state acts under any ``action_latency`` as the recorded robot did."""
        past = np.asarray(actions, dtype=np.float64).reshape(-1, self._act_buf.shape[1])
        past = past[-MAX_LATENCY:]
        self._act_buf.fill(0.0)
        self._act_head = 0
        if len(past):  # slot -k (mod the buffer length) holds the action k steps ago
            self._act_buf[-np.arange(len(past)) % (MAX_LATENCY + 1)] = past[::-1]

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the task (state drawn from ``np_random``); dynamics keep their current values."""
        super().reset(seed=seed)
        self._act_buf.fill(0.0)
        self._act_head = 0
        self._elapsed_steps = 0
        self._reset_state()
        self._reset_raw = self._observe()
        return self._finish_observation(self._reset_raw), {}

    def observe_reset(self) -> np.ndarray:
        """The last reset's observation again, with the current observation noise and bias.

        For a wrapper that sets noise/bias after the inner reset: the physics is not queried
        again (a second query right after a reset is not the same observation, e.g. contacts).
        """
        return self._finish_observation(self._reset_raw)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance one control step; actions outside [-1, 1] are clipped."""
        # hot path: np.clip costs ~5 us on a tiny array, so clip only when something is outside;
        # an ndarray (float32 from SB3) is used as is, hooks read it without modifying it
        act = action if type(action) is np.ndarray else np.asarray(action, dtype=np.float64)
        flat = act.tolist() if act.ndim == 1 else act.ravel().tolist()
        if max(flat) > 1.0 or min(flat) < -1.0:
            act = np.minimum(np.maximum(act, -1.0), 1.0)
        if self._latency:
            self._act_head = (self._act_head + 1) % (MAX_LATENCY + 1)
            self._act_buf[self._act_head] = act
            act = self._act_buf[(self._act_head - self._latency) % (MAX_LATENCY + 1)]
        self._apply_action(act)
        pybullet.stepSimulation(physicsClientId=self._client_id)
        self._elapsed_steps += 1
        raw = self._observe()
        reward, terminated, info = self._reward(act)
        return self._finish_observation(raw), reward, terminated, False, info

    def _finish_observation(self, obs: np.ndarray) -> np.ndarray:
        # one dot product detects NaN/inf (and absurd magnitudes); the precise check only then
        if not math.isfinite(obs.dot(obs)) and not np.isfinite(obs).all():
            bad = [self.observation_names[i] for i in np.flatnonzero(~np.isfinite(obs))[:4]]
            raise PhysicsError(
                f"{type(self).__name__}: physics returned non-finite values at step "
                f"{self._elapsed_steps} ({', '.join(bad)}); the dynamics "
                f"{self.parameters.as_plain()} may be unstable: reduce extreme parameter values"
            )
        if self._has_noise:
            obs = (
                obs + self._noise_bias + self._noise_std * self.np_random.standard_normal(obs.shape)
            )
        return obs.astype(np.float32)

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
