"""The A1's legged_gym reward (:mod:`sim2real.envs.legged_reward`) in both engines."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from sim2real.envs.legged_reward import LeggedGymReward, LeggedGymScales, LeggedState
from sim2real.envs.quadruped import CONTACT_LINKS, A1Env

ENGINES = ["pybullet", "mujoco"]


def _a1(engine: str, **kwargs) -> A1Env:
    if engine == "pybullet":
        return A1Env(**kwargs)
    pytest.importorskip("mujoco")
    from sim2real.envs.mujoco.urdf_robots import A1MujocoEnv

    return A1MujocoEnv(**kwargs)  # type: ignore[return-value]


@pytest.fixture(scope="module", params=ENGINES)
def a1(request: pytest.FixtureRequest) -> Iterator[A1Env]:
    env = _a1(request.param)
    yield env
    env.close()


def _state(vx: float, command: float = 0.7) -> LeggedState:
    zeros = np.zeros(12)
    return LeggedState(
        height=0.3,
        velocity=(vx, 0.0, 0.0),
        angular_velocity=(0.0, 0.0, 0.0),
        gravity_xy=(0.0, 0.0),
        joint_torque=zeros,
        joint_velocity=zeros,
        action=zeros,
        feet_force=np.full(4, 30.0),
        leg_force=np.zeros(8),
        command=command,
    )


def _stand(env: A1Env, steps: int) -> tuple[float, dict]:
    env.reset(seed=0)
    for _ in range(steps):
        _, reward, terminated, _, info = env.step(np.zeros(12, np.float32))
        assert not terminated
    return float(reward), info


def test_velocity_tracking_is_maximal_at_the_commanded_speed():
    reward = LeggedGymReward(12, 4, 1 / 60, LeggedGymScales())
    speeds = np.linspace(0.0, 1.4, 15)
    tracking = [reward(_state(float(v)))[1]["reward_tracking_lin_vel"] for v in speeds]
    assert speeds[int(np.argmax(tracking))] == pytest.approx(0.7)
    assert max(tracking) == pytest.approx(1.0 / 60)  # scale 1 * dt * exp(0)
    assert tracking[0] < 0.2 * max(tracking)  # standing still earns a fraction of it


def test_penalties_never_make_the_step_reward_negative():
    reward = LeggedGymReward(12, 4, 1 / 60, LeggedGymScales())
    state = _state(0.0)
    state.velocity = (0.0, 0.0, 3.0)  # lin_vel_z penalty -2 * 9 >> tracking
    total, terms = reward(state)
    assert total == 0.0
    assert terms["reward_clip"] > 0
    assert sum(terms.values()) == pytest.approx(0.0, abs=1e-12)


def test_feet_air_time_rewards_long_swings_at_touchdown():
    dt = 1 / 60
    reward = LeggedGymReward(12, 4, dt, LeggedGymScales())
    swing = _state(0.7)
    swing.feet_force = np.array([0.0, 30.0, 30.0, 30.0])  # FR in the air
    for _ in range(45):  # 0.75 s swing, then touchdown
        assert reward(swing)[1]["reward_feet_air_time"] <= 0.0
    touchdown = reward(_state(0.7))[1]["reward_feet_air_time"]
    assert touchdown == pytest.approx(dt * (46 * dt - 0.5))


@pytest.mark.parametrize("kind", ["legged_gym", "forward"])
@pytest.mark.parametrize("engine", ENGINES)
def test_reward_terms_are_in_info_and_sum_to_the_reward(engine: str, kind: str):
    env = _a1(engine, reward=kind)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        action = rng.uniform(-0.5, 0.5, 12).astype(np.float32)
        _, reward, terminated, _, info = env.step(action)
        terms = [v for k, v in info.items() if k.startswith("reward_")]
        assert len(terms) == (13 if kind == "legged_gym" else 5)
        assert sum(terms) == pytest.approx(reward, abs=1e-9)
        assert "x_velocity" in info
        if terminated:
            break
    env.close()


def test_both_engines_give_the_same_terms_standing():
    """60 steps (1 s) of the standing pose settle both engines to the same state (the trunk
    0.31 m vs 0.30 m high); the reward terms then agree, contact-based ones included."""
    terms = {}
    for engine in ENGINES:
        env = _a1(engine)
        _, info = _stand(env, 60)
        terms[engine] = {k: v for k, v in info.items() if k.startswith("reward_")}
        feet = env._contact_forces()[-4:]
        assert (feet > env.legged_gym_scales.contact_force).all()  # 4 feet down
        assert not (env._contact_forces()[:-4] > 1.0).any()  # nothing else touches
        env.close()
    assert terms["pybullet"].keys() == terms["mujoco"].keys()
    for name, value in terms["pybullet"].items():  # per-step terms are ~1e-2 (tracking)
        assert terms["mujoco"][name] == pytest.approx(value, abs=1e-4), name


def test_the_command_is_observed_and_drawn_per_episode():
    env = A1Env(command_range=(0.2, 1.0))
    index = env.observation_names.index("command_vx")
    commands = {float(env.reset(seed=s)[0][index]) for s in range(5)}
    assert len(commands) == 5
    assert all(0.2 <= c <= 1.0 for c in commands)
    assert env.reset(seed=3)[0][index] == env.reset(seed=3)[0][index]  # seeded
    env.close()


@pytest.mark.parametrize(
    "kwargs", [{"reward": "run"}, {"command_range": (1.0, 0.5)}, {"command_range": (0, 3)}]
)
def test_bad_reward_arguments_are_refused(kwargs: dict):
    with pytest.raises(ValueError):
        A1Env(**kwargs)


def test_tilting_over_terminates(a1: A1Env):
    a1.reset(seed=0)
    if a1.engine == "pybullet":
        p = a1.bullet_client
        p.resetBasePositionAndOrientation(
            a1.robot.body_id, [0, 0, 0.3], p.getQuaternionFromEuler([1.2, 0, 0])
        )
    else:
        a1.data.qpos[3:7] = [np.cos(0.6), np.sin(0.6), 0.0, 0.0]  # roll 1.2 rad
    _, _, terminated, _, _ = a1.step(np.zeros(12, np.float32))
    assert terminated


def test_trunk_contact_terminates(a1: A1Env, monkeypatch: pytest.MonkeyPatch):
    _stand(a1, 5)
    forces = np.zeros(len(CONTACT_LINKS))
    forces[0] = 5.0  # the floor pushes on the trunk
    monkeypatch.setattr(a1, "_contact_forces", lambda: forces)
    _, _, terminated, _, _ = a1.step(np.zeros(12, np.float32))
    assert terminated
    forces[0] = 0.0
    a1.reset(seed=0)
    _, _, terminated, _, _ = a1.step(np.zeros(12, np.float32))
    assert not terminated


def test_yaw_tracking_follows_the_heading_command():
    reward = LeggedGymReward(12, 4, 1 / 60, LeggedGymScales())
    state = _state(0.7)
    state.angular_velocity = (0.0, 0.0, -0.3)
    state.yaw_rate_command = -0.3  # turning back as commanded: full yaw tracking
    assert reward(state)[1]["reward_tracking_ang_vel"] == pytest.approx(0.5 / 60)
    state.yaw_rate_command = 0.0
    assert reward(state)[1]["reward_tracking_ang_vel"] < 0.5 / 60 * 0.8


@pytest.mark.parametrize("yaw, command", [(0.0, 0.0), (0.6, -0.3), (-0.6, 0.3), (3.0, -1.0)])
def test_the_heading_command_steers_back_to_plus_x(yaw: float, command: float) -> None:
    """legged_gym's heading command: c_wz = clip(0.5 * (0 - yaw), -1, 1), observed."""
    import pybullet as p

    env = A1Env()
    env.reset(seed=0)
    u, cid = env.unwrapped, env.unwrapped._cid
    position, _ = p.getBasePositionAndOrientation(u._robot, physicsClientId=cid)
    p.resetBasePositionAndOrientation(
        u._robot, position, p.getQuaternionFromEuler([0, 0, yaw]), physicsClientId=cid
    )
    obs = env.unwrapped._observe()
    index = env.observation_names.index("command_wz")
    assert obs[index] == pytest.approx(command, abs=1e-6)
    env.close()
