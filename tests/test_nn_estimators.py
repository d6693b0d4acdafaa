"""Gradient estimators on a toy loss whose exact gradient is computable by enumeration.

Toy objective: y a one-hot over m = 5 categories, y ~ softmax(θ), f(y) = (c·y − t)², so
E[f] = Σ_k p_k (c_k − t)² and ∇_θ E[f] is exact (autograd on the enumeration).

Standard errors: REINFORCE with a leave-one-out baseline gives exchangeable but correlated
estimates within one batch, so we draw B independent batches and use the spread of the batch
means: SE_k = std_k(batch means) / √B. "Within Z = 4.5 SE" per component (5 components, normal
tail 7·10⁻⁶ each) fails by chance with probability < 10⁻⁴.
"""

from __future__ import annotations

import pytest
import torch

from thermolab.backends import get_backend
from thermolab.nn import (
    ESTIMATORS,
    GUMBEL_SOFTMAX,
    REINFORCE,
    STRAIGHT_THROUGH,
    exact_gradient,
    gumbel_softmax,
    leave_one_out_baseline,
    per_sample_gradients,
    reinforce_surrogate,
    straight_through,
)

Z = 4.5
LOGITS = torch.tensor([0.5, -0.3, 1.2, 0.0, -1.0], dtype=torch.float64)
COSTS = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0], dtype=torch.float64)
TARGET = 0.7


def toy_loss(y: torch.Tensor) -> torch.Tensor:
    return (y @ COSTS - TARGET) ** 2


def batch_means(estimator, n_batches=60, batch=200, **options):
    backend = get_backend("torch", seed=0)
    return torch.stack(
        [
            per_sample_gradients(
                estimator, LOGITS, toy_loss, batch, backend=backend, seed=seed, **options
            ).mean(dim=0)
            for seed in range(n_batches)
        ]
    )


def test_unbiased_flags_are_stated():
    assert {e.name: e.unbiased for e in ESTIMATORS} == {
        "straight-through": False,
        "gumbel-softmax": False,
        "reinforce": True,
    }
    assert all(e.note for e in ESTIMATORS)


def test_reinforce_mean_gradient_equals_exact_gradient():
    means = batch_means(REINFORCE)
    truth = exact_gradient(LOGITS, toy_loss)
    standard_error = means.std(dim=0) / means.shape[0] ** 0.5
    assert torch.all((means.mean(dim=0) - truth).abs() <= Z * standard_error)
    assert truth.abs().max() > 0.1  # a gradient worth estimating


def test_straight_through_bias_is_measured_not_assumed_zero():
    means = batch_means(STRAIGHT_THROUGH)
    truth = exact_gradient(LOGITS, toy_loss)
    standard_error = means.std(dim=0) / means.shape[0] ** 0.5
    bias = means.mean(dim=0) - truth
    # f is quadratic in y, so ST is biased here: the bias is far outside the noise.
    assert (bias.abs() / standard_error).max() > 10
    # For a linear f, ST's forward sample does not matter: it returns the exact gradient.
    linear = per_sample_gradients(STRAIGHT_THROUGH, LOGITS, lambda y: y @ COSTS, 50, seed=1)
    torch.testing.assert_close(linear, exact_gradient(LOGITS, lambda y: y @ COSTS).expand(50, 5))


def test_gumbel_softmax_bias_shrinks_as_tau_falls():
    truth = exact_gradient(LOGITS, toy_loss)
    biases = []
    for tau in (2.0, 0.5):
        means = batch_means(GUMBEL_SOFTMAX, n_batches=20, tau=tau)
        biases.append((means.mean(dim=0) - truth).norm().item())
    assert biases[1] < biases[0]


def test_estimator_pieces_have_the_documented_forward_values():
    backend = get_backend("torch", seed=0)
    logits = LOGITS.clone().requires_grad_(True)
    sample = straight_through(logits.expand(4, 5), backend, seed=1)
    # y + p − stop_grad(p) equals the one-hot up to one rounding of p.
    one_hot = torch.nn.functional.one_hot(sample.detach().argmax(-1), 5).double()
    torch.testing.assert_close(sample.detach(), one_hot, atol=1e-12, rtol=0)
    relaxed = gumbel_softmax(logits.expand(4, 5), 0.5, backend, seed=1)
    torch.testing.assert_close(relaxed.sum(-1).detach(), torch.ones(4, dtype=torch.float64))
    hard = gumbel_softmax(logits.expand(4, 5), 0.5, backend, hard=True, seed=1)
    assert torch.equal(hard.detach().argmax(-1), relaxed.detach().argmax(-1))
    losses = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(leave_one_out_baseline(losses), torch.tensor([2.5, 2.0, 1.5]))
    log_prob = torch.zeros(3, requires_grad=True)
    reinforce_surrogate(log_prob, losses, 1.0).sum().backward()
    torch.testing.assert_close(log_prob.grad, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="unknown estimator"):
        per_sample_gradients("magic", LOGITS, toy_loss, 4)
