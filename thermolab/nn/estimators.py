"""Gradient estimators for a discrete (one-hot) sample y ~ softmax(logits).

The quantity is ∇_logits E_y[f(y)]. Three estimators, each a small piece to drop into a model:

- `straight_through(logits, …)`: forward a hard one-hot sample, backward the softmax Jacobian
  as if y were its mean. Biased unless f is linear in y. `STRAIGHT_THROUGH.unbiased` is False.
- `gumbel_softmax(logits, tau, …)`: a relaxed sample softmax((logits + g)/τ), g Gumbel;
  differentiable, biased for τ > 0 (the bias shrinks and the variance grows as τ → 0).
- `reinforce_surrogate(log_prob, loss, baseline)`: the score-function estimator
  (f(y) − b) ∇ log p(y); unbiased whenever b does not depend on y (e.g. a leave-one-out mean).

`ESTIMATORS` lists them with their `unbiased` flag; `per_sample_gradients` draws n independent
gradient estimates of one of them on a toy objective (used to measure bias and variance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "ESTIMATORS",
    "GUMBEL_SOFTMAX",
    "REINFORCE",
    "STRAIGHT_THROUGH",
    "Estimator",
    "exact_gradient",
    "gumbel_noise",
    "gumbel_softmax",
    "leave_one_out_baseline",
    "per_sample_gradients",
    "reinforce_surrogate",
    "sample_one_hot",
    "straight_through",
]


@dataclass(frozen=True)
class Estimator:
    """A gradient estimator's name, whether it is unbiased, and why (one line)."""

    name: str
    unbiased: bool
    note: str


STRAIGHT_THROUGH = Estimator(
    "straight-through",
    False,
    "backward treats the hard sample as its mean; biased unless f is linear",
)
GUMBEL_SOFTMAX = Estimator(
    "gumbel-softmax", False, "gradient of a relaxed objective; bias → 0 only as τ → 0"
)
REINFORCE = Estimator(
    "reinforce", True, "score function with a sample-independent baseline; unbiased, noisy"
)
ESTIMATORS: tuple[Estimator, ...] = (STRAIGHT_THROUGH, GUMBEL_SOFTMAX, REINFORCE)


def _backend(backend: Any) -> Any:
    if backend is None:
        from thermolab.backends import get_backend

        return get_backend("torch")
    return backend


def gumbel_noise(
    shape: tuple[int, ...] | torch.Size,
    backend: Any,
    *,
    like: torch.Tensor,
    seed: int | None = None,
) -> torch.Tensor:
    """Standard Gumbel variates −log(−log u) of `shape`, u from the backend's uniforms."""
    uniform = backend.uniform(tuple(shape), device=like.device, dtype=like.dtype, seed=seed)
    tiny = torch.finfo(like.dtype).tiny
    return -torch.log((-torch.log(uniform.clamp_min(tiny))).clamp_min(tiny))


def sample_one_hot(
    logits: torch.Tensor, backend: Any = None, *, seed: int | None = None
) -> torch.Tensor:
    """One Boltzmann sample per row as a one-hot (no gradient): P(k) = softmax(logits)_k."""
    backend = _backend(backend)
    # logits = −E/T with T = 1: energies −logits; −inf logits are +inf energies, never drawn.
    index = backend.categorical(-logits.detach(), 1.0, 1, seed=seed)[0]
    return torch.nn.functional.one_hot(index, logits.shape[-1]).to(logits.dtype)


def straight_through(
    logits: torch.Tensor, backend: Any = None, *, seed: int | None = None
) -> torch.Tensor:
    """Hard one-hot sample forward; softmax gradient backward: y + p − stop_grad(p)."""
    probabilities = torch.softmax(logits, dim=-1)
    hard = sample_one_hot(logits, backend, seed=seed)
    return hard + probabilities - probabilities.detach()


def gumbel_softmax(
    logits: torch.Tensor,
    tau: float,
    backend: Any = None,
    *,
    hard: bool = False,
    seed: int | None = None,
) -> torch.Tensor:
    """Relaxed one-hot softmax((logits + g)/τ); with hard=True, its argmax straight-through."""
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    noise = gumbel_noise(logits.shape, _backend(backend), like=logits, seed=seed)
    relaxed = torch.softmax((logits + noise) / tau, dim=-1)
    if not hard:
        return relaxed
    index = relaxed.argmax(dim=-1)
    one_hot = torch.nn.functional.one_hot(index, logits.shape[-1]).to(relaxed.dtype)
    return one_hot + relaxed - relaxed.detach()


def leave_one_out_baseline(losses: torch.Tensor) -> torch.Tensor:
    """b_i = mean of the other samples' losses (dim 0): independent of sample i, so unbiased."""
    n = losses.shape[0]
    if n < 2:
        return torch.zeros_like(losses)
    return (losses.sum(dim=0, keepdim=True) - losses) / (n - 1)


def reinforce_surrogate(
    log_prob: torch.Tensor, loss: torch.Tensor, baseline: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """A surrogate whose gradient is (f(y) − b) ∇ log p(y); add it to the loss, same shape.

    Its value is not the loss (use `loss` for reporting); only its gradient is meaningful.
    """
    return (loss - baseline).detach() * log_prob


def exact_gradient(
    logits: torch.Tensor, loss_of_one_hot: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """∇_logits Σ_k p_k f(e_k) for one row of m logits, by enumerating the m one-hots."""
    leaf = logits.detach().clone().requires_grad_(True)
    eye = torch.eye(leaf.shape[-1], dtype=leaf.dtype, device=leaf.device)
    expected = (torch.softmax(leaf, dim=-1) * loss_of_one_hot(eye)).sum()
    (gradient,) = torch.autograd.grad(expected, leaf)
    return gradient


def per_sample_gradients(
    estimator: Estimator | str,
    logits: torch.Tensor,
    loss_of_one_hot: Callable[[torch.Tensor], torch.Tensor],
    n_samples: int,
    *,
    tau: float = 0.5,
    backend: Any = None,
    seed: int | None = None,
) -> torch.Tensor:
    """n independent estimates of ∇_logits E[f(y)] for one row of m logits: (n, m).

    loss_of_one_hot maps (n, m) (relaxed) one-hots to (n,) losses and must be differentiable
    in its input for straight-through and Gumbel-softmax. REINFORCE uses the leave-one-out
    baseline, so its n estimates are exchangeable but not independent; their mean is unbiased.
    """
    name = estimator.name if isinstance(estimator, Estimator) else estimator
    backend = _backend(backend)
    leaf = logits.detach().expand(n_samples, logits.shape[-1]).clone().requires_grad_(True)
    if name == STRAIGHT_THROUGH.name:
        objective = loss_of_one_hot(straight_through(leaf, backend, seed=seed)).sum()
    elif name == GUMBEL_SOFTMAX.name:
        objective = loss_of_one_hot(gumbel_softmax(leaf, tau, backend, seed=seed)).sum()
    elif name == REINFORCE.name:
        sample = sample_one_hot(leaf, backend, seed=seed)
        with torch.no_grad():
            losses = loss_of_one_hot(sample)
        log_prob = (torch.log_softmax(leaf, dim=-1) * sample).sum(dim=-1)
        objective = reinforce_surrogate(log_prob, losses, leave_one_out_baseline(losses)).sum()
    else:
        known = ", ".join(e.name for e in ESTIMATORS)
        raise ValueError(f"unknown estimator {name!r} (known: {known})")
    (gradients,) = torch.autograd.grad(objective, leaf)
    return gradients
