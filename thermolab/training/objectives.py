"""The two training objectives: cross-entropy, and a free energy over Gaussian weights.

For a model whose stochastic layers hold a mean-field Gaussian q over their weights,

    F = E_q[L] − T·H[q] + λ·KL(q ‖ prior)

with L the mean cross-entropy per token (nats), estimated with one weight sample per step
(the reparameterisation trick). H[q] and KL are totals over all stochastic weights (nats) and
are divided by the number of training tokens N, so that each term is "per token" like L.
With λ = 1 and T = 0 this is the negative evidence lower bound per token, the standard
variational bound; T > 0 rewards broader weight distributions on top of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["FreeEnergy", "free_energy"]


@dataclass(frozen=True)
class FreeEnergy:
    """The terms of one free-energy evaluation, all in nats per training token.

    objective: F, the tensor to minimise (differentiable). expected_loss: E_q[L] (one-sample
    estimate). entropy_term: T·H[q]/N. kl_term: λ·KL/N.
    """

    objective: torch.Tensor
    expected_loss: torch.Tensor
    entropy_term: torch.Tensor
    kl_term: torch.Tensor


def free_energy(
    expected_loss: torch.Tensor,
    entropy: torch.Tensor,
    kl: torch.Tensor,
    *,
    temperature: float,
    kl_weight: float,
    n_train_tokens: int,
) -> FreeEnergy:
    """F = E_q[L] − T·H[q]/N + λ·KL/N.

    expected_loss: scalar, nats per token. entropy, kl: scalars, nats, totals over the
    stochastic weights. temperature: T ≥ 0. kl_weight: λ ≥ 0. n_train_tokens: N > 0.
    """
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be finite and ≥ 0, got {temperature}")
    if not (math.isfinite(kl_weight) and kl_weight >= 0):
        raise ValueError(f"λ (KL weight) must be finite and ≥ 0, got {kl_weight}")
    if n_train_tokens < 1:
        raise ValueError(f"the number of training tokens must be positive, got {n_train_tokens}")
    entropy_term = temperature * entropy / n_train_tokens
    kl_term = kl_weight * kl / n_train_tokens
    return FreeEnergy(expected_loss - entropy_term + kl_term, expected_loss, entropy_term, kl_term)
