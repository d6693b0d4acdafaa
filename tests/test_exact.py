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


# --------------------------------------------------------------------------- finite lattices


def _enumerated_periodic_lattice(length: int, temperature: float) -> tuple[float, float, float]:
    """ln Z, E/N and C/N of the L × L periodic lattice (J = 1) by summing all 2^(L²) states.

    Independent of thermolab: every site's right and lower bond by np.roll, so for L = 2 each
    pair of neighbours is coupled twice, as in Kaufman's formula.
    """
    n = length * length
    index = np.arange(1 << n)
    spins = (2 * ((index[:, None] >> np.arange(n)) & 1) - 1).reshape(-1, length, length)
    energies = -(spins * np.roll(spins, 1, axis=1) + spins * np.roll(spins, 1, axis=2)).sum(
        axis=(1, 2)
    )
    log_weights = -energies / temperature
    top = log_weights.max()
    log_partition = top + np.log(np.exp(log_weights - top).sum())
    probabilities = np.exp(log_weights - log_partition)
    mean = probabilities @ energies
    variance = probabilities @ (energies - mean) ** 2
    return float(log_partition), float(mean / n), float(variance / temperature**2 / n)


@pytest.mark.parametrize("length", [2, 3, 4])
@pytest.mark.parametrize("temperature", [0.7, 1.6, 2.269185314213022, 2.5, 6.0])
def test_finite_lattice_matches_enumeration(length, temperature):
    # Below, at and above T_c, where Kaufman's fourth product changes sign.
    result = exact.square_lattice_exact(length, temperature)
    log_partition, energy, heat_capacity = _enumerated_periodic_lattice(length, temperature)
    assert float(result.log_partition) == pytest.approx(log_partition, rel=1e-12, abs=1e-12)
    assert float(result.energy_per_spin) == pytest.approx(energy, rel=1e-12, abs=1e-12)
    assert float(result.heat_capacity_per_spin) == pytest.approx(heat_capacity, abs=1e-12)


@pytest.mark.parametrize("length", [3, 4])
def test_finite_lattice_matches_thermolab_enumeration(length):
    temperature = 2.1
    enumerated = exact.enumerate_model(problems.square_lattice(length), temperature)
    result = exact.square_lattice_exact(length, temperature)
    n = length * length
    assert float(result.log_partition) == pytest.approx(enumerated.log_partition, rel=1e-12)
    assert float(result.energy_per_spin) == pytest.approx(enumerated.mean_energy / n, rel=1e-12)
    assert float(result.heat_capacity_per_spin) == pytest.approx(
        enumerated.heat_capacity / n, rel=1e-11
    )


def test_finite_lattice_at_the_critical_point():
    critical = exact.critical_temperature()
    # L = 16 at T_c: −1.4531 per spin, 0.039 below Onsager's −√2.
    assert float(exact.square_lattice_exact(16, critical).energy_per_spin) == pytest.approx(
        -1.4531, abs=5e-5
    )
    # Ferdinand & Fisher (1969): at T_c, E/N + √2 ∝ 1/L and C/N = (8K_c²/π) ln L + const
    # + O(ln L / L), so quadrupling L divides the first by 4 and adds (8K_c²/π) ln 4 to C.
    sides = [128, 512, 2048]
    results = [exact.square_lattice_exact(side, critical) for side in sides]
    gaps = [float(r.energy_per_spin) + np.sqrt(2) for r in results]
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=2e-3)
    assert gaps[1] / gaps[2] == pytest.approx(4.0, rel=5e-4)
    slope = 8 * (1 / critical) ** 2 / np.pi * np.log(4)
    steps = np.diff([float(r.heat_capacity_per_spin) for r in results])
    np.testing.assert_allclose(steps, slope, rtol=2e-3)


def test_finite_lattice_approaches_onsager_away_from_the_critical_point():
    # Away from T_c the finite-size corrections decay exponentially in L.
    temperatures = np.array([1.0, 1.8, 3.0, 5.0])
    onsager_energy = exact.onsager_energy_per_spin(temperatures)
    onsager_heat = exact.onsager_specific_heat(temperatures)
    previous = np.inf
    for side in (8, 16, 32, 64, 128):
        result = exact.square_lattice_exact(side, temperatures)
        gap = np.max(np.abs(result.energy_per_spin - onsager_energy))
        assert gap < previous
        previous = gap
    np.testing.assert_allclose(result.energy_per_spin, onsager_energy, rtol=1e-9)
    np.testing.assert_allclose(result.heat_capacity_per_spin, onsager_heat, rtol=1e-7)


