"""The reacher on Gymnasium's own MuJoCo model ``reacher.xml`` (``Reacher-v5``).

Same task as the PyBullet reacher (:mod:`sim2real.envs.reacher_task`). Edits, made
programmatically on the compiled model: ``opt.timestep`` = 8.25 ms (2 substeps; the file's step is
10 ms), so the control period equals the twin's 16.5 ms; ``actuator_gear`` = the twin's 0.05 N*m x
``motor_strength`` (the file's gear is 200); gravity nominal 0 as the twin's (the arm moves in the
horizontal plane, so it does not act on the joints either way). The file's joint armature 1 and
damping 1 stay: with the twin's 0.05 N*m the MuJoCo arm is far more sluggish, a real model gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import mujoco

from sim2real.envs.mujoco.base import MujocoRobotEnv
from sim2real.envs.mujoco.body_dynamics import MujocoBodyDynamics
from sim2real.envs.reacher_task import ReacherTask

__all__ = ["ReacherMujocoEnv"]

_BODY = mujoco.mjtObj.mjOBJ_BODY


class ReacherMujocoEnv(ReacherTask, MujocoRobotEnv):
    """The reacher on Gymnasium's model (task: :class:`~sim2real.envs.reacher_task.ReacherTask`)."""

    model_file: ClassVar[str] = "reacher.xml"
    physics_timestep: ClassVar[float] = 0.0165 / 2
    default_frame_skip: ClassVar[int] = 2
    model_differences: ClassVar[tuple[str, ...]] = (
        "joint armature 1 and damping 1 on both arm joints (PyBullet twin: 0 and 0)",
        "RK4 integrator, 2 substeps of 8.25 ms (twin: one 16.5 ms step)",
    )

    def _load(self) -> MujocoBodyDynamics:
        m = self.model
        joints = list(self.action_names)
        ids, self._qadr, self._dadr = self._joint_addresses(joints)
        _, self._target_qadr, _ = self._joint_addresses(["target_x", "target_y"])
        self._bind_actuators(joints, [self.max_torque] * len(joints))
        self._fingertip = self._id(_BODY, "fingertip")
        self._target_body = self._id(_BODY, "target")
        bodies, names = self._robot_bodies({})
        arm = [(b, n) for b, n in zip(bodies, names) if n != "target"]
        self._target = (0.0, 0.0, 0.0)
        self._distance = 0.0
        return MujocoBodyDynamics(
            m, self.data, [b for b, _ in arm], [n for _, n in arm], ids, joints
        )

    def _place(self, target_xy: tuple[float, float], joints: Sequence[float]) -> Sequence[float]:
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self._target_qadr] = target_xy
        d.qpos[self._qadr] = joints
        mujoco.mj_forward(m, d)
        return d.xpos[self._target_body].tolist()

    def _arm(self) -> tuple[float, float, float, float, Sequence[float]]:
        # scalar reads: fancy indexing cost 1.2 us per env step
        d, (i0, i1), (j0, j1) = self.data, self._qadr, self._dadr
        qpos, qvel = d.qpos, d.qvel
        tip = d.xipos[self._fingertip]
        return qpos.item(i0), qvel.item(j0), qpos.item(i1), qvel.item(j1), tip.tolist()
