"""Attention at a temperature T: exact softmax, Boltzmann-sampled, Gumbel-relaxed or hard.

Shapes follow `torch.nn.functional.scaled_dot_product_attention`: queries (..., L, d), keys
(..., S, d), values (..., S, d_v), where ... is usually (batch, heads). Row i of the attention
weights is the Boltzmann distribution over keys j with energy E_ij = −q_i·k_j / √d at
temperature T, i.e. softmax(q_i·kᵀ / (√d · T)). Masked positions get energy +inf (weight 0).

Modes:
- "softmax": the exact expectation of the weights (SDPA where it can be used).
- "sampled": K Boltzmann samples per query row from the backend's `categorical`, averaged
  one-hots: an unbiased Monte-Carlo estimate of the softmax weights. Gradient: that of its
  expectation (the softmax), passed straight through the estimate.
- "gumbel": Gumbel-softmax relaxation, softmax((logits + Gumbel noise) / τ), τ its own
  relaxation temperature; differentiable, biased.
- "hard": one Boltzmann sample per row as a one-hot, straight-through gradient.

A row whose every key is masked gets all-zero weights (and a zero output), never NaN.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from thermolab.nn.estimators import gumbel_noise

Mode = Literal["softmax", "sampled", "gumbel", "hard"]
MODES: tuple[str, ...] = ("softmax", "sampled", "gumbel", "hard")

__all__ = [
    "MODES",
    "ThermodynamicAttention",
    "ThermodynamicSelfAttention",
    "allowed_positions",
    "attention_entropy",
    "attention_weights",
    "default_backend",
]


def default_backend(seed: int = 0) -> Any:
    """A torch backend (samples on the tensors' own device), seeded."""
    from thermolab.backends import get_backend

    return get_backend("torch", seed=seed)


def _check_temperature(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def allowed_positions(
    n_queries: int,
    n_keys: int,
    *,
    causal: bool = False,
    key_padding_mask: torch.Tensor | None = None,
    attn_mask: torch.Tensor | None = None,
    device: Any = None,
) -> torch.Tensor | None:
    """Boolean mask, True where query i may attend to key j; None when nothing is masked.

    causal: key j is allowed for query i when j ≤ i + (S − L) (queries are the last L of S
        positions, as with a key/value cache; S = L is the usual square case).
    key_padding_mask: (batch, S) bool, True = padding (ignored), as in nn.MultiheadAttention;
        it broadcasts to (batch, 1, 1, S), i.e. over heads and queries.
    attn_mask: bool, broadcastable to (..., L, S), True = may attend, as in SDPA.
    """
    allowed = None
    if causal:
        rows = torch.arange(n_queries, device=device)[:, None] + (n_keys - n_queries)
        allowed = torch.arange(n_keys, device=device)[None, :] <= rows
    if key_padding_mask is not None:
        padding = torch.as_tensor(key_padding_mask, device=device)
        if padding.dtype != torch.bool or padding.ndim != 2 or padding.shape[-1] != n_keys:
            raise ValueError(f"key_padding_mask must be bool of shape (batch, {n_keys})")
        keep = ~padding[:, None, None, :]
        allowed = keep if allowed is None else allowed & keep
    if attn_mask is not None:
        mask = torch.as_tensor(attn_mask, device=device)
        if mask.dtype != torch.bool:
            raise ValueError("attn_mask must be boolean (True = may attend)")
        allowed = mask if allowed is None else allowed & mask
    return allowed


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Shannon entropy −Σ_j w_ij log w_ij of each row (nats), with 0 log 0 = 0: shape (...)."""
    logs = torch.where(weights > 0, torch.log(weights.clamp_min(1e-38)), 0.0)
    return -(weights * logs).sum(dim=-1)


class _StraightThrough(torch.autograd.Function):
    """Forward the estimate as it is; backward pass its gradient on to the probabilities.

    The same as estimate + (p − p.detach()) without two full-size tensor operations.
    """

    @staticmethod
    def forward(ctx: Any, estimate: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        return estimate

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, gradient


def _one_hot_mean(indices: torch.Tensor, n_keys: int, dtype: torch.dtype) -> torch.Tensor:
    """Indices (K, ...) → mean over K of one-hots, (..., n_keys)."""
    counts = torch.zeros((*indices.shape[1:], n_keys), dtype=dtype, device=indices.device)
    counts.scatter_add_(
        -1, indices.movedim(0, -1), torch.ones_like(indices, dtype=dtype).movedim(0, -1)
    )
    return counts / indices.shape[0]


def attention_weights(
    query: torch.Tensor,
    key: torch.Tensor,
    *,
    temperature: float = 1.0,
    mode: Mode = "softmax",
    n_samples: int = 16,
    gumbel_temperature: float = 0.5,
    allowed: torch.Tensor | None = None,
    backend: Any = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Attention weights (..., L, S) of one mode at temperature T (see the module docstring).

    query (..., L, d), key (..., S, d); `allowed` from `allowed_positions` (or None).
    backend: a torch backend (default: a new one seeded with 0); seed: per-call seed.
    Rows are distributions over keys (sum to 1) except fully masked rows, which are all 0.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    temperature = _check_temperature("temperature", temperature)
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"query and key dims differ: {query.shape[-1]} vs {key.shape[-1]}")
    scale = 1.0 / math.sqrt(query.shape[-1])
    logits = (query @ key.transpose(-2, -1)) * (scale / temperature)
    live_rows = None
    if allowed is not None:
        # Rows with no allowed key, found on the mask before it is broadcast (a causal mask
        # has none, and then no row needs the extra masking below).
        live_rows = allowed.any(dim=-1, keepdim=True)
        if bool(live_rows.all()):
            live_rows = None
            logits = logits.masked_fill(~allowed, -math.inf)
        else:
            # A fully masked row gets harmless zero logits here and zero weights at the end.
            logits = logits.masked_fill(~allowed & live_rows, -math.inf)
    probabilities = torch.softmax(logits, dim=-1)
    if mode == "softmax":
        weights = probabilities
    elif mode == "gumbel":
        tau = _check_temperature("gumbel_temperature", gumbel_temperature)
        backend = backend if backend is not None else default_backend()
        noise = gumbel_noise(logits.shape, backend, like=logits, seed=seed)
        weights = torch.softmax((logits + noise) / tau, dim=-1)
    else:
        backend = backend if backend is not None else default_backend()
        count = 1 if mode == "hard" else int(n_samples)
        if count < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
        # Energies E_ij = −q_i·k_j/√d, sampled at T; masked keys at +inf are never drawn.
        energies = -(logits.detach() * temperature)
        indices = backend.categorical(energies, temperature, count, seed=seed)
        estimate = _one_hot_mean(indices, logits.shape[-1], probabilities.dtype)
        # Forward: exactly the sampled estimate; backward: the gradient of its expectation.
        weights = _StraightThrough.apply(estimate, probabilities)
    if live_rows is not None:
        weights = weights * live_rows
    return weights


class ThermodynamicAttention(nn.Module):
    """Scaled dot-product attention whose weights are drawn at a temperature T.

    forward(query (..., L, d), key (..., S, d), value (..., S, d_v)) → (..., L, d_v), or
    (output, weights (..., L, S)) with return_weights=True. Usually ... = (batch, heads).

    temperature: T > 0 (T = 1 is ordinary attention). mode: see the module docstring.
    n_samples: K, samples per query row in "sampled" mode. gumbel_temperature: τ of "gumbel".
    dropout: probability of dropping an attention weight in training (p-bit masks from the
    backend, surviving weights scaled by 1/(1 − p)). backend: a torch backend (default: one
    seeded with `seed`). Its operation counter records every sample drawn.
    """

    def __init__(
        self,
        temperature: float = 1.0,
        mode: Mode = "softmax",
        *,
        n_samples: int = 16,
        gumbel_temperature: float = 0.5,
        dropout: float = 0.0,
        backend: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
        self.temperature = _check_temperature("temperature", temperature)
        self.gumbel_temperature = _check_temperature("gumbel_temperature", gumbel_temperature)
        self.mode = mode
        self.n_samples = int(n_samples)
        self.dropout = float(dropout)
        self.backend = backend if backend is not None else default_backend(seed)

    def extra_repr(self) -> str:
        return (
            f"mode={self.mode!r}, temperature={self.temperature}, n_samples={self.n_samples}, "
            f"gumbel_temperature={self.gumbel_temperature}, dropout={self.dropout}"
        )

    def fused(self, return_weights: bool = False) -> bool:
        """Whether a call can go to PyTorch's fused softmax kernel: exact softmax weights,
        not returned, no attention dropout in this (training) call."""
        dropping = self.training and self.dropout > 0
        return self.mode == "softmax" and not return_weights and not dropping

    def fused_causal(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
    ) -> torch.Tensor:
        """Causal attention (query i sees keys 0..i, L = S) on the fused kernel with its own
        causal mask: no mask tensor built or checked per call. Only when `fused()`."""
        scale = 1.0 / (math.sqrt(query.shape[-1]) * self.temperature)
        return F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scale)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        *,
        causal: bool = False,
        key_padding_mask: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        return_weights: bool = False,
        seed: int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Masks as in `allowed_positions`; seed makes one call's samples reproducible."""
        n_queries, n_keys = query.shape[-2], key.shape[-2]
        dropping = self.training and self.dropout > 0
        fast = self.fused(return_weights)
        scale = 1.0 / (math.sqrt(query.shape[-1]) * self.temperature)
        plain_causal = causal and key_padding_mask is None and attn_mask is None
        if fast and plain_causal and n_queries == n_keys:
            return self.fused_causal(query, key, value)
        allowed = allowed_positions(
            n_queries,
            n_keys,
            causal=causal,
            key_padding_mask=key_padding_mask,
            attn_mask=attn_mask,
            device=query.device,
        )
        if fast and (allowed is None or bool(allowed.any(dim=-1).all())):
            return F.scaled_dot_product_attention(query, key, value, attn_mask=allowed, scale=scale)
        weights = attention_weights(
            query,
            key,
            temperature=self.temperature,
            mode=self.mode,
            n_samples=self.n_samples,
            gumbel_temperature=self.gumbel_temperature,
            allowed=allowed,
            backend=self.backend,
            seed=seed,
        )
        if dropping:
            keep = self.backend.bernoulli(torch.full_like(weights.detach(), 1.0 - self.dropout))
            weights = weights * keep / (1.0 - self.dropout)
        output = weights @ value
        return (output, weights) if return_weights else output


class ThermodynamicSelfAttention(nn.Module):
    """Multi-head causal self-attention (nanoGPT layout) around `ThermodynamicAttention`.

    forward(x (batch, L, d_model)) → (batch, L, d_model). One linear layer makes q, k, v for
    all heads, `attention` mixes them per head, one linear layer projects back.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        causal: bool = True,
        bias: bool = True,
        **attention_options: Any,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        self.n_heads = n_heads
        self.causal = causal
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.projection = nn.Linear(d_model, d_model, bias=bias)
        self.attention = ThermodynamicAttention(**attention_options)

    def forward(
        self,
        x: torch.Tensor,
        *,
        key_padding_mask: torch.Tensor | None = None,
        return_weights: bool = False,
        seed: int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        batch, length, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=-1)
        q, k, v = (t.view(batch, length, self.n_heads, -1).transpose(1, 2) for t in (q, k, v))
        attention = self.attention
        if self.causal and key_padding_mask is None and attention.fused(return_weights):
            # Ordinary causal attention straight to the fused kernel, without a second module
            # call per layer: the training step of the softmax baseline is this path.
            output = attention.fused_causal(q, k, v)
            return self.projection(output.transpose(1, 2).reshape(batch, length, d_model))
        result = attention(
            q,
            k,
            v,
            causal=self.causal,
            key_padding_mask=key_padding_mask,
            return_weights=return_weights,
            seed=seed,
        )
        output, weights = result if return_weights else (result, None)
        output = self.projection(output.transpose(1, 2).reshape(batch, length, d_model))
        return (output, weights) if return_weights else output
