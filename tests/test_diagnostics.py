"""Tests of thermolab.diagnostics against processes whose statistics are known exactly.

Every tolerance below is a multiple (4σ unless stated) of the estimator's own standard
deviation, taken from the formula quoted next to it; seeds are fixed, so the tests are
deterministic, and a 4σ band would be missed by a correct implementation with probability
≈ 6e-5 per check for any other seed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.signal import lfilter

from thermolab.diagnostics import (
    autocorrelation,
    binder_cumulant,
    blocking_analysis,
    blocking_error,
    chi_square_test,
    effective_sample_size,
    heat_capacity,
    integrated_autocorrelation_time,
    jackknife,
    kl_divergence,
    mean_with_error,
    split_rhat,
    susceptibility,
    total_variation,
)

N_SIGMA = 4.0


def ar1(phi: float, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Stationary AR(1) x_t = φ x_{t−1} + ε_t, ε ~ N(0, 1), along axis 0.

    σ_x² = 1 / (1 − φ²), ρ(t) = φ^t, τ_int = (1 + φ) / (1 − φ). x_0 is drawn from the
    stationary law, so there is no burn-in.
    """
    eps = np.random.default_rng(seed).standard_normal(shape)
    eps[0] /= math.sqrt(1.0 - phi**2)
    return lfilter([1.0], [1.0, -phi], eps, axis=0)


def ar1_tau(phi: float) -> float:
    return (1.0 + phi) / (1.0 - phi)


def ar1_sigma(phi: float) -> float:
    return 1.0 / math.sqrt(1.0 - phi**2)


def ar1_block_mean_variance(phi: float, block: int) -> float:
    """Exact Var of the mean of `block` consecutive AR(1) values, times `block` (→ σ²τ)."""
    t = np.arange(1, block)
    return ar1_sigma(phi) ** 2 * (1.0 + 2.0 * np.sum((1.0 - t / block) * phi**t))


def sokal_tolerance(tau: float, n_total: int, c: float = 5.0) -> float:
    """N_SIGMA standard deviations of τ̂: var(τ̂) ≈ 2(2M+1)/N · τ² with window M ≈ c·τ."""
    window = math.ceil(c * tau)
    return N_SIGMA * tau * math.sqrt(2.0 * (2 * window + 1) / n_total)


# ----------------------------------------------------------------------------------------------
# autocorrelation, τ_int, ESS
# ----------------------------------------------------------------------------------------------


