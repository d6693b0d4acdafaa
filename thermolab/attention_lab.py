"""The attention-temperature explorer's computations: toy inputs, panels, curves, CSV rows.

Everything returns numpy arrays or plain rows so the page and `thermolab.viz.attention` never
touch torch. Sizes are small on purpose: one redraw of the page must take milliseconds.

Conventions: one attention head, queries q (n, d) and keys k (n, d); row i of the weights is
the Boltzmann distribution over keys with energy E_ij = −q_i·k_j / √d at temperature T.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from thermolab.models.tinygpt import attention_head
from thermolab.nn.attention import allowed_positions, attention_entropy, attention_weights
from thermolab.nn.estimators import ESTIMATORS, exact_gradient, per_sample_gradients

MAX_TOKENS = 48
MAX_RANDOM_TOKENS = 64
PANELS: tuple[tuple[str, str], ...] = (
    ("softmax", "exact softmax"),
    ("sampled", "K-sample Boltzmann"),
    ("gumbel", "Gumbel-softmax"),
    ("hard", "hard sample"),
)
CHECKPOINT_ENV = "THERMOLAB_CHECKPOINTS"

__all__ = [
    "MAX_RANDOM_TOKENS",
    "MAX_TOKENS",
    "PANELS",
    "AttentionInput",
    "checkpoint_directory",
    "checkpoint_input",
    "entropy_curve",
    "estimator_study",
    "matrix_rows",
    "mc_error_curve",
    "new_backend",
    "panels",
    "random_input",
    "rows_to_csv",
    "sentence_input",
    "tokenize",
]


@dataclass(frozen=True)
class AttentionInput:
    """One head's queries and keys (float32 numpy, (n, d)) and a label per token."""

    tokens: tuple[str, ...]
    queries: np.ndarray
    keys: np.ndarray
    source: str

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)


def tokenize(sentence: str, level: str = "word") -> list[str]:
    """Word tokens (words and punctuation) or character tokens (spaces shown as '␣')."""
    text = sentence.strip()
    if level == "word":
        return re.findall(r"\w+|[^\w\s]", text)
    if level == "char":
        return ["␣" if c.isspace() else c for c in text]
    raise ValueError(f"token level must be 'word' or 'char', got {level!r}")


def _rng(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *salt]))


def sentence_input(
    sentence: str, level: str = "word", *, dim: int = 16, seed: int = 0
) -> AttentionInput:
    """Toy embeddings for a short sentence: q = W_q x, k = W_k x, x = token + position.

    Each distinct token gets a fixed random embedding (from the seed and its vocabulary rank),
    plus a sinusoidal position code; W_q, W_k are fixed random d × d matrices. Equal tokens at
    different places therefore attend alike but not identically.
    """
    tokens = tokenize(sentence, level)
    if not tokens:
        raise ValueError("the sentence has no tokens: type a few words")
    if len(tokens) < 2:
        raise ValueError(
            f"the sentence has one {level} token; attention needs at least two tokens to "
            "choose between (type a few more)"
        )
    if len(tokens) > MAX_TOKENS:
        raise ValueError(
            f"the sentence has {len(tokens)} {level} tokens; at most {MAX_TOKENS} are shown "
            "(shorten it, or use word tokens)"
        )
    dim = int(dim)
    if dim < 2:
        raise ValueError(f"embedding dimension must be at least 2, got {dim}")
    vocabulary = {token: rank for rank, token in enumerate(sorted(set(tokens)))}
    table = _rng(seed, 1).normal(size=(len(vocabulary), dim))
    positions = np.arange(len(tokens))[:, None]
    frequencies = 1.0 / 100.0 ** (np.arange(dim) // 2 * 2 / dim)
    angles = positions * frequencies[None, :]
    position_code = np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles))
    x = table[[vocabulary[t] for t in tokens]] + 0.5 * position_code
    w_q, w_k = _rng(seed, 2).normal(size=(2, dim, dim)) / math.sqrt(dim)
    return AttentionInput(
        tuple(tokens),
        (x @ w_q).astype(np.float32),
        (x @ w_k).astype(np.float32),
        f"sentence ({level} tokens)",
    )


