"""MuJoCo targets: parity with the PyBullet twins, checkers, dynamics read back from MuJoCo's fields,
determinism, sim-state round trip, domains from the twins' files, target strings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import sim2real.envs  # noqa: F401  (first: picks MuJoCo's headless GL backend)

mujoco = pytest.importorskip("mujoco")

from gymnasium.utils.env_checker import check_env as gym_check_env  # noqa: E402
from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402

from sim2real.envs import ENVS, make_env  # noqa: E402
from sim2real.envs.mujoco import gymnasium_asset  # noqa: E402
from sim2real.errors import DomainError, ParameterError  # noqa: E402
from sim2real.evaluation.targets import make_target_env, parse_target  # noqa: E402
from sim2real.randomization import DomainRandomizationWrapper, load_domain  # noqa: E402

MUJOCO = sorted(name for name, entry in ENVS.items() if entry.engine == "mujoco")
TWIN_OF = {name: name.partition("@")[0] for name in MUJOCO}
WALKERS = [name for name in MUJOCO if TWIN_OF[name] in ("hopper", "halfcheetah", "ant")]


def _pair(name: str):
    return make_env(TWIN_OF[name]).unwrapped, make_env(name).unwrapped


def test_every_robot_with_a_gymnasium_model_has_a_mujoco_twin() -> None:
    assert {
        "hopper@mujoco",
        "halfcheetah@mujoco",
        "ant@mujoco",
        "cartpole@mujoco",
        "cartpole_swingup@mujoco",
        "reacher@mujoco",
    } <= set(MUJOCO)
    for name in MUJOCO:
        entry, twin = ENVS[name], ENVS[TWIN_OF[name]]
        assert entry.max_episode_steps == twin.max_episode_steps
        assert entry.domains == twin.name
        assert entry.env_id.endswith("-mujoco-v0")


@pytest.mark.parametrize("name", MUJOCO)
def test_gymnasium_and_sb3_check_env(name: str) -> None:
    env = make_env(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*infinity", category=UserWarning)
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)
    env.close()


@pytest.mark.parametrize("name", MUJOCO)
def test_layout_control_period_and_timestep_match_the_twin(name: str) -> None:
    twin, mj = _pair(name)
    assert mj.observation_names == twin.observation_names
    assert mj.action_names == twin.action_names
    assert mj.control_dt == pytest.approx(twin.control_dt, rel=1e-12)
    if mj.model_file.endswith(".xml"):  # Gymnasium's model (URDF twins keep the twin's timestep)
        file_dt = mujoco.MjModel.from_xml_path(gymnasium_asset(mj.model_file)).opt.timestep
        n = math.ceil(round(twin.control_dt / file_dt, 9))  # the documented rule
        assert mj.default_frame_skip == n and mj.model.opt.timestep == pytest.approx(
            twin.control_dt / n
        )
    else:
        assert mj.model.opt.timestep == twin.physics_timestep
        assert mj.default_frame_skip == twin.default_frame_skip
    # twin entities exist in the MuJoCo env, so domain files apply
    twin_specs, mj_specs = twin.dynamics_specs(), mj.dynamics_specs()
    for key, spec in twin_specs.items():
        if key == "restitution":
            assert key not in mj_specs  # MuJoCo has no restitution (body_dynamics docstring)
            continue
        assert mj_specs[key].entities == spec.entities, key
        assert mj_specs[key].unit == spec.unit, key
    assert "armature" in mj_specs


@pytest.mark.parametrize("name", WALKERS)
def test_reset_observation_has_the_same_meaning(name: str) -> None:
    twin, mj = _pair(name)
    a, _ = twin.reset(seed=3)
    b, _ = mj.reset(seed=3)
    names = list(mj.observation_names)
    torso = [i for i, n in enumerate(names) if n.startswith(("torso", "target"))]
    np.testing.assert_allclose(b[torso], a[torso], atol=1e-5)
    # joint entries: the same draw, scaled between each engine's own joint limits
    m = mj.model
    for k, joint in enumerate(mj.action_names):
        j = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, joint)
        lo, hi = m.jnt_range[j]
        q = mj.data.qpos[m.jnt_qposadr[j]]
        i = names.index(f"{joint}_pos")
        assert b[i] == pytest.approx(np.clip((q - (lo + hi) / 2) * 2 / (hi - lo), -5, 5), abs=1e-5)
        assert abs(q) <= 0.1 + 1e-12, k
    if name == "hopper@mujoco":  # same joint limits as the twin: the same observation
        np.testing.assert_allclose(b, a, atol=1e-5)


def _to_mid_range(env) -> None:
    """Every actuated joint to the middle of its range (its ``_pos`` entry 0), at rest."""
    if env.engine == "mujoco":
        env.data.qpos[env._qadr] = env._joint_mid
        env.data.qvel[:] = 0.0
        mujoco.mj_forward(env.model, env.data)
    else:
        for j, mid in zip(env._joints, env._joint_mid):
            env.bullet_client.resetJointState(env._robot, j, mid, 0.0)


@pytest.mark.parametrize("name", WALKERS)
def test_a_positive_torque_moves_the_same_entry_the_same_way(name: str) -> None:
    """+torque vs -torque on one joint, zero gravity, from mid-range (the ant's ankles start
    outside their limits; the cheetah's MuJoCo joints have springs): same sign in both engines."""
    twin, mj = _pair(name)
    names = list(mj.observation_names)
    for env in (twin, mj):
        env.set_dynamics({"gravity": 0.0})
    for k, joint in enumerate(mj.action_names):
        pos, vel = names.index(f"{joint}_pos"), names.index(f"{joint}_vel")
        diffs = []
        for env in (twin, mj):
            ends = []
            for sign in (1.0, -1.0):
                env.reset(seed=0)
                _to_mid_range(env)
                action = np.zeros(len(mj.action_names), dtype=np.float32)
                action[k] = 0.3 * sign
                for _ in range(3):
                    obs, *_ = env.step(action)
                ends.append(obs)
            diffs.append(ends[0] - ends[1])
            assert diffs[-1][pos] > 0.0 and diffs[-1][vel] > 0.0, (env.engine, joint)


@pytest.mark.parametrize("name", MUJOCO)
def test_set_dynamics_reads_back_from_mujoco_fields(name: str) -> None:
    env = make_env(name).unwrapped
    m, robot = env.model, env.robot
    n_links, n_joints = len(robot.links), len(robot.joints)
    mass, inertia = np.linspace(0.5, 1.5, n_links), np.linspace(1.8, 0.6, n_links)
    friction, damping = np.linspace(0.2, 0.9, n_links), np.linspace(0.0, 2.0, n_joints)
    armature = np.linspace(0.1, 0.3, n_joints)
    strength = np.linspace(0.5, 1.5, len(env.action_names))
    env.set_dynamics(
        {
            "mass_scale": mass,
            "inertia_scale": inertia,
            "lateral_friction": friction,
            "spinning_friction": 0.02,
            "rolling_friction": 0.001,
            "joint_damping": damping,
            "armature": armature,
            "gravity": [0.5, 0.0, -3.0],
            "motor_strength": strength,
        }
    )
    np.testing.assert_allclose(m.body_mass[robot.links], robot.nominal_mass * mass)
    np.testing.assert_allclose(
        m.body_inertia[robot.links], robot.nominal_inertia * inertia[:, None]
    )
    for body, f in zip(robot.links, friction):
        geoms = np.flatnonzero(m.geom_bodyid == body)
        np.testing.assert_allclose(
            m.geom_friction[geoms], np.tile([f, 0.02, 0.001], (len(geoms), 1))
        )
    floor = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "floor")
    if floor >= 0:  # the floor never overrides a body's value (body_dynamics docstring)
        assert m.geom_friction[floor, 0] <= friction.min()
    dofs = m.jnt_dofadr[robot.joints]
    np.testing.assert_allclose(m.dof_damping[dofs], damping)
    np.testing.assert_allclose(m.dof_armature[dofs], armature)
    np.testing.assert_allclose(m.opt.gravity, [0.5, 0.0, -3.0])
    torques = env._nominal_gear
    if env._actuators:  # torque-controlled: gear = max torque x strength
        np.testing.assert_allclose(m.actuator_gear[env._actuators, 0], torques * strength)
    else:  # PD-controlled (URDF twins): gear 1, the torque limit is the actuator force range
        limits = env._pd.nominal_max_torque * strength
        np.testing.assert_allclose(m.actuator_forcerange, np.c_[-limits, limits])
    back = robot.read_back()
    np.testing.assert_allclose(back["mass_scale"], mass)
    np.testing.assert_allclose(back["inertia_scale"], inertia)
    np.testing.assert_allclose(back["armature"], armature)
    env.reset_dynamics()
    np.testing.assert_allclose(m.body_mass[robot.links], robot.nominal_mass)
    np.testing.assert_allclose(m.actuator_gear[env._actuators, 0], torques)
    with pytest.raises(ParameterError, match="unknown dynamics parameter 'restitution'"):
        env.set_dynamics({"restitution": 0.5})


