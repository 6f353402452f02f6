"""The benchmark arm ``identify``: measure the target, fit the simulator, train in simulation.

One run of the arm, for one seed:

a. record ``episodes`` target episodes with the source policy (deterministic, the one
   evaluation loop, with simulator states: the targets are simulated);
b. fit the dynamics to them (``sim2real identify``: domain file + report in the run folder);
c. fine-tune the source policy in simulation on the fitted ``source`` domain (``sim_steps``);
d. optionally fine-tune that policy on the target with the rest of the target budget;
e. evaluate on the target on the benchmark's schedule, as every arm is.

Every target step counts: the curve's step axis is target environment steps, so it starts with
the source policy at step 0, the simulation-tuned policy appears at step ``R`` (the recorded
steps) and target fine-tuning continues from there; :class:`ArmResult` reports the target steps
(recorded + fine-tuning) and the simulation steps separately.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from sim2real.errors import ConfigError
from sim2real.identification.params import DEFAULT_PARAMS
from sim2real.strict import StrictModel

__all__ = ["ARM", "ArmResult", "IdentifyArmSpec", "check_arm_budget", "run_identify_arm"]

ARM = "identify"
#: Recorded episodes start at this seed offset (away from the evaluation seeds ``seed + i``).
RECORD_SEED = 100_000


class IdentifyArmSpec(StrictModel):
    """Settings of the ``identify`` arm (``identify:`` in a benchmark config)."""

    episodes: int = Field(5, ge=1, le=1000)
    """Target episodes recorded with the source policy (their steps count in the budget)."""
    params: str = DEFAULT_PARAMS
    """Parameters to fit (``sim2real identify --params`` syntax)."""
    method: Literal["auto", "likelihood", "trajectory"] = "auto"
    """Fit objective (``auto``: likelihood, the simulated targets record their states)."""
    fit_budget: int = Field(300, ge=10, le=1_000_000)
    """CMA-ES objective evaluations."""
    samples: int = Field(8, ge=2, le=1000)
    """Parameter draws per likelihood evaluation."""
    max_transitions: int = Field(200, ge=20, le=1_000_000)
    """Recorded transitions the likelihood scores."""
    sim_steps: int = Field(20_000, ge=0, le=10**9)
    """Simulation steps of fine-tuning on the fitted domain (reported, not in the target budget)."""
    target_finetune: bool = True
    """Fine-tune on the target with the target budget left after recording."""
    transfer: dict[str, Any] = Field(default_factory=dict)
    """Transfer spec of both fine-tunings (default: copy everything, fine-tune all)."""


class ArmResult(StrictModel):
    """One run of the arm: its target learning curve and what it spent."""

    steps: list[float]
    values: list[float]
    recorded_steps: int
    target_finetune_steps: int
    target_steps: int
    sim_steps: int
    identified: dict[str, float]
    run_dir: str
    key: str = ""


def check_arm_budget(spec: IdentifyArmSpec, env: str, budget: int) -> None:
    """The recorded episodes fit into the target budget even at full length.

    Raises:
        ConfigError: ``episodes x max_episode_steps > budget``.
    """
    from sim2real.envs.registry import resolve_env

    longest = spec.episodes * resolve_env(env).max_episode_steps
    if longest > budget:
        raise ConfigError(
            f"identify.episodes: {spec.episodes} episodes of up to "
            f"{resolve_env(env).max_episode_steps} steps may exceed the target budget {budget}; "
            "record fewer episodes or raise the budget"
        )


def _finetune(
    base: dict[str, Any], changes: dict[str, Any], source: Path, spec: dict[str, Any], out: Path
) -> Any:
    """A transfer run from ``source`` with the benchmark's config ``base`` plus ``changes`` (the
    same builder as the benchmark's transfer arms)."""
    from sim2real.config import validate_model
    from sim2real.training import train
    from sim2real.transfer.config import TransferConfig
    from sim2real.transfer.run import transfer_builder

    data = {**copy.deepcopy(base), **changes, "transfer": {**spec, "source": str(source)}}
    config = validate_model(TransferConfig, data, f"identify arm ({out.name})")
    builder = transfer_builder(config).labelled(
        "benchmark", benchmark={"arm": ARM, "phase": out.name}
    )
    return train(config.experiment_config(), out_dir=out, builder=builder, quiet=True)


