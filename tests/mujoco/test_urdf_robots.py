"""The URDF robots in MuJoCo (``quadruped@mujoco``, ``manipulator@mujoco``) against their twins."""

from __future__ import annotations

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")

from gymnasium.utils.env_checker import check_env as gym_check_env  # noqa: E402
from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402

from sim2real.envs.manipulator import KukaReachEnv  # noqa: E402
from sim2real.envs.mujoco.urdf import inertia_report  # noqa: E402
from sim2real.envs.mujoco.urdf_robots import A1MujocoEnv, KukaReachMujocoEnv  # noqa: E402
from sim2real.envs.quadruped import A1Env  # noqa: E402
from sim2real.errors import PhysicsError  # noqa: E402

PAIRS = [(A1MujocoEnv, A1Env), (KukaReachMujocoEnv, KukaReachEnv)]
IDS = ["quadruped", "manipulator"]


@pytest.fixture(scope="module", params=PAIRS, ids=IDS)
def pair(request):
    mj_cls, pb_cls = request.param
    mj, pb = mj_cls(), pb_cls()
    yield mj, pb
    mj.close()
    pb.close()


def _zero(env) -> np.ndarray:
    return np.zeros(env.action_space.shape, dtype=np.float32)


@pytest.mark.parametrize("cls", [A1MujocoEnv, KukaReachMujocoEnv], ids=IDS)
def test_checkers(cls):
    env = cls()
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=False)
    env.close()


def test_same_layout_and_model(pair):
    mj, pb = pair
    assert mj.observation_names == pb.observation_names
    assert mj.action_names == pb.action_names
    assert mj.control_dt == pytest.approx(pb.control_dt)
    m = mj.model
    for name, j in zip(pb.action_names, pb._joints):
        info = pb.bullet_client.getJointInfo(pb._robot, j)
        jid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)
        np.testing.assert_allclose(m.jnt_range[jid], info[8:10])
    np.testing.assert_allclose(mj._pd.gains[2], pb._pd.gains[2])  # torque limits
    np.testing.assert_allclose(mj._pd.gains[0], pb._pd.gains[0])
    np.testing.assert_allclose(mj._pd.gains[1], pb._pd.gains[1])
    # links with mass: same names, same order, same masses
    assert mj.robot.link_names == pb.robot.link_names
    np.testing.assert_allclose(mj.robot.nominal_mass, pb.robot.nominal_mass)
    np.testing.assert_allclose(mj.robot.nominal_joint_damping, pb.robot.nominal_joint_damping)
    np.testing.assert_allclose(mj.robot.nominal_friction[:, 0], pb.robot.nominal_lateral_friction)


def test_parameters_match_the_twin(pair):
    mj, pb = pair
    mj_specs, pb_specs = mj.dynamics_specs(), pb.dynamics_specs()
    assert set(pb_specs) - set(mj_specs) == {"restitution"}  # MuJoCo has no restitution
    assert set(mj_specs) == set(pb_specs) - {
        "restitution"
    }  # armature in both (emulated in PyBullet)
    for name in ("kp_scale", "kd_scale", "motor_strength", "joint_damping", "armature"):
        assert mj_specs[name].entities == pb_specs[name].entities
        assert mj_specs[name].high == pb_specs[name].high


def test_inertia_report_lists_the_pybullet_difference():
    build = A1MujocoEnv._urdf_model()
    rows = {name: row for name, *row in inertia_report(build)}
    mj_mass, pb_mass, mj_inertia, pb_inertia = rows["trunk"]
    assert mj_mass == pb_mass == pytest.approx(4.713)
    np.testing.assert_allclose(mj_inertia, [0.016832, 0.056579, 0.064721], rtol=1e-3)  # URDF
    np.testing.assert_allclose(pb_inertia, [0.020373, 0.033705, 0.043508], rtol=1e-3)  # AABB


def test_reset_observation_has_the_same_meaning(pair):
    mj, pb = pair
    for seed in (0, 1):
        obs_mj, _ = mj.reset(seed=seed)
        obs_pb, _ = pb.reset(seed=seed)
        np.testing.assert_allclose(obs_mj, obs_pb, atol=1e-5)


