"""Same seed, same physics, in every process: fixed parameter order, mass and inertia both final.

``changeDynamics(mass=...)`` makes PyBullet recompute a link's inertia, so the order in which
``mass_scale`` and ``inertia_scale`` reach the physics used to decide (by string hashing,
``PYTHONHASHSEED``) whether the inertia randomization survived. And a seeded reset of a
randomized env fully determines the episode: the previous episode's observation noise used to
draw from ``np_random`` ahead of the new episode's dynamics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import sim2real.envs
from sim2real.envs import ENVS
from sim2real.envs.parameters import ParameterSet, ParameterSpec
from sim2real.envs.registry import engine_available
from sim2real.evaluation.episodes import evaluate
from sim2real.randomization import DomainRandomizationWrapper, load_domain

#: PyBullet recomputes inertia on a mass change (what the mass/inertia tests guard against);
#: MuJoCo never does, tests/mujoco reads its fields back
PYBULLET = [name for name, entry in ENVS.items() if entry.engine == "pybullet"]
AVAILABLE = [name for name, entry in ENVS.items() if engine_available(entry)]
MASS = "mass_scale"
INERTIA = "inertia_scale"


def _scales(env: gym.Env, low: float, high: float) -> np.ndarray:
    n = len(env.get_wrapper_attr("robot").links)
    return np.linspace(low, high, n)


#: (name, steps): each step is a dict given to one set_dynamics call, built from per-link values
#: m (mass scales) / i (inertia scales) / m2 / i2 (second values).
SEQUENCES: list[tuple[str, Callable[[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]]] = [
    ("both_mass_first", lambda v: [{MASS: v["m"], INERTIA: v["i"]}]),
    ("both_inertia_first", lambda v: [{INERTIA: v["i"], MASS: v["m"]}]),
    ("mass_then_inertia", lambda v: [{MASS: v["m"]}, {INERTIA: v["i"]}]),
    ("inertia_then_mass", lambda v: [{INERTIA: v["i"]}, {MASS: v["m"]}]),
    ("mass_only", lambda v: [{MASS: v["m"]}]),
    ("inertia_only", lambda v: [{INERTIA: v["i"]}]),
    ("both_then_mass", lambda v: [{MASS: v["m"], INERTIA: v["i"]}, {MASS: v["m2"]}]),
    ("both_then_inertia", lambda v: [{INERTIA: v["i"], MASS: v["m"]}, {INERTIA: v["i2"]}]),
]


def _check_sequence(env: gym.Env, build: Callable[..., list[dict[str, np.ndarray]]]) -> None:
    robot = env.get_wrapper_attr("robot")
    set_dynamics = env.get_wrapper_attr("set_dynamics")
    values = {
        "m": _scales(env, 1.5, 0.7),
        "i": _scales(env, 0.5, 1.8),
        "m2": _scales(env, 0.6, 1.9),
        "i2": _scales(env, 1.3, 0.4),
        "others": _every_parameter(env),
    }
    want = {MASS: np.ones(len(robot.links)), INERTIA: np.ones(len(robot.links))}
    for step in build(values):
        set_dynamics(step)
        want.update({k: v for k, v in step.items() if k in (MASS, INERTIA)})
        client, body = robot.client, robot.body_id
        dyn = [client.getDynamicsInfo(body, link) for link in robot.links]
        mass = np.array([d[0] for d in dyn])
        inertia = np.array([d[2] for d in dyn])
        np.testing.assert_allclose(mass, robot.nominal_mass * want[MASS], rtol=1e-9)
        np.testing.assert_allclose(
            inertia, robot.nominal_inertia * want[INERTIA][:, None], rtol=1e-9, atol=1e-12
        )
    np.testing.assert_allclose(robot.read_back()["inertia_scale"], want[INERTIA], rtol=1e-9)


def _every_parameter(env: gym.Env) -> dict[str, np.ndarray]:
    """A valid value of every other parameter (0.9 x nominal, whole numbers kept), keys reversed."""
    specs = env.get_wrapper_attr("dynamics_specs")()
    values = {}
    for name, spec in reversed(specs.items()):
        if name in (MASS, INERTIA):
            continue
        value = spec.nominal if spec.integer else np.clip(0.9 * spec.nominal, spec.low, spec.high)
        values[name] = np.array(value, dtype=np.float64)
    return values


#: every set_dynamics call also carries every other parameter, before and after mass/inertia
SEQUENCES.append(
    (
        "with_every_parameter",
        lambda v: [
            {**v["others"], INERTIA: v["i"], MASS: v["m"]},
            {MASS: v["m2"], **v["others"]},
            {INERTIA: v["i2"], **v["others"]},
        ],
    )
)


@pytest.mark.parametrize("name,build", SEQUENCES, ids=[s[0] for s in SEQUENCES])
@pytest.mark.parametrize("env_name", PYBULLET)
def test_mass_and_inertia_read_back_as_requested(env_name: str, name: str, build) -> None:
    env = sim2real.envs.make_env(env_name)
    try:
        env.reset(seed=0)
        _check_sequence(env, build)
        env.reset(seed=1)  # values persist across resets
        env.get_wrapper_attr("reset_dynamics")()
        _check_sequence(env, SEQUENCES[0][1])
    finally:
        env.close()


@pytest.fixture(scope="module")
def adapter_env():
    pytest.importorskip("pybullet_envs_gymnasium")
    import pybullet_envs_gymnasium  # noqa: F401  (registers the ids)

    from sim2real.randomization import PyBulletDynamicsAdapter

    env = PyBulletDynamicsAdapter(gym.make("HopperBulletEnv-v0"))
    yield env
    env.close()


@pytest.mark.parametrize("name,build", SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_adapter_mass_and_inertia_read_back_as_requested(adapter_env, name: str, build) -> None:
    adapter_env.reset(seed=0)
    adapter_env.get_wrapper_attr("reset_dynamics")()
    _check_sequence(adapter_env, build)
    adapter_env.reset(seed=1)  # re-applied after the inner reset, still final
    robot = adapter_env.get_wrapper_attr("robot")
    values = adapter_env.get_wrapper_attr("get_dynamics")()
    inertia = np.array([robot.client.getDynamicsInfo(robot.body_id, k)[2] for k in robot.links])
    np.testing.assert_allclose(
        inertia, robot.nominal_inertia * values[INERTIA][:, None], rtol=1e-9, atol=1e-12
    )


def _episode(env: gym.Env, seed: int, steps: int = 40) -> tuple[np.ndarray, dict]:
    """Observations of a seeded episode under a fixed action sequence, and its domain."""
    obs, info = env.reset(seed=seed)
    out = [obs]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, _, terminated, truncated, _ = env.step(action)
        out.append(obs)
        if terminated or truncated:
            break
    return np.asarray(out), info["domain"]


@pytest.mark.parametrize("env_name", AVAILABLE)
def test_seeded_reset_does_not_depend_on_earlier_episodes(env_name: str) -> None:
    """Every source domain randomizes observation noise: a reused env must replay a fresh one."""
    domain = load_domain(env_name, "source")
    fresh = DomainRandomizationWrapper(sim2real.envs.make_env(env_name), domain)
    reused = DomainRandomizationWrapper(sim2real.envs.make_env(env_name), domain)
    try:
        want_obs, want_domain = _episode(fresh, seed=7)
        for seed in (100, 101, 102):
            _episode(reused, seed)
        got_obs, got_domain = _episode(reused, seed=7)
        assert got_domain == want_domain
        np.testing.assert_array_equal(got_obs, want_obs)
    finally:
        fresh.close()
        reused.close()


class _LinearAgent:
    """A fixed deterministic linear policy (the ``Agent`` protocol)."""

    name, kind, env = "linear", "test", "cartpole"

    def __init__(self, n_obs: int, n_act: int) -> None:
        self._w = np.random.default_rng(5).normal(size=(n_act, n_obs))
        self.obs_shape, self.action_shape = (n_obs,), (n_act,)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.tanh(self._w @ obs).astype(np.float32)

    def reset(self) -> None:
        pass


def test_evaluation_after_other_episodes_is_a_fresh_seeded_evaluation() -> None:
    """Episode ``i`` of an evaluation (seed ``seed + i``) returns what evaluating it alone does."""
    agent = _LinearAgent(5, 1)
    together = evaluate(agent, "cartpole", "source", episodes=4, seed=20)
    for i in (1, 3):
        alone = evaluate(agent, "cartpole", "source", episodes=1, seed=20 + i)
        assert alone.returns == [together.returns[i]]
        assert alone.lengths == [together.lengths[i]]


def test_pop_dirty_is_in_declaration_order() -> None:
    names = ["zeta", "alpha", "mass_scale", "inertia_scale", "beta"]
    params = ParameterSet(ParameterSpec(n, np.array(1.0), 0.0, 2.0, "", n) for n in names)
    first = params.pop_dirty()
    assert isinstance(first, tuple) and list(first) == names
    params.set({"beta": 0.5, "inertia_scale": 0.5, "zeta": 0.5, "mass_scale": 0.5})
    assert params.pop_dirty() == ("zeta", "mass_scale", "inertia_scale", "beta")
    assert params.pop_dirty() == ()


_SCRIPT = """
import hashlib, json, sys
import numpy as np
from sim2real.config import load_config
from sim2real.envs import make_env
from sim2real.randomization import DomainRandomizationWrapper, load_domain
from sim2real.training.trainer import train

