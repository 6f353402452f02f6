"""Fit dynamics parameters to a recording with CMA-ES (the ``cma`` package), seeded, on a budget.

``fit(env, data, params, FitSettings(...))`` picks the objective (``likelihood`` where the
recording has simulator states, else ``trajectory``), runs CMA-ES for at most ``budget``
objective evaluations and returns a :class:`FitResult`: per parameter a point estimate and a
spread, in physical units.

* likelihood (DROPO): the estimate is the Gaussian's mean, the spread its standard deviation:
  the randomization that explains the recording, recording noise included.
* trajectory matching: the estimate is the best parameter vector; the spread is a Laplace
  approximation (the inverse curvature of the Gaussian log-likelihood with the error variance
  profiled out, along each parameter), which is optimistic when residuals are correlated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from sim2real.controller.recording import RolloutDataset
from sim2real.errors import DatasetError
from sim2real.identification.objectives import (
    FitSimulator,
    NextObservationLikelihood,
    TrajectoryMatching,
    make_segments,
)
from sim2real.identification.params import FitParameter

__all__ = ["MIN_TRANSITIONS", "FitResult", "FitSettings", "ParameterEstimate", "fit"]

MIN_TRANSITIONS = 20
"""Fewest recorded transitions a fit accepts."""
Method = Literal["auto", "likelihood", "trajectory"]
#: Progress callback: (objective evaluations so far, budget, best objective value).
Progress = Callable[[int, int, float], None]
_LOG_SIGMA = (math.log(1e-3), math.log(0.3))


@dataclass(frozen=True)
class FitSettings:
    """How a fit runs.

    Attributes:
        method: ``auto`` (likelihood with recorded states, else trajectory), ``likelihood`` or
            ``trajectory``.
        budget: objective evaluations of CMA-ES.
        seed: seed of CMA-ES and of the likelihood's fixed parameter draws.
        samples: parameter draws per likelihood evaluation (DROPO's sample size).
        max_transitions: transitions scored by the likelihood (evenly spread over the data).
        horizon: steps of one trajectory-matching replay.
        max_segments: replays scored by trajectory matching.
    """

    method: Method = "auto"
    budget: int = 300
    seed: int = 0
    samples: int = 8
    max_transitions: int = 200
    horizon: int = 10
    max_segments: int = 30


@dataclass
class ParameterEstimate:
    """The fit of one parameter (physical units)."""

    key: str
    estimate: float
    spread: float
    nominal: float
    low: float
    high: float
    unit: str
    integer: bool


@dataclass
class FitResult:
    """What a fit found, and what it cost."""

    env: str
    method: str
    parameters: list[ParameterEstimate]
    objective_nominal: float
    objective_best: float
    evaluations: int
    sim_steps: int
    transitions: int
    episodes: int
    seed: int
    history: list[float] = field(default_factory=list)

    @property
    def estimates(self) -> dict[str, float]:
        """``{key: estimate}``."""
        return {p.key: p.estimate for p in self.parameters}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def resolve_method(method: Method, data: RolloutDataset) -> str:
    """``auto`` -> ``likelihood`` with states, else ``trajectory``; checks the choice."""
    if method == "auto":
        return "likelihood" if data.states is not None else "trajectory"
    if method == "likelihood" and data.states is None:
        raise DatasetError(
            "--method likelihood needs recorded simulator states and this recording has none; "
            "use --method trajectory"
        )
    return method


def check_data(data: RolloutDataset) -> None:
    """Enough transitions to fit (:data:`MIN_TRANSITIONS`)."""
    if len(data) < MIN_TRANSITIONS:
        raise DatasetError(
            f"too little data: {len(data)} transitions, a fit needs at least {MIN_TRANSITIONS}; "
            "record more episodes"
        )


def _cma(
    objective: Callable[[np.ndarray], float],
    x0: Sequence[float] | np.ndarray,
    bounds: tuple[list[float], list[float]],
    stds: Sequence[float],
    budget: int,
    seed: int,
    progress: Progress | None,
    f0: float | None = None,
) -> tuple[np.ndarray, float, int, list[float]]:
    """Minimize with CMA-ES from ``x0`` (its value ``f0`` if known); returns the best x, its
    value, the evaluations spent (at most ``budget``) and the best-so-far history."""
    import cma

    if len(x0) == 1:  # cma needs two dimensions: add one the objective ignores
        x, f, evals, history = _cma(
            lambda xy: objective(xy[:1]),
            [x0[0], 0.5],
            ([bounds[0][0], 0.0], [bounds[1][0], 1.0]),
            [stds[0], 1.0],
            budget,
            seed,
            progress,
            f0,
        )
        return x[:1], f, evals, history
    opts = {
        "bounds": [list(bounds[0]), list(bounds[1])],
        "CMA_stds": list(stds),
        "maxfevals": budget,
        "seed": seed + 1,  # cma treats 0 as "seed from the clock"
        "verbose": -9,
        "verb_log": 0,
        "verb_disp": 0,
        "tolfun": 1e-9,
    }
    es = cma.CMAEvolutionStrategy(list(x0), 0.25, opts)
    best_x = np.asarray(x0, float)
    best_f = objective(best_x) if f0 is None else f0
    evals, history = (1 if f0 is None else 0), [best_f]
    while not es.stop() and evals < budget:
        xs = es.ask()
        xs = xs[: budget - evals] if len(xs) > budget - evals else xs
        fs = [objective(np.asarray(x)) for x in xs]
        evals += len(xs)
        if len(xs) == es.popsize:
            es.tell(xs, fs)
        i = int(np.argmin(fs))
        if fs[i] < best_f:
            best_x, best_f = np.asarray(xs[i], float), float(fs[i])
        history.append(best_f)
        if progress is not None:
            progress(evals, budget, best_f)
        if len(xs) < es.popsize:
            break
    return best_x, best_f, evals, history


def _stds(params: Sequence[FitParameter], scale: float = 1.0) -> list[float]:
    """CMA-ES step multipliers: ``scale`` for continuous parameters, about half a whole step
    for integer ones (their value comes from :func:`_scan_integers`; CMA-ES refines the rest)."""
    return [2.0 / (p.high - p.low) if p.integer else scale for p in params]


def _scan_size(params: Sequence[FitParameter]) -> int:
    """Evaluations one :func:`_scan_integers` pass can take."""
    return sum(math.floor(p.high) - math.ceil(p.low) for p in params if p.integer)


def _scan_integers(
    objective: Callable[[np.ndarray], float],
    u: np.ndarray,
    f: float,
    params: Sequence[FitParameter],
) -> tuple[np.ndarray, float, int]:
    """Try every value of each whole-number parameter (others fixed) and keep the best: CMA-ES
    alone rarely crosses the plateaus of a rounded coordinate such as ``action_latency``."""
    best_u, best_f, evals = np.array(u, dtype=float), f, 0
    for i, p in enumerate(params):
        if not p.integer:
            continue
        for value in range(math.ceil(p.low), math.floor(p.high) + 1):
            trial = best_u.copy()
            trial[i] = p.to_unit(value)
            if p.to_physical(trial[i]) == p.to_physical(best_u[i]):
                continue
            value_f = objective(trial)
            evals += 1
            if value_f < best_f:
                best_u, best_f = trial, value_f
    return best_u, best_f, evals


def _fit_likelihood(
    sim: FitSimulator, data: RolloutDataset, settings: FitSettings, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray, float, float, int, list[float]]:
    """Stage 1 (60% of the budget): ``mu`` on the one-step squared error; stage 2: DROPO's
    likelihood over ``mu`` and ``log sigma`` from there."""
    rows = np.unique(
        np.linspace(0, len(data) - 1, min(settings.max_transitions, len(data))).astype(int)
    )
    objective = NextObservationLikelihood(sim, data, rows, settings.samples, settings.seed)
    d = len(sim.params)
    mu0 = np.array([p.to_unit(p.nominal) for p in sim.params])
    nominal_f = objective(np.array([*mu0, *[_LOG_SIGMA[0]] * d]))
    budget1 = max(int(0.6 * (settings.budget - 1)), 1)
    start, f_start, scanned = _scan_integers(
        objective.point_loss, mu0, objective.point_loss(mu0), sim.params
    )
    mu1, f1, evals1, history = _cma(
        objective.point_loss,
        start,
        ([0.0] * d, [1.0] * d),
        _stds(sim.params),
        max(budget1 - scanned - 1 - _scan_size(sim.params), 1),
        settings.seed,
        None if progress is None else lambda n, b, f: progress(n, settings.budget, f),
        f0=f_start,
    )
    mu1, _, rescanned = _scan_integers(objective.point_loss, mu1, f1, sim.params)
    evals1 += scanned + rescanned + 1
    x0 = [*mu1, *[math.log(0.02)] * d]
    bounds = ([0.0] * d + [_LOG_SIGMA[0]] * d, [1.0] * d + [_LOG_SIGMA[1]] * d)
    x, f, evals2, history2 = _cma(
        objective,
        x0,
        bounds,
        _stds(sim.params, 0.1) + [4.0] * d,
        max(settings.budget - 1 - evals1, 1),
        settings.seed,
        None if progress is None else lambda n, b, f: progress(evals1 + n, settings.budget, f),
    )
    return x[:d], np.exp(x[d:]), nominal_f, f, 1 + evals1 + evals2, history + history2


def _laplace_spread(objective: TrajectoryMatching, u: np.ndarray, f: float) -> np.ndarray:
    """Per-axis std in unit coordinates from the curvature of ``n/2 log(loss)`` at ``u``."""
    n, out = objective.n_residuals, np.zeros(len(u))
    for i, p in enumerate(objective.sim.params):
        h = 1.0 / (p.high - p.low) if p.integer else 0.02  # one whole step for integers
        lo, hi = u.copy(), u.copy()
        lo[i], hi[i] = max(u[i] - h, 0.0), min(u[i] + h, 1.0)
        fl, fh = objective(lo), objective(hi)
        step = (hi[i] - lo[i]) / 2
        nll = [0.5 * n * math.log(max(v, 1e-300)) for v in (fl, f, fh)]
        curvature = (nll[0] - 2 * nll[1] + nll[2]) / (step * step)
        out[i] = 1.0 / math.sqrt(curvature) if curvature > 0 else 0.5
    return out


def _fit_trajectory(
    sim: FitSimulator, data: RolloutDataset, settings: FitSettings, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray, float, float, int, list[float]]:
    segments = make_segments(data, sim, settings.horizon, settings.max_segments)
    objective = TrajectoryMatching(sim, data, segments)
    d = len(sim.params)
    u0 = np.array([p.to_unit(p.nominal) for p in sim.params])
    nominal_f = objective(u0)
    start, f_start, scanned = _scan_integers(objective, u0, nominal_f, sim.params)
    budget = max(settings.budget - 1 - 2 * d - scanned - _scan_size(sim.params), 1)
    u, f, evals, history = _cma(
        objective,
        start,
        ([0.0] * d, [1.0] * d),
        _stds(sim.params),
        budget,
        settings.seed,
        progress,
        f0=f_start,
    )
    u, f, rescanned = _scan_integers(objective, u, f, sim.params)
    spread = _laplace_spread(objective, u, f)
    return u, spread, nominal_f, f, evals + 1 + 2 * d + scanned + rescanned, history


def fit(
    env: str,
    data: RolloutDataset,
    params: Sequence[FitParameter],
    settings: FitSettings | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Fit ``params`` of ``env`` to ``data`` (checked with ``check_layout`` by the caller).

    Raises:
        DatasetError: too little data, or a method the recording cannot serve.
    """
    settings = settings or FitSettings()
    check_data(data)
    method = resolve_method(settings.method, data)
    sim = FitSimulator(env, params)
    try:
        run = _fit_likelihood if method == "likelihood" else _fit_trajectory
        u, spread_u, nominal_f, best_f, evals, history = run(sim, data, settings, progress)
        sim_steps = sim.sim_steps
    finally:
        sim.close()
    estimates = [
        ParameterEstimate(
            key=p.key,
            estimate=float(p.to_physical(x)),
            spread=float(p.physical_spread(x, s)),
            nominal=p.nominal,
            low=p.low,
            high=p.high,
            unit=p.unit,
            integer=p.integer,
        )
        for p, x, s in zip(params, u, spread_u)
    ]
    return FitResult(
        env=env,
        method=method,
        parameters=estimates,
        objective_nominal=nominal_f,
        objective_best=best_f,
        evaluations=evals,
        sim_steps=sim_steps,
        transitions=len(data),
        episodes=data.n_episodes,
        seed=settings.seed,
        history=history,
    )