@pytest.mark.parametrize("name", WALKERS)
def test_nominal_contacts_are_the_models_own(name: str) -> None:
    """Folding the floor's friction into the robot's geoms (so body friction acts) leaves every
    nominal contact's parameters (dimension, friction, solref, solimp) as the unedited model
    computes them."""
    env = make_env(name).unwrapped
    raw = mujoco.MjModel.from_xml_path(gymnasium_asset(env.model_file))
    data = mujoco.MjData(raw)
    env.reset(seed=0)
    seen = 0
    for t in range(150):
        env.step(np.sin(0.2 * t + np.arange(env.action_space.shape[0])))
        data.qpos[:], data.qvel[:] = env.data.qpos, env.data.qvel
        mujoco.mj_forward(raw, data)
        assert env.data.ncon == data.ncon
        for c in range(data.ncon):
            mine, theirs = env.data.contact[c], data.contact[c]
            assert {mine.geom1, mine.geom2} == {theirs.geom1, theirs.geom2}
            assert mine.dim == theirs.dim
            n = mine.dim - 1  # friction entries the contact uses
            np.testing.assert_allclose(mine.friction[:n], theirs.friction[:n])
            for field in ("solref", "solimp"):
                np.testing.assert_allclose(getattr(mine, field), getattr(theirs, field))
            seen += 1
    assert seen > 0


