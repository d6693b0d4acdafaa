"""Mean-field Gaussian layers (thermolab.nn.bayes): KL, entropy, sampling, counting, models.

Monte-Carlo checks use fixed seeds and Z = 4.5 standard errors (normal tail 7·10⁻⁶ each).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from thermolab.backends import get_backend
from thermolab.models import GPTConfig, TinyGPT, make_stochastic, stochastic_layer_names
from thermolab.nn.bayes import (
    MeanFieldGaussianLinear,
    gaussian_layers,
    make_gaussian,
    n_stochastic_parameters,
    total_entropy,
    total_kl,
    weight_mode,
)

Z = 4.5


def spread_layer(seed: int = 0, prior_std: float = 0.5) -> MeanFieldGaussianLinear:
    """A 4 → 3 layer whose μ and σ differ per weight (σ from 0.05 to 1.6)."""
    torch.manual_seed(seed)
    layer = MeanFieldGaussianLinear(4, 3, prior_std=prior_std, seed=seed)
    with torch.no_grad():
        for mu, log_var in layer._means_and_log_vars():
            mu.normal_(0.0, 0.7)
            log_var.uniform_(2 * math.log(0.05), 2 * math.log(1.6))
    return layer


def log_densities(layer: MeanFieldGaussianLinear, n: int) -> torch.Tensor:
    """Σ over weights of log q(w) − log p(w) for n draws of the layer's own sampler: (n,)."""
    prior = Normal(0.0, layer.prior_std)
    values = []
    with torch.no_grad():
        for _ in range(n):
            weight, bias = layer.sample_weights()
            total = 0.0
            for w, (mu, log_var) in zip((weight, bias), layer._means_and_log_vars(), strict=True):
                q = Normal(mu, torch.exp(0.5 * log_var))
                total += (q.log_prob(w) - prior.log_prob(w)).sum()
            values.append(total)
    return torch.stack(values)


def test_kl_matches_a_monte_carlo_estimate():
    layer = spread_layer()
    samples = log_densities(layer, 4000)
    estimate = samples.mean().item()
    standard_error = samples.std().item() / math.sqrt(len(samples))
    assert abs(layer.kl_divergence().item() - estimate) < Z * standard_error
    # The check has teeth: a KL against a prior twice as wide is many errors away.
    wider = spread_layer(prior_std=1.0).kl_divergence().item()
    assert abs(wider - estimate) > 10 * standard_error


def test_entropy_is_the_gaussian_closed_form_and_matches_monte_carlo():
    layer = spread_layer()
    expected = sum(
        Normal(mu, torch.exp(0.5 * log_var)).entropy().sum()
        for mu, log_var in layer._means_and_log_vars()
    )
    torch.testing.assert_close(layer.entropy(), expected)
    with torch.no_grad():
        draws = []
        for _ in range(4000):
            weight, bias = layer.sample_weights()
            draws.append(
                -sum(
                    Normal(mu, torch.exp(0.5 * lv)).log_prob(w).sum()
                    for w, (mu, lv) in zip((weight, bias), layer._means_and_log_vars(), strict=True)
                )
            )
    draws = torch.stack(draws)
    error = draws.std().item() / math.sqrt(len(draws))
    assert abs(draws.mean().item() - layer.entropy().item()) < Z * error


def test_kl_is_zero_when_q_is_the_prior_and_both_are_differentiable():
    layer = MeanFieldGaussianLinear(5, 2, init_std=0.3, prior_std=0.3)
    with torch.no_grad():
        layer.weight_mu.zero_()
        layer.bias_mu.zero_()
    assert abs(layer.kl_divergence().item()) < 1e-5
    (layer.kl_divergence() + layer.entropy()).backward()
    # d KL / d log σ² = ½(σ²/σ_p² − 1) = 0 here, d H / d log σ² = ½.
    torch.testing.assert_close(layer.weight_log_var.grad, torch.full((2, 5), 0.5))


