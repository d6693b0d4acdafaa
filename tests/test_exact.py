"""Exact enumeration against closed forms, and Onsager's formulas against known values."""

import numpy as np
import pytest

from thermolab import exact, problems


@pytest.mark.parametrize("temperature", [0.7, 1.5, 4.0])
def test_ring_partition_function_matches_transfer_matrix(temperature):
    # Periodic chain in zero field: Z = (2 cosh βJ)^n + (2 sinh βJ)^n.
    n, coupling = 12, 0.8
    beta = 1.0 / temperature
    result = exact.enumerate_model(problems.ring(n, coupling), temperature)
    expected = np.log((2 * np.cosh(beta * coupling)) ** n + (2 * np.sinh(beta * coupling)) ** n)
    assert result.log_partition == pytest.approx(expected, rel=1e-12)
    assert result.probabilities.sum() == pytest.approx(1.0)


def test_independent_spins_in_a_field():
    # No couplings: each spin is independent, ⟨E⟩ = −n h tanh(βh), C = n (βh)² / cosh²(βh).
    n, field, temperature = 6, 0.7, 1.3
    model = problems.IsingModel(np.zeros((n, n)), np.full(n, field))
    result = exact.enumerate_model(model, temperature)
    beta_h = field / temperature
    assert result.mean_energy == pytest.approx(-n * field * np.tanh(beta_h))
    assert result.heat_capacity == pytest.approx(n * beta_h**2 / np.cosh(beta_h) ** 2)
    assert result.ground_energy == pytest.approx(-n * field)
    assert result.ground_state_indices.tolist() == [2**n - 1]


def test_heat_capacity_is_the_derivative_of_the_mean_energy():
    model = problems.sherrington_kirkpatrick(9, seed=2, field=0.1)
    step = 1e-5
    upper = exact.enumerate_model(model, 1.0 + step).mean_energy
    lower = exact.enumerate_model(model, 1.0 - step).mean_energy
    derivative = (upper - lower) / (2 * step)
    assert exact.enumerate_model(model, 1.0).heat_capacity == pytest.approx(derivative, rel=1e-6)


def test_ferromagnet_ground_states_and_limits():
    model = problems.square_lattice(4)
    ground_energy, states = exact.ground_states(model)
    assert ground_energy == -32.0
    assert sorted(states.sum(axis=1).tolist()) == [-16, 16]
    cold = exact.enumerate_model(model, 0.05)
    assert cold.mean_abs_magnetization == pytest.approx(1.0)
    hot = exact.enumerate_model(model, 1e6)
    assert hot.mean_magnetization_squared == pytest.approx(1 / 16, rel=1e-4)


def test_state_numbering_round_trips():
    indices = np.arange(2**10)
    np.testing.assert_array_equal(exact.state_indices(exact.index_states(indices, 10)), indices)


def test_enumeration_refuses_large_models_and_bad_temperatures():
    with pytest.raises(ValueError, match="20 spins"):
        exact.enumerate_model(problems.ring(21), 1.0)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="temperature"):
            exact.enumerate_model(problems.ring(5), bad)


def test_onsager_known_values():
    assert exact.critical_temperature() == pytest.approx(2.269185314213022, rel=1e-12)
    # At T_c the energy per spin is −√2 J.
    assert exact.onsager_energy_per_spin(exact.critical_temperature()) == pytest.approx(
        -np.sqrt(2), rel=1e-9
    )
    assert exact.onsager_magnetization(2.5) == 0.0
    assert exact.onsager_magnetization(0.5) == pytest.approx(1.0, abs=1e-6)
    # Low-temperature series −βf = 2β + e^{−8β} + 2e^{−12β} + O(e^{−16β}) (J = 1) gives
    # u = −2 + 8e^{−8β} + 24e^{−12β}; at T = 0.6 the next term, of order 72·e^{−16β}, is 2e-10.
    beta = 1 / 0.6
    assert exact.onsager_energy_per_spin(0.6) == pytest.approx(
        -2 + 8 * np.exp(-8 * beta) + 24 * np.exp(-12 * beta), abs=1e-9
    )


@pytest.mark.parametrize("temperature", [1.2, 2.0, 2.6, 4.0])
def test_onsager_specific_heat_is_the_derivative_of_the_energy(temperature):
    step = 1e-6
    derivative = (
        exact.onsager_energy_per_spin(temperature + step)
        - exact.onsager_energy_per_spin(temperature - step)
    ) / (2 * step)
    assert exact.onsager_specific_heat(temperature) == pytest.approx(derivative, rel=1e-5)


def test_onsager_scales_with_the_coupling():
    assert exact.critical_temperature(2.0) == pytest.approx(2 * exact.critical_temperature())
    assert exact.onsager_energy_per_spin(3.0, coupling=2.0) == pytest.approx(
        2 * exact.onsager_energy_per_spin(1.5)
    )
    with pytest.raises(ValueError):
        exact.onsager_magnetization(1.0, coupling=-1.0)


def test_ground_energy_bound():
    assert exact.ground_energy_bound(problems.square_lattice(8, 1.0, 0.5)) == -128 - 32
    assert exact.ground_energy_bound(problems.square_lattice(8, -1.0)) == -128
    assert exact.ground_energy_bound(problems.square_lattice(5, -1.0)) is None  # frustrated
    assert exact.ground_energy_bound(problems.ring(6)) is None
    model = problems.square_lattice(4, -1.0)
    assert exact.ground_energy_bound(model) == exact.ground_states(model)[0]


def test_ground_energy_reference_enumerates_small_models_and_knows_big_lattices():
    ring = problems.ring(8, coupling=-1.0, field=0.3)
    assert exact.ground_energy_reference(ring) == exact.ground_states(ring)[0]
    assert exact.ground_energy_reference(problems.square_lattice(64, 1.0)) == -2 * 64 * 64
    assert exact.ground_energy_reference(problems.sherrington_kirkpatrick(30, seed=1)) is None


def test_onsager_reference_only_where_onsager_applies():
    energy, magnet = exact.onsager_reference(problems.square_lattice(16, 1.0), 1.8)
    assert energy == pytest.approx(float(exact.onsager_energy_per_spin(1.8)))
    assert magnet == pytest.approx(float(exact.onsager_magnetization(1.8)))
    assert exact.onsager_reference(problems.square_lattice(16, 2.0), 3.0)[0] == pytest.approx(
        float(exact.onsager_energy_per_spin(3.0, 2.0))
    )
    for model in (
        problems.square_lattice(16, 1.0, 0.1),  # a field
        problems.square_lattice(16, -1.0),  # antiferromagnet
        problems.square_lattice(16, 1.0, periodic=False),  # open edges
        problems.ring(16),  # not a lattice
    ):
        assert exact.onsager_reference(model, 1.8) is None, model.name
