"""Validation of a TinyGPT: loss, calibration, uncertainty, attention entropy, samples.

A baseline model is evaluated once per batch. A model with Gaussian weight layers is
evaluated twice: with its mean weights μ (deterministic), and as the K-sample predictive
mean p̄(y | x) = (1/K) Σ_k p(y | x, w_k), w_k ~ q, whose entropy splits into aleatoric and
epistemic (mutual information) parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from thermolab.models.tinygpt import TinyGPT
from thermolab.nn.bayes import gaussian_layers, weight_mode
from thermolab.training.calibration import Reliability, reliability, uncertainty_split

__all__ = ["Evaluation", "evaluate", "generate_text"]


@dataclass(frozen=True)
class Evaluation:
    """One validation pass. Losses in nats per token; entropies in nats.

    val_loss: the headline loss (baseline: the model's; stochastic: the predictive mean's).
    val_loss_mean_weights / val_loss_predictive: stochastic models only (else None).
    attention_entropy: (n_layer, n_head) nested lists, mean over tokens of the first batch.
    predictive_entropy / mutual_information: means over tokens (mutual information: stochastic
    models only). reliability: calibration of the headline predictive distribution.
    """

    val_loss: float
    val_loss_mean_weights: float | None
    val_loss_predictive: float | None
    attention_entropy: list[list[float]]
    predictive_entropy: float
    mutual_information: float | None
    reliability: Reliability


def _nll(probabilities: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    picked = probabilities.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -torch.log(picked.clamp_min(1e-30))


@torch.no_grad()
def evaluate(
    model: TinyGPT,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    *,
    predictive_samples: int = 8,
) -> Evaluation:
    """Evaluate on `batches` of (x, y), each (batch, block) int64, in eval mode.

    predictive_samples: K weight samples for the predictive mean (stochastic models only).
    """
    if not batches:
        raise ValueError("evaluation needs at least one batch")
    stochastic = bool(gaussian_layers(model))
    was_training = model.training
    model.eval()
    try:
        with weight_mode(model, "mean"):
            entropy = model(batches[0][0], return_attention_entropy=True).attention_entropy
            mean_probs = [model(x).logits.softmax(dim=-1) for x, _ in batches]
        targets = torch.cat([y.reshape(-1) for _, y in batches])
        flat_mean = torch.cat([p.reshape(-1, p.shape[-1]) for p in mean_probs]).double()
        loss_mean = float(_nll(flat_mean, targets).mean())
        if not stochastic:
            split = uncertainty_split(flat_mean.unsqueeze(0))
            return Evaluation(
                val_loss=loss_mean,
                val_loss_mean_weights=None,
                val_loss_predictive=None,
                attention_entropy=entropy.tolist(),
                predictive_entropy=float(split.total.mean()),
                mutual_information=None,
                reliability=reliability(flat_mean, targets),
            )
        with weight_mode(model, "sample"):
            samples = torch.stack(
                [
                    torch.cat(
                        [
                            model(x).logits.softmax(-1).reshape(-1, flat_mean.shape[-1])
                            for x, _ in batches
                        ]
                    )
                    for _ in range(predictive_samples)
                ]
            ).double()
        predictive = samples.mean(dim=0)
        split = uncertainty_split(samples)
        loss_predictive = float(_nll(predictive, targets).mean())
        return Evaluation(
            val_loss=loss_predictive,
            val_loss_mean_weights=loss_mean,
            val_loss_predictive=loss_predictive,
            attention_entropy=entropy.tolist(),
            predictive_entropy=float(split.total.mean()),
            mutual_information=float(split.epistemic.mean()),
            reliability=reliability(predictive, targets),
        )
    finally:
        model.train(was_training)


@torch.no_grad()
def generate_text(
    model: TinyGPT,
    prompt_ids: list[int],
    decode,
    *,
    n_chars: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """`n_chars` characters sampled after `prompt_ids` (weights sampled afresh per token)."""
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"sampling temperature must be positive, got {temperature}")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(seed)
        prompt = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        out = model.generate(
            prompt, n_chars, temperature=temperature, top_k=top_k, generator=generator
        )
        return decode(out[0, len(prompt_ids) :].tolist())
    finally:
        model.train(was_training)
