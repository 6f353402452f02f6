"""What a fit is worth: prediction errors before/after, the fitted domain file, the report files.

* :func:`prediction_errors`: one-step and ``horizon``-step open-loop prediction error of the
  simulator under some dynamics on (held-out) recorded episodes, as a normalized RMSE (each
  observation entry in units of its spread in those episodes; 0 is a perfect prediction).
* :func:`fitted_domain_file`: a domain file with the point estimate as target ``identified``
  and a ``source`` distribution around it (truncated normal of the fitted mean and spread, a
  weighted choice for whole-number parameters); validated by the domain loader when written.
* :func:`write_report`: ``report.json``, ``report.md`` and ``report.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real.controller.recording import RolloutDataset
from sim2real.identification.fit import FitResult, ParameterEstimate
from sim2real.identification.objectives import (
    FitSimulator,
    TrajectoryMatching,
    make_segments,
)
from sim2real.identification.params import FitParameter
from sim2real.randomization.domain import Domain, DomainFile, ParameterTerm

__all__ = [
    "IdentificationReport",
    "PredictionError",
    "fitted_domain_file",
    "prediction_errors",
    "split_episodes",
    "write_domain_file",
    "write_report",
]


@dataclass
class PredictionError:
    """Normalized RMSE of one-step and ``horizon``-step predictions on some episodes."""

    one_step: float
    multi_step: float
    horizon: int
    episodes: int
    transitions: int


@dataclass
class IdentificationReport:
    """A fit, its prediction errors before (nominal) and after (estimate), and optional truth."""

    fit: FitResult
    data_files: list[str]
    held_out: bool
    before: PredictionError
    after: PredictionError
    truth: dict[str, float] = field(default_factory=dict)
    domain_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def split_episodes(
    data: RolloutDataset, fraction: float
) -> tuple[RolloutDataset, RolloutDataset, bool]:
    """``(fit, evaluate, held_out)``: the last ``ceil(fraction x episodes)`` episodes are held
    out (at least one when there are two or more); with one episode both are that episode."""
    episodes = data.episodes()
    n_out = min(max(math.ceil(fraction * len(episodes)), 1), len(episodes) - 1) if fraction else 0
    if n_out <= 0:
        return data, data, False
    fit_rows = np.concatenate(episodes[: len(episodes) - n_out])
    out_rows = np.concatenate(episodes[len(episodes) - n_out :])
    return data.select(fit_rows), data.select(out_rows), True


def prediction_errors(
    env: str,
    data: RolloutDataset,
    params: Sequence[FitParameter],
    values: Sequence[float],
    horizon: int = 10,
    max_segments: int = 50,
) -> PredictionError:
    """Prediction error of ``env`` with ``params`` at ``values`` on ``data``."""
    sim = FitSimulator(env, params)
    try:
        one = _nrmse(sim, data, values, 1, max_segments * horizon)
        multi = _nrmse(sim, data, values, horizon, max_segments)
    finally:
        sim.close()
    return PredictionError(one, multi, horizon, data.n_episodes, len(data))


def _nrmse(
    sim: FitSimulator, data: RolloutDataset, values: Sequence[float], horizon: int, n: int
) -> float:
    objective = TrajectoryMatching(sim, data, make_segments(data, sim, horizon, n))
    u = np.array([p.to_unit(v) for p, v in zip(sim.params, values)])
    return math.sqrt(objective(u))


def _distribution(est: ParameterEstimate) -> dict[str, Any]:
    if est.integer:
        values = list(range(math.ceil(est.low), math.floor(est.high) + 1))
        spread = max(est.spread, 0.3)
        weights = [math.exp(-0.5 * ((v - est.estimate) / spread) ** 2) for v in values]
        kept = [(v, w) for v, w in zip(values, weights) if w > 1e-3]
        return {
            "dist": "choice",
            "values": [float(v) for v, _ in kept],
            "weights": [round(w / sum(w for _, w in kept), 6) for _, w in kept],
        }
    if est.spread <= 0:
        return {"dist": "constant", "value": est.estimate}
    return {
        "dist": "truncated_normal",
        "mean": est.estimate,
        "std": est.spread,
        "low": est.low,
        "high": est.high,
    }


def _terms(fit: FitResult, params: Sequence[FitParameter], dist: Any) -> dict[str, ParameterTerm]:
    plain: dict[str, Any] = {}
    for p, est in zip(params, fit.parameters):
        value = dist(est)
        if p.entity is None:
            plain[p.name] = value
        else:
            plain.setdefault(p.name, {"entities": {}})["entities"][p.entity] = value
    return {k: ParameterTerm.model_validate(v) for k, v in plain.items()}


def fitted_domain_file(fit: FitResult, params: Sequence[FitParameter]) -> DomainFile:
    """The fit as a domain file: ``targets.identified`` and ``source``."""
    keys = ", ".join(p.key for p in fit.parameters)
    target = Domain(
        description=f"identified by {fit.method} from {fit.episodes} episodes: {keys}",
        parameters=_terms(fit, params, lambda e: e.estimate),
    )
    source = Domain(
        description=f"randomization around the identified values ({fit.method} mean and spread)",
        parameters=_terms(fit, params, _distribution),
    )
    return DomainFile(
        env=fit.env,
        description=f"sim2real identify {fit.env} (seed {fit.seed}, {fit.evaluations} evaluations)",
        source=source,
        targets={"identified": target},
    )


def write_domain_file(path: Path, domain_file: DomainFile) -> Path:
    """Write ``domain_file`` and read it back through the domain loader (both domains)."""
    from sim2real.randomization import load_domain

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(domain_file.to_yaml())
    assert domain_file.env is not None
    for which in ("source", "identified"):
        load_domain(domain_file.env, f"{path}:{which}")
    return path


def _markdown(report: IdentificationReport) -> str:
    fit = report.fit
    where = "held-out episodes" if report.held_out else "the fitted episodes (no hold-out)"
    lines = [
        f"# System identification: {fit.env}",
        "",
        f"{fit.method}, {fit.episodes} episodes / {fit.transitions} transitions from "
        f"{', '.join(report.data_files)}; CMA-ES seed {fit.seed}, {fit.evaluations} objective "
        f"evaluations, {fit.sim_steps} simulator steps.",
        "",
        "| parameter | estimate | spread (std) | nominal | search range |"
        + (" truth |" if report.truth else ""),
        "|---|---|---|---|---|" + ("---|" if report.truth else ""),
    ]
    for p in fit.parameters:
        row = (
            f"| {p.key} | {p.estimate:.4g} | {p.spread:.3g} | {p.nominal:.4g} | "
            f"[{p.low:g}, {p.high:g}] {p.unit} |"
        )
        if report.truth:
            t = report.truth.get(p.key)
            row += f" {t:.4g} |" if t is not None else " |"
        lines.append(row)
    b, a = report.before, report.after
    lines += [
        "",
        f"Prediction error on {where} ({a.episodes} episodes, {a.transitions} transitions; "
        "normalized RMSE, 0 = perfect):",
        "",
        "| | one-step | " + f"{a.horizon}-step open loop |",
        "|---|---|---|",
        f"| nominal dynamics (before) | {b.one_step:.4g} | {b.multi_step:.4g} |",
        f"| identified (after) | {a.one_step:.4g} | {a.multi_step:.4g} |",
        "",
    ]
    if report.domain_file:
        lines.append(f"Domain file: `{report.domain_file}` (`source`, `targets.identified`).")
    return "\n".join(lines) + "\n"


def _plot(report: IdentificationReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = report.fit.parameters
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(params))
    ax1.errorbar(
        x,
        [p.estimate for p in params],
        yerr=[p.spread for p in params],
        fmt="o",
        capsize=4,
        label="estimate ± spread",
    )
    ax1.scatter(x, [p.nominal for p in params], marker="_", s=300, color="gray", label="nominal")
    if report.truth:
        tx = [i for i, p in enumerate(params) if p.key in report.truth]
        ax1.scatter(
            tx, [report.truth[params[i].key] for i in tx], marker="x", color="red", label="truth"
        )
    ax1.set_xticks(x, [p.key for p in params], rotation=20, ha="right")
    ax1.set_title("parameters")
    ax1.legend(fontsize=8)
    b, a = report.before, report.after
    labels = ["one-step", f"{a.horizon}-step"]
    ax2.bar(np.arange(2) - 0.2, [b.one_step, b.multi_step], 0.4, label="nominal (before)")
    ax2.bar(np.arange(2) + 0.2, [a.one_step, a.multi_step], 0.4, label="identified (after)")
    ax2.set_xticks(np.arange(2), labels)
    ax2.set_title("prediction error (normalized RMSE)" + ("" if report.held_out else ", in-sample"))
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(report: IdentificationReport, folder: Path) -> dict[str, str]:
    """Write ``report.json``, ``report.md`` and ``report.png`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "json": folder / "report.json",
        "md": folder / "report.md",
        "png": folder / "report.png",
    }
    files["json"].write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    files["md"].write_text(_markdown(report))
    _plot(report, files["png"])
    return {k: str(v) for k, v in files.items()}


def truth_of(
    values: Mapping[str, Any], params: Sequence[FitParameter], specs: Any
) -> dict[str, float]:
    """True values of the fitted keys from a target's parameter values (benchmarks, tests)."""
    out: dict[str, float] = {}
    for p in params:
        spec = specs[p.name]
        v = values.get(p.name)
        if v is None:
            out[p.key] = p.nominal
        elif isinstance(v, Mapping):
            ents = spec.entities
            if p.entity is not None:
                out[p.key] = float(v.get(p.entity, spec.nominal[ents.index(p.entity)]))
            else:
                out[p.key] = float(np.mean([v.get(e, n) for e, n in zip(ents, spec.nominal)]))
        else:
            out[p.key] = float(v)
    return out
