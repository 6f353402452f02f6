"""The policy zoo: pretrained sources shipped in ``policies/`` and their model cards.

A zoo policy is a run directory under ``policies/`` (``config.yaml``, ``model.zip``, optional
VecNormalize statistics, ``meta.json``, ``summary.json``, ``evaluations.json``), with a
human-written ``README.md`` and a machine-written ``card.json`` (this module is the owner of
that file): zero-shot returns of the policy on nominal dynamics and on every target of its
domain file, each with the per-episode returns, mean and 95 % bootstrap CI, and the command and
versions that measured them.

Every command that takes a run accepts ``zoo:NAME``: ``NAME`` is the folder name
(``zoo:cartpole_ppo_source``) or, where one policy is shipped for that env, the env name
(``zoo:cartpole``).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sim2real.errors import ModelFileError
from sim2real.resources import data_dir

__all__ = [
    "CARD_FILE",
    "ZOO_PREFIX",
    "CardEntry",
    "ModelCard",
    "ZooPolicy",
    "list_policies",
    "measure_card",
    "read_card",
    "resolve_location",
    "write_card",
    "zoo_policy",
]

ZOO_PREFIX = "zoo:"
CARD_FILE = "card.json"
CARD_SCHEMA = 1


@dataclass(frozen=True)
class ZooPolicy:
    """One shipped policy: its folder and what its run records."""

    name: str
    path: Path
    env: str
    algo: str
    steps: int
    domain: str

    @property
    def card_path(self) -> Path:
        """Where its ``card.json`` lives."""
        return self.path / CARD_FILE


@dataclass
class CardEntry:
    """Zero-shot evaluation of a zoo policy on one ``ENV:TARGET``."""

    target: str
    episodes: int
    seed: int
    returns: list[float]
    lengths: list[int]
    mean: float
    ci95: tuple[float | None, float | None]
    success_rate: float | None = None


@dataclass
class ModelCard:
    """The measured part of a policy's model card."""

    policy: str
    env: str
    algo: str
    steps: int
    trained_on: str
    evaluations: list[CardEntry]
    command: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    schema: int = CARD_SCHEMA

    def entry(self, target: str) -> CardEntry:
        """The evaluation on ``target``: ``ENV:TARGET``, or a bare target of the policy's env."""
        for e in self.evaluations:
            if e.target in (target, f"{self.env}:{target}"):
                return e
        raise KeyError(target)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: not a JSON object")
    return data


def _policy_at(path: Path) -> ZooPolicy | None:
    from sim2real.training.run_dir import RunDir

    run = RunDir(path)
    if not (run.is_run() and run.has_model()):
        return None
    config = run.read_config_data()
    summary = run.read_summary()
    return ZooPolicy(
        name=path.name,
        path=path,
        env=str(config.get("env", "")),
        algo=str(config.get("algo", "")),
        steps=int(summary.get("steps", config.get("total_timesteps", 0))),
        domain=str(config.get("domain", "")),
    )


def list_policies() -> list[ZooPolicy]:
    """Every shipped policy, by name."""
    root = data_dir("policies")
    found = [_policy_at(p) for p in sorted(root.iterdir()) if p.is_dir()] if root.is_dir() else []
    return [p for p in found if p is not None]


def zoo_policy(name: str) -> ZooPolicy:
    """The shipped policy called ``name`` (folder name, or an env with exactly one policy).

    Raises:
        ModelFileError: no such policy (the message lists the shipped ones).
    """
    name = name.removeprefix(ZOO_PREFIX).strip()
    policies = list_policies()
    by_env = [p for p in policies if p.env == name]
    for p in policies:
        if p.name == name:
            return p
    if len(by_env) == 1:
        return by_env[0]
    known = ", ".join(p.name for p in policies) or "none"
    hint = f" ({len(by_env)} policies for env {name!r}: name one)" if by_env else ""
    raise ModelFileError(
        f"no zoo policy {name!r}{hint}; shipped: {known} (see `sim2real policies list`)"
    )


def resolve_location(location: str | Path) -> Path:
    """``zoo:NAME`` -> the shipped policy's folder; any other location unchanged."""
    text = str(location)
    if text.startswith(ZOO_PREFIX):
        return zoo_policy(text).path
    return Path(location)


def read_card(policy: ZooPolicy) -> ModelCard | None:
    """The policy's ``card.json`` (``None`` if it has none yet).

    Raises:
        ModelFileError: the file exists but is not a card.
    """
    if not policy.card_path.is_file():
        return None
    data = _read_json(policy.card_path)
    try:
        entries = [CardEntry(**{**e, "ci95": tuple(e["ci95"])}) for e in data.pop("evaluations")]
        return ModelCard(**data, evaluations=entries)
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"{policy.card_path}: not a model card ({exc})") from None


def write_card(policy: ZooPolicy, card: ModelCard) -> Path:
    """Write ``card.json`` atomically."""
    text = json.dumps(asdict(card), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".card-", dir=policy.path)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, policy.card_path)
    return policy.card_path


def card_targets(policy: ZooPolicy) -> list[str]:
    """``ENV:TARGET`` for nominal, every target of the policy's domain file, and the MuJoCo twin
    (``ENV@mujoco:nominal``) where there is one."""
    from sim2real.envs import ENVS
    from sim2real.randomization.domain import domain_names

    env = policy.env
    targets = [f"{env}:{t}" for t in ("nominal", *domain_names(env)["targets"])]
    twin = f"{env}@mujoco"
    if twin in ENVS:
        targets.append(f"{twin}:nominal")
    return targets


def measure_card(policy: ZooPolicy, *, episodes: int = 20, seed: int = 0) -> ModelCard:
    """Evaluate ``policy`` zero-shot on :func:`card_targets` with the one evaluation loop."""
    from sim2real.evaluation import parse_target
    from sim2real.evaluation.agents import load_agent
    from sim2real.evaluation.episodes import evaluate
    from sim2real.training.run_dir import RunDir

    agent = load_agent(policy.path)
    entries = []
    for target in card_targets(policy):
        env, which = parse_target(target)
        result = evaluate(agent, env, which, episodes=episodes, seed=seed)
        entries.append(
            CardEntry(
                target=target,
                episodes=episodes,
                seed=seed,
                returns=result.returns,
                lengths=result.lengths,
                mean=result.mean,
                ci95=result.ci95,
                success_rate=result.success_rate,
            )
        )
    meta = RunDir(policy.path).read_meta()
    return ModelCard(
        policy=policy.name,
        env=policy.env,
        algo=policy.algo,
        steps=policy.steps,
        trained_on=policy.domain,
        evaluations=entries,
        command=f"python benchmarks/zoo_cards.py --policies {policy.name} --episodes {episodes}",
        versions={**meta.get("versions", {}), "python": platform.python_version()},
    )