def _record_and_fit(
    spec: IdentifyArmSpec, source_run: Path, env: str, target: str, seed: int, out: Path
) -> tuple[int, dict[str, float], Path]:
    """(a) + (b): recorded steps, the estimates and the fitted domain file."""
    from sim2real.evaluation import load_agent
    from sim2real.identification.api import identify, prepare_data
    from sim2real.identification.fit import FitSettings
    from sim2real.identification.params import parse_params
    from sim2real.identification.record import record_episodes
    from sim2real.randomization.domain import env_specs

    agent = load_agent(source_run)
    data, _ = record_episodes(
        agent,
        env,
        target,
        episodes=spec.episodes,
        seed=RECORD_SEED + 1000 * seed,
        path=out / "recorded.npz",
    )
    params = parse_params(spec.params, env_specs(env))
    settings = FitSettings(
        method=spec.method,
        budget=spec.fit_budget,
        seed=seed,
        samples=spec.samples,
        max_transitions=spec.max_transitions,
    )
    prepared = prepare_data(env, [data], params, settings, holdout=0.0)
    domain_file = out / "identified.yaml"
    report = identify(prepared, domain_file, out / "identification")
    return len(data), report.fit.estimates, domain_file


def _target_curve(result: Any) -> tuple[list[float], list[float]]:
    from sim2real.evaluation.episodes import TRAIN_DOMAIN, upgrade_evaluations

    entry = upgrade_evaluations(result.evaluations)[TRAIN_DOMAIN]
    return [float(s) for s in entry["timesteps"]], [float(v) for v in entry["mean"]]


def run_identify_arm(
    spec: IdentifyArmSpec,
    *,
    source_run: str | Path,
    base_config: dict[str, Any],
    run_dir: str | Path,
    key: str = "",
) -> ArmResult:
    """Run the arm for the target, budget, evaluation schedule and seed of ``base_config``
    (the experiment-config dict every benchmark arm trains with); ``key`` (the benchmark's run
    key) is stored in ``arm.json`` so a finished run is recognized."""
    from sim2real.evaluation import evaluate, load_agent

    out, source = Path(run_dir), Path(source_run)
    out.mkdir(parents=True, exist_ok=True)
    env, target, seed = base_config["env"], base_config["domain"], int(base_config["seed"])
    budget, episodes = int(base_config["total_timesteps"]), int(base_config["eval"]["episodes"])
    check_arm_budget(spec, env, budget)
    recorded, estimates, domain_file = _record_and_fit(spec, source, env, target, seed, out)
    start = evaluate(load_agent(source), env, target, episodes=episodes, seed=seed)
    sim_run, sim_steps = source, 0
    if spec.sim_steps > 0:  # (c) simulation fine-tuning on the fitted distribution
        sim_changes = {
            "domain": f"{domain_file}:source",
            "total_timesteps": spec.sim_steps,
            "eval": {**base_config["eval"], "freq": 0, "at_start": False},
        }
        sim_result = _finetune(
            base_config, sim_changes, source, spec.transfer, out / "sim_finetune"
        )
        sim_run, sim_steps = sim_result.path, int(sim_result.summary["steps"])
    left = budget - recorded
    if spec.target_finetune and left > 0:  # (d) + (e): target fine-tuning, evaluated
        changes = {"total_timesteps": left}
        tgt = _finetune(base_config, changes, sim_run, spec.transfer, out / "target")
        steps, values = _target_curve(tgt)
        tuned = int(tgt.summary["steps"])
    else:  # (e) only: the simulation-tuned policy on the target
        res = evaluate(load_agent(sim_run), env, target, episodes=episodes, seed=seed)
        steps, values, tuned = [0.0], [res.mean], 0
    result = ArmResult(
        steps=[0.0, *(recorded + s for s in steps)],
        values=[start.mean, *values],
        recorded_steps=recorded,
        target_finetune_steps=tuned,
        target_steps=recorded + tuned,
        sim_steps=sim_steps,
        identified=estimates,
        run_dir=str(out),
        key=key,
    )
    (out / "arm.json").write_text(json.dumps(result.model_dump(), indent=2) + "\n")
    return result
