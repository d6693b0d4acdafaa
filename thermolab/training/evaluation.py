"""Validation of a TinyGPT: loss, calibration, uncertainty, attention entropy, samples.

A deterministic model (point weights, softmax attention) is evaluated once per batch. A model
with predictive samples — Gaussian weight layers, sampled attention ("sampled", "gumbel",
"hard"), or MC p-bit dropout asked for at evaluation — is evaluated twice: deterministically
(mean weights μ, the attention's expectation: softmax), and as the K-sample predictive mean
p̄(y | x) = (1/K) Σ_k p(y | x, s_k), whose entropy splits into aleatoric and epistemic (mutual
information) parts; the per-token split feeds the review flags of `review`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import torch

from thermolab.models.tinygpt import TinyGPT
from thermolab.nn.attention import ThermodynamicAttention
from thermolab.nn.bayes import gaussian_layers, weight_mode
from thermolab.training.calibration import Reliability, reliability, uncertainty_split
from thermolab.training.review import Review, review

__all__ = [
    "Evaluation",
    "evaluate",
    "expected_attention",
    "generate_text",
    "has_predictive_samples",
    "mc_dropout",
    "reviewed_excerpt",
    "reviewed_generation",
]


def _attention_layers(model: torch.nn.Module) -> list[ThermodynamicAttention]:
    return [m for m in model.modules() if isinstance(m, ThermodynamicAttention)]


def has_predictive_samples(model: TinyGPT) -> bool:
    """Whether repeated forward passes differ: Gaussian weights or non-softmax attention."""
    sampled = any(layer.mode != "softmax" for layer in _attention_layers(model))
    return sampled or bool(gaussian_layers(model))


@contextmanager
def expected_attention(model: TinyGPT) -> Iterator[None]:
    """Every attention layer in "softmax" mode (the expectation of its samples) in the block."""
    layers = _attention_layers(model)
    previous = [layer.mode for layer in layers]
    for layer in layers:
        layer.mode = "softmax"
    try:
        yield
    finally:
        for layer, mode in zip(layers, previous, strict=True):
            layer.mode = mode


@contextmanager
def mc_dropout(model: TinyGPT, p: float) -> Iterator[None]:
    """Monte-Carlo p-bit dropout in the block: each block's attention and MLP outputs (the
    residual branches, where TinyGPT's own dropout sits) lose each element with probability
    p, masks from the model's backend `bernoulli`, survivors scaled by 1/(1 − p)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"MC dropout probability must lie in [0, 1), got {p}")

    def drop(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        keep = model.backend.bernoulli(torch.full_like(output.detach(), 1.0 - p))
        return output * keep / (1.0 - p)

    with ExitStack() as hooks:
        if p > 0:
            for block in model.blocks:
                for branch in (block.attn, block.mlp):
                    hooks.callback(branch.register_forward_hook(drop).remove)
        yield


@dataclass(frozen=True)
class Evaluation:
    """One validation pass. Losses in nats per token; entropies in nats.

    val_loss: the headline loss (baseline: the model's; stochastic: the predictive mean's).
    val_loss_mean_weights / val_loss_predictive: stochastic models only (else None).
    attention_entropy: (n_layer, n_head) nested lists, mean over tokens of the first batch.
    predictive_entropy / mutual_information: means over tokens (mutual information: stochastic
    models only). reliability: calibration of the headline predictive distribution.
    review: flags and risk–coverage of the predictive samples (stochastic models only).
    token_uncertainty: per validation token (in batch order), (entropy, mutual information,
    error) as (n,) tensors, stochastic models only.
    """

    val_loss: float
    val_loss_mean_weights: float | None
    val_loss_predictive: float | None
    attention_entropy: list[list[float]]
    predictive_entropy: float
    mutual_information: float | None
    reliability: Reliability
    review: Review | None = None
    token_uncertainty: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None


def _nll(probabilities: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    picked = probabilities.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -torch.log(picked.clamp_min(1e-30))


def _sample_probabilities(
    model: TinyGPT, idx: torch.Tensor, predictive_samples: int, dropout: float
) -> torch.Tensor:
    """(K, B, T, V) next-token probabilities of K stochastic forward passes, in eval mode."""
    sampled_dropout = 0.0 if has_predictive_samples(model) else dropout
    with weight_mode(model, "sample"), mc_dropout(model, sampled_dropout):
        return torch.stack([model(idx).logits.softmax(-1) for _ in range(predictive_samples)])


@torch.no_grad()
def evaluate(
    model: TinyGPT,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    *,
    predictive_samples: int = 8,
    review_threshold: float = 0.05,
    dropout: float = 0.0,
) -> Evaluation:
    """Evaluate on `batches` of (x, y), each (batch, block) int64, in eval mode.

    predictive_samples: K samples for the predictive mean (stochastic models only).
    review_threshold: MI (nats) at which a token is flagged. dropout: MC p-bit dropout
    probability giving a deterministic model predictive samples (0: it has none).
    """
    if not batches:
        raise ValueError("evaluation needs at least one batch")
    stochastic = has_predictive_samples(model) or dropout > 0
    was_training = model.training
    model.eval()
    try:
        with weight_mode(model, "mean"), expected_attention(model):
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
        n_vocab = flat_mean.shape[-1]
        samples = torch.cat(
            [
                _sample_probabilities(model, x, predictive_samples, dropout).reshape(
                    predictive_samples, -1, n_vocab
                )
                for x, _ in batches
            ],
            dim=1,
        ).double()
        predictive = samples.mean(dim=0)
        split = uncertainty_split(samples)
        loss_predictive = float(_nll(predictive, targets).mean())
        errors = predictive.argmax(dim=-1) != targets
        return Evaluation(
            val_loss=loss_predictive,
            val_loss_mean_weights=loss_mean,
            val_loss_predictive=loss_predictive,
            attention_entropy=entropy.tolist(),
            predictive_entropy=float(split.total.mean()),
            mutual_information=float(split.epistemic.mean()),
            reliability=reliability(predictive, targets),
            review=review(split.total, split.epistemic, errors, review_threshold),
            token_uncertainty=(split.total.float(), split.epistemic.float(), errors),
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


@torch.no_grad()
def reviewed_excerpt(
    model: TinyGPT,
    x: torch.Tensor,
    y: torch.Tensor,
    decode,
    *,
    predictive_samples: int = 8,
    dropout: float = 0.0,
) -> dict[str, list]:
    """One validation sequence x, y (T,) with each target's uncertainty under K samples.

    Returns {"chars": the target characters, "mutual_information", "entropy": nats each,
    "errors": whether the predictive mean's top-1 missed}, lists of length T.
    """
    was_training = model.training
    model.eval()
    try:
        samples = _sample_probabilities(model, x[None, :], predictive_samples, dropout)[:, 0]
        split = uncertainty_split(samples.double())
        predicted = samples.mean(0).argmax(-1)
        return {
            "chars": [decode([int(token)]) for token in y.tolist()],
            "mutual_information": split.epistemic.tolist(),
            "entropy": split.total.tolist(),
            "errors": (predicted != y).tolist(),
        }
    finally:
        model.train(was_training)


@torch.no_grad()
def reviewed_generation(
    model: TinyGPT,
    prompt_ids: list[int],
    decode,
    *,
    n_chars: int = 200,
    predictive_samples: int = 8,
    dropout: float = 0.0,
    seed: int = 0,
) -> dict[str, list]:
    """`n_chars` characters drawn from the K-sample predictive mean, each with its uncertainty.

    Returns {"chars", "mutual_information", "entropy"} (nats), lists of length n_chars.
    """
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(seed)
        idx = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        chars, information, entropy = [], [], []
        for _ in range(n_chars):
            context = idx[:, -model.config.block_size :]
            samples = _sample_probabilities(model, context, predictive_samples, dropout)
            last = samples[:, :, -1, :].double()  # (K, 1, V)
            split = uncertainty_split(last)
            following = torch.multinomial(last.mean(0).float(), 1, generator=generator)
            idx = torch.cat((idx, following), dim=1)
            chars.append(decode([int(following)]))
            information.append(float(split.epistemic[0]))
            entropy.append(float(split.total[0]))
        return {"chars": chars, "mutual_information": information, "entropy": entropy}
    finally:
        model.train(was_training)
