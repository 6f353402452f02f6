"""Contract tests run on EVERY registered env id (parametrized over ``sim2real.envs.ENVS``), the
MuJoCo twins included where the mujoco package is installed."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sim2real.envs
from sim2real.envs import ENVS, RobotEnv
from sim2real.envs.describe import describe_env
from sim2real.envs.registry import engine_available
from sim2real.errors import ParameterError, PhysicsError

NAMES = sorted(name for name, entry in ENVS.items() if engine_available(entry))


def make(name: str, **kwargs) -> gym.Env:
    return sim2real.envs.make_env(name, **kwargs)


def fixed_actions(env: gym.Env, n: int) -> np.ndarray:
    """A deterministic action sequence exercising every actuator."""
    dim = env.action_space.shape[0]
    t = np.arange(n)[:, None]
    return (0.8 * np.sin(0.3 * t + np.arange(dim)[None, :])).astype(np.float32)


def rollout(env: gym.Env, seed: int, actions: np.ndarray) -> np.ndarray:
    """Observations (and rewards) of a fixed-action rollout; resets on termination."""
    obs, _ = env.reset(seed=seed)
    out = [np.append(obs, 0.0)]
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        out.append(np.append(obs, reward))
        if term or trunc:
            obs, _ = env.reset()
            out.append(np.append(obs, 0.0))
    return np.array(out)


@pytest.fixture(params=NAMES)
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_gymnasium_and_sb3_check_env(name: str) -> None:
    env = make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)  # any checker complaint fails,
        # except unbounded observations (noise/bias may push them anywhere, so -inf..inf is right)
        warnings.filterwarnings("ignore", message=".*infinity", category=UserWarning)
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)
    env.close()


def test_layout_names_match_spaces(name: str) -> None:
    env = make(name)
    base = env.unwrapped
    assert isinstance(base, RobotEnv)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (len(base.observation_names),) == env.observation_space.shape
    assert env.action_space.shape == (len(base.action_names),)
    assert len(set(base.observation_names)) == len(base.observation_names)
    assert len(set(base.action_names)) == len(base.action_names)
    np.testing.assert_array_equal(env.action_space.low, -1.0)
    np.testing.assert_array_equal(env.action_space.high, 1.0)
    assert env.spec is not None and env.spec.max_episode_steps == ENVS[name].max_episode_steps
    info = describe_env(name)  # what `sim2real envs show` prints
    assert info["obs_size"] == obs.shape[0]
    assert {p["name"] for p in info["parameters"]} >= {
        "mass_scale",
        "lateral_friction",
        "joint_damping",
        "gravity",
        "motor_strength",
        "action_latency",
        "obs_noise_std",
    }
    env.close()


def test_same_seed_same_trajectory_different_seed_differs(name: str) -> None:
    env = make(name)
    actions = fixed_actions(env, 60)
    a = rollout(env, 1, actions)
    b = rollout(env, 2, actions)
    c = rollout(env, 1, actions)  # after another episode: no state leaks across resets
    np.testing.assert_array_equal(a, c)
    assert a.shape != b.shape or not np.array_equal(a, b)
    fresh = make(name)  # and a new instance reproduces it too
    np.testing.assert_array_equal(rollout(fresh, 1, actions), a)
    env.close()
    fresh.close()


def test_rgb_array_render(name: str) -> None:
    env = make(name, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray)
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.std() > 0  # not a blank image
    env.close()


@pytest.mark.parametrize(
    ("change", "readback_key", "expected"),
    [({"mass_scale": 3.0}, "mass_scale", 3.0), ({"motor_strength": 0.1}, None, None)],
    ids=["heavier_links", "weaker_motors"],
)
def test_dynamics_change_trajectory_and_reset_restores(
    name: str, change: dict, readback_key: str | None, expected: float | None
) -> None:
    env = make(name)
    base = env.unwrapped
    actions = fixed_actions(env, 30)
    nominal = rollout(env, 5, actions)
    base.set_dynamics(change)
    changed = rollout(env, 5, actions)
    assert changed.shape != nominal.shape or not np.array_equal(changed, nominal)
    if readback_key is not None:  # the physics engine reports the applied value
        np.testing.assert_allclose(base.robot.read_back()[readback_key], expected, rtol=1e-6)
    for key, value in change.items():
        np.testing.assert_allclose(base.get_dynamics()[key], value)
    base.reset_dynamics()
    np.testing.assert_allclose(base.robot.read_back()["mass_scale"], 1.0, rtol=1e-6)
    np.testing.assert_array_equal(rollout(env, 5, actions), nominal)
    env.close()


def test_invalid_parameters_rejected_with_range(name: str) -> None:
    base = make(name).unwrapped
    before = base.get_dynamics()
    with pytest.raises(ParameterError, match=r"mass_scale=-1 is outside the valid range \[0\.05, "):
        base.set_dynamics({"mass_scale": -1.0})
    with pytest.raises(
        ParameterError, match=r"motor_strength=9 is outside the valid range \[0, 5\]"
    ):
        base.set_dynamics({"motor_strength": 9.0})
    with pytest.raises(ParameterError, match=r"unknown dynamics parameter 'warp_drive'"):
        base.set_dynamics({"warp_drive": 1.0})
    with pytest.raises(ParameterError, match=r"frame_skip=0 is outside the valid range \[1, 20\]"):
        base.set_dynamics({"frame_skip": 0})
    after = base.get_dynamics()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    base.close()


def test_nan_from_physics_raises_physics_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make(name)
    base = env.unwrapped
    env.reset(seed=0)
    n = len(base.observation_names)
    monkeypatch.setattr(base, "_observe", lambda: np.full(n, np.nan))
    with pytest.raises(PhysicsError, match=rf"{type(base).__name__}: physics returned non-finite"):
        env.step(env.action_space.sample())
    env.close()