def test_gradients_reach_mu_and_sigma_through_the_sample():
    layer = spread_layer()
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(1))
    layer(x).pow(2).sum().backward()
    for parameter in (layer.weight_mu, layer.weight_log_var, layer.bias_mu, layer.bias_log_var):
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all()
        assert parameter.grad.abs().sum() > 0
    layer.zero_grad()
    layer(x).sum().backward()  # linear in w: d/dμ is x summed over the batch
    torch.testing.assert_close(layer.weight_mu.grad, x.sum(0).expand(3, 4))


def test_forward_mean_and_variance_are_those_of_q():
    layer = spread_layer()
    x = torch.tensor([[1.0, -0.5, 2.0, 0.3]])
    with torch.no_grad():
        outputs = torch.cat([layer(x) for _ in range(4000)])
    mean = F.linear(x, layer.weight_mu, layer.bias_mu)[0]
    variance = (layer.weight_log_var.exp() * x**2).sum(1) + layer.bias_log_var.exp()
    n = outputs.shape[0]
    assert ((outputs.mean(0) - mean).abs() < Z * (variance / n).sqrt()).all()
    # For Gaussian outputs the sample variance has standard error σ² √(2/(n−1)).
    assert ((outputs.var(0) - variance).abs() < Z * variance * math.sqrt(2 / (n - 1))).all()


@pytest.mark.parametrize(
    ("method", "counter_key", "per_weight"),
    [("native", "random_numbers", 1), ("pbit", "samples", 16)],
)
def test_each_forward_draws_one_noise_value_per_weight(method, counter_key, per_weight):
    backend = get_backend("torch", seed=3)
    layer = MeanFieldGaussianLinear(6, 5, backend=backend, noise_method=method)
    assert layer.n_weights == 6 * 5 + 5
    x = torch.randn(10, 6)
    first, second = layer(x), layer(x)
    assert not torch.equal(first, second)
    assert backend.counter.snapshot()[counter_key] == 2 * per_weight * layer.n_weights
    no_bias = MeanFieldGaussianLinear(6, 5, bias=False, backend=backend, noise_method=method)
    before = backend.counter.snapshot()[counter_key]
    no_bias(x)
    assert backend.counter.snapshot()[counter_key] - before == per_weight * 30


def test_mean_mode_is_deterministic_and_draws_nothing():
    linear = nn.Linear(6, 4)
    layer = MeanFieldGaussianLinear.from_linear(linear, init_std=0.5)
    layer.weight_mode = "mean"
    x = torch.randn(3, 2, 6)
    before = layer.backend.counter.snapshot()
    assert torch.equal(layer(x), layer(x))
    torch.testing.assert_close(layer(x), linear(x))
    assert layer.backend.counter.snapshot() == before
    layer.weight_mode = "sample"
    assert layer(x).shape == (3, 2, 4)
    assert (layer(x) - linear(x)).abs().max() > 0.1  # σ = 0.5 noise is visible


def test_from_linear_copies_means_and_sets_sigma():
    linear = nn.Linear(3, 2, bias=False).double()
    layer = MeanFieldGaussianLinear.from_linear(linear, init_std=0.01, prior_std=2.0)
    assert layer.bias_mu is None and layer.bias_log_var is None
    assert layer.weight_mu.dtype == torch.float64
    torch.testing.assert_close(layer.weight_mu.detach(), linear.weight.detach())
    torch.testing.assert_close(
        layer.weight_log_var.detach(), torch.full((2, 3), 2 * math.log(0.01), dtype=torch.float64)
    )
    assert layer.options() == {
        "init_std": 0.01,
        "prior_std": 2.0,
        "noise_method": "native",
        "n_bits": 16,
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MeanFieldGaussianLinear(3, 2, init_std=0.0), "init_std"),
        (lambda: MeanFieldGaussianLinear(3, 2, prior_std=-1.0), "prior_std"),
        (lambda: MeanFieldGaussianLinear(3, 2, noise_method="exact"), "noise_method"),
        (lambda: MeanFieldGaussianLinear(3, 2, n_bits=0), "n_bits"),
        (lambda: MeanFieldGaussianLinear(0, 2), "in_features"),
    ],
)
def test_bad_options_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ------------------------------------------------------------------ whole models


