"""The domain wrapper: seeded sampling, exact application (read back from PyBullet), effects, VecEnvs."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import sim2real.envs  # noqa: F401
from sim2real.envs.registry import make_env
from sim2real.randomization import Domain, DomainRandomizationWrapper, load_domain


def wrapped(domain: str | Domain, env: str = "cartpole") -> DomainRandomizationWrapper:
    dom = domain if isinstance(domain, Domain) else load_domain(env, domain)
    return DomainRandomizationWrapper(make_env(env), dom)


def domain_sequence(env: DomainRandomizationWrapper, seed: int, n: int = 5) -> list[dict]:
    return [env.reset(seed=seed if i == 0 else None)[1]["domain"] for i in range(n)]


def test_same_seed_same_domains_different_seed_differs():
    a = domain_sequence(wrapped("source"), 7)
    b = domain_sequence(wrapped("source"), 7)
    c = domain_sequence(wrapped("source"), 8)
    assert a == b
    assert a != c
    assert len({str(d["mass_scale"]) for d in a}) == len(a)  # a new draw every episode


def test_source_samples_stay_in_their_ranges():
    env = wrapped("source")
    draws = domain_sequence(env, 0, n=200)
    masses = np.array([list(d["mass_scale"].values()) for d in draws])
    assert masses.min() >= 0.8 and masses.max() <= 1.2
    assert masses.mean() == pytest.approx(1.0, abs=0.03)
    assert np.corrcoef(masses.T)[0, 1] == pytest.approx(0.0, abs=0.2)  # per_entity: independent
    latencies = {d["action_latency"] for d in draws}
    assert latencies == {0.0, 1.0}


def target_value(target: str, param: str, entity: str | None = None) -> float:
    term = load_domain("cartpole", target).parameters[param]
    return (term.entities[entity] if entity else term.distribution).value


def test_target_applied_exactly_and_read_back_from_physics():
    heavy = target_value("heavy_pole", "mass_scale", "pole")
    assert heavy > 1.2  # outside the source range
    env = wrapped("heavy_pole")
    _, info = env.reset(seed=0)
    base = env.unwrapped
    robot = base.robot
    pole = robot.link_names.index("pole")
    physics_mass = base.bullet_client.getDynamicsInfo(robot.body_id, robot.links[pole])[0]
    assert physics_mass == pytest.approx(heavy * robot.nominal_mass[pole])
    assert robot.read_back()["mass_scale"][pole] == pytest.approx(heavy)
    assert info["domain"]["mass_scale"] == {"cart": 1.0, "pole": heavy}

    worn = wrapped("worn")
    worn.reset(seed=0)
    dyn = worn.unwrapped.get_dynamics()
    assert dyn["motor_strength"][0] == target_value("worn", "motor_strength")
    assert dyn["action_latency"] == target_value("worn", "action_latency")
    hinge = target_value("worn", "joint_damping", "hinge")
    assert worn.unwrapped.robot.read_back()["joint_damping"].tolist() == [0.0, hinge]


def test_obs_bias_reaches_the_reset_observation():
    nominal = wrapped("nominal").reset(seed=3)[0]
    biased = wrapped("worn").reset(seed=3)[0]
    bias = target_value("worn", "obs_bias", "sin_theta")
    assert biased[3] - nominal[3] == pytest.approx(bias, abs=1e-6)


def test_final_step_info_carries_domain_and_target_changes_behaviour():
    def run(env):
        env.reset(seed=1)
        for t in range(1000):
            _, _, term, trunc, info = env.step(np.array([0.5], dtype=np.float32))
            if term or trunc:
                return t, info
        raise AssertionError("episode did not end")

    t_nom, _info = run(wrapped("nominal"))
    t_heavy, info_heavy = run(wrapped("heavy_pole"))
    assert info_heavy["domain"]["mass_scale"]["pole"] == target_value(
        "heavy_pole", "mass_scale", "pole"
    )
    assert t_nom != t_heavy


def test_interval_and_once_resampling():
    dom = Domain.from_plain(
        {
            "parameters": {
                "motor_strength": {
                    "dist": "uniform",
                    "low": 0.5,
                    "high": 1.5,
                    "resample": "interval",
                    "interval": 3,
                },
                "mass_scale": {"dist": "uniform", "low": 0.8, "high": 1.2, "resample": "once"},
            }
        }
    )
    env = wrapped(dom, "cartpole_swingup")
    _, info = env.reset(seed=0)
    strengths, masses = [], [info["domain"]["mass_scale"]]
    for _ in range(9):
        env.step(np.zeros(1, dtype=np.float32))
        strengths.append(float(env.unwrapped.get_dynamics()["motor_strength"][0]))
    assert len(set(strengths)) == 4  # values of steps 1-2, 3-5, 6-8, 9
    masses.append(env.reset()[1]["domain"]["mass_scale"])
    assert masses[0] == masses[1]


def test_pushes_and_action_noise_change_the_trajectory():
    base = {"parameters": {"motor_strength": 1.0}}
    pushed = Domain.from_plain(
        {**base, "pushes": {"interval": 5, "force": 30.0, "link": "pole", "axes": ["x"]}}
    )
    noisy = Domain.from_plain({**base, "action_noise": {"std": 0.3}})

    def trajectory(dom):
        env = wrapped(dom, "cartpole_swingup")
        obs, _ = env.reset(seed=2)
        out, pushes = [obs], 0
        for _ in range(20):
            obs, _, _, _, info = env.step(np.zeros(1, dtype=np.float32))
            out.append(obs)
            pushes += "push" in info
        return np.array(out), pushes

    ref, n0 = trajectory(Domain.from_plain(base))
    p, n_push = trajectory(pushed)
    a, _ = trajectory(noisy)
    assert n0 == 0 and n_push == 4
    assert not np.allclose(ref, p) and not np.allclose(ref, a)
    np.testing.assert_array_equal(p, trajectory(pushed)[0])  # pushes are seeded too


def collect_vec(vec_cls, kwargs=None):
    """Domains at the first reset and at every episode end of 2 seeded envs, 200 steps."""
    dom = load_domain("cartpole", "source")
    venv = make_vec_env(
        lambda: DomainRandomizationWrapper(make_env("cartpole"), dom),
        n_envs=2,
        seed=5,
        vec_env_cls=vec_cls,
        vec_env_kwargs=kwargs,
    )
    venv.reset()
    first = [info["domain"] for info in venv.reset_infos]
    ends = []
    actions = np.ones((2, 1), dtype=np.float32)
    for _ in range(200):
        _, _, dones, infos = venv.step(actions)
        ends += [info["domain"] for info, d in zip(infos, dones) if d]
    venv.close()
    return first, ends


def test_vec_envs_dummy_and_subproc_work_unchanged_and_agree():
    first, ends = collect_vec(DummyVecEnv)
    assert first[0] != first[1]  # differently seeded envs draw different domains
    assert ends, "episodes should end under a constant push"
    assert collect_vec(DummyVecEnv) == (first, ends)
    # one process per env: the same seeds give the same domains
    assert collect_vec(SubprocVecEnv, {"start_method": "fork"}) == (first, ends)


def test_rejects_non_domain():
    with pytest.raises(TypeError, match="domain must be a Domain"):
        DomainRandomizationWrapper(make_env("cartpole"), {"parameters": {}})  # type: ignore[arg-type]
