"""Walkers and Reacher against their pybullet-envs-gymnasium counterparts, and their reward terms."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import sim2real.envs

pytest.importorskip("pybullet_envs_gymnasium")

#: our name -> (reference id, observation entries that differ on purpose)
REFERENCE = {
    "hopper": ("HopperBulletEnv-v0", ("_contact", "target_angle_sin")),
    "halfcheetah": ("HalfCheetahBulletEnv-v0", ("_contact", "target_angle_sin")),
    "ant": ("AntBulletEnv-v0", ("_contact", "target_angle_sin")),
    "reacher": ("ReacherBulletEnv-v0", ("joint0_cos", "joint0_sin")),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_same_physics_and_comparable_returns_as_pybullet_envs(name: str) -> None:
    import pybullet_envs_gymnasium  # noqa: F401  (registers the reference ids)

    ref_id, differs = REFERENCE[name]
    ours, ref = sim2real.envs.make_env(name), gym.make(ref_id)
    names = ours.unwrapped.observation_names
    same = [i for i, n in enumerate(names) if not any(n.endswith(d) for d in differs)]
    o1, _ = ours.reset(seed=7)
    o2, _ = ref.reset(seed=7)
    actions = np.random.default_rng(0).uniform(-1, 1, (150, *ours.action_space.shape))
    ret1 = ret2 = 0.0
    for t, a in enumerate(actions.astype(np.float32)):
        np.testing.assert_allclose(o1[same], o2[same], atol=1e-4, err_msg=f"step {t}")
        o1, r1, d1, _, _ = ours.step(a)
        o2, r2, d2, _, _ = ref.step(a)
        ret1, ret2 = ret1 + r1, ret2 + r2
        assert d1 == d2
        if d1:
            break
    assert t > 10
    # progress is measured on the torso rather than on the mean of all parts: returns stay close
    assert abs(ret1 - ret2) <= 0.05 * abs(ret2) + 30.0, (ret1, ret2)
    ours.close()
    ref.close()


@pytest.mark.parametrize("name", ["hopper", "halfcheetah", "ant", "reacher"])
def test_reward_terms_add_up(name: str) -> None:
    env = sim2real.envs.make_env(name)
    env.reset(seed=0)
    for a in np.random.default_rng(1).uniform(-1, 1, (20, *env.action_space.shape)):
        _, reward, term, _, info = env.step(a.astype(np.float32))
        terms = [v for k, v in info.items() if k.endswith("_cost") or k in ("alive", "progress")]
        assert reward == pytest.approx(sum(terms))
        if term:
            break
    env.close()


def test_hopper_terminates_when_fallen_halfcheetah_never() -> None:
    hopper = sim2real.envs.make_env("hopper")
    base = hopper.unwrapped
    hopper.reset(seed=0)
    for _ in range(300):
        _, _, term, _, info = hopper.step(np.zeros(3, np.float32))
        if term:
            break
    assert term and info["alive"] == -1.0
    assert base._z <= 0.8 or abs(base._pitch) >= 1.0
    cheetah = sim2real.envs.make_env("halfcheetah")
    cheetah.reset(seed=0)
    for a in np.random.default_rng(0).uniform(-1, 1, (300, 6)):
        assert not cheetah.step(a.astype(np.float32))[2]


def test_progress_rewards_forward_motion() -> None:
    env = sim2real.envs.make_env("ant")
    base = env.unwrapped
    env.reset(seed=0)
    base.bullet_client.resetBaseVelocity(base._robot, [1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    _, _, _, _, forward = env.step(np.zeros(8, np.float32))
    env.reset(seed=0)
    base.bullet_client.resetBaseVelocity(base._robot, [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    _, _, _, _, backward = env.step(np.zeros(8, np.float32))
    assert forward["progress"] > 0.3 > -0.3 > backward["progress"]
