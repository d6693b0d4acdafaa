"""The RBM's exact quantities against brute-force enumeration of every (v, h)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from thermolab.ebm.evaluation import exact_log_partition, log_likelihood
from thermolab.ebm.model import RBM, random_rbm
from thermolab.exact import energy as ising_energy


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def brute_force_log_z(rbm: RBM) -> float:
    visible, hidden = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    energies = rbm.energy(visible[:, None, :], hidden[None, :, :])  # (2^nv, 2^nh)
    return float(logsumexp(-energies))


@pytest.mark.parametrize(("n_visible", "n_hidden"), [(5, 3), (3, 5), (6, 6)])
def test_exact_log_partition_and_likelihood_match_brute_force(n_visible, n_hidden):
    rbm = random_rbm(n_visible, n_hidden, weight_scale=1.5, seed=n_visible)
    rbm = RBM(rbm.weights, np.linspace(-1, 1, n_visible), np.linspace(0.5, -0.5, n_hidden))
    log_z = exact_log_partition(rbm)
    assert log_z.method == "exact" and log_z.stderr == 0
    assert log_z.value == pytest.approx(brute_force_log_z(rbm), abs=1e-10)
    data = all_states(n_visible)[::3]
    hidden = all_states(n_hidden)
    log_p = logsumexp(-rbm.energy(data[:, None, :], hidden[None, :, :]), axis=1) - log_z.value
    assert log_likelihood(rbm, data, log_z) == pytest.approx(log_p.mean(), abs=1e-10)


def test_free_energy_sums_out_the_hidden_layer_at_any_temperature():
    rbm = random_rbm(4, 3, weight_scale=1.0, seed=2)
    hidden = all_states(3)
    for beta in (0.3, 1.0, 2.5):
        v = all_states(4)
        summed = logsumexp(-beta * rbm.energy(v[:, None, :], hidden[None, :, :]), axis=1)
        np.testing.assert_allclose(-beta * rbm.free_energy(v, beta), summed, atol=1e-10)


def test_ising_map_reproduces_every_energy():
    rbm = random_rbm(4, 3, weight_scale=1.0, seed=5)
    rbm = RBM(rbm.weights, [0.3, -0.2, 0.1, 0.0], [-0.4, 0.2, 0.7])
    model, offset = rbm.to_ising()
    states = all_states(7)
    spins = 2 * states - 1
    expected = rbm.energy(states[:, :4], states[:, 4:])
    np.testing.assert_allclose(ising_energy(model, spins) + offset, expected, atol=1e-12)
    assert [list(block) for block in model.colouring] == [[0, 1, 2, 3], [4, 5, 6]]


def test_parameters_are_read_only_and_validated():
    rbm = random_rbm(3, 2)
    with pytest.raises(ValueError):
        rbm.weights[0, 0] = 1.0
    with pytest.raises(ValueError, match="NaN"):
        RBM(np.full((2, 2), np.nan), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="shapes"):
        RBM(np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="between 1 and"):
        random_rbm(10**7, 2)