def _rollout(env, seed: int, n: int = 80) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for t in range(n):
        obs, reward, term, trunc, _ = env.step(
            np.sin(0.3 * t + np.arange(env.action_space.shape[0]))
        )
        out.append(np.append(obs, reward)[: len(obs)])
        if term or trunc:
            obs, _ = env.reset()
    return np.array(out)


@pytest.mark.parametrize("name", MUJOCO)
def test_same_seed_same_trajectory_and_sim_state_round_trip(name: str) -> None:
    env = make_env(name).unwrapped
    a, b = _rollout(env, 4), _rollout(make_env(name).unwrapped, 4)
    np.testing.assert_array_equal(a, b)
    env.set_dynamics({"action_latency": 2})
    env.reset(seed=1)
    for t in range(20):
        env.step(np.full(env.action_space.shape, 0.3 * math.cos(t)))
    state = env.get_sim_state()
    actions = [np.full(env.action_space.shape, 0.5 * math.sin(t)) for t in range(15)]
    want = [env.step(a)[0] for a in actions]
    env.reset(seed=9)  # somewhere else entirely
    env.set_sim_state(state)
    np.testing.assert_array_equal(env.get_sim_state(), state)
    np.testing.assert_array_equal([env.step(a)[0] for a in actions], want)
    with pytest.raises(ValueError, match="a sim state has"):
        env.set_sim_state(state[:-1])


@pytest.mark.parametrize("name", MUJOCO)
def test_twin_domains_apply_unchanged(name: str) -> None:
    source = load_domain(name, "source")  # envs/<twin>.yaml, validated against MuJoCo's specs
    env = DomainRandomizationWrapper(make_env(name), source)
    obs, info = env.reset(seed=0)
    assert set(info["domain"]) == set(source.parameters)
    pushed = False
    env.action_space.seed(0)  # small seeded actions: episodes outlast the first push
    for _ in range(420):  # the source domains push every 200-300 steps
        obs, _, term, trunc, info = env.step(0.2 * env.action_space.sample())
        pushed |= "push" in info
        if term or trunc:
            env.reset()
    assert pushed == (source.pushes is not None) and np.isfinite(obs).all()


def test_hopper_heavy_target_string() -> None:
    env_name, which = parse_target("hopper@mujoco:heavy")
    assert (env_name, which) == ("hopper@mujoco", "heavy")
    env = make_target_env(env_name, which)
    env.reset(seed=0)
    base = env.unwrapped
    torso = base.robot.links[base.robot.link_names.index("torso")]
    assert base.model.body_mass[torso] == pytest.approx(1.6 * base.robot.nominal_mass[0])
    with pytest.raises(DomainError, match="no domain 'nope'"):
        load_domain("hopper@mujoco", "nope")


def test_pushes_act_for_one_step_only() -> None:
    env = make_env("hopper@mujoco").unwrapped
    env.reset(seed=0)
    env.robot.push(env.robot.links[0], [30.0, 0.0, 0.0])
    assert env.data.xfrc_applied[env.robot.links[0], 0] == 30.0
    env.step(np.zeros(3))
    assert not env.data.xfrc_applied.any()


