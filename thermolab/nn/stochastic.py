"""Stochastic layers built on p-bits: the backend's `bernoulli`.

- `PbitDropout`: inverted dropout whose masks are p-bits; `mc=True` keeps it on at evaluation
  so repeated forward passes give a Monte-Carlo estimate of predictive uncertainty
  (`mc_predict`).
- `StochasticBinary`: s = 2·bernoulli(σ(β x)) − 1, the sign of a p-bit with input x; forward ±1,
  backward the gradient of its mean E[s] = tanh(β x / 2) (straight-through).
- `PbitGaussianNoise`: additive noise σ · (Σ_{i<n} b_i − n/2) / √(n/4) from n fair p-bits per
  element, a standardised Binomial(n, ½) that tends to N(0, 1) (central limit);
  `clt_gaussian_distance(n)` gives its exact Kolmogorov distance to the Gaussian.

Each layer takes a torch `backend` (default: a new one seeded with `seed`) whose operation
counter records the p-bits drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "PbitDropout",
    "PbitGaussianNoise",
    "StochasticBinary",
    "clt_gaussian_distance",
    "mc_predict",
]


def _torch_backend(backend: Any, seed: int) -> Any:
    if backend is not None:
        return backend
    from thermolab.backends import get_backend

    return get_backend("torch", seed=seed)


class PbitDropout(nn.Module):
    """Drop each element with probability p (p-bit masks), scale survivors by 1/(1 − p).

    Active in training, and also in evaluation when `mc` is True (Monte-Carlo dropout).
    """

    def __init__(self, p: float = 0.1, *, mc: bool = False, backend: Any = None, seed: int = 0):
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
        self.p = float(p)
        self.mc = bool(mc)
        self.backend = _torch_backend(backend, seed)

    def extra_repr(self) -> str:
        return f"p={self.p}, mc={self.mc}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not (self.training or self.mc):
            return x
        keep = self.backend.bernoulli(torch.full_like(x.detach(), 1.0 - self.p))
        return x * keep / (1.0 - self.p)


def mc_predict(
    model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, n_samples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over n stochastic forward passes (e.g. MC dropout): (...)."""
    if n_samples < 2:
        raise ValueError("mc_predict needs at least 2 samples for a standard deviation")
    with torch.no_grad():
        outputs = torch.stack([model(x) for _ in range(n_samples)])
    return outputs.mean(dim=0), outputs.std(dim=0)


class StochasticBinary(nn.Module):
    """±1 = sign of a p-bit: P(s = +1) = σ(β x). Straight-through gradient of E[s] = tanh(βx/2).

    In evaluation with `deterministic_eval` it returns the sign of x instead of a sample.
    """

    def __init__(
        self,
        beta: float = 1.0,
        *,
        deterministic_eval: bool = False,
        backend: Any = None,
        seed: int = 0,
    ):
        super().__init__()
        if not (math.isfinite(beta) and beta > 0):
            raise ValueError(f"beta must be positive and finite, got {beta}")
        self.beta = float(beta)
        self.deterministic_eval = deterministic_eval
        self.backend = _torch_backend(backend, seed)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, deterministic_eval={self.deterministic_eval}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tanh(0.5 * self.beta * x)
        if self.deterministic_eval and not self.training:
            spins = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
        else:
            spins = 2.0 * self.backend.bernoulli(torch.sigmoid(self.beta * x.detach())) - 1.0
        return spins + mean - mean.detach()


class PbitGaussianNoise(nn.Module):
    """x + σ · Z, Z a standardised sum of n fair p-bits per element (≈ N(0, 1) by the CLT).

    Active in training, or always with `always_on`. Z is exactly mean 0, variance 1; its
    Kolmogorov distance to N(0, 1) is `clt_gaussian_distance(n_bits)` (≈ 0.4/√n).
    """

    def __init__(
        self,
        std: float = 0.1,
        n_bits: int = 16,
        *,
        always_on: bool = False,
        backend: Any = None,
        seed: int = 0,
    ):
        super().__init__()
        if not (math.isfinite(std) and std >= 0):
            raise ValueError(f"std must be non-negative and finite, got {std}")
        if isinstance(n_bits, bool) or int(n_bits) != n_bits or n_bits < 1:
            raise ValueError(f"n_bits must be a positive integer, got {n_bits}")
        self.std = float(std)
        self.n_bits = int(n_bits)
        self.always_on = always_on
        self.backend = _torch_backend(backend, seed)

    def extra_repr(self) -> str:
        return f"std={self.std}, n_bits={self.n_bits}, always_on={self.always_on}"

    def noise(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """Standardised p-bit sums Z of `shape`: the backend's `normal(method="pbit")`."""
        return self.backend.normal(
            shape, device=like.device, dtype=like.dtype, method="pbit", n_bits=self.n_bits
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.std == 0.0 or not (self.training or self.always_on):
            return x
        return x + self.std * self.noise(tuple(x.shape), x)


def clt_gaussian_distance(n_bits: int) -> float:
    """sup_z |F_n(z) − Φ(z)|: Kolmogorov distance of the standardised Binomial(n, ½) to N(0,1).

    Exact: the supremum of a step CDF against a continuous one is attained just before or at
    a jump, so it is checked on both sides of each of the n + 1 atoms.
    """
    n = int(n_bits)
    if n < 1:
        raise ValueError(f"n_bits must be a positive integer, got {n_bits}")
    k = np.arange(n + 1)
    log_pmf = np.array(
        [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k]
    )
    pmf = np.exp(log_pmf - n * math.log(2.0))
    cdf_after = np.cumsum(pmf)
    cdf_before = cdf_after - pmf
    z = (k - 0.5 * n) / math.sqrt(0.25 * n)
    phi = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in z]))
    return float(max(np.max(np.abs(cdf_after - phi)), np.max(np.abs(cdf_before - phi))))
