"""Which predictions a person should check: review flags, risk–coverage and its area (AURC).

A model with predictive samples (Gaussian weights, sampled attention, or MC p-bit dropout)
gives, per token, the predictive entropy H[p̄] (total uncertainty) and the mutual information
I(y; sample) = H[p̄] − mean_k H[p_k] (epistemic uncertainty) over its K samples; see
`thermolab.training.calibration.uncertainty_split`.

- Flags: a token is flagged for review when its mutual information reaches a threshold
  (nats): threshold 0 flags every token, one above the largest MI none.
- Risk–coverage (Geifman & El-Yaniv 2017): rank tokens from most to least confident by an
  uncertainty score, keep the first k; coverage = k / n, risk = the error rate (top-1
  prediction ≠ target) among the kept. Tokens with equal scores are kept in a random order;
  the curve gives the risk's expectation over those orders (errors of a tie group are spread
  evenly over its members), so a constant score yields the flat overall error rate.
- AURC: the mean of risk over the n coverages k / n, k = 1 … n. A perfect ranking (every
  error last) with e errors among n tokens has AURC* = e/n − (1 − e/n)(H_n − H_{n−e}), H the
  harmonic numbers; as n → ∞ this tends to r + (1 − r) ln(1 − r), r = e/n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "REVIEW_SCORES",
    "Review",
    "aurc",
    "flag_tokens",
    "perfect_aurc",
    "review",
    "risk_coverage",
]

#: The uncertainty scores tokens are ranked by: predictive entropy and mutual information.
REVIEW_SCORES: tuple[str, ...] = ("entropy", "mutual_information")
#: Points kept of a risk–coverage curve in a stored summary (coverage 1/n … 1, thinned).
CURVE_POINTS = 101


def flag_tokens(mutual_information: torch.Tensor, threshold: float) -> torch.Tensor:
    """Bool mask, same shape: True where a token's mutual information (nats) ≥ threshold."""
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"review threshold must be finite and ≥ 0, got {threshold}")
    return mutual_information.double() >= threshold  # float64: a float32 cast could round up to it


def _ranked_errors(scores: torch.Tensor, errors: torch.Tensor) -> torch.Tensor:
    """Errors (float64) in order of increasing score, each tie group's errors spread evenly."""
    scores = scores.reshape(-1).double()
    errors = errors.reshape(-1).double()
    if scores.shape != errors.shape or scores.numel() == 0:
        raise ValueError("scores and errors must be non-empty and of the same size")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("uncertainty scores must be finite")
    order = torch.argsort(scores, stable=True)
    scores, errors = scores[order], errors[order]
    _, group, sizes = torch.unique_consecutive(scores, return_inverse=True, return_counts=True)
    group_errors = torch.zeros(len(sizes), dtype=torch.float64).index_add_(0, group, errors)
    return (group_errors / sizes)[group]


def risk_coverage(scores: torch.Tensor, errors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(coverage, risk), each (n,) float64: keep the k least uncertain tokens, k = 1 … n.

    scores: uncertainty per token (higher = less confident), any shape; errors: bool or 0/1 of
    the same size, 1 where the top-1 prediction was wrong.
    """
    ranked = _ranked_errors(scores, errors)
    kept = torch.arange(1, ranked.numel() + 1, dtype=torch.float64)
    return kept / ranked.numel(), torch.cumsum(ranked, 0) / kept


def aurc(scores: torch.Tensor, errors: torch.Tensor) -> float:
    """Area under the risk–coverage curve: mean risk over coverages k/n (lower is better)."""
    return float(risk_coverage(scores, errors)[1].mean())


def perfect_aurc(n_tokens: int, n_errors: int) -> float:
    """AURC of a ranking that keeps every correct token first: e/n − (1 − e/n)(H_n − H_{n−e})."""
    if not 0 <= n_errors <= n_tokens or n_tokens < 1:
        raise ValueError(f"need 0 ≤ errors ≤ tokens, tokens ≥ 1, got {n_errors}, {n_tokens}")
    harmonic = sum(1.0 / k for k in range(n_tokens - n_errors + 1, n_tokens + 1))
    rate = n_errors / n_tokens
    return rate - (1.0 - rate) * harmonic


def _thinned(coverage: torch.Tensor, risk: torch.Tensor) -> dict[str, list[float]]:
    index = torch.linspace(0, coverage.numel() - 1, min(CURVE_POINTS, coverage.numel()))
    index = index.round().long()
    return {"coverage": coverage[index].tolist(), "risk": risk[index].tolist()}


@dataclass(frozen=True)
class Review:
    """The review of one validation pass (n tokens). Uncertainties in nats.

    threshold: the MI above which a token is flagged; flagged_fraction: the share flagged.
    error_rate: top-1 error rate of all tokens. aurc: by score name (REVIEW_SCORES);
    perfect_aurc: the best any ranking could do with these errors. curves: per score,
    {"coverage": […], "risk": […]} thinned to at most CURVE_POINTS points.
    """

    threshold: float
    n_tokens: int
    flagged_fraction: float
    error_rate: float
    aurc: dict[str, float]
    perfect_aurc: float
    curves: dict[str, dict[str, list[float]]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "n_tokens": self.n_tokens,
            "flagged_fraction": self.flagged_fraction,
            "error_rate": self.error_rate,
            "aurc": dict(self.aurc),
            "perfect_aurc": self.perfect_aurc,
            "curves": {name: dict(curve) for name, curve in self.curves.items()},
        }


def review(
    entropy: torch.Tensor,
    mutual_information: torch.Tensor,
    errors: torch.Tensor,
    threshold: float,
) -> Review:
    """Flags and risk–coverage for tokens with these uncertainties (nats) and errors, (n,)."""
    errors = errors.reshape(-1)
    scores = {"entropy": entropy, "mutual_information": mutual_information}
    areas, curves = {}, {}
    for name in REVIEW_SCORES:
        coverage, risk = risk_coverage(scores[name], errors)
        areas[name] = float(risk.mean())
        curves[name] = _thinned(coverage, risk)
    n_errors = int(errors.sum())
    return Review(
        threshold=float(threshold),
        n_tokens=errors.numel(),
        flagged_fraction=float(flag_tokens(mutual_information, threshold).double().mean()),
        error_rate=n_errors / errors.numel(),
        aurc=areas,
        perfect_aurc=perfect_aurc(errors.numel(), n_errors),
        curves=curves,
    )
