import gymnasium as gym
import numpy as np
import pytest

import sim2real.envs  # noqa: F401  (registers the ids)
from sim2real.errors import ParameterError


def rollout(env: gym.Env, seed: int, n: int = 50) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(n):
        obs, _, term, trunc, _ = env.step(np.array([0.3], dtype=np.float32))
        out.append(obs)
        if term or trunc:
            break
    return np.array(out)


def test_same_seed_same_trajectory_different_seed_differs():
    env = gym.make("sim2real/CartPole-v0")
    a, b, c = rollout(env, 1), rollout(env, 1), rollout(env, 2)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_heavier_cart_changes_trajectory_and_reset_restores():
    env = gym.make("sim2real/CartPole-v0")
    base = rollout(env, 3)
    env.unwrapped.set_dynamics({"mass_scale": {"cart": 3.0}})
    heavy = rollout(env, 3)
    assert not np.allclose(base[:10], heavy[:10])
    readback = env.unwrapped.robot.read_back()
    assert readback["mass_scale"][0] == pytest.approx(3.0)
    env.unwrapped.reset_dynamics()
    np.testing.assert_array_equal(rollout(env, 3), base)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"mass_scale": -1.0}, r"mass_scale=-1 is outside the valid range \[0.05, 20\]"),
        ({"warp_drive": 1.0}, r"unknown dynamics parameter 'warp_drive'"),
        ({"joint_damping": {"elbow": 1.0}}, r"unknown entity 'elbow'"),
        ({"action_latency": 1.5}, r"whole number"),
    ],
)
def test_invalid_parameters_rejected_without_change(values, match):
    env = gym.make("sim2real/CartPole-v0").unwrapped
    before = env.get_dynamics()
    with pytest.raises(ParameterError, match=match):
        env.set_dynamics(values)
    after = env.get_dynamics()
    assert all(np.array_equal(before[k], after[k]) for k in before)
