"""Calibration and uncertainty of next-token predictions.

- Expected calibration error (top-label ECE) and the reliability diagram's bins: predictions
  are grouped by their confidence (the highest probability); ECE is the count-weighted mean
  of |accuracy − confidence| over the bins.
- For a model with a weight distribution, K weight samples give K predictive distributions
  p_k(y | x). Their mean is the predictive distribution; its entropy (total uncertainty)
  splits into the mean entropy of the samples (aleatoric part) and the mutual information
  between y and the weights (epistemic part, ≥ 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Reliability", "UncertaintySplit", "reliability", "uncertainty_split"]


@dataclass(frozen=True)
class Reliability:
    """Reliability diagram data: per-bin confidence, accuracy and count, and the ECE.

    bin_edges: (n_bins + 1,) in [0, 1]. confidence, accuracy: (n_bins,) means within each
    bin (NaN for an empty bin). counts: (n_bins,) predictions per bin. ece: in [0, 1].
    """

    bin_edges: list[float]
    confidence: list[float]
    accuracy: list[float]
    counts: list[int]
    ece: float


def reliability(
    probabilities: torch.Tensor, targets: torch.Tensor, n_bins: int = 15
) -> Reliability:
    """Top-label calibration of `probabilities` (N, V) against integer `targets` (N,)."""
    if probabilities.ndim != 2 or targets.shape != probabilities.shape[:1]:
        raise ValueError(
            f"expected probabilities (N, V) and targets (N,), got {tuple(probabilities.shape)} "
            f"and {tuple(targets.shape)}"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins}")
    confidence, prediction = probabilities.double().max(dim=-1)
    correct = (prediction == targets).double()
    edges = torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64)
    # Bin i holds confidences in (edges[i], edges[i+1]]; confidence is never 0 for V ≥ 1.
    which = torch.clamp(torch.bucketize(confidence, edges[1:-1], right=False), 0, n_bins - 1)
    counts = torch.bincount(which, minlength=n_bins)
    sum_confidence = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, which, confidence)
    sum_correct = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, which, correct)
    safe = counts.clamp(min=1).double()
    mean_confidence = torch.where(counts > 0, sum_confidence / safe, torch.nan)
    mean_accuracy = torch.where(counts > 0, sum_correct / safe, torch.nan)
    ece = float((sum_correct - sum_confidence).abs().sum() / max(int(counts.sum()), 1))
    return Reliability(
        edges.tolist(), mean_confidence.tolist(), mean_accuracy.tolist(), counts.tolist(), ece
    )


@dataclass(frozen=True)
class UncertaintySplit:
    """Per-prediction uncertainty in nats, each (N,): total = aleatoric + epistemic."""

    total: torch.Tensor
    aleatoric: torch.Tensor
    epistemic: torch.Tensor


def _entropy(probabilities: torch.Tensor) -> torch.Tensor:
    return -(probabilities * torch.log(probabilities.clamp_min(1e-30))).sum(dim=-1)


def uncertainty_split(sample_probabilities: torch.Tensor) -> UncertaintySplit:
    """Split the predictive entropy of K weight samples' predictions (K, N, V).

    total: H[mean_k p_k]; aleatoric: mean_k H[p_k]; epistemic: their difference, the mutual
    information I(y; w) (clamped at 0 against rounding).
    """
    if sample_probabilities.ndim != 3:
        raise ValueError(
            f"expected sample probabilities (K, N, V), got {tuple(sample_probabilities.shape)}"
        )
    probabilities = sample_probabilities.double()
    total = _entropy(probabilities.mean(dim=0))
    aleatoric = _entropy(probabilities).mean(dim=0)
    return UncertaintySplit(total, aleatoric, (total - aleatoric).clamp_min(0.0))
