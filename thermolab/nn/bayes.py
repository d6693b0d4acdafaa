"""Mean-field Gaussian weights: a linear layer whose every weight is a distribution.

Each weight w (and bias) has its own Gaussian q(w) = N(μ, σ²), parameterised by μ and
log σ² (`weight_mu`, `weight_log_var`; `bias_mu`, `bias_log_var`). A forward pass in
"sample" mode draws one weight matrix by the reparameterisation trick, w = μ + σ·ε with
ε ~ N(0, 1) from the backend's `normal` (so its operation counter sees every draw), and
gradients reach μ and log σ² through w. "mean" mode uses w = μ (no noise, nothing drawn).

The prior is p(w) = N(0, prior_std²) for every weight. Per weight, in nats:
    KL(q ‖ p) = log(prior_std / σ) + (σ² + μ²) / (2 prior_std²) − ½,
    H[q]      = ½ log(2π e σ²).
`kl_divergence()` and `entropy()` sum these over the layer; the free-energy objective of
`thermolab.training` scales them per training token.

`make_gaussian(model, names)` turns the named nn.Linear layers of any module into Gaussian
ones in place (a model names its own layers, e.g. `thermolab.models.tinygpt.make_stochastic`);
`gaussian_layers`, `total_kl`, `total_entropy`,
`n_stochastic_parameters` and the `weight_mode` context manager act on all of them at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

WeightMode = Literal["sample", "mean"]
NoiseMethod = Literal["native", "pbit"]
WEIGHT_MODES: tuple[str, ...] = ("sample", "mean")
NOISE_METHODS: tuple[str, ...] = ("native", "pbit")
DEFAULT_INIT_STD = 1e-3
DEFAULT_PRIOR_STD = 0.1

__all__ = [
    "DEFAULT_INIT_STD",
    "DEFAULT_PRIOR_STD",
    "NOISE_METHODS",
    "WEIGHT_MODES",
    "MeanFieldGaussianLinear",
    "gaussian_layers",
    "make_gaussian",
    "n_stochastic_parameters",
    "total_entropy",
    "total_kl",
    "weight_mode",
]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


class MeanFieldGaussianLinear(nn.Module):
    """y = x wᵀ + b with w ~ N(μ, σ²) elementwise: a drop-in for nn.Linear, (..., in) → (..., out).

    Parameters: weight_mu, weight_log_var (out, in); bias_mu, bias_log_var (out,), or None
    with bias=False. σ = exp(½ log σ²): log σ² is unconstrained, so no softplus is needed
    and the KL and entropy are simple in it.

    init_std: σ of every weight at the start (default 1e-3, 1/20 of GPT-2's weight scale
        0.02: the layer starts close to the deterministic one it replaces, and the objective
        decides how much noise to keep).
    prior_std: standard deviation of the prior N(0, prior_std²) (default 0.1: five times
        GPT-2's initial weight scale, so the KL barely pulls trained weights towards 0).
    noise_method: how ε is drawn, "native" (torch.randn) or "pbit" (sums of n_bits p-bits).
    weight_mode: "sample" (a fresh w each forward, in training and in evaluation) or "mean".
    backend: a torch backend (default: a new one seeded with `seed`).
    μ starts as nn.Linear's default initialisation; `from_linear` copies a layer's instead.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init_std: float = DEFAULT_INIT_STD,
        prior_std: float = DEFAULT_PRIOR_STD,
        noise_method: NoiseMethod = "native",
        n_bits: int = 16,
        backend: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if noise_method not in NOISE_METHODS:
            raise ValueError(f"noise_method must be one of {NOISE_METHODS}, got {noise_method!r}")
        if isinstance(n_bits, bool) or int(n_bits) != n_bits or n_bits < 1:
            raise ValueError(f"n_bits must be a positive integer, got {n_bits!r}")
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or int(size) != size or size < 1:
                raise ValueError(f"{name} must be a positive integer, got {size!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init_std = _positive("init_std", init_std)
        self.prior_std = _positive("prior_std", prior_std)
        self.noise_method: NoiseMethod = noise_method
        self.n_bits = int(n_bits)
        self.weight_mode: WeightMode = "sample"
        if backend is None:
            from thermolab.backends import get_backend

            backend = get_backend("torch", seed=seed)
        self.backend = backend
        log_var = 2.0 * math.log(self.init_std)
        self.weight_mu = nn.Parameter(torch.empty(self.out_features, self.in_features))
        self.weight_log_var = nn.Parameter(torch.full_like(self.weight_mu, log_var))
        if bias:
            self.bias_mu = nn.Parameter(torch.empty(self.out_features))
            self.bias_log_var = nn.Parameter(torch.full_like(self.bias_mu, log_var))
        else:
            self.register_parameter("bias_mu", None)
            self.register_parameter("bias_log_var", None)
        # nn.Linear's own initialisation of the means.
        nn.init.kaiming_uniform_(self.weight_mu, a=math.sqrt(5))
        if self.bias_mu is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias_mu, -bound, bound)

    @classmethod
    def from_linear(
        cls,
        linear: nn.Linear,
        *,
        init_std: float = DEFAULT_INIT_STD,
        prior_std: float = DEFAULT_PRIOR_STD,
        backend: Any = None,
        seed: int = 0,
        noise_method: NoiseMethod = "native",
        n_bits: int = 16,
    ) -> MeanFieldGaussianLinear:
        """A Gaussian layer with μ = the linear layer's weights (and bias), σ = init_std."""
        layer = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            init_std=init_std,
            prior_std=prior_std,
            noise_method=noise_method,
            n_bits=n_bits,
            backend=backend,
            seed=seed,
        )
        weight = linear.weight.detach()
        layer.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            layer.weight_mu.copy_(weight)
            if linear.bias is not None:
                layer.bias_mu.copy_(linear.bias.detach())
        return layer

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias_mu is not None}, prior_std={self.prior_std}, "
            f"noise_method={self.noise_method!r}, weight_mode={self.weight_mode!r}"
        )

    def options(self) -> dict[str, Any]:
        """The constructor options that rebuild this layer (as stored in checkpoints)."""
        return {
            "init_std": self.init_std,
            "prior_std": self.prior_std,
            "noise_method": self.noise_method,
            "n_bits": self.n_bits,
        }

    def _means_and_log_vars(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        pairs = [(self.weight_mu, self.weight_log_var)]
        if self.bias_mu is not None:
            pairs.append((self.bias_mu, self.bias_log_var))
        return pairs

    @property
    def n_weights(self) -> int:
        """How many Gaussian weights (including biases) the layer holds: ε drawn per forward."""
        return sum(mu.numel() for mu, _ in self._means_and_log_vars())

    def sample_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One draw (w (out, in), b (out,) or None) = μ + σ·ε, ε from the backend in one call."""
        mu = self.weight_mu
        noise = self.backend.normal(
            (self.n_weights,),
            device=mu.device,
            dtype=mu.dtype,
            method=self.noise_method,
            n_bits=self.n_bits,
        )
        n_matrix = mu.numel()
        weight = mu + torch.exp(0.5 * self.weight_log_var) * noise[:n_matrix].view_as(mu)
        bias = None
        if self.bias_mu is not None:
            bias = self.bias_mu + torch.exp(0.5 * self.bias_log_var) * noise[n_matrix:]
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight_mode == "mean":
            return F.linear(x, self.weight_mu, self.bias_mu)
        if self.weight_mode != "sample":
            raise ValueError(f"weight_mode must be one of {WEIGHT_MODES}, got {self.weight_mode!r}")
        weight, bias = self.sample_weights()
        return F.linear(x, weight, bias)

    def kl_divergence(self) -> torch.Tensor:
        """KL(q ‖ N(0, prior_std²)) summed over all weights and biases: scalar, nats."""
        prior_log_var = 2.0 * math.log(self.prior_std)
        prior_var = self.prior_std**2
        total = self.weight_mu.new_zeros(())
        for mu, log_var in self._means_and_log_vars():
            per_weight = 0.5 * (prior_log_var - log_var) + (log_var.exp() + mu**2) / (2 * prior_var)
            total = total + (per_weight - 0.5).sum()
        return total

    def entropy(self) -> torch.Tensor:
        """Differential entropy of q, Σ ½ (log(2π) + 1 + log σ²) over all weights: scalar, nats."""
        constant = 0.5 * (math.log(2 * math.pi) + 1.0)
        total = self.weight_mu.new_zeros(())
        for _, log_var in self._means_and_log_vars():
            total = total + (constant + 0.5 * log_var).sum()
        return total


# ------------------------------------------------------------------ whole models


def make_gaussian(
    model: nn.Module, names: Sequence[str], *, backend: Any = None, **layer_options: Any
) -> list[str]:
    """Replace the linear layers called `names` (as in `model.named_modules()`) by Gaussian
    ones, in place.

    μ copies each layer's weights; `layer_options` (init_std, prior_std, noise_method, n_bits)
    go to `MeanFieldGaussianLinear.from_linear`. All layers share one backend (default: the
    model's own `backend`, so one operation counter sees every random number the model
    draws), hence draw independent noise. Returns the names replaced.
    """
    names = list(names)
    if backend is None:
        backend = getattr(model, "backend", None)
    if backend is None:
        from thermolab.backends import get_backend

        backend = get_backend("torch")
    for name in names:
        linear = model.get_submodule(name)
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"{name} is already stochastic (or not a linear layer)")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        layer = MeanFieldGaussianLinear.from_linear(
            getattr(parent, child), backend=backend, **layer_options
        )
        setattr(parent, child, layer)
    return names


def gaussian_layers(model: nn.Module) -> list[tuple[str, MeanFieldGaussianLinear]]:
    """Every Gaussian layer of the model with its name, in module order."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, MeanFieldGaussianLinear)
    ]


