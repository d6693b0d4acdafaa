"""Stochastic-gradient Langevin dynamics as a torch optimizer, with noise from a backend.

SGLD (Welling & Teh 2011) takes gradient steps on the mean loss L̄(θ) over n_data data points
and adds Gaussian noise, so that at a small learning rate its iterates sample the tempered
posterior p(θ) ∝ exp(−n_data · L̄(θ) / T) instead of settling at a minimum:

    θ ← θ − η ∇L̄(θ) + √(2 η T / n_data) ξ,        ξ ~ N(0, 1).

This is the Euler step, of size h = η T / n_data, of the Langevin equation dθ = −∇Φ dt + √2 dW
with Φ = n_data L̄ / T. With `preconditioned` (pSGLD, Li et al. 2016) the step and the noise
are scaled per parameter by RMSprop's statistics, G = 1 / (λ + √V), V ← α V + (1 − α) g²:

    θ ← θ − η G ∇L̄(θ) + √(2 η T G / n_data) ξ

(the small correction term Γ(θ) of the paper is dropped, as the paper does in practice).
At T = 0 SGLD is plain SGD and pSGLD is RMSprop. Weight decay is decoupled, θ ← θ (1 − η wd),
the pull of a Gaussian prior. ξ comes from the backend's counted `normal`, "native" variates
or sums of `n_bits` p-bits, so the ledger sees every random number the optimizer draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["Langevin"]


class Langevin(torch.optim.Optimizer):
    """SGLD / pSGLD (see the module docstring). Per group: lr η, temperature T, weight_decay.

    n_data: how many data points the mean loss averages over (training tokens): it sets the
    posterior's sharpness. alpha, eps: RMSprop's decay α and floor λ (preconditioned only).
    backend: a torch backend (its `normal` draws ξ); noise_method, n_bits: as its `normal`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        *,
        lr: float = 1e-3,
        temperature: float = 1.0,
        n_data: int = 1,
        preconditioned: bool = False,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        backend: Any = None,
        noise_method: str = "native",
        n_bits: int = 16,
    ) -> None:
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be positive and finite, got {lr}")
        if not (math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be ≥ 0 and finite, got {temperature}")
        if isinstance(n_data, bool) or int(n_data) != n_data or n_data < 1:
            raise ValueError(f"n_data must be a positive integer, got {n_data!r}")
        if not 0.0 <= alpha < 1.0 or not eps > 0:
            raise ValueError(f"need 0 ≤ alpha < 1 and eps > 0, got {alpha}, {eps}")
        if backend is None:
            from thermolab.backends import get_backend

            backend = get_backend("torch")
        defaults = {"lr": lr, "temperature": temperature, "weight_decay": weight_decay}
        super().__init__(params, defaults)
        self.n_data = int(n_data)
        self.preconditioned = bool(preconditioned)
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.backend = backend
        self.noise_method = noise_method
        self.n_bits = int(n_bits)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            lr, temperature = group["lr"], group["temperature"]
            noise = None
            if temperature > 0:
                # One draw per group: fewer backend calls, the same independent variates.
                noise = self.backend.normal(
                    (sum(p.numel() for p in params),),
                    device=params[0].device,
                    dtype=params[0].dtype,
                    method=self.noise_method,
                    n_bits=self.n_bits,
                )
            offset = 0
            for p in params:
                gradient = p.grad
                if group["weight_decay"]:
                    p.mul_(1.0 - lr * group["weight_decay"])
                if self.preconditioned:
                    state = self.state[p]
                    if "square_avg" not in state:
                        state["square_avg"] = gradient.square()  # no zero start: no huge step 1
                    else:
                        state["square_avg"].mul_(self.alpha).addcmul_(
                            gradient, gradient, value=1.0 - self.alpha
                        )
                    scale = 1.0 / (state["square_avg"].sqrt() + self.eps)
                    p.addcmul_(scale, gradient, value=-lr)
                else:
                    scale = None
                    p.add_(gradient, alpha=-lr)
                if noise is not None:
                    xi = noise[offset : offset + p.numel()].view_as(p)
                    spread = math.sqrt(2.0 * lr * temperature / self.n_data)
                    p.add_(xi * (spread if scale is None else spread * scale.sqrt()))
                offset += p.numel()
        return loss
