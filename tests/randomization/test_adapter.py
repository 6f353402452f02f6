"""Third-party PyBullet env (pybullet-envs-gymnasium Hopper) randomized through the adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sim2real.errors import DomainError
from sim2real.randomization import (
    Domain,
    DomainRandomizationWrapper,
    PyBulletDynamicsAdapter,
)

pytest.importorskip("pybullet_envs_gymnasium")

DOMAIN = Domain.from_plain(
    {
        "parameters": {
            "mass_scale": {"dist": "uniform", "low": 0.7, "high": 1.3, "per_entity": True},
            "lateral_friction": {"dist": "uniform", "low": 0.5, "high": 1.25},
            "gravity": {"dist": "uniform", "low": 0.8, "high": 1.2, "mode": "scale"},
        },
        "pushes": {"interval": 10, "force": 50.0},
    }
)


def hopper() -> gym.Env:
    import pybullet_envs_gymnasium  # noqa: F401  (registers the ids)

    return gym.make("HopperBulletEnv-v0")


def physics_masses(env) -> np.ndarray:
    robot = env.get_wrapper_attr("robot")
    return np.array([robot.client.getDynamicsInfo(robot.body_id, i)[0] for i in robot.links])


def test_adapter_exposes_dynamics_after_reset():
    env = PyBulletDynamicsAdapter(hopper())
    with pytest.raises(DomainError, match="reset the env once"):
        env.dynamics_specs()
    env.reset(seed=0)
    specs = env.dynamics_specs()
    assert {"mass_scale", "joint_damping", "gravity"} <= set(specs)
    assert specs["gravity"].nominal[2] == pytest.approx(-9.8)
    assert "torso" in env.robot.link_names


def test_wrapper_randomizes_third_party_hopper_and_physics_changes():
    env = DomainRandomizationWrapper(PyBulletDynamicsAdapter(hopper()), DOMAIN)
    robot_masses, gravities, domains = [], [], []
    for i in range(3):
        _, info = env.reset(seed=11 if i == 0 else None)
        robot = env.get_wrapper_attr("robot")
        nominal = robot.nominal_mass
        masses = physics_masses(env)
        np.testing.assert_allclose(
            masses / nominal, list(info["domain"]["mass_scale"].values()), rtol=1e-6
        )
        gravity = robot.client.getPhysicsEngineParameters()["gravityAccelerationZ"]
        assert gravity == pytest.approx(info["domain"]["gravity"]["z"])
        assert 0.8 * 9.8 - 1e-9 <= -gravity <= 1.2 * 9.8 + 1e-9
        robot_masses.append(masses)
        gravities.append(gravity)
        domains.append(info["domain"])
        pushes = 0
        for _ in range(20):
            _, _, term, trunc, step_info = env.step(env.action_space.sample())
            pushes += "push" in step_info
            if term or trunc:
                break
        # gravity survives the env's own per-step logic (it resets gravity only in reset)
        assert robot.client.getPhysicsEngineParameters()["gravityAccelerationZ"] == gravity
    assert not np.allclose(robot_masses[0], robot_masses[1])
    assert len(set(gravities)) == 3

    again = DomainRandomizationWrapper(PyBulletDynamicsAdapter(hopper()), DOMAIN)
    assert again.reset(seed=11)[1]["domain"] == domains[0]  # seeded like our own envs


def test_unknown_parameter_for_third_party_env():
    bad = Domain.from_plain({"parameters": {"motor_strength": 0.5}})
    env = DomainRandomizationWrapper(PyBulletDynamicsAdapter(hopper()), bad)
    with pytest.raises(DomainError, match="motor_strength: unknown parameter for this env"):
        env.reset(seed=0)