def _run(env, action: np.ndarray, steps: int = 3) -> np.ndarray:
    env.reset(seed=0)
    for _ in range(steps):
        obs, *_ = env.step(action)
    return obs


def test_positive_target_moves_the_same_joint_the_same_way(pair):
    mj, pb = pair
    n = mj.action_space.shape[0]
    pos = [mj.observation_names.index(f"{j}_pos") for j in mj.action_names]
    rest = {env: _run(env, _zero(env))[pos] for env in (mj, pb)}
    for i in range(n):
        for env in (mj, pb):
            action = _zero(env)
            action[i] = 1.0
            delta = _run(env, action)[pos] - rest[env]  # the action's effect on every joint
            assert delta[i] > 0.01, (env.engine, mj.action_names[i], delta[i])
            assert delta[i] >= np.abs(np.delete(delta, i)).max()  # that joint most


def test_dynamics_read_back(pair):
    mj, _ = pair
    links, joints = len(mj.robot.link_names), len(mj.action_names)
    values = {
        "mass_scale": np.linspace(0.8, 1.2, links),
        "lateral_friction": np.full(links, 0.9),
        "joint_damping": np.full(joints, 0.3),
        "armature": np.full(joints, 0.01),
        "kp_scale": np.full(joints, 0.5),
        "kd_scale": np.full(joints, 0.8),
        "motor_strength": np.full(joints, 0.7),
    }
    try:
        mj.set_dynamics(values)
        back = mj.robot.read_back()
        np.testing.assert_allclose(back["mass_scale"], values["mass_scale"])
        np.testing.assert_allclose(back["lateral_friction"], 0.9)
        np.testing.assert_allclose(back["joint_damping"], 0.3)
        np.testing.assert_allclose(back["armature"], 0.01)
        kp, kd, limit = mj._pd.gains
        np.testing.assert_allclose(kp, mj._pd.nominal_kp * 0.5)
        np.testing.assert_allclose(kd, mj._pd.nominal_kd * 0.8)
        np.testing.assert_allclose(limit, mj._pd.nominal_max_torque * 0.7)
        np.testing.assert_allclose(mj.model.actuator_forcerange[:, 1], limit)
        for name, value in values.items():
            np.testing.assert_allclose(mj.get_dynamics()[name], value)
        mj.reset(seed=0)
        for _ in range(5):
            mj.step(mj.action_space.sample())
    finally:
        mj.reset_dynamics()
    np.testing.assert_allclose(mj.robot.read_back()["mass_scale"], 1.0)


def test_same_seed_same_trajectory(pair):
    mj, _ = pair
    runs = []
    for _ in range(2):
        mj.reset(seed=3)
        mj.action_space.seed(3)
        runs.append([mj.step(mj.action_space.sample())[0] for _ in range(20)])
    np.testing.assert_array_equal(np.array(runs[0]), np.array(runs[1]))


def test_sim_state_round_trip(pair):
    mj, _ = pair
    mj.reset(seed=4)
    for _ in range(5):
        mj.step(mj.action_space.sample())
    state = mj.get_sim_state()
    action = mj.action_space.sample()
    first = mj.step(action)[0]
    mj.set_sim_state(state)
    np.testing.assert_allclose(mj.step(action)[0], first, atol=1e-6)


def test_a1_stands_in_both_engines():
    heights = {}
    for cls in (A1MujocoEnv, A1Env):
        env = cls()
        env.reset(seed=0)
        z = []
        for _ in range(120):  # 2 s
            obs, _, terminated, _, _ = env.step(_zero(env))
            assert not terminated
            z.append(obs[0])
        heights[cls.engine] = z
        assert np.ptp(z[60:]) < 2e-3  # settled
        env.close()
    assert np.mean(heights["pybullet"][60:]) == pytest.approx(0.310, abs=0.005)
    assert np.mean(heights["mujoco"][60:]) == pytest.approx(0.303, abs=0.007)


