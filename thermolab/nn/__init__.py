"""Thermodynamic neural-network pieces in PyTorch: attention at a temperature, gradient
estimators for discrete samples, and p-bit stochastic layers. Every random draw goes through
a torch backend (`thermolab.backends`), whose operation counter records it.
"""

from thermolab.nn.attention import (
    MODES,
    ThermodynamicAttention,
    ThermodynamicSelfAttention,
    allowed_positions,
    attention_entropy,
    attention_weights,
)
from thermolab.nn.estimators import (
    ESTIMATORS,
    GUMBEL_SOFTMAX,
    REINFORCE,
    STRAIGHT_THROUGH,
    Estimator,
    exact_gradient,
    gumbel_softmax,
    leave_one_out_baseline,
    per_sample_gradients,
    reinforce_surrogate,
    straight_through,
)
from thermolab.nn.stochastic import (
    PbitDropout,
    PbitGaussianNoise,
    StochasticBinary,
    clt_gaussian_distance,
    mc_predict,
)

__all__ = [
    "ESTIMATORS",
    "GUMBEL_SOFTMAX",
    "MODES",
    "REINFORCE",
    "STRAIGHT_THROUGH",
    "Estimator",
    "PbitDropout",
    "PbitGaussianNoise",
    "StochasticBinary",
    "ThermodynamicAttention",
    "ThermodynamicSelfAttention",
    "allowed_positions",
    "attention_entropy",
    "attention_weights",
    "clt_gaussian_distance",
    "exact_gradient",
    "gumbel_softmax",
    "leave_one_out_baseline",
    "mc_predict",
    "per_sample_gradients",
    "reinforce_surrogate",
    "straight_through",
]
