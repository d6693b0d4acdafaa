"""p-bit layers: dropout (also as MC dropout), stochastic binary units, CLT Gaussian noise.

Means of N i.i.d. draws are checked within Z = 4.5 standard errors (normal tail 7·10⁻⁶ each).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from thermolab.backends import get_backend
from thermolab.nn import (
    PbitDropout,
    PbitGaussianNoise,
    StochasticBinary,
    clt_gaussian_distance,
    mc_predict,
)

Z = 4.5


def test_pbit_dropout_keeps_the_mean_and_counts_pbits():
    backend = get_backend("torch", seed=0)
    layer = PbitDropout(0.3, backend=backend)
    x = torch.ones(20_000)
    out = layer(x)
    kept = (out > 0).float().mean().item()
    assert abs(kept - 0.7) <= Z * math.sqrt(0.7 * 0.3 / x.numel())
    torch.testing.assert_close(out[out > 0], torch.full_like(out[out > 0], 1 / 0.7))
    assert backend.counter.snapshot()["samples"] == x.numel()
    layer.eval()
    assert torch.equal(layer(x), x)


def test_mc_dropout_stays_on_in_evaluation_and_gives_uncertainty():
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), PbitDropout(0.5, mc=True), torch.nn.Linear(8, 1)
    )
    model.eval()
    mean, std = mc_predict(model, torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), 30)
    assert mean.shape == (3, 1) and torch.all(std > 0)
    with pytest.raises(ValueError):
        mc_predict(model, torch.zeros(1, 4), 1)


def test_stochastic_binary_mean_and_straight_through_gradient():
    layer = StochasticBinary(beta=2.0, seed=0)
    x = torch.full((40_000,), 0.3, requires_grad=True)
    spins = layer(x)
    assert set(spins.detach().unique().tolist()) == {-1.0, 1.0}
    expected = math.tanh(0.5 * 2.0 * 0.3)
    assert abs(spins.mean().item() - expected) <= Z * math.sqrt((1 - expected**2) / x.numel())
    spins.sum().backward()
    slope = 0.5 * 2.0 * (1 - expected**2)  # d tanh(βx/2)/dx
    torch.testing.assert_close(x.grad, torch.full_like(x, slope))
    layer.deterministic_eval = True
    layer.eval()
    assert torch.equal(layer(torch.tensor([-0.5, 0.5])).detach(), torch.tensor([-1.0, 1.0]))


def test_pbit_gaussian_noise_moments_and_distance_to_gaussian():
    layer = PbitGaussianNoise(std=2.0, n_bits=16, seed=0)
    x = torch.zeros(50_000)
    noise = layer(x)
    assert layer.backend.counter.snapshot()["samples"] == 16 * x.numel()
    # Mean 0, variance σ² = 4: SE of the mean σ/√N, of the variance σ²·√(2/N) (+kurtosis term).
    assert abs(noise.mean().item()) <= Z * 2.0 / math.sqrt(x.numel())
    assert abs(noise.var().item() - 4.0) <= Z * 4.0 * math.sqrt(2.0 / x.numel())
    # Empirical Kolmogorov distance to N(0, σ²) is near the exact binomial one, not near 0.
    z = np.sort(noise.numpy() / 2.0)
    erf = np.vectorize(math.erf)
    phi = 0.5 * (1 + erf(z / math.sqrt(2)))
    empirical = np.arange(1, z.size + 1) / z.size
    distance = float(np.max(np.abs(empirical - phi)))
    exact = clt_gaussian_distance(16)
    assert abs(distance - exact) < 1.36 / math.sqrt(z.size) * 2  # DKW-type band, generous
    layer.eval()
    assert torch.equal(layer(x), x)


def test_clt_distance_shrinks_like_one_over_root_n():
    distances = [clt_gaussian_distance(n) for n in (1, 4, 16, 64, 256)]
    assert all(a > b for a, b in itertools.pairwise(distances))
    assert distances[0] == pytest.approx(0.3413, abs=1e-3)  # Φ(1) − ½ for a single fair ±1
    # Berry–Esseen for a fair coin: the distance is about 0.4/√n.
    assert distances[-1] * math.sqrt(256) == pytest.approx(0.4, abs=0.03)


@pytest.mark.parametrize(
    "build",
    [
        lambda: PbitDropout(1.0),
        lambda: StochasticBinary(beta=0.0),
        lambda: PbitGaussianNoise(std=-1.0),
        lambda: PbitGaussianNoise(n_bits=0),
    ],
)
def test_bad_arguments_raise(build):
    with pytest.raises(ValueError):
        build()