def _sum(model: nn.Module, values: list[torch.Tensor]) -> torch.Tensor:
    if values:
        return torch.stack(values).sum()
    parameter = next(model.parameters(), None)
    return torch.zeros((), device=parameter.device if parameter is not None else None)


def total_kl(model: nn.Module) -> torch.Tensor:
    """Σ KL(q ‖ prior) over every Gaussian layer: scalar, nats (0 when there are none)."""
    return _sum(model, [layer.kl_divergence() for _, layer in gaussian_layers(model)])


def total_entropy(model: nn.Module) -> torch.Tensor:
    """Σ H[q] over every Gaussian layer: scalar, nats (0 when there are none)."""
    return _sum(model, [layer.entropy() for _, layer in gaussian_layers(model)])


def n_stochastic_parameters(model: nn.Module) -> int:
    """How many Gaussian weights the model holds (each with a μ and a log σ² parameter)."""
    return sum(layer.n_weights for _, layer in gaussian_layers(model))


@contextmanager
def weight_mode(model: nn.Module, mode: WeightMode) -> Iterator[None]:
    """Set every Gaussian layer's weight_mode ("sample" or "mean") inside the block, then
    restore each layer's previous mode."""
    if mode not in WEIGHT_MODES:
        raise ValueError(f"weight mode must be one of {WEIGHT_MODES}, got {mode!r}")
    layers = [layer for _, layer in gaussian_layers(model)]
    previous = [layer.weight_mode for layer in layers]
    for layer in layers:
        layer.weight_mode = mode
    try:
        yield
    finally:
        for layer, before in zip(layers, previous, strict=True):
            layer.weight_mode = before
