"""Block Gibbs through every backend's counted `bernoulli` against exact conditionals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from thermolab.backends import BackendUnavailable, get_backend
from thermolab.diagnostics import chi_square_test
from thermolab.ebm.model import RBM, random_rbm
from thermolab.ebm.sampling import gibbs, sample_hidden, sample_visible

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
