"""PD-controlled robots: A1 quadruped (``quadruped``) and KUKA iiwa reaching (``manipulator``)."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest

import sim2real.envs
from sim2real.errors import ParameterError

ARM_EE_Z = 21 + 2  # index of ee_z in the manipulator observation (7 pos, 7 vel, 7 cmd, ee xyz)


@pytest.fixture(scope="module")
def quadruped() -> Iterator[gym.Env]:
    env = sim2real.envs.make_env("quadruped")
    yield env
    env.close()


@pytest.fixture(scope="module")
def arm() -> Iterator[gym.Env]:
    env = sim2real.envs.make_env("manipulator")
    yield env
    env.close()


@pytest.fixture(autouse=True)
def _nominal_dynamics(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("quadruped", "arm"):
        if name in request.fixturenames:
            request.getfixturevalue(name).unwrapped.reset_dynamics()


def base_xyz(env: gym.Env) -> np.ndarray:
    u = env.unwrapped
    return np.array(u.bullet_client.getBasePositionAndOrientation(u.robot.body_id)[0])


def trot(t: float, direction: float, freq: float = 2.5) -> np.ndarray:
    """Open-loop trot: diagonal legs in phase, thigh swing with the calf lifting a quarter ahead."""
    phase = 2 * np.pi * freq * t + np.array([0.0, np.pi, np.pi, 0.0])  # FR, FL, RR, RL
    action = np.zeros((4, 3))
    action[:, 1] = 0.5 * np.sin(phase)
    action[:, 2] = 0.5 * np.sin(phase + direction * np.pi / 2)
    return action.ravel().astype(np.float32)


def settle(env: gym.Env, steps: int, action: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    action = np.zeros(env.action_space.shape, np.float32) if action is None else action
    fell = False
    for _ in range(steps):
        obs, _, terminated, _, _ = env.step(action)
        fell |= terminated
    return obs, fell


# ------------------------------------------------------------------ quadruped
def test_quadruped_holds_standing_pose_for_one_second(quadruped):
    obs0, _ = quadruped.reset(seed=0)
    steps = round(1.0 / quadruped.unwrapped.control_dt)
    heights = []
    for _ in range(steps):
        obs, _, terminated, _, _ = quadruped.step(np.zeros(12, np.float32))
        assert not terminated
        heights.append(obs[0])
    assert min(heights) > obs0[0] - 0.03
    assert obs[3] < -0.99  # gravity still along the trunk's -z: level
    assert np.abs(obs[10:22]).max() < 0.1  # joints near the nominal pose


def test_quadruped_softer_pd_sags_more(quadruped):
    quadruped.reset(seed=0)
    stiff, _ = settle(quadruped, 30)
    quadruped.unwrapped.set_dynamics({"kp_scale": 0.1})
    quadruped.reset(seed=0)
    soft, fell = settle(quadruped, 30)
    assert not fell
    assert soft[0] < stiff[0] - 0.01  # lower trunk
    assert np.abs(soft[10:22]).max() > 3 * np.abs(stiff[10:22]).max()  # larger joint error


def test_quadruped_open_loop_trot_walks_forward_and_reward_follows():
    quadruped = sim2real.envs.make_env("quadruped", reward="forward")
    dt = quadruped.unwrapped.control_dt
    result = {}
    for direction in (1.0, -1.0):
        quadruped.reset(seed=0)
        x0 = base_xyz(quadruped)[0]
        forward = 0.0
        for i in range(round(1.0 / dt)):
            _, _, terminated, _, info = quadruped.step(trot(i * dt, direction))
            assert not terminated
            forward += info["reward_forward"]
        result[direction] = (base_xyz(quadruped)[0] - x0, forward * dt)
        assert info["x_position"] == pytest.approx(base_xyz(quadruped)[0])
        assert info["mean_x_velocity"] == pytest.approx(info["x_position"] / (round(1.0 / dt) * dt))
    (fwd_dx, fwd_r), (back_dx, back_r) = result[1.0], result[-1.0]
    assert fwd_dx > 0.2  # > 0.2 m/s forward
    assert back_dx < -0.1  # the mirrored gait walks backward
    assert fwd_r == pytest.approx(fwd_dx, abs=0.05)  # forward reward integrates to distance
    assert back_r < 0
    quadruped.close()


@pytest.mark.parametrize("engine", ["quadruped", "quadruped@mujoco"])
def test_quadruped_trot_gait_walks_with_zero_action_like_the_open_loop_trot(engine: str) -> None:
    """gait="trot": the action is a correction around the open-loop trot, so a zero action is
    that trot (same joint targets, step by step), and the phase clock is observed."""
    trotting = sim2real.envs.make_env(engine, gait="trot")
    plain = sim2real.envs.make_env(engine)
    u, dt = trotting.unwrapped, trotting.unwrapped.control_dt
    names = u.observation_names
    assert names[:-2] == plain.unwrapped.observation_names
    assert names[-2:] == ("gait_sin", "gait_cos") and trotting.observation_space.shape == (50,)
    obs, _ = trotting.reset(seed=0)
    plain.reset(seed=0)
    for i in range(round(1.0 / dt)):
        phase = 2 * np.pi * 2.5 * i * dt
        np.testing.assert_allclose(obs[-2:], [np.sin(phase), np.cos(phase)], atol=1e-6)
        obs, _, terminated, _, info = trotting.step(np.zeros(12, np.float32))
        plain.step(trot(i * dt, 1.0))
        np.testing.assert_allclose(u._target, plain.unwrapped._target, atol=1e-6)
        assert not terminated
    assert info["x_position"] > 0.3  # the trot walks forward (x starts at 0): > 0.3 m/s
    with pytest.raises(ValueError, match="gait='gallop' is not an A1 gait"):
        sim2real.envs.make_env(engine, gait="gallop")
    trotting.close()
    plain.close()


def test_quadruped_falls_terminate(quadruped):
    quadruped.reset(seed=0)
    u = quadruped.unwrapped
    u.bullet_client.resetBasePositionAndOrientation(
        u.robot.body_id, [0, 0, 0.3], u.bullet_client.getQuaternionFromEuler([1.2, 0, 0])
    )
    _, _, terminated, _, _ = quadruped.step(np.zeros(12, np.float32))
    assert terminated


# ------------------------------------------------------------------ PD helper via the arm
def step_rise_steps(arm: gym.Env, kp_scale: float) -> int:
    """Control steps for joint 2 to cover 90% of a 0.05 rad step of its target."""
    arm.unwrapped.set_dynamics({"kp_scale": kp_scale})
    obs, _ = arm.reset(seed=0)
    obs, _ = settle(arm, 2)
    q0 = obs[1]
    pulse = np.zeros(7, np.float32)
    pulse[1] = 1.0  # target += 0.05 rad once, then held
    obs, *_ = arm.step(pulse)
    for k in range(1, 40):
        if obs[1] - q0 >= 0.9 * 0.05:
            return k
        obs, *_ = arm.step(np.zeros(7, np.float32))
    return 40


def test_higher_kp_tracks_step_target_faster(arm):
    slow, nominal, fast = (step_rise_steps(arm, s) for s in (0.2, 1.0, 5.0))
    assert slow > nominal >= fast
    assert slow >= 3


@pytest.mark.parametrize("frame_skip", [1, 6])
def test_weaker_motors_sag_more_under_gravity(arm, frame_skip):
    def ee_drop(strength: float) -> float:
        arm.unwrapped.set_dynamics({"motor_strength": strength, "frame_skip": frame_skip})
        obs0, _ = arm.reset(seed=0)
        obs, _ = settle(arm, round(1.0 / arm.unwrapped.control_dt))
        return obs0[ARM_EE_Z] - obs[ARM_EE_Z]

    strong, weak = ee_drop(1.0), ee_drop(0.1)  # joint 2 needs ~27 N*m; 0.1 x 176 = 17.6 N*m
    assert strong < 0.01
    assert weak > 0.3  # the torque limit is exact whatever the number of substeps


def test_pd_gain_parameters_are_validated(arm):
    specs = arm.unwrapped.dynamics_specs()
    assert specs["kp_scale"].entities == arm.unwrapped.action_names
    kd_max = specs["kd_scale"].high * max(arm.unwrapped.nominal_kd)
    assert kd_max <= 1.5  # the motor's velocity map stays contractive
    with pytest.raises(ParameterError, match=r"kd_scale=3 is outside the valid range"):
        arm.unwrapped.set_dynamics({"kd_scale": 3.0})


# ------------------------------------------------------------------ manipulator task
def test_manipulator_success_flag_at_target(arm):
    arm.reset(seed=0)
    obs, _, _, _, info = arm.step(np.zeros(7, np.float32))
    ee = obs[21:24]
    arm.unwrapped.set_goal(ee + np.array([0.0, 0.0, 0.02]))
    obs, reward, _, _, info = arm.step(np.zeros(7, np.float32))
    assert info["is_success"]
    assert reward == pytest.approx(-info["distance"])
    np.testing.assert_allclose(obs[27:30], obs[24:27] - obs[21:24], atol=1e-6)
    arm.unwrapped.set_goal(ee + np.array([0.0, 0.2, 0.0]))
    _, reward, _, _, info = arm.step(np.zeros(7, np.float32))
    assert not info["is_success"]
    assert reward == pytest.approx(-0.2, abs=0.01)


def test_manipulator_targets_differ_by_seed_and_lie_in_the_box(arm):
    goals = np.array([arm.reset(seed=s)[0][24:27] for s in range(20)])
    u = arm.unwrapped
    assert np.all(goals >= np.array(u.target_low)) and np.all(goals <= np.array(u.target_high))
    assert len(np.unique(goals[:, 0])) == 20


def test_jacobian_controller_reaches_the_target(arm):
    """A scripted resolved-rate controller solves the task: the target box is reachable."""
    u = arm.unwrapped
    obs, _ = arm.reset(seed=3)
    for _ in range(60):
        jac = u.bullet_client.calculateJacobian(
            u.robot.body_id, u.ee_link, [0, 0, 0], obs[:7].tolist(), [0.0] * 7, [0.0] * 7
        )[0]
        dq = np.linalg.pinv(np.array(jac)) @ obs[27:30]
        obs, _, _, _, info = arm.step(np.clip(dq / u.action_step, -1, 1).astype(np.float32))
    assert info["is_success"]
