"""AIS against exact log Z; pseudo-LL, reconstruction and mixing against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from thermolab.backends import get_backend
from thermolab.ebm.evaluation import (
    ais_log_partition,
    chain_mixing,
    exact_log_partition,
    log_partition,
    pseudo_log_likelihood,
    reconstruction_error,
)
from thermolab.ebm.model import RBM, random_rbm


def structured_rbm(n_visible: int, n_hidden: int, scale: float, seed: int) -> RBM:
    """Random weights plus biases: a multimodal model, harder than W alone."""
    rng = np.random.default_rng(seed)
    rbm = random_rbm(n_visible, n_hidden, weight_scale=scale, seed=seed)
    return RBM(rbm.weights, rng.normal(0, 1, n_visible), rng.normal(0, 1, n_hidden))


@pytest.mark.parametrize("n_hidden", [8, 16])
def test_ais_within_three_standard_errors_of_exact_log_z(n_hidden):
    # Each seed is an independent AIS estimate; its own delta-method stderr should cover the
    # exact value at 3σ (a two-sided 0.3 % miss per seed if the stderr is honest).
    rbm = structured_rbm(24, n_hidden, 0.6, seed=n_hidden)
    exact = exact_log_partition(rbm).value
    for seed in range(4):
        estimate = ais_log_partition(
            rbm, get_backend("numpy", seed=seed), n_temperatures=1000, n_runs=100
        )
        assert estimate.method == "ais" and estimate.n_temperatures == 1000
        assert abs(estimate.value - exact) <= 3 * estimate.stderr, (seed, estimate, exact)


def test_ais_is_biased_low_with_too_few_temperatures():
    # log of an unbiased estimate of Z is biased low (Jensen); with 3 temperatures on a strongly
    # coupled model the bias dwarfs the spread: the mean of 8 seeds lies more than 3 standard
    # errors of that mean (from the seeds' own spread) below the exact value.
    rbm = structured_rbm(30, 10, 2.0, seed=7)
    exact = exact_log_partition(rbm).value
    values = np.array(
        [
            ais_log_partition(rbm, get_backend("numpy", seed=s), n_temperatures=3, n_runs=50).value
            for s in range(8)
        ]
    )
    assert values.mean() < exact - 3 * values.std(ddof=1) / np.sqrt(values.size)
    assert np.all(values < exact)


def test_log_partition_picks_exact_for_small_layers():
    rbm = random_rbm(30, 12, weight_scale=0.3)
    assert log_partition(rbm, get_backend("numpy")).method == "exact"
    big = random_rbm(30, 25, weight_scale=0.3)
    result = log_partition(big, get_backend("numpy"), n_temperatures=50, n_runs=10)
    assert result.method == "ais" and result.stderr > 0


def test_pseudo_log_likelihood_matches_its_definition():
    rbm = structured_rbm(6, 4, 1.0, seed=1)
    data = np.random.default_rng(0).integers(0, 2, (20, 6)).astype(float)
    expected = 0.0
    for v in data:
        for i in range(6):
            flipped = v.copy()
            flipped[i] = 1 - v[i]
            f, g = rbm.free_energy(v), rbm.free_energy(flipped)
            expected += -np.logaddexp(0, f - g)  # log σ(F(flipped) − F(v))
    assert pseudo_log_likelihood(rbm, data) == pytest.approx(expected / len(data), rel=1e-10)
    # With a subset of units per example the estimate is unbiased: the same on average.
    sampled = [pseudo_log_likelihood(rbm, data, max_units=3, seed=s) for s in range(200)]
    assert np.mean(sampled) == pytest.approx(expected / len(data), rel=0.02)


def test_reconstruction_error_and_mixing():
    rbm = structured_rbm(6, 4, 1.0, seed=1)
    data = np.eye(6)
    mean_field = rbm.visible_probabilities(rbm.hidden_probabilities(data))
    assert reconstruction_error(rbm, data) == pytest.approx(np.mean((data - mean_field) ** 2))
    # W = 0: each sweep draws v and h afresh, so successive energies are independent (τ = 1).
    independent = RBM(np.zeros((6, 4)), np.linspace(-1, 1, 6), np.linspace(1, -1, 4))
    mixing = chain_mixing(independent, get_backend("numpy"), np.zeros((50, 6)), n_sweeps=400)
    assert 0.7 < mixing.tau_int < 1.3 and mixing.reliable
    # Strong uniform coupling: an all-off and an all-on mode, crossed rarely (τ ≈ 6 sweeps).
    coupled = RBM(1.5 * np.ones((6, 4)), -2.7 * np.ones(6), -4.5 * np.ones(4))
    slow = chain_mixing(coupled, get_backend("numpy"), np.zeros((50, 6)), n_sweeps=400)
    assert slow.tau_int > 3 * mixing.tau_int