def test_autocorrelation_matches_direct_sum():
    x = np.random.default_rng(0).standard_normal((37, 3)).cumsum(axis=0)
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    direct = np.array(
        [np.mean(np.sum(centred[: n - t] * centred[t:], axis=0) / n) for t in range(n)]
    )
    np.testing.assert_allclose(autocorrelation(x), direct / direct[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("phi", [0.9, 0.5])
def test_tau_int_of_ar1(phi):
    n = 1_000_000
    tau = integrated_autocorrelation_time(ar1(phi, (n,), seed=1))
    assert abs(tau - ar1_tau(phi)) < sokal_tolerance(ar1_tau(phi), n)


def test_tau_int_of_ar1_several_chains():
    # Chains are combined by averaging autocovariances: the estimate uses all 4 × 250 000.
    phi, shape = 0.9, (250_000, 4)
    tau = integrated_autocorrelation_time(ar1(phi, shape, seed=2))
    assert abs(tau - ar1_tau(phi)) < sokal_tolerance(ar1_tau(phi), shape[0] * shape[1])


def test_tau_int_and_ess_of_iid_normal():
    n = 100_000
    x = np.random.default_rng(3).standard_normal(n)
    tol = sokal_tolerance(1.0, n)  # M ≈ 5 for τ = 1: relative sd sqrt(22/N) ≈ 1.5 %
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a long trace must not be flagged as too short
        assert abs(integrated_autocorrelation_time(x) - 1.0) < tol
        assert abs(effective_sample_size(x) / n - 1.0) < tol


def test_ess_is_n_over_tau():
    x = ar1(0.5, (20_000, 2), seed=4)
    assert effective_sample_size(x) == pytest.approx(40_000 / integrated_autocorrelation_time(x))


def test_tau_int_of_constant_series_is_one():
    assert integrated_autocorrelation_time(np.full(100, 0.1)) == 1.0
    assert integrated_autocorrelation_time(np.full((50, 3), -2.0)) == 1.0


def test_tau_int_warns_when_trace_too_short():
    # τ = 199 and only 200 samples: even the (underestimated) τ̂ exceeds 200 / 50.
    with pytest.warns(RuntimeWarning, match="too short"):
        tau = integrated_autocorrelation_time(ar1(0.99, (200,), seed=5))
    assert math.isfinite(tau) and tau > 0


# ----------------------------------------------------------------------------------------------
# split R̂
# ----------------------------------------------------------------------------------------------


def test_split_rhat_iid_chains_follows_f_distribution():
    # For i.i.d. normal chains the m = 2·n_chains split halves are independent normal samples,
    # so B/W ~ F(m−1, m(n'−1)) exactly, and R̂² = (n'−1)/n' + (B/W)/n'.
    n_samples, n_chains = 2000, 4
    x = np.random.default_rng(6).standard_normal((n_samples, n_chains))
    rhat = split_rhat(x)
    m, half = 2 * n_chains, n_samples // 2
    ratio = half * rhat**2 - half + 1.0
    low, high = stats.f.ppf([0.0005, 0.9995], m - 1, m * (half - 1))
    assert low < ratio < high
    assert abs(rhat - 1.0) < 0.01


def test_split_rhat_matches_definition_with_odd_length():
    x = np.random.default_rng(7).standard_normal((11, 2))
    halves = np.concatenate([x[:5], x[6:]], axis=1)  # middle sample dropped
    w = halves.var(axis=0, ddof=1).mean()
    b = 5 * halves.mean(axis=0).var(ddof=1)
    expected = math.sqrt((4 / 5 * w + b / 5) / w)
    assert split_rhat(x) == pytest.approx(expected, rel=1e-12)


def test_split_rhat_detects_different_means():
    x = np.random.default_rng(8).standard_normal((1000, 4)) + np.array([0.0, 0.0, 0.0, 3.0])
    assert split_rhat(x) > 1.1


def test_split_rhat_detects_drift_within_one_chain():
    n = 1000
    x = np.random.default_rng(9).standard_normal(n) + np.linspace(0.0, 3.0, n)
    assert split_rhat(x) > 1.1


def test_split_rhat_constant_chains():
    assert split_rhat(np.full((10, 3), 2.5)) == 1.0
    assert split_rhat(np.column_stack([np.zeros(10), np.ones(10)])) == math.inf


# ----------------------------------------------------------------------------------------------
# blocking and jackknife errors of a mean
# ----------------------------------------------------------------------------------------------


def test_blocking_error_iid_normal():
    n, sigma = 100_000, 2.0
    x = 5.0 + sigma * np.random.default_rng(10).standard_normal(n)
    result = blocking_analysis(x)
    assert result.converged
    assert result.error == blocking_error(x)
    # The SE estimate from k blocks is uncertain by a relative 1/sqrt(2(n_k − 1)).
    n_k = result.n_blocks[result.level]
    assert abs(result.error / (sigma / math.sqrt(n)) - 1.0) < N_SIGMA / math.sqrt(2 * (n_k - 1))


@pytest.mark.parametrize(("phi", "shape"), [(0.9, (1 << 20,)), (0.5, (1 << 18, 4))])
def test_blocking_error_ar1(phi, shape):
    n_total = math.prod(shape)
    n_chains = shape[1] if len(shape) == 2 else 1
    result = blocking_analysis(ar1(phi, shape, seed=11))
    assert result.converged
    exact = ar1_sigma(phi) * math.sqrt(ar1_tau(phi) / n_total)
    # At block size b the blocks are still slightly correlated: the level-k estimate targets
    # sqrt(Var(b-block mean)·b / N), below σ·sqrt(τ/N) by a known bias; the plateau rule
    # must have picked a level where that bias is small.
    block = int(result.block_sizes[result.level])
    bias = math.sqrt(ar1_block_mean_variance(phi, block) / (ar1_sigma(phi) ** 2 * ar1_tau(phi)))
    assert 1.0 - bias < 0.1
    n_k = int(result.n_blocks[result.level]) * n_chains
    noise = N_SIGMA / math.sqrt(2 * (n_k - 1))
    assert abs(result.error / exact - 1.0) < (1.0 - bias) + noise
    # The classic FP curve: the naive (level-0) error is too small by ≈ sqrt(τ).
    assert result.errors[0] == pytest.approx(exact / math.sqrt(ar1_tau(phi)), rel=0.05)


def test_blocking_levels_by_hand():
    x = np.random.default_rng(22).standard_normal((9, 2))
    result = blocking_analysis(x)
    np.testing.assert_array_equal(result.block_sizes, [1, 2, 4])
    np.testing.assert_array_equal(result.n_blocks, [9, 4, 2])
    assert result.errors[0] == pytest.approx(x.std(ddof=1) / math.sqrt(18), rel=1e-12)
    pairs = 0.5 * (x[0:8:2] + x[1:8:2])  # the odd last sample is dropped
    assert result.errors[1] == pytest.approx(pairs.std(ddof=1) / math.sqrt(8), rel=1e-12)
    quads = 0.5 * (pairs[0::2] + pairs[1::2])
    assert result.errors[2] == pytest.approx(quads.std(ddof=1) / math.sqrt(4), rel=1e-12)


def test_blocking_decorrelation_test_is_calibrated():
    # For i.i.d. data every level is uncorrelated, so level 0 is rejected with probability
    # `significance` = 1 % (Jonsson's M statistic is asymptotically χ²): the number of seeds
    # (of 200) that select a deeper level is ~Binomial(200, 0.01); 99.9 % upper bound.
    n_seeds = 200
    deeper = sum(
        blocking_analysis(np.random.default_rng(2000 + seed).standard_normal(4096)).level > 0
        for seed in range(n_seeds)
    )
    assert deeper <= stats.binom.ppf(0.999, n_seeds, 0.01)


def test_blocking_warns_when_no_level_decorrelates():
    # A ramp: block means stay almost perfectly correlated at every level with ≥ 16 blocks.
    with pytest.warns(RuntimeWarning, match="too short"):
        result = blocking_analysis(np.linspace(0.0, 1.0, 1024))
    assert not result.converged
    assert result.n_blocks[result.level] == 16


def test_blocking_of_constant_series_is_zero():
    assert blocking_error(np.full((64, 2), 3.0)) == 0.0


def test_jackknife_of_mean_with_single_samples_is_the_textbook_se():
    x = np.random.default_rng(12).standard_normal(200)
    value, error = jackknife(x, np.mean, n_blocks=200)
    assert value == pytest.approx(x.mean(), rel=1e-12)
    assert error == pytest.approx(x.std(ddof=1) / math.sqrt(200), rel=1e-10)


def test_jackknife_of_mean_of_ar1_accounts_for_correlation():
    phi, n, n_blocks = 0.9, 1 << 18, 256
    x = ar1(phi, (n,), seed=13)
    value, error = jackknife(x, np.mean, n_blocks=n_blocks)
    assert value == pytest.approx(x.mean(), rel=1e-12)
    exact = ar1_sigma(phi) * math.sqrt(ar1_tau(phi) / n)
    # Jackknife SE from B blocks: relative sd ≈ 1/sqrt(2(B − 1)); blocks of L = 1024 ≫ τ = 19
    # add the small block-correlation bias computed exactly.
    length = n // n_blocks
    bias = 1.0 - math.sqrt(
        ar1_block_mean_variance(phi, length) / (ar1_sigma(phi) ** 2 * ar1_tau(phi))
    )
    assert abs(error / exact - 1.0) < bias + N_SIGMA / math.sqrt(2 * (n_blocks - 1))


def test_jackknife_pools_chains():
    x = np.random.default_rng(14).standard_normal((103, 3))
    value, error = jackknife(x, np.mean, n_blocks=10)
    assert value == pytest.approx(x.mean(), rel=1e-12)
    # Leading 3 samples of each chain are left out; blocks of 10 time steps × 3 chains.
    block_means = x[3:].reshape(10, 10, 3).mean(axis=(1, 2))
    assert error == pytest.approx(block_means.std(ddof=1) / math.sqrt(10), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# physics observables
# ----------------------------------------------------------------------------------------------


def test_binder_cumulant_gaussian_is_zero():
    # For m ~ N(0, σ²), ⟨m⁴⟩/⟨m²⟩² has asymptotic variance 24/N (delta method), so
    # sd(U4) = sqrt(24/N)/3 = sqrt(8/(3N)).
    n = 100_000
    m = 0.3 * np.random.default_rng(15).standard_normal(n)
    assert abs(binder_cumulant(m)) < N_SIGMA * math.sqrt(8.0 / (3.0 * n))


def test_binder_cumulant_two_peaks_is_two_thirds():
    m = np.random.default_rng(16).choice([-1.0, 1.0], size=(500, 2))
    assert binder_cumulant(m) == pytest.approx(2.0 / 3.0, rel=1e-14)
    assert binder_cumulant(0.25 * m) == pytest.approx(2.0 / 3.0, rel=1e-14)


def _variance_se(sigma: float, n: int) -> float:
    """Standard error of the (ddof 0) sample variance of N normal samples: σ² sqrt(2/N)."""
    return sigma**2 * math.sqrt(2.0 / n)


# The jackknife SE from B blocks is itself uncertain by a relative ≈ 1/sqrt(2(B − 1)).
N_BLOCKS = 200
JACKKNIFE_REL_TOL = N_SIGMA / math.sqrt(2 * (N_BLOCKS - 1))


def test_susceptibility_known_variance():
    n, beta, n_spins, mean, sigma = 100_000, 0.4, 100, 0.5, 0.02
    m = mean + sigma * np.random.default_rng(17).standard_normal(n)  # m > 0: |m| = m
    chi, error = susceptibility(m, beta, n_spins, n_blocks=N_BLOCKS)
    analytic_error = beta * n_spins * _variance_se(sigma, n)
    assert abs(chi - beta * n_spins * sigma**2) < N_SIGMA * analytic_error
    assert abs(error / analytic_error - 1.0) < JACKKNIFE_REL_TOL


def test_susceptibility_uses_abs_m():
    # m = ±a: ⟨m²⟩ − ⟨|m|⟩² = 0, whereas ⟨m²⟩ − ⟨m⟩² would be ≈ a².
    m = 0.8 * np.random.default_rng(18).choice([-1.0, 1.0], size=1000)
    chi, error = susceptibility(m, 1.0, 16)
    assert chi == pytest.approx(0.0, abs=1e-12)
    assert error == pytest.approx(0.0, abs=1e-12)


def test_heat_capacity_known_variance():
    n, beta, n_spins, sigma = 100_000, 0.5, 64, 8.0
    energy = -150.0 + sigma * np.random.default_rng(19).standard_normal((n // 4, 4))
    c, error = heat_capacity(energy, beta, n_spins, n_blocks=N_BLOCKS)
    analytic_error = beta**2 / n_spins * _variance_se(sigma, n)
    assert abs(c - beta**2 * sigma**2 / n_spins) < N_SIGMA * analytic_error
    assert abs(error / analytic_error - 1.0) < JACKKNIFE_REL_TOL


# ----------------------------------------------------------------------------------------------
# distributions over states
# ----------------------------------------------------------------------------------------------


def test_kl_and_tv_of_identical_distributions_are_zero():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert kl_divergence(1000 * p, p) == pytest.approx(0.0, abs=1e-15)
    assert total_variation(1000 * p, p) == pytest.approx(0.0, abs=1e-15)


def test_kl_and_tv_hand_computed():
    # p̂ = (1/2, 1/2), p = (1/4, 3/4): KL = ½ ln 2 + ½ ln(2/3) = ½ ln(4/3); TV = 1/4.
    assert kl_divergence([3, 3], [0.25, 0.75]) == pytest.approx(0.5 * math.log(4 / 3), rel=1e-14)
    assert total_variation([3, 3], [0.25, 0.75]) == pytest.approx(0.25, rel=1e-14)
    # A zero count contributes nothing to KL: p̂ = (½, 0, ½), p = (¼, ½, ¼) → KL = ln 2.
    assert kl_divergence([2, 0, 2], [0.25, 0.5, 0.25]) == pytest.approx(math.log(2), rel=1e-14)
    assert total_variation([2, 0, 2], [0.25, 0.5, 0.25]) == pytest.approx(0.5, rel=1e-14)


def test_kl_infinite_and_tv_one_for_disjoint_support():
    assert kl_divergence([1, 1], [1.0, 0.0]) == math.inf
    assert total_variation([0, 5], [1.0, 0.0]) == pytest.approx(1.0)


def test_chi_square_hand_computed_with_pooling():
    # Expected (50, 30, 15, 3, 2): the last two pool into one bin with E = 5, O = 7.
    stat, dof, p_value = chi_square_test([48, 33, 12, 4, 3], [0.5, 0.3, 0.15, 0.03, 0.02])
    assert dof == 3
    assert stat == pytest.approx(4 / 50 + 9 / 30 + 9 / 15 + 4 / 5, rel=1e-12)
    assert p_value == pytest.approx(stats.chi2.sf(stat, 3), rel=1e-12)


def test_chi_square_small_pooled_bin_merges_with_smallest():
    # Expected (60, 30, 8, 2): the pooled bin (E = 2) is merged into the E = 8 bin.
    stat, dof, _ = chi_square_test([55, 33, 9, 3], [0.6, 0.3, 0.08, 0.02])
    assert dof == 2
    assert stat == pytest.approx(25 / 60 + 9 / 30 + 4 / 10, rel=1e-12)


def test_chi_square_impossible_state():
    stat, dof, p_value = chi_square_test([10, 10, 1], [0.5, 0.5, 0.0])
    assert (stat, dof, p_value) == (math.inf, 1, 0.0)


CALIBRATION_P = np.array([0.339, 0.25, 0.2, 0.1, 0.06, 0.04, 0.006, 0.003, 0.002])


def test_chi_square_p_values_are_calibrated():
    n_seeds, n_samples = 200, 500
    p_values = []
    for seed in range(n_seeds):
        counts = np.random.default_rng(1000 + seed).multinomial(n_samples, CALIBRATION_P)
        _, dof, p_value = chi_square_test(counts, CALIBRATION_P)
        assert dof == 6  # 6 states with E ≥ 5 plus one pooled bin with E = 5.5
        p_values.append(p_value)
    p_values = np.array(p_values)
    # Under H0 the number of seeds with p < 0.05 is Binomial(200, 0.05): 99.9 % band.
    low, high = stats.binom.interval(0.999, n_seeds, 0.05)
    assert low <= np.sum(p_values < 0.05) <= high
    # And the p-values as a whole are uniform (KS test at level 1e-3).
    assert stats.kstest(p_values, "uniform").pvalue > 1e-3


def test_chi_square_wrong_distribution():
    wrong = CALIBRATION_P.copy()
    wrong[[0, 1]] = wrong[[1, 0]]
    counts = np.random.default_rng(20).multinomial(5000, wrong)
    _, _, p_value = chi_square_test(counts, CALIBRATION_P)
    assert p_value < 1e-6


# ----------------------------------------------------------------------------------------------
# bad inputs
# ----------------------------------------------------------------------------------------------

GOOD = np.random.default_rng(21).standard_normal((100, 2))
WITH_NAN = np.array([0.1, np.nan, 0.2, 0.3, 0.4])
CUBE = np.zeros((4, 4, 4))

TRACE_FUNCTIONS = [
    autocorrelation,
    integrated_autocorrelation_time,
    effective_sample_size,
    split_rhat,
    binder_cumulant,
    blocking_error,
    lambda x: jackknife(x, np.mean, n_blocks=2),
    lambda x: susceptibility(x, 1.0, 4, n_blocks=2),
    lambda x: heat_capacity(x, 1.0, 4, n_blocks=2),
]


@pytest.mark.parametrize("function", TRACE_FUNCTIONS)
@pytest.mark.parametrize(
    "bad",
    [
        [],
        np.zeros((0, 3)),
        WITH_NAN,
        [0.1, np.inf, 0.2, 0.3],
        CUBE,
        3.0,
        ["a", "b", "c"],
        [[1.0, 2.0], [3.0]],
        np.array([1.0, 2.0, 3.0, 4.0]) + 1j,
    ],
    ids=["empty", "empty-2d", "nan", "inf", "3d", "scalar", "strings", "ragged", "complex"],
)
def test_trace_functions_reject_bad_traces(function, bad):
    with pytest.raises(ValueError):
        function(bad)


@pytest.mark.parametrize(
    "call",
    [
        lambda: integrated_autocorrelation_time([1.0]),  # one sample
        lambda: integrated_autocorrelation_time(GOOD, c=0.0),
        lambda: split_rhat(np.zeros((3, 2)) + np.arange(2)),  # < 4 samples
        lambda: binder_cumulant(np.zeros(10)),
        lambda: blocking_analysis(GOOD, significance=1.5),
        lambda: jackknife(GOOD, np.mean, n_blocks=1),
        lambda: jackknife(GOOD, np.mean, n_blocks=101),
        lambda: jackknife(GOOD, np.mean, n_blocks=2.5),
        lambda: jackknife(GOOD, lambda s: np.nan, n_blocks=5),
        lambda: jackknife(GOOD, lambda s: s[:2], n_blocks=5),
        lambda: susceptibility(GOOD, -1.0, 4),
        lambda: susceptibility(GOOD, float("nan"), 4),
        lambda: susceptibility(0.1 * GOOD, 1.0, 0),
        lambda: susceptibility(0.1 * GOOD, 1.0, 4.0),
        lambda: susceptibility(10.0 * GOOD, 1.0, 4),  # total, not per-spin, magnetisation
        lambda: heat_capacity(GOOD, 1.0, True),
    ],
)
def test_bad_parameters_raise(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("function", [kl_divergence, total_variation, chi_square_test])
@pytest.mark.parametrize(
    ("counts", "probabilities"),
    [
        ([], []),
        ([1, 2], [0.2, 0.3, 0.5]),  # lengths differ
        ([1, -1, 2], [0.2, 0.3, 0.5]),  # negative count
        ([0, 0, 0], [0.2, 0.3, 0.5]),  # no samples
        ([1, 2, 3], [0.2, 0.3, 0.6]),  # does not sum to 1
        ([1, 2, 3], [0.2, -0.1, 0.9]),  # negative probability
        ([1, np.nan, 3], [0.2, 0.3, 0.5]),
        ([1, 2, 3], [0.2, np.nan, 0.5]),
        ([[1, 2], [3, 4]], [[0.1, 0.2], [0.3, 0.4]]),  # 2-D
    ],
)
def test_distribution_functions_reject_bad_input(function, counts, probabilities):
    with pytest.raises(ValueError):
        function(counts, probabilities)


def test_chi_square_rejects_frequencies_and_too_few_bins():
    with pytest.raises(ValueError, match="integer"):
        chi_square_test([0.25, 0.75], [0.5, 0.5])
    with pytest.raises(ValueError, match="bin"):
        chi_square_test([3, 2], [0.5, 0.5])  # expected 2.5 each: one pooled bin
    with pytest.raises(ValueError, match="min_expected"):
        chi_square_test([30, 20], [0.5, 0.5], min_expected=-1.0)


def test_mean_with_error_of_independent_samples_is_the_textbook_one():
    """i.i.d. N(0, 1): τ_int ≈ 1, so the error is σ/√N; the mean lies within 4 of them of 0."""
    trace = np.random.default_rng(3).normal(size=(20_000, 2))
    mean, error, tau = mean_with_error(trace)
    assert tau == pytest.approx(1.0, abs=0.1)
    assert error == pytest.approx(trace.std() * np.sqrt(tau / trace.size))
    assert abs(mean) < 4 * error


def test_mean_with_error_reports_a_short_run_in_notes():
    """An AR(1) chain with ρ = 0.99 (τ_int ≈ 199) of 500 samples is far shorter than 50 τ."""
    rng = np.random.default_rng(4)
    trace = np.zeros(500)
    for t in range(1, trace.size):
        trace[t] = 0.99 * trace[t - 1] + rng.normal()
    notes: list[str] = []
    mean_with_error(trace, notes)
    assert len(notes) == 1 and "τ_int" in notes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silenced without notes: nothing raised
        mean_with_error(trace)


# ----------------------------------------------------------------------------------------------
# cross-checks against ArviZ (the field's library) on the same chains
# ----------------------------------------------------------------------------------------------


def _arviz():
    arviz = pytest.importorskip("arviz")  # a test requirement (requirements-test.txt)
    warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
    return arviz


@pytest.mark.parametrize("n_samples", [1000, 1001, 4])
def test_split_rhat_equals_arviz_split_rhat(n_samples):
    # Same definition (split chains, ddof 1 variances): equal to rounding.
    arviz = _arviz()
    chains = ar1(0.9, (n_samples, 4), seed=20) + np.array([0.0, 0.0, 0.3, -0.2])
    expected = float(arviz.rhat(chains.T, method="split"))
    assert split_rhat(chains) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("phi", [0.9, 0.5, 0.0])
def test_tau_int_agrees_with_arviz_ess(phi):
    # ArviZ's ess(method="mean") is Stan's estimator (Geyer's initial monotone sequence on
    # the multi-chain autocorrelation); ours is Sokal's window. On the same well-mixed
    # chains both estimate the same τ_int = N/ESS: they must agree within 4 standard
    # deviations of Sokal's estimator, and each lie that close to the exact τ.
    arviz = _arviz()
    shape = (50_000, 4)
    chains = ar1(phi, shape, seed=21)
    tolerance = sokal_tolerance(ar1_tau(phi), shape[0] * shape[1])
    ours = integrated_autocorrelation_time(chains)
    theirs = chains.size / float(arviz.ess(chains.T, method="mean"))
    assert abs(ours - theirs) < tolerance
    assert abs(ours - ar1_tau(phi)) < tolerance
    assert abs(theirs - ar1_tau(phi)) < tolerance
    assert effective_sample_size(chains) == pytest.approx(chains.size / ours)


def test_tau_int_differs_from_arviz_by_design_between_chains():
    # ArviZ's ESS puts the between-chain variance in the denominator, so chains stuck at
    # different means have few effective samples; our τ_int averages each chain's own
    # autocovariance and does not see it (split_rhat does, as ArviZ's R̂ does).
    arviz = _arviz()
    shape = (50_000, 4)
    chains = ar1(0.9, shape, seed=22) + np.array([0.0, 0.0, 0.0, 1.0])
    ours = integrated_autocorrelation_time(chains)
    assert abs(ours - ar1_tau(0.9)) < sokal_tolerance(ar1_tau(0.9), chains.size)
    assert chains.size / float(arviz.ess(chains.T, method="mean")) > 10 * ours
    assert split_rhat(chains) > 1.01
    assert float(arviz.rhat(chains.T, method="split")) > 1.01


def test_tau_int_differs_from_arviz_by_design_for_anticorrelated_chains():
    # AR(1) with φ = −0.5 has τ_int = 1/3. Sokal's window stops at lag 1, where
    # 1 + 2ρ(1) = 0, so ours returns its floor 1/log10 N; Geyer's pairs sum the
    # oscillating ρ(t) and ArviZ finds ≈ 1/3 (both keep ESS ≤ N log10 N).
    arviz = _arviz()
    chains = ar1(-0.5, (50_000, 4), seed=23)
    assert integrated_autocorrelation_time(chains) == pytest.approx(1 / math.log10(chains.size))
    theirs = chains.size / float(arviz.ess(chains.T, method="mean"))
    assert abs(theirs - ar1_tau(-0.5)) < sokal_tolerance(1.0, chains.size)
