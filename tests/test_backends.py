"""Every backend × algorithm samples the Boltzmann distribution, checked against exact results.

Statistical tests use fixed seeds. Thresholds come from the statistics: a chi-square p-value
floor of 1e-3 per test (so the whole file, about twenty such tests, would fail by chance with
probability about 2% if the seeds were redrawn), and "within 4 standard errors" for means, with
standard errors from the integrated autocorrelation time.
"""

import math

import numpy as np
import pytest
import torch

from thermolab import diagnostics, exact, problems
from thermolab.backends import ALGORITHMS, get_backend, temperature_schedule

BACKENDS = ("numpy", "jax", "torch")
P_VALUE_FLOOR = 1e-3


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return get_backend(request.param)


def small_models() -> dict[str, tuple[problems.IsingModel, float]]:
    """Small models (n = 8–12) with their test temperature: ferro, frustrated, with fields."""
    return {
        "ferro ring + field": (problems.ring(10, coupling=1.0, field=0.3), 1.5),
        "SK + field": (problems.sherrington_kirkpatrick(10, seed=4, field=0.2), 1.0),
        "±J Erdős–Rényi": (problems.erdos_renyi(12, 0.35, spin_glass=True, seed=3), 1.2),
        "antiferro 3×3 torus": (problems.square_lattice(3, coupling=-1.0, field=0.5), 1.8),
    }


def empirical_counts(states: np.ndarray) -> np.ndarray:
    n = states.shape[1]
    return np.bincount(exact.state_indices(states), minlength=2**n)


def independent_samples(backend, model, temperature, algorithm, n_samples=4000, sweeps=100):
    """Final states of many short independent chains: i.i.d. draws once the chains mix."""
    result = backend.sample_ising(
        model,
        1.0 / temperature,
        n_sweeps=sweeps,
        n_chains=n_samples,
        algorithm=algorithm,
        seed=11,
        record_every=sweeps,
    )
    return result.states


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", list(small_models()))
def test_state_distribution_matches_exact_enumeration(backend, algorithm, name):
    model, temperature = small_models()[name]
    states = independent_samples(backend, model, temperature, algorithm)
    probabilities = exact.enumerate_model(model, temperature).probabilities
    statistic, dof, p_value = diagnostics.chi_square_test(empirical_counts(states), probabilities)
    assert p_value > P_VALUE_FLOOR, f"chi2={statistic:.1f} on {dof} dof"


def test_the_distribution_test_can_fail(backend):
    """Samples at T = 1.5 tested against T = 2.0: the test must reject them."""
    model, _ = small_models()["ferro ring + field"]
    states = independent_samples(backend, model, 1.5, "gibbs")
    wrong = exact.enumerate_model(model, 2.0).probabilities
    assert diagnostics.chi_square_test(empirical_counts(states), wrong)[2] < 1e-6


def mean_with_error(trace: np.ndarray) -> tuple[float, float]:
    tau = diagnostics.integrated_autocorrelation_time(trace)
    return float(trace.mean()), float(trace.std() * math.sqrt(tau / trace.size))


# Finite-size allowance for L = 32 (periodic): away from T_c the corrections to the energy and
# to the spontaneous magnetisation decay like exp(−L/ξ) with ξ ≈ 1 lattice spacing at these
# temperatures, far below 1e-4. Above T_c the infinite lattice has m = 0 while a finite one has
# ⟨|m|⟩ ≈ √(2χT/(πN)); with χ(T = 3.5) ≈ 0.8 (high-temperature series) that is ≈ 0.047, and we
# allow 0.08 for it.
ONSAGER_CASES = [(1.6, 1e-4, 1e-4), (3.5, 1e-4, 0.08)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("temperature", "energy_allowance", "magnet_allowance"), ONSAGER_CASES)
def test_lattice_matches_onsager(
    backend, algorithm, temperature, energy_allowance, magnet_allowance
):
    model = problems.square_lattice(32)
    burn_in, sweeps = 200, 1200
    result = backend.sample_ising(
        model,
        1.0 / temperature,
        n_sweeps=burn_in + sweeps,
        n_chains=4,
        algorithm=algorithm,
        seed=5,
        initial_state=np.ones(model.n_spins),
    )
    energy, energy_error = mean_with_error(result.energies[burn_in:] / model.n_spins)
    magnet, magnet_error = mean_with_error(np.abs(result.magnetizations[burn_in:]))
    exact_energy = float(exact.onsager_energy_per_spin(temperature))
    exact_magnet = float(exact.onsager_magnetization(temperature))
    assert abs(energy - exact_energy) < 4 * energy_error + energy_allowance
    assert abs(magnet - exact_magnet) < 4 * magnet_error + magnet_allowance