import gymnasium as gym
import pybullet_envs_gymnasium  # registers the third-party ids
from sim2real.randomization import Domain, PyBulletDynamicsAdapter


def rollout(env, steps=150):
    obs = [env.reset(seed=3)[0]]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        o, _, term, trunc, _ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
        obs.append(o)
        if term or trunc:
            obs.append(env.reset()[0])
    robot = env.get_wrapper_attr("robot")
    dyn = [robot.client.getDynamicsInfo(robot.body_id, k) for k in robot.links]
    env.close()
    physics = np.array([[d[0], *d[2]] for d in dyn])  # mass and inertia as PyBullet holds them
    return hashlib.sha256(np.asarray(obs).tobytes() + physics.tobytes()).hexdigest()


obs = {
    name: rollout(DomainRandomizationWrapper(make_env(name), load_domain(name, "source")))
    for name in ("cartpole", "hopper")
}
body = {"dist": "uniform", "low": 0.5, "high": 1.5, "per_entity": True}
third_party = Domain.from_plain({"parameters": {"mass_scale": body, "inertia_scale": body}})
obs["adapter"] = rollout(
    DomainRandomizationWrapper(PyBulletDynamicsAdapter(gym.make("HopperBulletEnv-v0")), third_party)
)
cfg = load_config("cartpole_ppo", [
    "total_timesteps=256", "n_envs=2", "hyperparams.n_steps=64", "hyperparams.batch_size=64",
    "hyperparams.n_epochs=2", "policy.net_arch=[16]", "eval.freq=128", "eval.episodes=2",
    "checkpoint_freq=0", "seed=3", "device=cpu",
])
res = train(cfg, sys.argv[1], quiet=True)
weights = hashlib.sha256()
for name, t in sorted(res.model.policy.state_dict().items()):
    weights.update(name.encode() + t.detach().cpu().numpy().tobytes())
print(json.dumps({
    "obs": obs,
    "weights": weights.hexdigest(),
    "evaluations": {  # everything but the wall-clock times
        domain: {k: v for k, v in ev.items() if k != "wall_time_s"}
        for domain, ev in res.evaluations.items()
    },
}, sort_keys=True))
"""


def test_same_seed_same_run_under_every_hash_seed(tmp_path: Path) -> None:
    root = Path(sim2real.__file__).resolve().parent.parent
    results = {}
    for hash_seed in ("0", "1", "2", "123"):
        env = {
            **os.environ,
            "PYTHONHASHSEED": hash_seed,
            "PYTHONPATH": str(root),
            "OMP_NUM_THREADS": "1",
        }
        out = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(tmp_path / f"run_{hash_seed}")],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        results[hash_seed] = json.loads(out.stdout.strip().splitlines()[-1])
    first = results["0"]
    assert first["evaluations"], "the run recorded no evaluation"
    for hash_seed, result in results.items():
        assert result == first, f"PYTHONHASHSEED={hash_seed} differs from PYTHONHASHSEED=0"
