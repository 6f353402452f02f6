"""Actuator models change a joint's response the way their parameters say (sim2real.envs.actuators).

Lag: the applied command of a step input reaches 63.2 % at one time constant. Torque-speed: the
command is capped on the DC motor curve at the joint's speed, in both engines. Deadband and
backlash: zero for small commands, hysteresis on reversal. PyBullet armature: a joint's angular
acceleration under a constant torque falls by the ratio the mass matrix plus armature predicts.
Nominal values leave trajectories bit-identical; ``source_actuators`` loads for every env.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet
import pytest

from sim2real.envs import ENVS
from sim2real.envs.actuators import ACTUATOR_PARAMETERS, TORQUE_SPEED_PARAMETERS, ActuatorModel
from sim2real.envs.registry import engine_available, make_env
from sim2real.randomization import DomainRandomizationWrapper, load_domain
from sim2real.randomization.domain import domain_file_path

AVAILABLE = [name for name, entry in ENVS.items() if engine_available(entry)]
WITH_DOMAINS = [name for name in AVAILABLE if domain_file_path(name).is_file()]
TWINS = [
    name for name in ("hopper", "hopper@mujoco", "cartpole", "cartpole@mujoco") if name in AVAILABLE
]


def _unwrapped(name: str):
    env = make_env(name)
    return env, env.unwrapped


@pytest.mark.parametrize("name", TWINS)
def test_lag_step_response_has_the_configured_time_constant(name: str) -> None:
    env, base = _unwrapped(name)
    dt = base.control_dt
    tau = 5 * dt
    base.set_dynamics({"motor_time_constant": tau})
    env.reset(seed=0)
    applied = []
    for _ in range(5):
        env.step(np.ones(base.action_space.shape))
        applied.append(base.applied_action[0])
    expected = [1 - math.exp(-(n + 1) * dt / tau) for n in range(5)]
    np.testing.assert_allclose(applied, expected, rtol=1e-12)
    assert applied[-1] == pytest.approx(1 - math.exp(-1), abs=1e-12)  # 63.2 % at t = tau
    env.reset(seed=0)  # the lag state starts at zero every episode
    env.step(np.ones(base.action_space.shape))
    assert base.applied_action[0] == pytest.approx(expected[0])
    env.close()


@pytest.mark.parametrize("name", ["hopper", "hopper@mujoco"])
def test_torque_saturates_on_the_torque_speed_curve(name: str) -> None:
    if name not in AVAILABLE:
        pytest.skip("engine not installed")
    env, base = _unwrapped(name)
    v0, stall = 20.0, 1.25
    base.set_dynamics({"motor_velocity_limit": v0, "motor_stall_torque": stall})
    env.reset(seed=0)
    state = base.get_sim_state()
    for speed in (0.0, 4.0, 10.0, 16.0, 25.0, -10.0):
        base.set_sim_state(state)
        _set_joint_speed(base, speed)
        speeds = base._actuator_velocities()
        np.testing.assert_allclose(speeds, speed, atol=1e-9)
        env.step(np.ones(3))
        expected_up = min(max(stall * (1 - speed / v0), 0.0), 1.0)
        np.testing.assert_allclose(base.applied_action, expected_up, atol=1e-12)
        base.set_sim_state(state)
        _set_joint_speed(base, speed)
        env.step(-np.ones(3))
        expected_down = max(min(stall * (-1 - speed / v0), 0.0), -1.0)
        np.testing.assert_allclose(base.applied_action, expected_down, atol=1e-12)
    # beyond the no-load speed nothing pushes further; braking keeps the full effort
    assert min(max(stall * (1 - 25.0 / v0), 0.0), 1.0) == 0.0
    env.close()


def _set_joint_speed(base, speed: float) -> None:
    """Every actuated joint of the hopper at ``speed`` rad/s, positions unchanged."""
    if base.engine == "pybullet":
        for j in base._actuated_joints:
            q = pybullet.getJointState(base._robot, j, physicsClientId=base._client_id)[0]
            pybullet.resetJointState(base._robot, j, q, speed, physicsClientId=base._client_id)
    else:
        base.data.qvel[base._actuator_dofs] = speed
        base._forward()


def test_torque_speed_limit_reaches_the_joint() -> None:
    """At half the no-load speed (stall 1) a full command gives half the velocity change."""
    env, base = _unwrapped("reacher")
    env.reset(seed=0)
    state = base.get_sim_state()

    def speed_gain(dynamics: dict) -> float:
        base.set_dynamics(dynamics)
        base.set_sim_state(state)
        p, arm, joint = base._p, base._arm_id, base._joints[0]
        p.resetJointState(arm, joint, p.getJointState(arm, joint)[0], 5.0)
        env.step(np.array([1.0, 0.0]))
        return p.getJointState(arm, joint)[1] - 5.0

    free = speed_gain({"motor_velocity_limit": 0.0})
    limited = speed_gain({"motor_velocity_limit": 10.0})
    assert limited == pytest.approx(0.5 * free, rel=0.05)
    env.close()


def test_deadband_zeroes_small_commands() -> None:
    model = ActuatorModel(["a", "b"])
    model.apply("motor_deadband", np.array([0.1, 0.0]))
    model.set_control_dt(0.01)
    out = model.command(np.array([0.08, 0.08]), lambda: np.zeros(2))
    np.testing.assert_allclose(out, [0.0, 0.08])
    np.testing.assert_allclose(model.command(np.array([-0.5, -0.5]), np.zeros), [-0.4, -0.5])
    env, base = _unwrapped("cartpole")
    base.set_dynamics({"motor_deadband": 0.2})
    env.reset(seed=0)
    env.step(np.array([0.15]))
    assert base.applied_action[0] == 0.0
    env.step(np.array([0.7]))
    assert base.applied_action[0] == pytest.approx(0.5)
    env.close()


def test_backlash_is_a_hysteresis_band() -> None:
    model = ActuatorModel(["a"])
    model.apply("motor_backlash", np.array([0.2]))
    model.set_control_dt(0.01)
    commands = [0.05, 0.5, 0.45, 0.35, 0.2, 0.3, 0.5]
    out = [float(model.command(np.array([u]), np.zeros)[0]) for u in commands]
    # inside the band nothing moves; outside, the output trails the command by half the width
    np.testing.assert_allclose(out, [0.0, 0.4, 0.4, 0.4, 0.3, 0.3, 0.4], atol=1e-12)
    model.reset()
    assert model.state() == [0.0, 0.0]


def test_pybullet_armature_slows_joint_acceleration_as_the_mass_matrix_predicts() -> None:
    """Reacher (fixed base, no gravity): torque on the shoulder from rest, with and without
    armature; the measured acceleration ratio equals M^-1 tau with M + diag(armature, 0)."""
    env, base = _unwrapped("reacher")
    env.reset(seed=0)
    state = base.get_sim_state()
    p, arm = base._p, base._arm_id
    movable = [j for j in range(p.getNumJoints(arm)) if p.getJointInfo(arm, j)[2] != p.JOINT_FIXED]
    q = [p.getJointState(arm, j)[0] for j in movable]
    mass = np.array(p.calculateMassMatrix(arm, q))
    tau = np.array([base.max_torque, 0.0])
    armature = 4 * mass[0, 0]  # the shoulder 5x heavier

    def acceleration(value: float) -> float:
        base.set_dynamics({"armature": {"joint0": value}})
        base.set_sim_state(state)
        for j in movable:
            p.resetJointState(arm, j, p.getJointState(arm, j)[0], 0.0)
        env.step(np.array([1.0, 0.0]))
        return p.getJointState(arm, base._joints[0])[1] / base.control_dt

    plain, heavy = acceleration(0.0), acceleration(armature)
    expected = np.linalg.solve(mass + np.diag([armature, 0.0]), tau)[0]
    expected /= np.linalg.solve(mass, tau)[0]
    assert heavy / plain == pytest.approx(expected, rel=0.05)
    assert heavy / plain < 0.3
    base.set_dynamics({"armature": 0.0})
    np.testing.assert_array_equal(base.robot.read_back()["inertia"], base.robot.nominal_inertia)
    env.close()


def _rollout(name: str, dynamics: dict | None = None, seed: int = 3) -> np.ndarray:
    env, base = _unwrapped(name)
    if dynamics:
        base.set_dynamics(dynamics)
    rng = np.random.default_rng(seed)
    obs = [env.reset(seed=seed)[0]]
    for _ in range(60):
        obs.append(env.step(rng.uniform(-1, 1, base.action_space.shape))[0])
    env.close()
    return np.array(obs)


@pytest.mark.parametrize("name", ["hopper", "hopper@mujoco", "quadruped"])
def test_nominal_actuator_values_leave_trajectories_bit_identical(name: str) -> None:
    if name not in AVAILABLE:
        pytest.skip("engine not installed")
    env, base = _unwrapped(name)
    specs = base.dynamics_specs()
    names = [n for n in (*ACTUATOR_PARAMETERS, "armature") if n in specs]
    env.close()
    plain = _rollout(name)
    # on, then back to nominal: the physics is exactly as loaded again
    changed = {n: specs[n].nominal + 0.01 for n in names}
    nominal = {n: specs[n].nominal for n in names}
    env, base = _unwrapped(name)
    base.set_dynamics(changed)
    base.set_dynamics(nominal)
    rng = np.random.default_rng(3)
    obs = [env.reset(seed=3)[0]]
    for _ in range(60):
        obs.append(env.step(rng.uniform(-1, 1, base.action_space.shape))[0])
    env.close()
    np.testing.assert_array_equal(np.array(obs), plain)
    assert not np.array_equal(_rollout(name, changed), plain)


def test_sim_state_carries_the_actuator_state() -> None:
    env, base = _unwrapped("hopper")
    base.set_dynamics({"motor_time_constant": 0.05, "motor_backlash": 0.1})
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        env.step(rng.uniform(-1, 1, 3))
    state = base.get_sim_state()
    actions = rng.uniform(-1, 1, (5, 3))
    first = [env.step(a)[0] for a in actions]
    base.set_sim_state(state)
    again = [env.step(a)[0] for a in actions]
    np.testing.assert_array_equal(first, again)
    env.close()


def test_pd_robots_offer_no_torque_speed_limit() -> None:
    env, base = _unwrapped("quadruped")
    specs = base.dynamics_specs()
    assert not set(TORQUE_SPEED_PARAMETERS) & set(specs)
    assert {"motor_time_constant", "motor_deadband", "motor_backlash", "armature"} <= set(specs)
    env.close()


@pytest.mark.parametrize("name", WITH_DOMAINS)
def test_source_actuators_loads_and_applies_in_every_env(name: str) -> None:
    domain = load_domain(name, "source_actuators")
    source = load_domain(name, "source")
    assert set(source.parameters) < set(domain.parameters)  # the source plus actuator models
    assert domain.pushes == source.pushes and domain.action_noise == source.action_noise
    env = DomainRandomizationWrapper(make_env(name), domain)
    _, info = env.reset(seed=0)
    assert "motor_time_constant" in info["domain"]
    base = env.unwrapped
    assert base._has_actuator_model
    env.step(np.zeros(base.action_space.shape))
    env.close()
