"""Online adaptation (RMA, Kumar et al. 2021): a policy conditioned on an encoding of the true
dynamics (phase 1), an adaptation module that estimates it from recent history (phase 2), and
the deployed pair that never reads the true parameters."""

from sim2real.adaptation.networks import AdaptationModule, EnvEncoderExtractor, RMAPolicy
from sim2real.adaptation.observation import DynamicsObservation, normalized_dynamics

__all__ = [
    "AdaptationModule",
    "DynamicsObservation",
    "EnvEncoderExtractor",
    "RMAPolicy",
    "normalized_dynamics",
]