def test_backends_agree_with_each_other():
    """Mean energy of a ±J spin glass at T = 1.5: every pair within 4 combined errors."""
    model = problems.random_regular(64, 3, spin_glass=True, seed=9, field=0.1)
    estimates = {}
    for name in BACKENDS:
        result = get_backend(name).sample_ising(
            model, 1 / 1.5, n_sweeps=1500, n_chains=8, algorithm="gibbs", seed=3
        )
        estimates[name] = mean_with_error(result.energies[300:])
    names = list(estimates)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            (a, a_err), (b, b_err) = estimates[first], estimates[second]
            assert abs(a - b) < 4 * math.hypot(a_err, b_err), (first, second, estimates)


def test_same_seed_same_result(backend):
    model = problems.erdos_renyi(30, 0.2, spin_glass=True, seed=1)
    runs = [
        backend.sample_ising(model, 0.8, n_sweeps=20, n_chains=3, seed=42, record_every=5)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].states, runs[1].states)
    np.testing.assert_array_equal(runs[0].energies, runs[1].energies)
    other = backend.sample_ising(model, 0.8, n_sweeps=20, n_chains=3, seed=43, record_every=5)
    assert not np.array_equal(runs[0].states, other.states)


def test_recorded_energies_are_the_states_energies(backend):
    model = problems.square_lattice(6, coupling=0.7, field=-0.3)
    result = backend.sample_ising(model, 0.5, n_sweeps=7, n_chains=2, record_every=3, seed=2)
    assert result.energies.shape == (2, 2)
    assert result.recorded_sweeps.tolist() == [3, 6]
    np.testing.assert_allclose(result.best_energies, exact.energy(model, result.best_states))
    assert np.all(result.best_energies <= result.energies.min(axis=0) + 1e-4)


def test_per_chain_beta_sets_each_chains_temperature(backend):
    """Chain 0 at β = 0 is uniform (⟨m⟩ = 0); chain 1 at β = 3 with h = 1 is all up."""
    model = problems.ring(50, coupling=0.0, field=1.0)
    result = backend.sample_ising(model, [0.0, 3.0], n_sweeps=200, n_chains=2, seed=0)
    magnet = result.magnetizations[20:]
    # β = 0: each m is a mean of 50 fair ±1 spins, sd 1/√50 per record, records independent.
    assert abs(magnet[:, 0].mean()) < 4 / math.sqrt(50 * len(magnet))
    # β = 3, h = 1: P(s = +1) = p = σ(6) = 0.99753, so ⟨m⟩ = tanh(3); s has sd 2√(p(1 − p))
    # = 0.099, so m has sd 0.099/√50 per record, and records are independent (J = 0).
    sd = 2 * math.sqrt(0.99753 * 0.00247) / math.sqrt(50 * len(magnet))
    assert magnet[:, 1].mean() == pytest.approx(math.tanh(3.0), abs=4 * sd)


def test_annealing_finds_sk_ground_states(backend):
    """20 SK instances with n = 12: the best of 8 annealed chains is the exact ground state.

    Measured success rate: 20/20 on every backend at these settings; we require at least 18.
    """
    schedule = temperature_schedule(2.0, 0.05, 300, "geometric")
    successes = 0
    for seed in range(20):
        model = problems.sherrington_kirkpatrick(12, seed=seed)
        ground_energy, _ = exact.ground_states(model)
        result = backend.anneal(model, schedule, n_chains=8, seed=seed)
        successes += result.best_energies.min() <= ground_energy + 1e-9
    assert successes >= 18


def sign_reversals(trace: np.ndarray) -> int:
    return int(np.sum(np.diff(np.sign(trace)) != 0))


def test_parallel_tempering_mixes_better_than_gibbs_at_low_temperature(backend):
    """An 8×8 ferromagnet at T = 1.6 has two ordered phases, m ≈ ±0.97. Single-temperature
    Gibbs almost never tunnels between them (measured: 0–3 reversals of m in 1500 sweeps);
    replica exchange with a ladder up to T = 4 does (measured: ~300). τ_int is no use here: a
    stuck chain's fluctuations around one phase decorrelate fast and hide that it is stuck.
    """
    model = problems.square_lattice(8)
    ladder = 1.0 / np.geomspace(1.6, 4.0, 8)
    rounds = 1500
    tempering = backend.parallel_tempering(model, ladder, n_rounds=rounds, seed=1)
    plain = backend.sample_ising(model, ladder[0], n_sweeps=rounds, seed=1)
    tempering_reversals = sign_reversals(tempering.magnetizations[:, 0])
    plain_reversals = sign_reversals(plain.magnetizations[:, 0])
    assert tempering_reversals > 10 * (plain_reversals + 1), (tempering_reversals, plain_reversals)
    # By symmetry ⟨m⟩ = 0: tempering gets close, the stuck chain does not.
    assert abs(tempering.magnetizations[:, 0].mean()) < 0.25
    assert abs(plain.magnetizations[:, 0].mean()) > 0.5
    assert tempering.round_trips > 0
    assert np.all((tempering.swap_acceptance > 0) & (tempering.swap_acceptance <= 1))