def test_finite_lattice_heat_capacity_is_the_derivative_of_the_energy_near_t_c():
    # Smooth through T_c at large L, where Kaufman's fourth product vanishes: C = dE/dT.
    step = 1e-5
    for temperature in (exact.critical_temperature(), 2.2, 2.35):
        upper, lower = exact.square_lattice_exact(
            1000, [temperature + step, temperature - step]
        ).energy_per_spin
        derivative = (upper - lower) / (2 * step)
        heat = float(exact.square_lattice_exact(1000, temperature).heat_capacity_per_spin)
        assert heat == pytest.approx(derivative, rel=1e-5)


def test_finite_lattice_extremes_and_bad_input():
    cold = exact.square_lattice_exact(64, 0.01)
    assert float(cold.energy_per_spin) == -2.0
    assert float(cold.heat_capacity_per_spin) == pytest.approx(0.0, abs=1e-300)
    # High-temperature series, ln Z/N = ln 2 + 2 ln cosh K + tanh⁴K + O(tanh⁶K), L ≥ 5:
    # E/N = −2 tanh K − 4 tanh³K / cosh²K, the next term ~ K⁵ (1e-10 at K = 0.01).
    hot = exact.square_lattice_exact(64, 100.0)
    t = np.tanh(0.01)
    series = -2 * t - 4 * t**3 / np.cosh(0.01) ** 2
    assert float(hot.energy_per_spin) == pytest.approx(series, rel=1e-7)
    assert exact.square_lattice_exact(8, np.array([[1.0, 2.0]])).energy_per_spin.shape == (1, 2)
    assert float(exact.square_lattice_exact(8, 3.0, coupling=2.0).energy_per_spin) == (
        pytest.approx(2 * float(exact.square_lattice_exact(8, 1.5).energy_per_spin))
    )
    for bad_length in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="L must be"):
            exact.square_lattice_exact(bad_length, 2.0)
    for bad_temperature in (0.0, -1.0, np.nan, 1e-4):
        with pytest.raises(ValueError):
            exact.square_lattice_exact(8, bad_temperature)
    with pytest.raises(ValueError):
        exact.square_lattice_exact(8, 2.0, coupling=-1.0)


def test_lattice_reference_gives_both_exact_values_where_they_apply():
    # L = 16 at T_c: the finite lattice's exact energy (−1.4531) is far from Onsager's (−√2).
    t_c = exact.critical_temperature()
    reference = exact.lattice_reference(problems.square_lattice(16), t_c)
    finite = exact.square_lattice_exact(16, t_c)
    assert reference.length == 16
    assert float(reference.exact_energy_per_spin) == float(finite.energy_per_spin)
    assert float(reference.exact_heat_capacity) == float(finite.heat_capacity_per_spin)
    assert abs(float(reference.exact_energy_per_spin) + 1.4531) < 1e-4
    onsager = exact.onsager_reference(problems.square_lattice(16), t_c)
    assert (
        float(reference.onsager_energy_per_spin),
        float(reference.onsager_abs_magnetization),
    ) == onsager
    # Arrays of temperatures; NaN only where the finite-lattice formulas do not reach.
    cold = 2.0 / (exact.MAX_FINITE_LATTICE_BETA_J + 1)  # βJ just beyond the formulas
    many = exact.lattice_reference(problems.square_lattice(6, coupling=2.0), [cold, 1.0, 3.0])
    assert np.isnan(many.exact_energy_per_spin[0])
    np.testing.assert_array_equal(
        many.exact_heat_capacity[1:],
        exact.square_lattice_exact(6, [1.0, 3.0], 2.0).heat_capacity_per_spin,
    )


@pytest.mark.parametrize(
    "model",
    [
        problems.square_lattice(8, field=0.1),
        problems.square_lattice(8, coupling=-1.0),
        problems.square_lattice(8, periodic=False),
        problems.ring(8),
    ],
    ids=["field", "antiferromagnet", "open", "ring"],
)
def test_lattice_reference_is_none_where_neither_solution_applies(model):
    assert exact.lattice_reference(model, 2.0) is None
    assert exact.onsager_reference(model, 2.0) is None
