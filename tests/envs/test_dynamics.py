"""Each kind of dynamics parameter has an observable, physically sensible effect."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import sim2real.envs


def rollout(env: gym.Env, actions: np.ndarray, seed: int = 0) -> np.ndarray:
    """Observations of a fixed-action rollout, stopping at termination."""
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, _, term, trunc, _ = env.step(a)
        out.append(obs)
        if term or trunc:
            break
    return np.array(out)


def constant(env: gym.Env, value: float, n: int) -> np.ndarray:
    return np.full((n, *env.action_space.shape), value, dtype=np.float32)


def test_gravity_sets_fall_speed() -> None:
    env = sim2real.envs.make_env("hopper")
    base = env.unwrapped
    vz = base.observation_names.index("torso_vz")
    free_fall = rollout(env, constant(env, 0.0, 3))
    base.set_dynamics({"gravity": [0.0, 0.0, -2.0]})
    assert base.bullet_client.getPhysicsEngineParameters()["gravityAccelerationZ"] == -2.0
    slow_fall = rollout(env, constant(env, 0.0, 3))
    # the hopper starts in the air: torso vz after 3 steps scales with g
    assert slow_fall[3, vz] > free_fall[3, vz] * 0.5
    assert free_fall[3, vz] < 0 and slow_fall[3, vz] < 0
    env.close()


def test_lateral_friction_changes_sliding() -> None:
    env = sim2real.envs.make_env("halfcheetah")
    base = env.unwrapped
    actions = constant(env, 0.7, 60)
    nominal = rollout(env, actions)
    base.set_dynamics({"lateral_friction": 0.0})
    np.testing.assert_array_equal(base.robot.read_back()["lateral_friction"], 0.0)
    icy = rollout(env, actions)
    assert not np.allclose(nominal, icy)
    base.reset_dynamics()
    np.testing.assert_array_equal(rollout(env, actions), nominal)
    env.close()


def test_joint_damping_slows_joints() -> None:
    env = sim2real.envs.make_env("cartpole_swingup")  # pole swings freely from hanging
    base = env.unwrapped
    theta_dot = base.observation_names.index("theta_dot")
    actions = constant(env, 0.0, 40)
    free = rollout(env, actions, seed=3)
    base.set_dynamics({"joint_damping": {"hinge": 5.0}})
    np.testing.assert_array_equal(base.robot.read_back()["joint_damping"], [0.0, 5.0])
    damped = rollout(env, actions, seed=3)
    assert np.abs(damped[20:, theta_dot]).max() < 0.5 * np.abs(free[20:, theta_dot]).max()
    env.close()


def test_action_latency_delays_actions_exactly() -> None:
    env = sim2real.envs.make_env("cartpole")
    base = env.unwrapped
    actions = np.random.default_rng(0).uniform(-1, 1, (15, 1)).astype(np.float32)
    base.set_dynamics({"action_latency": 2})
    delayed = rollout(env, actions)
    base.set_dynamics({"action_latency": 0})
    shifted = np.concatenate([np.zeros((2, 1), np.float32), actions[:-2]])
    np.testing.assert_array_equal(delayed, rollout(env, shifted))
    env.close()


def test_obs_noise_and_bias_are_seeded_and_sized() -> None:
    env = sim2real.envs.make_env("cartpole")
    base = env.unwrapped
    actions = constant(env, 0.2, 20)
    clean = rollout(env, actions)
    base.set_dynamics({"obs_noise_std": {"cart_x": 0.5}, "obs_bias": {"theta_dot": 1.0}})
    noisy = rollout(env, actions)
    np.testing.assert_array_equal(noisy, rollout(env, actions))  # same seed, same noise
    diff = noisy - clean
    assert 0.2 < diff[:, 0].std() < 1.0  # only cart_x is noisy, with roughly the set std
    np.testing.assert_allclose(diff[:, 4], 1.0, atol=1e-5)  # theta_dot carries the bias
    np.testing.assert_allclose(diff[:, 1:4], 0.0, atol=1e-6)  # noise does not reach physics
    env.close()


def test_frame_skip_sets_control_period() -> None:
    env = sim2real.envs.make_env("ant")
    base = env.unwrapped
    assert base.control_dt == pytest.approx(0.0165)
    actions = constant(env, 0.5, 10)
    nominal = rollout(env, actions)
    base.set_dynamics({"frame_skip": 8})
    assert base.control_dt == pytest.approx(0.033)
    assert base.bullet_client.getPhysicsEngineParameters()["numSubSteps"] == 8
    assert not np.allclose(rollout(env, actions), nominal)
    env.close()


def test_inertia_and_motor_strength_read_back() -> None:
    env = sim2real.envs.make_env("ant")
    base = env.unwrapped
    nominal_inertia = base.robot.read_back()["inertia"]
    base.set_dynamics({"inertia_scale": 2.0, "motor_strength": {"hip_1": 0.5}})
    np.testing.assert_allclose(base.robot.read_back()["inertia"], 2.0 * nominal_inertia)
    np.testing.assert_allclose(base._torque_scale[:2], [125.0, 250.0])
    env.close()
