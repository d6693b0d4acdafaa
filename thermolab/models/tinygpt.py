"""TinyGPT: a small character-level causal transformer in the style of nanoGPT, and its files.

    idx (B, T) ─ token_embedding + position_embedding ─ dropout
        ─ blocks × n_layer: x + dropout(attn(ln_1(x))), then x + mlp(ln_2(x))
        ─ ln_f ─ lm_head (its weight is the token embedding's) ─ logits (B, T, vocab)

Attention is `thermolab.nn.ThermodynamicSelfAttention`: at temperature 1 in "softmax" mode it
is ordinary causal attention on PyTorch's fused kernel; its other modes draw attention
weights from the model's backend. Weights start as GPT-2's: N(0, 0.02²), with the two
residual projections of each block scaled by 1/√(2 n_layer), biases 0.

Checkpoints (`save_checkpoint`, `load_checkpoint`) hold only tensors and plain data and are
always read with `torch.load(weights_only=True)`, so opening one never runs code.
`attention_head` reads the newest checkpoint in a folder for the attention explorer.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from thermolab.data import CharVocab
from thermolab.nn.attention import (
    MODES,
    ThermodynamicSelfAttention,
    attention_entropy,
    default_backend,
)
from thermolab.nn.bayes import MeanFieldGaussianLinear, gaussian_layers, make_gaussian, weight_mode

CHECKPOINT_FORMAT = "thermolab.tinygpt/1"
INIT_STD = 0.02
STOCHASTIC_CHOICES: tuple[str, ...] = ("first-qkv", "attention", "all-linear")

__all__ = [
    "CHECKPOINT_FORMAT",
    "PRESETS",
    "STOCHASTIC_CHOICES",
    "Checkpoint",
    "CheckpointError",
    "GPTConfig",
    "GPTOutput",
    "Preset",
    "TinyGPT",
    "attention_head",
    "load_checkpoint",
    "make_stochastic",
    "newest_checkpoint",
    "preset_config",
    "save_checkpoint",
    "stochastic_layer_names",
]


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class GPTConfig:
    """Sizes of a TinyGPT. block_size: the longest context in tokens; n_embd: the width d.

    dropout: residual dropout probability (training only). bias: biases in the linear and
    LayerNorm layers. attention_mode / attention_temperature / attention_samples: the
    `ThermodynamicAttention` mode (one of thermolab.nn.MODES), its temperature T and its K;
    gumbel_temperature: the relaxation temperature τ of the "gumbel" mode.
    """

    vocab_size: int
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    attention_mode: str = "softmax"
    attention_temperature: float = 1.0
    attention_samples: int = 16
    gumbel_temperature: float = 0.5

    def __post_init__(self) -> None:
        sizes = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "attention_samples")
        for name in sizes:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))  # plain ints, e.g. not numpy's
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if self.attention_mode not in MODES:
            raise ValueError(f"attention_mode must be one of {MODES}, got {self.attention_mode!r}")
        temperature = float(self.attention_temperature)
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"attention_temperature must be positive, got {temperature}")
        tau = float(self.gumbel_temperature)
        if not (math.isfinite(tau) and tau > 0):
            raise ValueError(f"gumbel_temperature must be positive, got {tau}")
        object.__setattr__(self, "dropout", float(self.dropout))
        object.__setattr__(self, "attention_temperature", temperature)
        object.__setattr__(self, "gumbel_temperature", tau)
        object.__setattr__(self, "bias", bool(self.bias))


@dataclass(frozen=True)
class Preset:
    """A named model size with the batch size it trains with (batch_size: sequences/step)."""

    name: str
    label: str
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    batch_size: int
    dropout: float


# Dropout is 0 in both: workshop runs are a few thousand steps, short of where these sizes
# overfit Tiny Shakespeare, and a baseline without dropout keeps the comparison about the
# Gaussian weights alone.
PRESETS: dict[str, Preset] = {
    "cpu-quick": Preset("cpu-quick", "CPU quick", 4, 4, 128, 64, 12, 0.0),
    "workshop-gpu": Preset("workshop-gpu", "Workshop GPU", 4, 4, 256, 128, 32, 0.0),
}


def preset_config(name: str, vocab_size: int, **overrides: Any) -> GPTConfig:
    """The GPTConfig of preset `name` for `vocab_size`, with any GPTConfig field overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    allowed = {f.name for f in fields(GPTConfig)} - {"vocab_size"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(f"unknown GPTConfig fields {unknown}: allowed are {sorted(allowed)}")
    preset = PRESETS[name]
    sizes = {
        "block_size": preset.block_size,
        "n_layer": preset.n_layer,
        "n_head": preset.n_head,
        "n_embd": preset.n_embd,
        "dropout": preset.dropout,
    }
    return GPTConfig(vocab_size=vocab_size, **{**sizes, **overrides})


# ------------------------------------------------------------------ the model


@dataclass
class GPTOutput:
    """logits (B, T, vocab); loss: mean cross-entropy over all B·T targets (scalar, nats), or
    None without targets; attention_entropy (n_layer, n_head), nats, or None unless asked."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    attention_entropy: torch.Tensor | None = None


def _dropout(dropout: nn.Dropout, x: torch.Tensor) -> torch.Tensor:
    """x through `dropout`, skipping the call when it cannot drop anything (p = 0, or
    evaluation): the identity, without a module call and a kernel dispatch per use."""
    return dropout(x) if dropout.training and dropout.p > 0 else x


class MLP(nn.Module):
    """Position-wise feed-forward: d → 4d (GELU) → d, then residual dropout."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _dropout(self.dropout, self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """One pre-LayerNorm transformer block: attention, then the MLP, each added to x."""

    def __init__(self, config: GPTConfig, backend: Any) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = ThermodynamicSelfAttention(
            config.n_embd,
            config.n_head,
            causal=True,
            bias=config.bias,
            temperature=config.attention_temperature,
            mode=config.attention_mode,
            n_samples=config.attention_samples,
            gumbel_temperature=config.gumbel_temperature,
            backend=backend,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, *, return_attention_entropy: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, d) → (x (B, T, d), each head's mean attention entropy (n_head,) or None)."""
        entropy = None
        if return_attention_entropy:
            attended, weights = self.attn(self.ln_1(x), return_weights=True)
            entropy = attention_entropy(weights).mean(dim=(0, 2))  # (B, H, T) → (H,)
        else:
            attended = self.attn(self.ln_1(x))
        x = x + _dropout(self.dropout, attended)
        return x + self.mlp(self.ln_2(x)), entropy


class TinyGPT(nn.Module):
    """Causal character-level transformer (see the module docstring).

    backend: the torch backend that the model's stochastic parts draw from (attention in a
    sampled mode, and Gaussian layers made by `make_stochastic`), so one
    operation counter sees them all; default: a new one seeded with 0.
    """

    def __init__(self, config: GPTConfig, *, backend: Any = None) -> None:
        super().__init__()
        self.config = config
        self.backend = backend if backend is not None else default_backend()
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.block_size, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, self.backend) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.token_embedding.weight  # weight tying
        self.apply(_init_weights)
        residual_std = INIT_STD / math.sqrt(2 * config.n_layer)
        for name, parameter in self.named_parameters():
            if name.endswith(("attn.projection.weight", "mlp.proj.weight")):
                nn.init.normal_(parameter, mean=0.0, std=residual_std)

    def num_parameters(self) -> int:
        """Trainable numbers in the model, the tied embedding/head matrix counted once."""
        return sum(p.numel() for p in self.parameters())

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) → the residual stream's input (B, T, d): token + position."""
        if idx.ndim != 2 or idx.dtype.is_floating_point or idx.dtype == torch.bool:
            raise ValueError(
                f"idx must be (batch, time) token ids, got {idx.dtype} {tuple(idx.shape)}"
            )
        length = idx.shape[1]
        if not 1 <= length <= self.config.block_size:
            raise ValueError(
                f"sequence length {length} must lie in [1, block size {self.config.block_size}]"
            )
        positions = torch.arange(length, device=idx.device)
        return _dropout(
            self.dropout, self.token_embedding(idx) + self.position_embedding(positions)
        )

    def _hidden(
        self, idx: torch.Tensor, return_attention_entropy: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Final LayerNorm output (B, T, d) and, if asked, attention entropies (n_layer, H)."""
        x = self.embed(idx)
        entropies = []
        for block in self.blocks:
            x, entropy = block(x, return_attention_entropy=return_attention_entropy)
            entropies.append(entropy)
        stacked = torch.stack(entropies) if return_attention_entropy else None
        return self.ln_f(x), stacked

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        return_attention_entropy: bool = False,
    ) -> GPTOutput:
        """Next-token logits for idx (B, T) int64, T ≤ block_size; see GPTOutput.

        targets (B, T): the token after each input position. With return_attention_entropy,
        every layer computes its attention weights explicitly (slower) and reports each
        head's Shannon entropy of the weights it used, averaged over batch and query rows.
        """
        hidden, entropies = self._hidden(idx, return_attention_entropy)
        logits = self.lm_head(hidden)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(
                    f"targets {tuple(targets.shape)} must match idx {tuple(idx.shape)}"
                )
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return GPTOutput(logits, loss, entropies)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Continue idx (B, T0) by sampling: (B, T0 + max_new_tokens).

        Each step sees the last block_size tokens, divides the logits by `temperature`, keeps
        the `top_k` largest (if given) and samples from their softmax with `generator` (on
        the model's device). The caller chooses the mode: model.eval() turns dropout off;
        Gaussian layers draw fresh weights each step unless in "mean" weight mode.
        """
        if isinstance(max_new_tokens, bool) or int(max_new_tokens) != max_new_tokens:
            raise ValueError(f"max_new_tokens must be an integer, got {max_new_tokens!r}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be ≥ 0, got {max_new_tokens}")
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be positive and finite, got {temperature}")
        if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
            raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
        for _ in range(int(max_new_tokens)):
            hidden, _ = self._hidden(idx[:, -self.config.block_size :], False)
            logits = self.lm_head(hidden[:, -1, :]) / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(int(top_k), logits.shape[-1])).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, -math.inf)
            probabilities = torch.softmax(logits, dim=-1)
            following = torch.multinomial(probabilities, 1, generator=generator)
            idx = torch.cat((idx, following), dim=1)
        return idx


