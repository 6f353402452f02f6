"""Engine-agnostic base of sim2real's robot environments: first-class dynamics over any simulator.

:class:`RobotEnv` owns what every sim2real robot shares, whatever physics engine runs it
(PyBullet in :class:`~sim2real.envs.base.BulletRobotEnv`, MuJoCo in
:class:`~sim2real.envs.mujoco.MujocoRobotEnv`):

* the dynamics parameters (:meth:`get_dynamics`, :meth:`set_dynamics`, :meth:`reset_dynamics`)
  in one :class:`~sim2real.envs.parameters.ParameterSet`: the robot's body parameters (from the
  engine's body-dynamics object, ``self.robot``), then the common ones declared here
  (``gravity``, ``motor_strength``, ``frame_skip``, ``action_latency``, ``obs_noise_std``,
  ``obs_bias``, then the actuator models of :mod:`sim2real.envs.actuators`), then robot-specific
  ones (:meth:`_robot_parameters`, e.g. PD gains);
* the step skeleton: clip, latency buffer, actuator model (skipped while nominal),
  ``_apply_action``, one engine call that advances
  ``frame_skip`` physics substeps (:meth:`_simulate`), ``_observe``/``_reward``, observation
  noise and bias, non-finite detection;
* the controller part of the simulator state (elapsed steps and the action buffer) and
  :meth:`set_action_history`.

Values set with :meth:`set_dynamics` persist across ``reset`` until changed again. Changed
parameters are applied in one fixed order, the order of declaration (body parameters first, in
the order the engine's body object declares them, e.g. ``mass_scale``, ``inertia_scale``,
friction, restitution, joint damping; then ``gravity``, ``motor_strength``, ``frame_skip``,
``action_latency``, observation noise; then robot-specific ones), never in hash order, and each
applied value is final: the same seed gives the same physics in every process.

An engine subclass implements :meth:`_init_engine`, :meth:`_simulate`, :meth:`_set_gravity`,
:meth:`_set_frame_skip`, :meth:`get_sim_state` / :meth:`set_sim_state` and optionally
:meth:`render` / :meth:`close`; a robot subclass implements the task hooks (``_load``,
``_reset_state``, ``_apply_action``, ``_observe``, ``_reward``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import gymnasium as gym
import numpy as np

from sim2real.envs.actuators import ACTUATOR_PARAMETERS, ActuatorModel
from sim2real.envs.parameters import ParameterSet, ParameterSpec, ParameterValue
from sim2real.errors import PhysicsError

__all__ = ["MAX_LATENCY", "BodyParameters", "RobotEnv"]

#: Largest supported action latency, in control steps.
MAX_LATENCY = 10


class BodyParameters(Protocol):
    """What an engine's body-dynamics object offers the env (e.g. ``BodyDynamics``)."""

    link_names: tuple[str, ...]

    def specs(self) -> list[ParameterSpec]:
        """Parameter specs with nominal values read from the model."""
        ...

    def apply(self, name: str, value: np.ndarray) -> None:
        """Write one of its parameters to the physics."""
        ...


