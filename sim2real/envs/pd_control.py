"""Joint PD control shared by the position-controlled robots (quadruped, manipulator).

The controller drives PyBullet's joint motors in ``POSITION_CONTROL`` mode. That motor is an
*implicit* PD law solved by the constraint solver in every physics substep (stable for every
gain within the bounds below, and no Python work per substep). Per substep of length ``dt`` it asks for the
joint velocity::

    v* = kp * (q_target - q) / dt + (1 - kd) * qdot        (kp in (0, 1], kd in [0, 1.5])

with the joint torque bounded by ``max_torque * motor_strength``. For a joint of effective
inertia ``I`` this behaves like a PD controller with stiffness ~ ``kp * I / dt**2`` and damping
~ ``kd * I / dt`` (natural frequency ~ ``sqrt(kp) / dt``, damping ratio ~ ``kd / (2 sqrt(kp))``);
under load the joint yields by an error roughly proportional to ``1 / kp`` (the solver trades
the motor row off against contacts and gravity), and a load above the torque limit makes it
give way. The torque limit is exact: PyBullet caps the motor impulse per substep at
``force * control period`` when a step is split into substeps, so the controller passes
``force = max_torque * motor_strength / substeps`` and scales the reported torques back.

The parameters ``kp_scale`` and ``kd_scale`` multiply the nominal gains per joint. Their upper
bound keeps ``kp <= 1`` (beyond that the target is overshot within one substep) and
``kd <= 1.5`` (the velocity map ``qdot -> (1 - kd) qdot`` stays contractive, |1 - kd| <= 0.5),
capped at 5x nominal. Explicit joint damping (the ``joint_damping`` parameter, which PyBullet
applies as a torque ``-d * qdot``) can still destabilize the servo of a very light link when
``d * dt / I`` is large and ``kd`` small; the manipulator sets its gains with that in mind.

Why not an explicit torque PD (``tau = kp (q* - q) - kd qdot``, physical gains)? It must be
recomputed every physics substep, i.e. one Python round trip per substep (the base class steps
the physics with ``numSubSteps``), and PyBullet's ``pdControlPlugin``, which would do it in C++,
accumulates its torques across ``numSubSteps`` (measured: ~5.5x the intended impulse over 10
substeps), so it cannot be used with frame skip.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pybullet as _pb  # already imported (quietly) by sim2real.envs.base

from sim2real.envs.parameters import ParameterSpec

__all__ = ["MAX_KD", "MAX_KP", "PD_PARAMETERS", "JointPDController", "PDGains"]

#: Parameter names handled by :class:`JointPDController`.
PD_PARAMETERS = ("kp_scale", "kd_scale")
#: Largest position / velocity gain the scale parameters may reach (see the module docstring).
MAX_KP = 1.0
MAX_KD = 1.5


class PDGains:
    """Engine-agnostic part of PD joint control: nominal gains, their scale parameters, torque
    limits times motor strength. The PyBullet motors (:class:`JointPDController`) and the MuJoCo
    targets' per-substep law (:mod:`sim2real.envs.mujoco.pd`) share it, so both expose the same
    ``kp_scale``/``kd_scale`` parameters with the same bounds.

    Args:
        names: one entity name per joint (used for the gain parameters).
        kp: nominal position gain per joint (scalar or array), dimensionless, in (0, MAX_KP].
        kd: nominal velocity gain per joint (scalar or array), dimensionless, in [0, MAX_KD].
        max_torque: nominal torque limit per joint (N*m).
    """

    def __init__(
        self,
        names: Sequence[str],
        kp: float | np.ndarray,
        kd: float | np.ndarray,
        max_torque: float | np.ndarray,
    ) -> None:
        n = len(names)
        self.names = tuple(names)
        self.nominal_kp = np.broadcast_to(np.asarray(kp, dtype=np.float64), (n,)).copy()
        self.nominal_kd = np.broadcast_to(np.asarray(kd, dtype=np.float64), (n,)).copy()
        self.nominal_max_torque = np.broadcast_to(
            np.asarray(max_torque, dtype=np.float64), (n,)
        ).copy()
        if np.any(self.nominal_kp <= 0) or np.any(self.nominal_kp > MAX_KP):
            raise ValueError(f"nominal kp must lie in (0, {MAX_KP}]")
        if np.any(self.nominal_kd < 0) or np.any(self.nominal_kd > MAX_KD):
            raise ValueError(f"nominal kd must lie in [0, {MAX_KD}]")
        self._kp_scale = np.ones(n)
        self._kd_scale = np.ones(n)
        self._strength = np.ones(n)
        self._substeps = 1
        self._refresh()

    # ------------------------------------------------------------------ parameters
    def specs(self) -> list[ParameterSpec]:
        """``kp_scale`` / ``kd_scale`` specs, one value per joint."""

        def high(nominal: np.ndarray, limit: float) -> float:
            return float(min(5.0, limit / nominal.max())) if nominal.max() > 0 else 5.0

        return [
            ParameterSpec(
                "kp_scale",
                np.ones(len(self.names)),
                0.1,
                high(self.nominal_kp, MAX_KP),
                "x nominal",
                "PD position gain multiplier (joint stiffness)",
                self.names,
                is_scale=True,
            ),
            ParameterSpec(
                "kd_scale",
                np.ones(len(self.names)),
                0.1,
                high(self.nominal_kd, MAX_KD),
                "x nominal",
                "PD velocity gain multiplier (joint damping of the servo)",
                self.names,
                is_scale=True,
            ),
        ]

    def apply(self, name: str, value: np.ndarray) -> None:
        """Set ``kp_scale`` or ``kd_scale`` (one value per joint)."""
        if name == "kp_scale":
            self._kp_scale = np.array(value, dtype=np.float64)
        elif name == "kd_scale":
            self._kd_scale = np.array(value, dtype=np.float64)
        else:
            raise KeyError(name)
        self._refresh()

    def set_strength(self, strength: np.ndarray, substeps: int) -> None:
        """Set the torque-limit multiplier per joint (the env's ``motor_strength``).

        ``substeps`` is the number of physics substeps per control step (the frame skip).
        """
        self._strength = np.array(strength, dtype=np.float64)
        self._substeps = int(substeps)
        self._refresh()

    def _refresh(self) -> None:
        self.kp = self.nominal_kp * self._kp_scale
        self.kd = self.nominal_kd * self._kd_scale
        self.torque_limit = self.nominal_max_torque * self._strength

    @property
    def gains(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Current ``(kp, kd, torque limit in N*m)`` per joint."""
        return self.kp.copy(), self.kd.copy(), self.torque_limit.copy()


class JointPDController(PDGains):
    """PD position control of a set of joints of one body through PyBullet joint motors.

    Args:
        client_id: the PyBullet physics client id (``BulletClient._client``).
        body_id: the body's unique id.
        joints: joint indices, in action order.
        names, kp, kd, max_torque: as :class:`PDGains`.
    """

    def __init__(
        self,
        client_id: int,
        body_id: int,
        joints: Sequence[int],
        names: Sequence[str],
        kp: float | np.ndarray,
        kd: float | np.ndarray,
        max_torque: float | np.ndarray,
    ) -> None:
        self.client_id = client_id
        self.body_id = body_id
        self.joints = list(joints)
        super().__init__(names, kp, kd, max_torque)

    def _refresh(self) -> None:
        super()._refresh()
        # motor arguments as Python lists: PyBullet converts lists faster than arrays
        self._kp: list[float] = self.kp.tolist()
        self._kd: list[float] = self.kd.tolist()
        self._forces: list[float] = (self.torque_limit / self._substeps).tolist()

    # ------------------------------------------------------------------ control
    def command(self, targets: list[float]) -> None:
        """Set the joint position targets (rad); the motors track them from the next substep."""
        _pb.setJointMotorControlArray(
            self.body_id,
            self.joints,
            _pb.POSITION_CONTROL,
            targetPositions=targets,
            positionGains=self._kp,
            velocityGains=self._kd,
            forces=self._forces,
            physicsClientId=self.client_id,
        )

    def read(self) -> np.ndarray:
        """Joint positions (rad), velocities (rad/s) and motor torques (N*m, as PyBullet reports
        them after the last ``stepSimulation``) as the rows of a ``(3, n)`` array."""
        states = _pb.getJointStates(self.body_id, self.joints, physicsClientId=self.client_id)
        q, qd, _, tau = zip(*states)
        out = np.array((q, qd, tau))  # one conversion beats filling a preallocated buffer
        if self._substeps != 1:
            out[2] *= self._substeps
        return out