def test_parallel_tempering_samples_the_cold_distribution(backend):
    model, temperature = small_models()["SK + field"]
    ladder = 1.0 / np.geomspace(temperature, 3.0, 5)
    result = backend.parallel_tempering(model, ladder, n_rounds=3000, seed=4)
    exact_energy = exact.enumerate_model(model, temperature).mean_energy
    energy, error = mean_with_error(result.energies[200:, 0])
    assert abs(energy - exact_energy) < 4 * error


def test_bernoulli_frequencies(backend):
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    draws = np.stack([np.asarray(backend.bernoulli(p, seed=s)) for s in range(2000)])
    frequency = draws.mean(axis=0)
    error = np.sqrt(p * (1 - p) / 2000)
    assert np.all(np.abs(frequency - p) <= 4 * error + 1e-12)
    before = backend.counter.snapshot()["samples"]
    backend.bernoulli(np.full((3, 4), 0.5))
    assert backend.counter.snapshot()["samples"] == before + 12


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-12, 1 + 1e-6])
def test_bernoulli_refuses_any_probability_outside_the_unit_interval(backend, bad):
    """1 + 1e-6, not less: jax draws in float32, where 1 + 1e-12 rounds to 1."""
    p = np.full((4, 5), 0.5)
    p[2, 3] = bad
    before = backend.counter.snapshot()["samples"]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        backend.bernoulli(p)
    assert backend.counter.snapshot()["samples"] == before  # nothing drawn, nothing counted


def test_bernoulli_of_no_probabilities_draws_nothing(backend):
    assert np.asarray(backend.bernoulli(np.zeros((0, 3)))).shape == (0, 3)


def test_categorical_frequencies_and_masks(backend):
    energies = np.array([[0.0, 1.0, 2.0, np.inf], [3.0, 3.0, np.inf, 0.5]])
    temperature, n_samples = 0.7, 20000
    indices = np.asarray(backend.categorical(energies, temperature, n_samples, seed=3))
    assert indices.shape == (n_samples, 2)
    for row in range(2):
        weights = np.exp(-energies[row] / temperature)
        probabilities = weights / weights.sum()
        counts = np.bincount(indices[:, row], minlength=4)
        assert counts[np.isinf(energies[row])].sum() == 0
        _, _, p_value = diagnostics.chi_square_test(counts, probabilities)
        assert p_value > P_VALUE_FLOOR


@pytest.mark.parametrize("n_categories", [1, 2, 3, 64, 100, 257])
def test_torch_categorical_search_matches_boltzmann_at_every_width(n_categories):
    # The branchless search's widths: a single category, powers of two, and widths just past
    # one (probes beyond the last category are clamped). Zero weights (+inf energies) included.
    generator = np.random.default_rng(n_categories)
    energies = generator.exponential(size=n_categories)
    energies[1::7] = np.inf
    n_samples = 200 * n_categories
    indices = np.asarray(get_backend("torch").categorical(energies, 0.5, n_samples, seed=5))
    weights = np.exp(-energies / 0.5)
    counts = np.bincount(indices, minlength=n_categories)
    assert counts[np.isinf(energies)].sum() == 0
    if np.isfinite(energies).sum() > 1:
        _, _, p_value = diagnostics.chi_square_test(counts, weights / weights.sum())
        assert p_value > P_VALUE_FLOOR