@pytest.mark.parametrize("name", ["cartpole@mujoco", "cartpole_swingup@mujoco", "reacher@mujoco"])
def test_reset_observation_equals_the_twins_and_a_push_moves_it_the_same_way(name: str) -> None:
    """Same draws, same geometry: the same reset observation; +action speeds up the same entry."""
    twin, mj = _pair(name)
    a, _ = twin.reset(seed=5)
    b, _ = mj.reset(seed=5)
    np.testing.assert_allclose(b, a, atol=1e-5)
    names = list(mj.observation_names)
    for k, entry in enumerate(["cart_vx"] if "cartpole" in name else ["joint0_vel", "joint1_vel"]):
        for env in (twin, mj):
            env.reset(seed=5)
            action = np.zeros(len(mj.action_names), dtype=np.float32)
            action[k] = 1.0
            obs, *_ = env.step(action)
            assert obs[names.index(entry)] > 0.0, (env.engine, entry)


def test_swingup_hinge_limit_removed_and_balance_limit_kept() -> None:
    swing, balance = (
        make_env("cartpole_swingup@mujoco").unwrapped,
        make_env("cartpole@mujoco").unwrapped,
    )
    hinge = mujoco.mj_name2id(swing.model, mujoco.mjtObj.mjOBJ_JOINT, "hinge")
    assert not swing.model.jnt_limited[hinge] and balance.model.jnt_limited[hinge]
    obs, _ = swing.reset(seed=0)
    assert obs[2] < -0.99  # hanging: cos(theta) ~ -1, beyond the file's +-90 degree limit
    for _ in range(30):
        obs, *_ = swing.step(np.zeros(1))
    assert obs[2] < -0.9  # and it stays hanging


def test_cartpole_state_from_observation_round_trip() -> None:
    env = make_env("cartpole@mujoco").unwrapped
    env.reset(seed=0)
    obs = np.array([0.1, -0.2, math.cos(0.05), math.sin(0.05), 0.3])
    env.state_from_observation(obs)
    np.testing.assert_allclose(env._observe(), obs, atol=1e-12)


@pytest.mark.parametrize("name", MUJOCO)
def test_a_blown_up_simulation_is_a_physics_error_not_a_silent_reset(name: str) -> None:
    """MuJoCo answers a diverging state (bad qacc) by resetting it to qpos0 and carrying on; the
    step would pass for a real transition. Every MuJoCo target raises instead."""
    from sim2real.errors import PhysicsError

    env = make_env(name).unwrapped
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    for steps_before in (0, 3):  # on the first step of an episode and in the middle of one
        env.reset(seed=0)
        for _ in range(steps_before):
            env.step(zero)
        env.data.qvel[:] = 1e300  # no solver survives this
        with pytest.raises(PhysicsError, match="unstable"):
            env.step(zero)
        env.reset(seed=0)
        env.step(zero)  # the warning was cleared
    env.close()


def test_making_a_mujoco_target_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """Gymnasium's half_cheetah.xml uses settotalmass, which MuJoCo >= 3.3 warns about from C on
    every compile; the warning would land in CLI and ``--json`` output. The mass is unchanged."""
    env = make_env("halfcheetah@mujoco").unwrapped
    assert capfd.readouterr() == ("", "")
    assert env.model.body_mass.sum() == pytest.approx(14.0)
    env.close()


@pytest.mark.parametrize(
    "name", ["cartpole_swingup@mujoco", "reacher@mujoco", "manipulator@mujoco"]
)
def test_skipping_collision_detection_changes_no_trajectory(name: str) -> None:
    """Models whose geoms can never collide skip MuJoCo's collision detection (a sixth of the
    pendulum's mj_step); the same actions give bit-identical observations with it switched back on."""
    import mujoco

    from sim2real.envs.mujoco.base import can_touch

    fast, full = make_env(name).unwrapped, make_env(name).unwrapped
    assert not can_touch(fast.model)
    assert fast.model.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_CONTACT
    full.model.opt.disableflags &= ~int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
    fast.reset(seed=3)
    full.reset(seed=3)
    actions = np.random.default_rng(0).uniform(-1, 1, (300, *fast.action_space.shape))
    for action in actions.astype(np.float32):
        obs_fast, obs_full = fast.step(action)[0], full.step(action)[0]
        np.testing.assert_array_equal(obs_fast, obs_full)
    for env in (fast, full):
        env.close()


def test_models_with_contacts_keep_collision_detection() -> None:
    import mujoco

    for name in ("hopper@mujoco", "ant@mujoco", "quadruped@mujoco"):
        env = make_env(name).unwrapped
        assert not env.model.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_CONTACT, name
        env.close()
