"""MuJoCo engine of sim2real's robot environments: one ``MjModel``/``MjData`` pair per env.

:class:`MujocoRobotEnv` is the MuJoCo subclass of :class:`~sim2real.envs.robot_env.RobotEnv`
(which owns the dynamics parameters and their order, the latency buffer, observation noise/bias
and the step skeleton). It adds:

* the model, built by :meth:`_build_model` (default: Gymnasium's own MJCF file
  ``gymnasium/envs/mujoco/assets/<model_file>``, read from the installed package; a subclass may
  compile a URDF or an edited spec instead), with ``opt.timestep`` set to ``physics_timestep``
  (and ``opt.integrator`` to ``integrator`` where a twin sets one);
* the step: :meth:`_advance` (default ``mujoco.mj_step(model, data, frame_skip)``, one C call
  for every substep; a robot that computes its control per substep, e.g. PD in Python,
  overrides it), then the pushes are cleared and the step checked for a silent reset;
* ``gravity`` -> ``model.opt.gravity``, ``motor_strength`` -> ``model.actuator_gear`` of the
  actuators bound with :meth:`_bind_actuators` (gear = the twin's max torque x strength, so a
  control in [-1, 1] gives the same torque as the PyBullet twin);
* the simulator state (:meth:`get_sim_state` / :meth:`set_sim_state`): the action history,
  ``qpos``, ``qvel``, ``act``, ``qacc_warmstart`` (so a step from a restored state is the
  recorded step exactly) and the task's own variables.

Control period: each MuJoCo twin sets ``physics_timestep = control_dt / n`` with
``n = ceil(control_dt / model timestep)``, the smallest number of substeps at which the control
period equals the PyBullet twin's and the timestep is no coarser than the model's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib.resources import files
from typing import Any, ClassVar

import mujoco
import numpy as np

from sim2real.envs.mujoco.body_dynamics import MujocoBodyDynamics
from sim2real.envs.robot_env import RobotEnv
from sim2real.errors import PhysicsError

__all__ = ["MujocoRobotEnv", "can_touch", "euler_from_quat", "gymnasium_asset"]

#: MuJoCo's warnings after which it has reset the state to ``qpos0`` (mj_checkPos/Vel/Acc).
_RESET_WARNINGS = tuple(
    int(getattr(mujoco.mjtWarning, f"mjWARN_BAD{what}")) for what in ("QPOS", "QVEL", "QACC")
)


def gymnasium_asset(name: str) -> str:
    """Path of one of Gymnasium's MuJoCo model files (``gymnasium/envs/mujoco/assets/<name>``)."""
    return str(files("gymnasium") / "envs" / "mujoco" / "assets" / name)


def euler_from_quat(w: float, x: float, y: float, z: float) -> tuple[float, float, float]:
    """(roll, pitch, yaw) of a unit quaternion, PyBullet's ``getEulerFromQuaternion`` convention."""
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    s = 2.0 * (w * y - z * x)
    pitch = math.asin(1.0 if s > 1.0 else -1.0 if s < -1.0 else s)
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


def can_touch(model: mujoco.MjModel) -> bool:
    """Whether any two geoms of ``model`` could ever collide (``contype & conaffinity`` either
    way, or an explicit contact pair). Without that, skipping MuJoCo's collision detection
    changes no trajectory; it is a sixth of the pendulum's ``mj_step`` (8.4 -> 7.0 us)."""
    contype, conaffinity = model.geom_contype, model.geom_conaffinity
    return bool(model.npair) or bool(np.any(contype[:, None] & conaffinity[None, :]))