def _init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation: linear and embedding weights N(0, 0.02²), biases 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)


def stochastic_layer_names(model: TinyGPT, choice: str) -> list[str]:
    """Names of the linear layers `choice` makes Gaussian (see STOCHASTIC_CHOICES).

    "first-qkv": the first block's query/key/value projection; "attention": every block's
    attn.qkv and attn.projection; "all-linear": every linear layer except the output head,
    which shares its weight with the token embedding. Names are the same whether or not the
    layers have been made Gaussian already.
    """
    if choice not in STOCHASTIC_CHOICES:
        raise ValueError(f"stochastic layers must be one of {STOCHASTIC_CHOICES}, got {choice!r}")
    if choice == "first-qkv":
        return ["blocks.0.attn.qkv"]
    if choice == "attention":
        return [
            f"blocks.{i}.attn.{part}"
            for i in range(len(model.blocks))
            for part in ("qkv", "projection")
        ]
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, (nn.Linear, MeanFieldGaussianLinear)) and name != "lm_head"
    ]


def make_stochastic(
    model: TinyGPT, choice: str, *, backend: Any = None, **layer_options: Any
) -> list[str]:
    """Make the layers of `stochastic_layer_names(model, choice)` Gaussian, in place
    (`thermolab.nn.bayes.make_gaussian`, whose options it takes). Returns the names replaced.
    """
    return make_gaussian(
        model, stochastic_layer_names(model, choice), backend=backend, **layer_options
    )