def test_contact_corrections_bring_the_a1_standing_height_toward_pybullets():
    heights = []
    for k in (0, 1):
        env = type("A1", (A1MujocoEnv,), {"contact_iterations": k})()
        env.reset(seed=0)
        heights.append([env.step(_zero(env))[0][0] for _ in range(60)][-1])
        env.close()
    assert heights[0] == pytest.approx(0.292, abs=0.005)  # the free-space law yields ~2 cm
    assert heights[0] < heights[1] < 0.310


def _trot(t: float, freq: float = 2.5) -> np.ndarray:
    """The open-loop trot of tests/envs/test_robots.py (diagonal legs in phase)."""
    phase = 2 * np.pi * freq * t + np.array([0.0, np.pi, np.pi, 0.0])
    action = np.zeros((4, 3))
    action[:, 1] = 0.5 * np.sin(phase)
    action[:, 2] = 0.5 * np.sin(phase + np.pi / 2)
    return action.ravel().astype(np.float32)


def test_a1_open_loop_trot_walks_forward_in_mujoco_too():
    env = A1MujocoEnv(reward="forward")
    env.reset(seed=0)
    x0, distance = float(env.data.qpos[0]), 0.0
    for i in range(60):  # 1 s
        _, _, terminated, _, info = env.step(_trot(i * env.control_dt))
        assert not terminated
        distance += info["reward_forward"] * env.control_dt
    dx = float(env.data.qpos[0]) - x0
    assert dx > 0.2  # PyBullet: ~0.6 m/s
    assert distance == pytest.approx(dx, abs=0.05)  # the forward reward integrates to distance
    env.close()


def test_kuka_tracks_the_twin_under_the_same_actions():
    """No contacts, same PD law: the engines differ by inertia and integrator only, and the law
    makes tracking independent of inertia (measured: 0.04 rad, 7 mm over 200 steps)."""
    mj, pb = KukaReachMujocoEnv(), KukaReachEnv()
    mj.reset(seed=0)
    pb.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        action = rng.uniform(-1, 1, 7).astype(np.float32)
        obs_mj, obs_pb = mj.step(action)[0], pb.step(action)[0]
        np.testing.assert_allclose(obs_mj[:7], obs_pb[:7], atol=0.1)  # joint angles
        np.testing.assert_allclose(obs_mj[21:24], obs_pb[21:24], atol=0.02)  # end effector
    mj.close()
    pb.close()


def test_mujoco_instability_is_a_physics_error_not_a_silent_reset():
    """MuJoCo resets the state to qpos0 when qacc blows up (warning BADQACC); the env raises."""
    env = KukaReachMujocoEnv()
    env.reset(seed=0)
    env.data.qvel[:] = np.nan  # mj_step's check resets the state and flags BADQVEL
    with pytest.raises(PhysicsError, match="unstable"):
        env.step(_zero(env))
    env.reset(seed=0)
    env.step(_zero(env))  # the flag was cleared
    env.close()


def test_pybullet_inertia_option_copies_the_twins_inertia():
    class A1PyBulletInertia(A1MujocoEnv):
        inertia = "pybullet"

    mj, pb = A1PyBulletInertia(), A1Env()
    np.testing.assert_allclose(
        np.sort(mj.robot.nominal_inertia, axis=1), np.sort(pb.robot.nominal_inertia, axis=1)
    )
    np.testing.assert_allclose(mj.robot.nominal_mass, pb.robot.nominal_mass)
    mj.close()
    pb.close()


def test_env_kwargs_of_a_robot_reach_its_twin_in_the_other_engine():
    """A policy trained on quadruped with gait=trot evaluates on quadruped@mujoco: the twin runs
    the same task code and is built with the same env_kwargs (and both drop them again)."""
    from sim2real.envs.registry import make_env
    from sim2real.envs.settings import register_env

    try:
        register_env("quadruped", env_kwargs={"gait": "trot"})
        for name in ("quadruped", "quadruped@mujoco"):
            env = make_env(name)
            assert env.observation_space.shape == (50,), name
            env.close()
    finally:
        register_env("quadruped")
    for name in ("quadruped", "quadruped@mujoco"):
        env = make_env(name)
        assert env.observation_space.shape == (48,), name
        env.close()
