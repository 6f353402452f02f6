"""System identification: fit the simulator's dynamics to recorded rollouts, write a domain.

``prepare(env, files, "mass_scale,motor_strength", FitSettings())`` checks the inputs;
``identify(prepared, out, report_dir)`` fits with CMA-ES (DROPO's next-observation likelihood
where simulator states were recorded, trajectory matching otherwise), measures the prediction
error before and after on held-out episodes, and writes a domain file with an ``identified``
target and a ``source`` distribution around it. The rollout format is owned by
:mod:`sim2real.controller.recording`.
"""

from __future__ import annotations

from sim2real.identification.api import Prepared, identify, prepare, prepare_data
from sim2real.identification.fit import FitResult, FitSettings, ParameterEstimate, fit
from sim2real.identification.params import DEFAULT_PARAMS, FitParameter, parse_params
from sim2real.identification.report import (
    IdentificationReport,
    PredictionError,
    fitted_domain_file,
    prediction_errors,
)

__all__ = [
    "DEFAULT_PARAMS",
    "FitParameter",
    "FitResult",
    "FitSettings",
    "IdentificationReport",
    "ParameterEstimate",
    "PredictionError",
    "Prepared",
    "fit",
    "fitted_domain_file",
    "identify",
    "parse_params",
    "prediction_errors",
    "prepare",
    "prepare_data",
]