# ------------------------------------------------------------------ checkpoints


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or read; the message says which and why."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (in evaluation mode), its vocabulary, how its
    Gaussian layers were made ({"choice": …, layer options} or None) and the trainer's extra."""

    model: TinyGPT
    vocab: CharVocab
    stochastic: dict[str, Any] | None
    extra: dict[str, Any]


def _stochastic_record(model: TinyGPT, stochastic: dict[str, Any] | None) -> dict | None:
    """{"choice", init_std, prior_std, noise_method, n_bits}: what rebuilds the Gaussian layers.

    The options are read from the layers themselves; any the caller gives must agree.
    """
    layers = gaussian_layers(model)
    if stochastic is None:
        if layers:
            raise CheckpointError(
                f"the model has Gaussian layers ({layers[0][0]}, …): pass "
                f"stochastic={{'choice': …}} with one of {STOCHASTIC_CHOICES}"
            )
        return None
    choice = stochastic.get("choice")
    names = [name for name, _ in layers]
    if choice not in STOCHASTIC_CHOICES or names != stochastic_layer_names(model, choice):
        raise CheckpointError(
            f"stochastic choice {choice!r} does not describe the model's Gaussian layers {names}"
        )
    options = layers[0][1].options()
    if any(layer.options() != options for _, layer in layers):
        raise CheckpointError("the model's Gaussian layers were made with different options")
    record = {"choice": choice, **options}
    disagreeing = {k: v for k, v in stochastic.items() if record.get(k, object()) != v}
    if disagreeing:
        raise CheckpointError(
            f"stochastic options {disagreeing} are unknown or disagree with the layers' {options}"
        )
    return record