class RobotEnv(gym.Env[np.ndarray, np.ndarray]):
    """A robot task with normalized actions and named, settable dynamics parameters.

    Class attributes a subclass sets:
        observation_names: one name per observation entry (the documented layout).
        action_names: one name per action entry (actuated joint or command).
        physics_timestep: physics substep in seconds.
        default_frame_skip: substeps per control step (control period = timestep * frame skip).
        nominal_gravity: the nominal gravity vector (m/s^2).
    """

    # Gymnasium declares ``metadata`` an instance attribute, so no ClassVar here
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012
    observation_names: ClassVar[tuple[str, ...]] = ()
    action_names: ClassVar[tuple[str, ...]] = ()
    physics_timestep: ClassVar[float] = 1.0 / 240.0
    default_frame_skip: ClassVar[int] = 4
    #: Nominal gravity vector (m/s^2); the ``gravity`` parameter starts here.
    nominal_gravity: ClassVar[tuple[float, float, float]] = (0.0, 0.0, -9.81)
    #: Name of the physics engine (``pybullet``, ``mujoco``), shown by ``sim2real envs show``.
    engine: ClassVar[str] = ""
    #: The actions are joint torques/forces: the torque-speed limit parameters are offered.
    torque_actuated: ClassVar[bool] = True

    robot: Any  # the engine's body-dynamics object (a BodyParameters)

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
        self._init_engine()
        self.robot = self._load()
        n_obs, n_act = len(self.observation_names), len(self.action_names)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n_obs,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n_act,), np.float32)
        body_specs = self.robot.specs()
        self._actuator_model = ActuatorModel(self.action_names, torque_speed=self.torque_actuated)
        self._body_parameters = frozenset(s.name for s in body_specs)
        self.parameters = ParameterSet(
            [*body_specs, *self._common_parameters(), *self._robot_parameters()]
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
        self._has_actuator_model = False
        self._applied_action = np.zeros(n_act)
        if dynamics:
            self.parameters.set(dynamics)
        self._sync_parameters()

    # ------------------------------------------------------------------ engine hooks
    def _init_engine(self) -> None:
        """Create the physics world (called first, before :meth:`_load`)."""

    def _simulate(self) -> None:
        """Advance the physics by one control step (``self._frame_skip`` substeps)."""
        raise NotImplementedError

    def _set_gravity(self, gravity: np.ndarray) -> None:
        """Write the gravity vector to the physics."""
        raise NotImplementedError

    def _set_frame_skip(self, frame_skip: int) -> None:
        """Make :meth:`_simulate` advance ``frame_skip`` substeps per control step."""

    # ------------------------------------------------------------------ task hooks
    def _load(self) -> Any:
        """Load the scene; return the robot's body-dynamics object (a :class:`BodyParameters`)."""
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

    def _actuator_velocities(self) -> np.ndarray:
        """Speed of each actuated joint (action order; rad/s, m/s for sliders), for the
        torque-speed limit. Engines implement it (PyBullet from ``_actuated_joints``, MuJoCo
        from the actuators bound with ``_bind_actuators``)."""
        raise NotImplementedError(f"{type(self).__name__} does not report its actuator speeds")

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
            *self._actuator_model.specs(),
        ]

    def _sync_parameters(self) -> None:
        """Apply parameters changed since the last sync, in declaration order (module docstring)."""
        params = self.parameters
        for name in params.pop_dirty():
            value = params.get(name)
            if name in self._body_parameters:
                self.robot.apply(name, value)
            elif name == "gravity":
                self._set_gravity(value)
            elif name == "motor_strength":
                self._motor_strength = value
            elif name == "frame_skip":
                self._frame_skip = int(value)
                self._set_frame_skip(self._frame_skip)
            elif name == "action_latency":
                self._latency = int(value)
            elif name == "obs_noise_std":
                self._noise_std = value
            elif name == "obs_bias":
                self._noise_bias = value
            elif name in ACTUATOR_PARAMETERS:
                self._actuator_model.apply(name, value)
            else:
                self._apply_extra(name, value)
        self._has_noise = bool(np.any(self._noise_std) or np.any(self._noise_bias))
        self._actuator_model.set_control_dt(self.control_dt)
        self._has_actuator_model = self._actuator_model.active

    # ------------------------------------------------------------------ simulator state
    def get_sim_state(self) -> np.ndarray:
        """The full simulator state as a flat float64 vector (what :meth:`set_sim_state` takes).

        It starts with :meth:`_control_state` (elapsed steps, action-buffer head, the action
        buffer, the actuator model's lag and backlash states), then the engine's physical state, then the task's own variables. Dynamics
        parameters are not part of the state: they stay as set.
        """
        raise NotImplementedError

    def set_sim_state(self, state: np.ndarray) -> None:
        """Put the simulator into ``state`` (from :meth:`get_sim_state` of this env class)."""
        raise NotImplementedError

    def _control_state(self) -> list[float]:
        """Elapsed steps, action-buffer head, the action buffer and the actuator model's state
        (:meth:`~sim2real.envs.actuators.ActuatorModel.state`), as floats."""
        return [
            float(self._elapsed_steps),
            float(self._act_head),
            *self._act_buf.ravel().tolist(),
            *self._actuator_model.state(),
        ]

    @property
    def _control_state_size(self) -> int:
        """Number of floats :meth:`_control_state` returns (where the engine's state starts)."""
        return 2 + self._act_buf.size + self._actuator_model.state_size

    def _checked_state(self, state: np.ndarray) -> np.ndarray:
        """``state`` as float64 after checking its length; restores the control part.

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
        self._elapsed_steps, self._act_head = int(state[0]), int(state[1])
        end = 2 + self._act_buf.size
        self._act_buf[:] = state[2:end].reshape(self._act_buf.shape)
        self._actuator_model.set_state(state[end : self._control_state_size])
        return state

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
        self._actuator_model.reset()
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
        if self._has_actuator_model:
            act = self._actuator_model.command(act, self._actuator_velocities)
        self._applied_action = act
        self._apply_action(act)
        self._simulate()
        self._elapsed_steps += 1
        raw = self._observe()
        reward, terminated, info = self._reward(act)
        return self._finish_observation(raw), reward, terminated, False, info

    @property
    def applied_action(self) -> np.ndarray:
        """The command the motors received in the last step (after latency and actuator model)."""
        return np.array(self._applied_action, dtype=np.float64)

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