def small_gpt(seed: int = 0) -> TinyGPT:
    torch.manual_seed(seed)
    return TinyGPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))


def test_layer_names_per_choice():
    model = small_gpt()
    assert stochastic_layer_names(model, "first-qkv") == ["blocks.0.attn.qkv"]
    assert stochastic_layer_names(model, "attention") == [
        "blocks.0.attn.qkv",
        "blocks.0.attn.projection",
        "blocks.1.attn.qkv",
        "blocks.1.attn.projection",
    ]
    every = stochastic_layer_names(model, "all-linear")
    assert len(every) == 8 and "lm_head" not in every and "blocks.1.mlp.proj" in every
    with pytest.raises(ValueError, match="first-qkv"):
        stochastic_layer_names(model, "everything")


@pytest.mark.parametrize("choice", ["first-qkv", "attention", "all-linear"])
def test_make_stochastic_keeps_the_function_and_the_tying(choice):
    model = small_gpt()
    idx = torch.randint(11, (2, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(idx).logits
    names = make_stochastic(model, choice, init_std=0.05)
    assert [name for name, _ in gaussian_layers(model)] == names
    assert model.lm_head.weight is model.token_embedding.weight
    assert all(layer.backend is model.backend for _, layer in gaussian_layers(model))
    with torch.no_grad(), weight_mode(model, "mean"):
        torch.testing.assert_close(model(idx).logits, before)
    counted = model.backend.counter.snapshot()["random_numbers"]
    with torch.no_grad():
        sampled = model(idx).logits
    added = model.backend.counter.snapshot()["random_numbers"] - counted
    assert added == n_stochastic_parameters(model)
    assert not torch.allclose(sampled, before)
    expected = sum(layer.n_weights for _, layer in gaussian_layers(model))
    assert n_stochastic_parameters(model) == expected
    with pytest.raises(ValueError, match="already stochastic"):
        make_stochastic(model, choice)


def test_layers_sharing_a_backend_draw_different_noise():
    model = small_gpt()
    make_stochastic(model, "attention", init_std=0.1)
    first = model.get_submodule("blocks.0.attn.qkv")
    second = model.get_submodule("blocks.1.attn.qkv")
    with torch.no_grad():
        second.weight_mu.copy_(first.weight_mu)
        noise_a = first.sample_weights()[0] - first.weight_mu
        noise_b = second.sample_weights()[0] - second.weight_mu
    assert not torch.allclose(noise_a, noise_b)


def test_totals_and_weight_mode_restores_on_exit():
    model = small_gpt()
    assert total_kl(model).item() == 0.0 and n_stochastic_parameters(model) == 0
    make_stochastic(model, "attention", prior_std=0.2)
    layers = [layer for _, layer in gaussian_layers(model)]
    torch.testing.assert_close(total_kl(model), sum(layer.kl_divergence() for layer in layers))
    torch.testing.assert_close(total_entropy(model), sum(layer.entropy() for layer in layers))
    total_kl(model).backward()
    assert all(layer.weight_mu.grad is not None for layer in layers)
    layers[0].weight_mode = "mean"
    with pytest.raises(RuntimeError), weight_mode(model, "sample"):
        assert all(layer.weight_mode == "sample" for layer in layers)
        raise RuntimeError("leaving the block early")
    assert [layer.weight_mode for layer in layers] == ["mean", "sample", "sample", "sample"]
    with pytest.raises(ValueError, match="weight mode"), weight_mode(model, "median"):
        pass


def test_make_gaussian_takes_any_module_and_the_names_it_is_given():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(5, 3)
    before = model(x)
    assert make_gaussian(model, ["2"], backend=get_backend("torch", seed=1)) == ["2"]
    assert isinstance(model[2], MeanFieldGaussianLinear) and isinstance(model[0], nn.Linear)
    with weight_mode(model, "mean"):
        torch.testing.assert_close(model(x), before)  # μ copies the weights
    with pytest.raises(ValueError, match="already stochastic"):
        make_gaussian(model, ["2"])
