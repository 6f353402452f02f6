"""``sim2real identify`` as a library call: check everything, fit, measure, write the files.

:func:`prepare` does every check (env, parameters, data files, amount of data, method) before
any simulation; :func:`identify` fits, measures the prediction error before and after on the
held-out episodes and writes the domain file and the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sim2real.controller.recording import RolloutDataset, load_rollouts
from sim2real.errors import DatasetError, ParameterError
from sim2real.identification.fit import (
    FitSettings,
    Progress,
    check_data,
    fit,
    resolve_method,
)
from sim2real.identification.params import FitParameter, parse_params
from sim2real.identification.report import (
    IdentificationReport,
    fitted_domain_file,
    prediction_errors,
    split_episodes,
    write_domain_file,
    write_report,
)

__all__ = ["Prepared", "identify", "prepare", "prepare_data"]


@dataclass(frozen=True)
class Prepared:
    """Checked inputs of a fit."""

    env: str
    params: list[FitParameter]
    fit_data: RolloutDataset
    eval_data: RolloutDataset
    held_out: bool
    settings: FitSettings
    data_files: list[str]


def _check_matchable(env: str, data: RolloutDataset) -> None:
    """Recordings without states need an env that builds a state from an observation."""
    from sim2real.identification.objectives import FitSimulator

    sim = FitSimulator(env, [])
    try:
        sim.match_state(data.observations[0])
    finally:
        sim.close()


def _recorded_elsewhere(env: str, data: RolloutDataset) -> bool:
    """Whether a recording in ``data`` names another env than ``env`` in its ``meta``
    (an unnamed recording counts as ``env``'s own)."""
    from sim2real.envs.registry import resolve_env
    from sim2real.errors import UnknownEnvError

    for recording in data.meta.get("recordings", [data.meta]):
        name = recording.get("env")
        if not name:
            continue
        try:
            if resolve_env(str(name)).name != env:
                return True
        except UnknownEnvError:  # a real robot or an env not installed here
            return True
    return False


def _own_simulator_states(env: str, data: RolloutDataset) -> RolloutDataset:
    """Simulator states serve only the simulator that recorded them: a recording from another
    env (the MuJoCo twin ``cartpole@mujoco`` fitting PyBullet's ``cartpole``, a real robot's
    logger) is used as observations only, as a real robot's would be."""
    if data.states is None or not _recorded_elsewhere(env, data):
        return data
    return replace(data, states=None)


def prepare_data(
    env: str,
    datasets: Sequence[RolloutDataset],
    params: Sequence[FitParameter],
    settings: FitSettings,
    holdout: float,
    data_files: Sequence[str] = (),
) -> Prepared:
    """Check recorded ``datasets`` against ``env`` and split off the held-out episodes.

    Raises:
        DatasetError: mismatched names, too little data, a method the data cannot serve.
    """
    from sim2real.envs.external import env_names
    from sim2real.envs.registry import make_env, resolve_env
    from sim2real.identification.objectives import identifiable_layer

    short = resolve_env(env).name
    probe = make_env(short)
    try:
        info = probe.reset(seed=0)[1]
        identifiable_layer(probe)  # the dynamics and simulator-state interface, before any fit
        names, actions = env_names(probe, info)
    finally:
        probe.close()
    if not datasets:
        raise DatasetError("give at least one rollout file with --data")
    for data in datasets:
        data.check_layout(names, actions)
    merged = datasets[0]
    for data in datasets[1:]:
        merged = merged.concat(data)
    merged = _own_simulator_states(short, merged)
    fit_data, eval_data, held_out = split_episodes(merged, holdout)
    check_data(fit_data)
    method = resolve_method(settings.method, fit_data)
    if method == "trajectory" and fit_data.states is None:
        _check_matchable(short, fit_data)
    min_rows = settings.horizon if method == "trajectory" else 1
    if max(len(r) for r in fit_data.episodes()) < min_rows:
        raise DatasetError(
            f"too little data: no episode has {settings.horizon} steps for --horizon; record "
            "longer episodes or lower --horizon"
        )
    return Prepared(
        short,
        list(params),
        fit_data,
        eval_data,
        held_out,
        replace(settings, method=method),  # type: ignore[arg-type]
        list(data_files),
    )


def prepare(
    env: str,
    data_files: Sequence[str | Path],
    params: str | Sequence[str],
    settings: FitSettings,
    holdout: float = 0.25,
) -> Prepared:
    """Load and check everything a fit needs (no simulation beyond building one env).

    Raises:
        UnknownEnvError, ParameterError, DatasetError: one line each.
    """
    from sim2real.randomization.domain import env_specs

    specs = env_specs(env)
    if not specs:
        raise ParameterError(
            f"identify {env}: the env exposes no dynamics parameters (dynamics: none); give it "
            "the dynamics interface (dynamics: env, pybullet or a module:Class wrapper)"
        )
    fit_params = parse_params(params, specs)
    datasets = [load_rollouts(p) for p in data_files]
    return prepare_data(env, datasets, fit_params, settings, holdout, [str(p) for p in data_files])


def identify(
    prepared: Prepared,
    out: Path | None = None,
    report_dir: Path | None = None,
    *,
    truth: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> IdentificationReport:
    """Fit, measure prediction errors before/after, and write the domain file and report."""
    p = prepared
    result = fit(p.env, p.fit_data, p.params, p.settings, progress)
    horizon = p.settings.horizon
    nominal = [q.nominal for q in p.params]
    found = [e.estimate for e in result.parameters]
    errors = [prediction_errors(p.env, p.eval_data, p.params, v, horizon) for v in (nominal, found)]
    report = IdentificationReport(
        fit=result,
        data_files=p.data_files,
        held_out=p.held_out,
        before=errors[0],
        after=errors[1],
        truth=dict(truth or {}),
    )
    if out is not None:
        write_domain_file(out, fitted_domain_file(result, p.params))
        report.domain_file = str(out)
    if report_dir is not None:
        write_report(report, report_dir)
    return report