def save_checkpoint(
    path: str | os.PathLike[str],
    model: TinyGPT,
    vocab: CharVocab,
    *,
    stochastic: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write {"format", "config", "vocab", "stochastic", "model", "extra"} to `path` atomically.

    extra: whatever a trainer needs to resume (optimizer state_dict, step, RNG states as
    tensors, metrics as plain numbers). The file is written beside `path`, read back with
    weights_only=True (anything else, e.g. a numpy array, raises CheckpointError and writes
    nothing), flushed to disk and only then renamed over `path`. Returns the path.
    """
    if vocab.size != model.config.vocab_size:
        raise CheckpointError(
            f"the vocabulary has {vocab.size} characters but the model {model.config.vocab_size}"
        )
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": asdict(model.config),
        "vocab": vocab.chars,
        "stochastic": _stochastic_record(model, stochastic),
        "model": model.state_dict(),
        "extra": dict(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        try:
            torch.load(temporary, map_location="cpu", weights_only=True)
        except Exception as error:
            raise CheckpointError(
                "a checkpoint may hold only tensors, numbers, strings, lists and dicts "
                f"(it is read with weights_only=True): {error}"
            ) from error
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu"
) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint` and rebuild its model on `map_location`.

    Always with weights_only=True: a file holding anything but tensors and plain data is
    refused, never unpickled. Missing, truncated, corrupt or foreign files raise
    CheckpointError.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint (truncated, corrupt, or holding objects "
            f"that are never unpickled): {error}"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a ThermoLab TinyGPT checkpoint")
    try:
        config = GPTConfig(**payload["config"])
        vocab = CharVocab(payload["vocab"])
        if vocab.size != config.vocab_size:
            raise ValueError(f"{vocab.size} vocabulary characters for {config.vocab_size} ids")
        model = TinyGPT(config).to(map_location)
        stochastic = payload["stochastic"]
        if stochastic is not None:
            make_stochastic(model, **stochastic)
        model.load_state_dict(payload["model"])
        extra = dict(payload["extra"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path} is a damaged TinyGPT checkpoint: {error!r}") from error
    return Checkpoint(model.eval(), vocab, stochastic, extra)


def newest_checkpoint(directory: str | os.PathLike[str]) -> Path:
    """The most recently modified *.pt file under `directory` (searched recursively)."""
    candidates = [p for p in Path(directory).rglob("*.pt") if p.is_file()]
    if not candidates:
        raise CheckpointError(
            f"no TinyGPT checkpoint (*.pt) under {directory}: train a model first"
        )
    return max(candidates, key=lambda p: (p.stat().st_mtime_ns, str(p)))


_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}


def attention_head(
    directory: str | os.PathLike[str], text: str, layer: int, head: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One head of the newest checkpoint under `directory`, run on `text`.

    Returns the characters (whitespace shown as ␣ ↵ ⇥) and that head's queries and keys,
    (n, d_head) float32 each: the layer's attn.qkv applied to its LayerNorm'd input, with
    mean weights where layers are Gaussian. `text` is cut to the model's block size;
    characters outside its vocabulary raise ValueError naming them.
    """
    checkpoint = load_checkpoint(newest_checkpoint(directory))
    model, config = checkpoint.model, checkpoint.model.config
    text = text[: config.block_size]
    if not text:
        raise ValueError("type some text for the model to read")
    if not 0 <= int(layer) < config.n_layer:
        raise ValueError(f"layer must lie in [0, {config.n_layer - 1}], got {layer}")
    if not 0 <= int(head) < config.n_head:
        raise ValueError(f"head must lie in [0, {config.n_head - 1}], got {head}")
    ids = torch.as_tensor(checkpoint.vocab.encode(text))[None, :]
    with torch.no_grad(), weight_mode(model, "mean"):
        x = model.embed(ids)
        for block in model.blocks[: int(layer)]:
            x, _ = block(x)
        block = model.blocks[int(layer)]
        queries, keys, _ = block.attn.qkv(block.ln_1(x)).split(config.n_embd, dim=-1)
    d_head = config.n_embd // config.n_head
    columns = slice(int(head) * d_head, (int(head) + 1) * d_head)
    return (
        [_VISIBLE.get(c, c) for c in text],
        queries[0, :, columns].float().numpy(),
        keys[0, :, columns].float().numpy(),
    )
