"""Block Gibbs through every backend's counted `bernoulli` against exact conditionals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from thermolab.backends import BackendUnavailable, get_backend
from thermolab.diagnostics import chi_square_test
from thermolab.ebm.model import RBM, random_rbm
from thermolab.ebm.sampling import (
    Conditionals,
    draw,
    gibbs,
    sample_hidden,
    sample_visible,
    to_numpy,
)

BACKENDS = ("numpy", "jax", "torch")
#: A false alarm rate of 0.1 % per test at fixed seeds; a wrong conditional (a sign, a missing
#: bias, a transposed W) moves probabilities by far more than 20,000 samples resolve.
P_VALUE_FLOOR = 1e-3


def backend_or_skip(name: str, seed: int = 0):
    try:
        return get_backend(name, seed=seed)
    except BackendUnavailable as error:
        pytest.skip(str(error))


def tiny_rbm() -> RBM:
    rbm = random_rbm(3, 2, weight_scale=1.2, seed=4)
    return RBM(rbm.weights, [0.5, -0.7, 0.2], [-0.3, 0.8])


def state_counts(states: np.ndarray) -> np.ndarray:
    """Counts of each binary state, numbered with unit 0 as the most significant bit."""
    n = states.shape[1]
    index = states.astype(np.int64) @ (1 << np.arange(n)[::-1])
    return np.bincount(index, minlength=2**n)


def product_probabilities(p_one: np.ndarray) -> np.ndarray:
    """Exact probabilities of every state of independent units with P(unit = 1) = p_one."""
    states = np.array(list(itertools.product([0, 1], repeat=p_one.size)))
    return np.prod(np.where(states == 1, p_one, 1 - p_one), axis=1)


@pytest.mark.parametrize("name", BACKENDS)
def test_conditionals_match_exact_on_every_backend(name):
    backend = backend_or_skip(name, seed=11)
    rbm = tiny_rbm()
    n = 20_000
    for beta in (1.0, 0.5):
        visible = np.tile([1.0, 0.0, 1.0], (n, 1))
        hidden = sample_hidden(rbm, backend, visible, beta)
        exact = product_probabilities(rbm.hidden_probabilities(visible[:1], beta)[0])
        _, _, p_value = chi_square_test(state_counts(hidden), exact)
        assert p_value > P_VALUE_FLOOR, (name, beta, "h | v", p_value)
        given = np.tile([0.0, 1.0], (n, 1))
        visible = sample_visible(rbm, backend, given, beta)
        exact = product_probabilities(rbm.visible_probabilities(given[:1], beta)[0])
        _, _, p_value = chi_square_test(state_counts(visible), exact)
        assert p_value > P_VALUE_FLOOR, (name, beta, "v | h", p_value)
    # Every p-bit went through the backend's counter.
    assert backend.counter.snapshot()["samples"] == 2 * n * (2 + 3)


def test_gibbs_chains_reach_the_exact_marginal():
    # 4,000 independent chains, 30 sweeps each (τ of this model is a few sweeps): their final
    # visible states are independent draws from p(v), compared with exact enumeration.
    backend = backend_or_skip("numpy", seed=3)
    rbm = tiny_rbm()
    visible, hidden = gibbs(rbm, backend, np.zeros((4000, 3)), 30)
    states = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    log_p = -rbm.free_energy(states)
    exact = np.exp(log_p - np.logaddexp.reduce(log_p))
    _, _, p_value = chi_square_test(state_counts(visible), exact)
    assert p_value > P_VALUE_FLOOR
    assert hidden.shape == (4000, 2)


def test_clamped_units_keep_their_values():
    backend = backend_or_skip("numpy")
    rbm = tiny_rbm()
    start = np.tile([1.0, 0.0, 0.0], (50, 1))
    known = np.array([True, True, False])
    visible, _ = gibbs(rbm, backend, start, 5, clamp=known)
    assert np.all(visible[:, :2] == [1.0, 0.0])
    assert 0 < visible[:, 2].mean() < 1


@pytest.mark.parametrize("name", BACKENDS)
def test_conditionals_run_on_the_backends_device_and_match_numpy(name):
    """numpy (float64, the RBM's own conditionals) is the oracle; torch and jax compute the
    products and sigmoids in their own arrays, float64 on a CPU torch and float32 elsewhere,
    so they agree to float32's rounding (inputs of size ~10: 1e-5 absolute)."""
    backend = backend_or_skip(name, seed=3)
    rbm = random_rbm(12, 7, weight_scale=0.8, seed=2)
    rng = np.random.default_rng(5)
    visible = rng.integers(0, 2, (9, 12)).astype(float)
    hidden = rng.integers(0, 2, (9, 7)).astype(float)
    betas = rng.uniform(0.2, 1.0, (9, 1))
    conditionals = Conditionals(rbm, backend)
    for beta in (1.0, betas):
        p_hidden = conditionals.hidden(conditionals.asarray(visible), beta)
        p_visible = conditionals.visible(conditionals.asarray(hidden), beta)
        if name == "torch":
            assert str(p_hidden.device) == backend.device
        elif name == "jax":
            assert type(p_hidden).__module__.startswith("jax")
        else:
            assert isinstance(p_hidden, np.ndarray)
        oracle_hidden = rbm.hidden_probabilities(visible, beta)
        oracle_visible = rbm.visible_probabilities(hidden, beta)
        np.testing.assert_allclose(to_numpy(p_hidden), oracle_hidden, rtol=0, atol=1e-5)
        np.testing.assert_allclose(to_numpy(p_visible), oracle_visible, rtol=0, atol=1e-5)


def test_gibbs_on_numpy_draws_the_same_bits_as_drawing_the_oracles_conditionals():
    """The numpy path is the oracle itself: gibbs equals alternating draws from the RBM's own
    conditionals, bit for bit, with the same seed."""
    rbm = random_rbm(6, 4, weight_scale=1.0, seed=8)
    start = np.random.default_rng(1).integers(0, 2, (5, 6)).astype(float)
    visible, hidden = gibbs(rbm, get_backend("numpy", seed=9), start, 3, beta=0.7)
    backend, expected = get_backend("numpy", seed=9), start
    for _ in range(3):
        expected_hidden = draw(backend, rbm.hidden_probabilities(expected, 0.7))
        expected = draw(backend, rbm.visible_probabilities(expected_hidden, 0.7))
    np.testing.assert_array_equal(visible, expected)
    np.testing.assert_array_equal(hidden, expected_hidden)
