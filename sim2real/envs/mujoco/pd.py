"""PyBullet's PD joint motor law, computed for MuJoCo in every physics substep.

The PyBullet twins drive their joints with ``POSITION_CONTROL`` motors (see
:mod:`sim2real.envs.pd_control`): a constraint row per joint that asks, in every substep of
length ``dt``, for the joint velocity::

    v* = kp * (q_target - q) / dt + (1 - kd) * qdot

with the joint torque bounded by the torque limit. :class:`MujocoJointPD` applies the same law
to a MuJoCo model through ``motor`` actuators (gear 1, control = joint torque): after
``mj_step1`` (positions, velocities, mass matrix ``M`` and bias forces of this substep) it
solves for the torques that bring the actuated joints to ``v*`` at the end of the substep, given
the smooth forces (gravity, Coriolis, joint damping), clips them to the torque limit and
finishes the step with ``mj_step2``::

    v_free = qdot + dt * [M^-1 (qfrc_passive - qfrc_bias)]_J
    tau    = clip((dt * [M^-1]_JJ)^-1 (v* - v_free), -limit, limit)

``[M^-1]_JJ`` is the block of the actuated joints of the inverse mass matrix of the whole
system (free base included), the joint-space counterpart of the effective masses PyBullet's
solver uses for its motor rows. The gains are therefore the twin's dimensionless ``kp``/``kd``
with the same bounds and the same meaning (natural frequency ~ ``sqrt(kp) / dt``, damping ratio
~ ``kd / (2 sqrt(kp))``, independent of the link inertias), and the same ``kp_scale`` /
``kd_scale`` / ``motor_strength`` parameters act on them.

Why not MuJoCo ``position`` actuators (``kp (q* - q) - kv qdot``)? They are equivalent only for
one joint of fixed inertia without load: physical gains would have to follow the configuration-
dependent effective inertia, and PyBullet's motor also cancels gravity and damping within each
substep (its steady-state error under load comes from the solver trading it off against
contacts), which a fixed-gain PD cannot.

PyBullet's iterative solver also solves the motor rows together with the contact and joint-limit
rows (a stance leg pushes against the floor within the same solve). With
``contact_iterations=k`` (default 0: the contacts answer the torques afterwards) the law does
too: k times in every substep with constraints, MuJoCo's constraint solver runs under the
current torques and the torques are corrected by the velocity error that remains. Measured on
the standing A1 (nominal pose, kp 0.1, kd 0.5): trunk height 0.292 / 0.303 / 0.306 m for
k = 0 / 1 / 2 (PyBullet 0.310 m); each iteration costs about as much as the law itself.
Feeding the previous substep's constraint forces forward instead is unstable at full weight.
Still different: a clipped torque is not redistributed to the other joints, and external pushes
(``xfrc_applied``) are not in ``v_free``, so the motors answer them from the next substep on.
The model must integrate joint damping
explicitly, as PyBullet does (``urdf.compiled_model`` disables MuJoCo's implicit Euler damping),
so ``v_free`` is the velocity the step really produces without the motors.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from sim2real.envs.pd_control import PDGains

__all__ = ["MujocoJointPD"]


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """A contiguous index array as a slice (indexing with it is several times faster)."""
    start = int(index[0])
    if np.array_equal(index, np.arange(start, start + len(index))):
        return slice(start, start + len(index))
    return index


class MujocoJointPD(PDGains):
    """PyBullet's PD motor law (module docstring) on joints of a MuJoCo model.

    Args:
        model, data: the env's MuJoCo model and data.
        joints: joint names in action order; actuator ``i`` must drive joint ``i`` (gear 1).
        kp, kd, max_torque: as :class:`~sim2real.envs.pd_control.PDGains`.
        contact_iterations: corrections per substep for the contact and joint-limit forces the
            torques cause (0: the free-space law; see the module docstring).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        joints: Sequence[str],
        kp: float | np.ndarray,
        kd: float | np.ndarray,
        max_torque: float | np.ndarray,
        contact_iterations: int = 0,
    ) -> None:
        ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name) for name in joints]
        if min(ids) < 0:
            raise ValueError(f"unknown joint among {list(joints)}")
        if model.nu != len(joints) or list(model.actuator_trnid[:, 0]) != ids:
            raise ValueError("the model needs one motor actuator per joint, in joint order")
        self.model, self.data = model, data
        self.qpos_index = model.jnt_qposadr[ids].copy()
        self.dof_index = model.jnt_dofadr[ids].copy()
        n = len(ids)
        self._select = np.zeros((n, model.nv))
        self._select[np.arange(n), self.dof_index] = 1.0
        self._minv = np.zeros((n, model.nv))  # rows J of M^-1
        self.target = np.zeros(n)
        self.torque = np.zeros(n)
        self._block = np.zeros((n, n))
        self._chol = np.zeros(n)
        self._correction = np.zeros(n)
        self.contact_iterations = int(contact_iterations)
        self._q_at = _as_slice(self.qpos_index)
        self._v_at = _as_slice(self.dof_index)
        self._all_dofs = n == model.nv and isinstance(self._v_at, slice) and self._v_at.start == 0
        super().__init__(joints, kp, kd, max_torque)

    def _refresh(self) -> None:
        super()._refresh()
        self.model.actuator_forcerange[:, 0] = -self.torque_limit
        self.model.actuator_forcerange[:, 1] = self.torque_limit

    def command(self, targets: np.ndarray) -> None:
        """Set the joint position targets (rad), tracked from the next substep on."""
        self.target[:] = targets

    def step(self, substeps: int) -> None:
        """Advance the physics by ``substeps`` substeps under the motor law."""
        if self._all_dofs:
            self._step_fixed(substeps)
            return
        m, d, minv, q_at, v_at = self.model, self.data, self._minv, self._q_at, self._v_at
        dt = m.opt.timestep
        kp_dt, one_minus_kd = self.kp / dt, 1.0 - self.kd
        limit, torque, block, chol = self.torque_limit, self.torque, self._block, self._chol
        for _ in range(substeps):
            mujoco.mj_step1(m, d)
            qdot = d.qvel[v_at]
            dv = kp_dt * (self.target - d.qpos[q_at]) + one_minus_kd * qdot - qdot  # v* - qdot
            mujoco.mj_solveM(m, d, minv, self._select)
            rhs = dv - dt * (minv @ (d.qfrc_passive - d.qfrc_bias))
            np.multiply(minv[:, v_at], dt, out=block)  # symmetric positive definite
            mujoco.mju_cholFactor(block, 0.0)
            mujoco.mju_cholSolve(chol, block, rhs)
            for _ in range(self.contact_iterations if d.nefc else 0):  # any contact or limit
                self._correct_for_constraints(dv, dt)
            np.minimum(chol, limit, out=torque)
            np.maximum(torque, -limit, out=torque)
            d.ctrl[:] = torque
            mujoco.mj_step2(m, d)

    def _correct_for_constraints(self, dv: np.ndarray, dt: float) -> None:
        """One correction of the torques (``self._chol``) for the constraint forces they cause:
        solve contacts and limits under the clipped torques, then add the torque that the
        velocity error calls for (same joint-space inertia as the first solve)."""
        m, d, torque, limit = self.model, self.data, self.torque, self.torque_limit
        np.minimum(self._chol, limit, out=torque)
        np.maximum(torque, -limit, out=torque)
        d.ctrl[:] = torque
        mujoco.mj_fwdActuation(m, d)
        mujoco.mj_fwdAcceleration(m, d)
        mujoco.mj_fwdConstraint(m, d)
        mujoco.mju_cholSolve(self._correction, self._block, dv - dt * d.qacc[self._v_at])
        self._chol += self._correction

    def _step_fixed(self, substeps: int) -> None:
        """:meth:`step` when the joints are every dof (a fixed-base arm): ``[M^-1]_JJ = M^-1``,
        so ``tau = M (v* - qdot) / dt - qfrc_passive + qfrc_bias``, one ``mj_mulM``."""
        m, d, q_at, v_at = self.model, self.data, self._q_at, self._v_at
        dt = m.opt.timestep
        kp_dt2, kd_dt = self.kp / (dt * dt), self.kd / dt
        limit, torque, mdv = self.torque_limit, self.torque, self._chol
        for _ in range(substeps):
            mujoco.mj_step1(m, d)
            dv = kp_dt2 * (self.target - d.qpos[q_at]) - kd_dt * d.qvel[v_at]
            mujoco.mj_mulM(m, d, mdv, dv)
            mdv += d.qfrc_bias
            mdv -= d.qfrc_passive
            np.minimum(mdv, limit, out=torque)
            np.maximum(torque, -limit, out=torque)
            d.ctrl[:] = torque
            mujoco.mj_step2(m, d)

    def read(self) -> np.ndarray:
        """Joint positions (rad), velocities (rad/s) and the torques of the last substep (N*m)
        as the rows of a ``(3, n)`` array (the layout of ``JointPDController.read``)."""
        d = self.data
        return np.array((d.qpos[self.qpos_index], d.qvel[self.dof_index], self.torque))