class MujocoRobotEnv(RobotEnv):
    """A MuJoCo robot task with sim2real's action/observation layout and dynamics interface.

    Class attributes a subclass sets (besides :class:`RobotEnv`'s):
        model_file: Gymnasium MJCF asset name (used by the default :meth:`_build_model`).
        model_differences: lines for ``sim2real envs show``: where this model differs from the
            PyBullet twin's (armature, damping, friction, density, solver, timestep).
    """

    engine: ClassVar[str] = "mujoco"
    model_file: ClassVar[str] = ""
    model_differences: ClassVar[tuple[str, ...]] = ()
    #: MuJoCo integrator name to use instead of the model file's (``None``: keep the file's).
    integrator: ClassVar[str | None] = None

    robot: MujocoBodyDynamics

    # ------------------------------------------------------------------ engine hooks
    def _init_engine(self) -> None:
        self.model = self._build_model()
        self.model.opt.timestep = self.physics_timestep
        if self.integrator is not None:
            self.model.opt.integrator = getattr(mujoco.mjtIntegrator, f"mjINT_{self.integrator}")
        if not can_touch(self.model):  # the pendulums, the reacher: skip collision detection
            self.model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
        self.data = mujoco.MjData(self.model)
        self._actuators: list[int] = []
        self._actuator_dofs: list[int] = []
        self._nominal_gear = np.zeros(0)
        self._ctrl_index: Any = slice(None)
        self._renderer: Any = None

    def _build_model(self) -> Any:
        """The compiled ``mujoco.MjModel`` (default: Gymnasium's ``model_file``)."""
        return mujoco.MjModel.from_xml_path(gymnasium_asset(self.model_file))

    def _simulate(self) -> None:
        start = float(self.data.time)
        self._advance()
        self.robot.clear_pushes()
        self._check_stable(start)

    def _advance(self) -> None:
        """Run the physics for ``frame_skip`` substeps."""
        mujoco.mj_step(self.model, self.data, self._frame_skip)

    def _check_stable(self, start: float) -> None:
        """Raise :class:`PhysicsError` if MuJoCo met an unstable state in the last step (it
        then silently resets the state to ``qpos0``, which would pass for a real transition).

        The reset also sets ``data.time`` to 0, so after a reset in any substep the clock reads at
        most ``frame_skip * dt``. A step that began at ``t >= dt / 2`` and advanced the clock by
        all its substeps had no reset; only the others read the warnings (slow from Python).
        ``start``: ``data.time`` before the step."""
        dt = self.physics_timestep  # = model.opt.timestep
        if start >= 0.5 * dt and self.data.time > start + (self._frame_skip - 0.5) * dt:
            return
        warnings = self.data.warning
        bad = [i for i in _RESET_WARNINGS if warnings[i].number]
        if bad:
            for i in bad:
                warnings[i].number = 0
            what = "/".join(mujoco.mjtWarning(i).name.removeprefix("mjWARN_BAD") for i in bad)
            raise PhysicsError(
                f"{type(self).__name__}: MuJoCo found the simulation unstable (bad {what}) at "
                f"step {self._elapsed_steps}; the dynamics {self.parameters.as_plain()} may be "
                "unstable: reduce extreme parameter values"
            )

    def _actuator_velocities(self) -> np.ndarray:
        return self.data.qvel[self._actuator_dofs]

    def _set_gravity(self, gravity: np.ndarray) -> None:
        self.model.opt.gravity[:] = gravity

    def _sync_parameters(self) -> None:
        super()._sync_parameters()
        if self._actuators:
            self.model.actuator_gear[self._actuators, 0] = self._nominal_gear * self._motor_strength

    # ------------------------------------------------------------------ model helpers
    def _id(self, kind: Any, name: str) -> int:
        """Id of the named model element (``mujoco.mjtObj``); ``KeyError`` naming it if absent."""
        i = int(mujoco.mj_name2id(self.model, kind, name))
        if i < 0:
            raise KeyError(f"{self.model_file}: no {kind.name[6:].lower()} named {name!r}")
        return i

    def _bind_actuators(self, joints: Sequence[str], max_torque: Sequence[float]) -> None:
        """Drive ``data.ctrl`` in action order: actuator of each joint, gear = its max torque."""
        m = self.model
        by_joint = {int(m.actuator_trnid[a, 0]): a for a in range(m.nu)}
        ids = [by_joint[self._id(mujoco.mjtObj.mjOBJ_JOINT, j)] for j in joints]
        self._actuators = ids
        self._actuator_dofs = [int(m.jnt_dofadr[m.actuator_trnid[a, 0]]) for a in ids]
        self._ctrl_index = slice(None) if ids == list(range(m.nu)) else np.array(ids)
        self._nominal_gear = np.asarray(max_torque, dtype=np.float64)
        m.actuator_gear[ids, 0] = self._nominal_gear

    def _robot_bodies(self, renames: dict[str, str]) -> tuple[list[int], list[str]]:
        """Ids and entity names of every body with mass (the world excluded), in model order.

        An entity is named after its body, or ``renames[name]``; an unnamed body is looked up
        as ``renames["<parent name>/"]`` (the PyBullet twin's name for it).
        """
        m = self.model
        ids, names = [], []
        for b in range(1, m.nbody):
            if m.body_mass[b] <= 0:
                continue
            name = m.body(b).name or f"{m.body(int(m.body_parentid[b])).name}/"
            ids.append(b)
            names.append(renames.get(name, name))
        return ids, names

    def _joint_addresses(self, joints: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """``(joint ids, qpos addresses, dof addresses)`` of the named joints."""
        ids = [self._id(mujoco.mjtObj.mjOBJ_JOINT, j) for j in joints]
        m = self.model
        return ids, [int(m.jnt_qposadr[j]) for j in ids], [int(m.jnt_dofadr[j]) for j in ids]

    def _apply_action(self, action: np.ndarray) -> None:
        self.data.ctrl[self._ctrl_index] = action

    # ------------------------------------------------------------------ simulator state
    def get_sim_state(self) -> np.ndarray:
        """The full simulator state as a flat float64 vector (what :meth:`set_sim_state` takes).

        Layout: elapsed steps, action-buffer head, the action buffer, the actuator model's
        lag and backlash states, ``qpos``, ``qvel``, ``act``,
        ``qacc_warmstart``, then the task's own variables. Dynamics parameters are not part of
        the state: they stay as set.
        """
        d = self.data
        parts = [
            np.array(self._control_state()),
            d.qpos,
            d.qvel,
            d.act,
            d.qacc_warmstart,
            np.array(self._task_state(), dtype=np.float64),
        ]
        return np.concatenate(parts).astype(np.float64)

    def set_sim_state(self, state: np.ndarray) -> None:
        """Put the simulator into ``state`` (from :meth:`get_sim_state` of this env class).

        Raises:
            ValueError: ``state`` has the wrong length for this env.
        """
        state = self._checked_state(state)
        m, d = self.model, self.data
        i = self._control_state_size
        for field, n in (("qpos", m.nq), ("qvel", m.nv), ("act", m.na), ("qacc_warmstart", m.nv)):
            getattr(d, field)[:] = state[i : i + n]
            i += n
        mujoco.mj_forward(m, d)
        self._set_task_state(state[i:])

    def _forward(self) -> None:
        """Recompute positions, velocities and contacts after writing ``qpos``/``qvel``."""
        mujoco.mj_forward(self.model, self.data)

    # ------------------------------------------------------------------ rendering
    def render(self) -> np.ndarray | None:
        """An RGB frame (H, W, 3) from MuJoCo's renderer (needs an OpenGL backend, ``MUJOCO_GL``)."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, 240, 320)
        self._renderer.update_scene(self.data, camera=self._render_camera())
        return np.asarray(self._renderer.render())

    def _render_camera(self) -> int | str:
        """Camera for :meth:`render`: the model's ``track`` camera if it has one, else free."""
        return (
            "track"
            if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, "track") >= 0
            else -1
        )

    def close(self) -> None:
        """Release the renderer (the model and data are freed with the env)."""
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
            self._renderer = None