def test_torch_categorical_rows_across_search_blocks(monkeypatch):
    # Rows are searched in cache-sized blocks; shrink the blocks so 37 rows span several, and
    # give each row one allowed category so any row mixed up between blocks shows.
    from thermolab.backends import torch_backend

    monkeypatch.setattr(torch_backend, "_BLOCK_BYTES", 5 * (12 * 11 + 33 * 3))
    allowed = np.arange(37) % 11
    energies = np.full((37, 11), np.inf)
    energies[np.arange(37), allowed] = 0.0
    indices = np.asarray(get_backend("torch").categorical(energies, 1.0, 3, seed=0))
    assert np.array_equal(indices, np.broadcast_to(allowed, (3, 37)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b, m: b.sample_ising(m, 1.0, n_sweeps=0), "positive"),
        (lambda b, m: b.sample_ising(m, 1.0, n_sweeps=5, n_chains=-1), "positive"),
        (lambda b, m: b.sample_ising(m, np.nan, n_sweeps=5), "finite"),
        (lambda b, m: b.sample_ising(m, -1.0, n_sweeps=5), "non-negative"),
        (lambda b, m: b.sample_ising(m, [1.0, 2.0, 3.0], n_sweeps=5, n_chains=2), "shape"),
        (lambda b, m: b.sample_ising(m, 1.0, n_sweeps=5, algorithm="wolff"), "algorithm"),
        (lambda b, m: b.sample_ising(m, 1.0, n_sweeps=5, record_every=6), "record_every"),
        (lambda b, m: b.sample_ising(m, 1.0, n_sweeps=5, initial_state=np.zeros(9)), "−1"),
        (lambda b, m: b.sample_ising("lattice", 1.0, n_sweeps=5), "IsingModel"),
        (lambda b, m: b.anneal(m, []), "schedule"),
        (lambda b, m: b.parallel_tempering(m, [1.0], n_rounds=3), "two"),
        (lambda b, m: b.bernoulli([0.5, 1.5]), r"\[0, 1\]"),
        (lambda b, m: b.categorical([[1.0, np.nan]], 1.0, 3), "NaN"),
        (lambda b, m: b.categorical([[1.0, 2.0]], 0.0, 3), "temperature"),
        (lambda b, m: b.categorical([[np.inf, np.inf]], 1.0, 3), "infinite"),
    ],
)
def test_bad_arguments_raise_value_error(backend, call, message):
    with pytest.raises(ValueError, match=message):
        call(backend, problems.square_lattice(3))


def test_schedules():
    betas = temperature_schedule(4.0, 1.0, 4, "linear")
    np.testing.assert_allclose(1 / betas, [4.0, 3.0, 2.0, 1.0])
    np.testing.assert_allclose(1 / temperature_schedule(4.0, 1.0, 3, "geometric"), [4, 2, 1])
    with pytest.raises(ValueError):
        temperature_schedule(0.0, 1.0, 3)


@pytest.mark.parametrize("method", ["native", "pbit"])
def test_torch_normal_moments_and_counts(method):
    """N(0, 1) variates: mean within 4 SE (1/√n), variance within 4 SE (√(2/n)); each value
    costs one random number (native) or n_bits p-bit samples (pbit)."""
    backend = get_backend("torch", seed=5)
    n, n_bits = 200_000, 8
    values = backend.normal((n,), method=method, n_bits=n_bits)
    assert values.shape == (n,) and values.dtype == torch.float32
    assert abs(values.mean().item()) < 4 / math.sqrt(n)
    # Var of the sample variance is (2 + excess kurtosis)/n; the binomial's is −2/n_bits.
    assert abs(values.var().item() - 1.0) < 4 * math.sqrt(2 / n)
    counts = backend.counter.snapshot()
    if method == "native":
        assert counts == {"spin_updates": 0, "random_numbers": n, "samples": 0}
        assert values.unique().numel() > n // 2  # continuous
    else:
        assert counts["samples"] == n * n_bits
        # A standardised Binomial(n_bits, ½): only n_bits + 1 distinct values.
        expected = (torch.arange(n_bits + 1) - n_bits / 2) / math.sqrt(n_bits / 4)
        torch.testing.assert_close(values.unique(), expected)
    again = get_backend("torch", seed=5).normal((n,), method=method, n_bits=n_bits)
    assert torch.equal(values, again)


@pytest.mark.parametrize("n_bits", [5, 16, 20])
def test_torch_pbit_normal_is_an_exact_standardised_binomial(n_bits):
    """The number of set p-bits behind each value is Binomial(n_bits, ½) (χ² test)."""
    values = get_backend("torch", seed=2).normal((50_000,), method="pbit", n_bits=n_bits)
    ones = torch.round(values * math.sqrt(n_bits / 4) + n_bits / 2).to(torch.int64)
    counts = np.bincount(ones.numpy(), minlength=n_bits + 1)
    pmf = np.array([math.comb(n_bits, k) for k in range(n_bits + 1)]) / 2.0**n_bits
    _, _, p_value = diagnostics.chi_square_test(counts, pmf)
    assert p_value > P_VALUE_FLOOR


def test_torch_normal_rejects_bad_arguments():
    backend = get_backend("torch")
    with pytest.raises(ValueError, match="method"):
        backend.normal((3,), method="box-muller")
    with pytest.raises(ValueError, match="n_bits"):
        backend.normal((3,), method="pbit", n_bits=0)
    with pytest.raises(ValueError, match="shape"):
        backend.normal((-1, 2))