def random_input(
    n_tokens: int, *, dim: int = 16, scale: float = 1.0, seed: int = 0
) -> AttentionInput:
    """Queries and keys with i.i.d. N(0, scale²) entries: logits have spread ≈ scale²."""
    n_tokens, dim = int(n_tokens), int(dim)
    if not 2 <= n_tokens <= MAX_RANDOM_TOKENS:
        raise ValueError(f"number of tokens must be between 2 and {MAX_RANDOM_TOKENS}")
    if dim < 2:
        raise ValueError(f"dimension must be at least 2, got {dim}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    q, k = _rng(seed, 3).normal(scale=scale, size=(2, n_tokens, dim))
    return AttentionInput(
        tuple(str(i) for i in range(n_tokens)),
        q.astype(np.float32),
        k.astype(np.float32),
        f"random queries and keys (scale {scale:g})",
    )


def checkpoint_directory() -> Path | None:
    """Where TinyGPT checkpoints live, when such a directory exists (else None).

    $THERMOLAB_CHECKPOINTS, or the run store's checkpoint directory (<runs dir>/tinygpt, the
    runs directory being $THERMOLAB_RUNS_DIR or ./runs), where the training page saves them.
    """
    from thermolab.runs import CHECKPOINT_SUBDIR, default_runs_dir

    stored = default_runs_dir() / CHECKPOINT_SUBDIR
    candidate = Path(os.environ.get(CHECKPOINT_ENV, stored))
    return candidate if candidate.is_dir() else None


def newest_checkpoint(directory: Path | None) -> Path | None:
    """The checkpoint the "TinyGPT checkpoint head" source reads: the newest *.pt under
    `directory` (see `checkpoint_directory`), or None when there is none yet (or no TinyGPT
    module to read one)."""
    if directory is None:
        return None
    try:
        from thermolab.models.tinygpt import CheckpointError
        from thermolab.models.tinygpt import newest_checkpoint as newest
    except ImportError:
        return None
    try:
        return newest(directory)
    except CheckpointError:
        return None


def checkpoint_label(path: Path) -> str:
    """Which training a checkpoint comes from, in words: its run id, its mode (baseline or
    tsu) and steps as the trainer recorded them, and when it was saved (local time)."""
    from thermolab.models.tinygpt import load_checkpoint

    extra = load_checkpoint(path).extra
    label = f"run {path.parent.name}"
    if extra.get("mode"):
        label += f" ({extra['mode']})"
    if extra.get("step") is not None:
        label += f" after {extra['step']} steps"
    saved = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{label}, saved {saved}"


def checkpoint_input(
    directory: Path, text: str, *, layer: int = 0, head: int = 0
) -> AttentionInput:
    """One head of a trained TinyGPT on `text`: its queries and keys
    (`thermolab.models.tinygpt.attention_head`, which raises ValueError with the reason)."""
    tokens, q, k = attention_head(directory, text, layer, head)
    return AttentionInput(
        tuple(str(t) for t in tokens),
        np.asarray(q, dtype=np.float32),
        np.asarray(k, dtype=np.float32),
        f"TinyGPT layer {layer} head {head}",
    )


def _tensors(data: AttentionInput) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(data.queries), torch.from_numpy(data.keys)


def _allowed(n: int, causal: bool) -> torch.Tensor | None:
    return allowed_positions(n, n, causal=True) if causal else None


def new_backend(seed: int = 0) -> Any:
    """A fresh torch backend (its own operation counter), seeded."""
    from thermolab.backends import get_backend

    return get_backend("torch", seed=int(seed))


def panels(
    data: AttentionInput,
    temperature: float,
    *,
    n_samples: int = 16,
    gumbel_temperature: float = 0.5,
    causal: bool = False,
    backend: Any,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
    """The four heatmaps and what each cost.

    Returns (weights, costs): weights (n, n) per mode at T, keyed by mode name (see PANELS);
    costs per mode, the backend's operation-counter increments for that mode's draw
    (random numbers and samples; the exact softmax draws none).
    """
    q, k = _tensors(data)
    allowed = _allowed(data.n_tokens, causal)
    weights, costs = {}, {}
    with torch.no_grad():
        for offset, (mode, _) in enumerate(PANELS):
            before = backend.counter.snapshot()
            weights[mode] = attention_weights(
                q,
                k,
                temperature=temperature,
                mode=mode,
                n_samples=n_samples,
                gumbel_temperature=gumbel_temperature,
                allowed=allowed,
                backend=backend,
                seed=seed + offset,
            ).numpy()
            after = backend.counter.snapshot()
            costs[mode] = {name: after[name] - before[name] for name in after}
    return weights, costs


def entropy_curve(
    data: AttentionInput, temperatures: Sequence[float], *, causal: bool = False
) -> np.ndarray:
    """Exact entropy (nats) of each row at each T: (len(temperatures), n). One batched call."""
    q, k = _tensors(data)
    allowed = _allowed(data.n_tokens, causal)
    values = [float(t) for t in temperatures]
    if not values or not all(math.isfinite(t) and t > 0 for t in values):
        raise ValueError("temperatures must be positive and finite")
    # Stack the temperatures as a batch: query T·q at T = 1 is query q at temperature T.
    scale = 1.0 / torch.tensor(values, dtype=q.dtype)[:, None, None]
    with torch.no_grad():
        weights = attention_weights(q[None] * scale, k, allowed=allowed)
    return attention_entropy(weights).numpy().astype(np.float64)


def mc_error_curve(
    data: AttentionInput,
    temperature: float,
    sample_counts: Iterable[int],
    *,
    repeats: int = 8,
    causal: bool = False,
    backend: Any,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """RMS error of the K-sample weights against the softmax, per K, with its exact reference.

    error(K) = √(mean_ij (ŵ_ij − w_ij)²), averaged (in square) over `repeats` draws.
    reference(K) = √(mean_ij w_ij (1 − w_ij) / K): the expected value of that mean square,
    since each ŵ_ij is a mean of K Bernoulli(w_ij) indicators — a 1/√K line.
    One categorical call draws repeats × max K samples per row; the estimate for K uses the
    first K of each repeat (so the curve is smooth in K; each point is still unbiased).
    """
    q, k = _tensors(data)
    allowed = _allowed(data.n_tokens, causal)
    counts = np.array(sorted({int(c) for c in sample_counts}), dtype=np.int64)
    if counts.size == 0 or counts[0] < 1:
        raise ValueError("sample counts must be positive integers")
    if repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats}")
    with torch.no_grad():
        exact = attention_weights(q, k, temperature=temperature, allowed=allowed)
        energies = -(q @ k.T) / math.sqrt(q.shape[-1])
        if allowed is not None:
            energies = energies.masked_fill(~allowed, math.inf)
        n_max = int(counts[-1])
        indices = backend.categorical(energies, temperature, repeats * n_max, seed=seed)
        per_repeat = indices.view(repeats, n_max, -1).transpose(1, 2)  # (repeats, rows, K)
        errors = []
        for count in counts:
            first = per_repeat[..., : int(count)]
            tally = torch.zeros((*first.shape[:2], data.n_tokens), dtype=exact.dtype)
            tally.scatter_add_(-1, first, torch.ones_like(first, dtype=exact.dtype))
            errors.append(math.sqrt(float(((tally / count - exact) ** 2).mean())))
        variance = float((exact * (1 - exact)).mean())
    return {
        "samples": counts,
        "rms_error": np.array(errors),
        "reference": np.sqrt(variance / counts),
    }


def _toy_problem(seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    rng = _rng(seed, 4)
    scores = torch.tensor(rng.normal(size=6), dtype=torch.float64)
    costs = torch.tensor(rng.normal(size=6), dtype=torch.float64)
    return scores, costs, 0.3


def estimator_study(
    temperatures: Sequence[float],
    *,
    n_samples: int = 400,
    gumbel_temperature: float = 0.5,
    backend: Any,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Bias and variance of each estimator's gradient vs T on a toy loss with exact gradient.

    Toy: one attention row of 6 keys, y ~ softmax(s / T) one-hot, loss f(y) = (c·y − t)²,
    gradient taken with respect to the logits s / T. Per T and estimator, from n draws:
    bias = ‖mean estimate − exact‖, its standard error, variance = trace of the per-sample
    covariance, and the relative bias ‖bias‖ / ‖exact‖. One row per (T, estimator).
    """
    scores, costs, target = _toy_problem(seed)

    def loss(y: torch.Tensor) -> torch.Tensor:
        return (y @ costs - target) ** 2

    rows = []
    for t_index, temperature in enumerate(temperatures):
        logits = scores / float(temperature)
        exact = exact_gradient(logits, loss)
        for e_index, estimator in enumerate(ESTIMATORS):
            grads = per_sample_gradients(
                estimator,
                logits,
                loss,
                n_samples,
                tau=gumbel_temperature,
                backend=backend,
                seed=seed + 100 * t_index + e_index,
            )
            mean = grads.mean(dim=0)
            variance = float(grads.var(dim=0).sum())
            exact_norm = float(exact.norm())
            bias = float((mean - exact).norm())
            rows.append(
                {
                    "temperature": float(temperature),
                    "estimator": estimator.name,
                    "unbiased_by_construction": estimator.unbiased,
                    "bias": bias,
                    "bias_standard_error": math.sqrt(variance / n_samples),
                    "variance": variance,
                    "relative_bias": bias / exact_norm if exact_norm > 0 else float("nan"),
                    "exact_gradient_norm": exact_norm,
                }
            )
    return rows


def matrix_rows(weights: dict[str, np.ndarray], tokens: Sequence[str]) -> list[dict[str, Any]]:
    """Long-form rows (mode, query, key, weight) of the heatmaps, for CSV export."""
    rows = []
    for mode, matrix in weights.items():
        for i, j in np.ndindex(matrix.shape):
            rows.append(
                {
                    "mode": mode,
                    "query_index": i,
                    "query_token": tokens[i],
                    "key_index": j,
                    "key_token": tokens[j],
                    "weight": float(matrix[i, j]),
                }
            )
    return rows


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV text with a header from the first row's keys (empty string for no rows)."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
