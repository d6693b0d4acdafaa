"""MCMC and statistical-physics diagnostics for traces recorded by the Ising samplers.

Pure numpy/scipy. Conventions:

* A *trace* is a 1-D array of shape ``(n_samples,)`` (one chain) or a 2-D array of shape
  ``(n_samples, n_chains)`` (time along axis 0, independent chains along axis 1). Every chain
  has the same length. Values are float64 after conversion; NaN and ±inf are rejected.
* Energies are totals over the lattice in units of the coupling J (k_B = 1); β = 1/T is in
  units of 1/J. Magnetisations are per spin, m = Σ_i s_i / N ∈ [−1, 1].
* Every function raises ``ValueError`` with a message naming the argument for empty input,
  NaN/inf, wrong shapes or out-of-range parameters.

Errors of derived quantities (χ, C, Binder cumulant, …) come from a block jackknife, so
correlated samples are handled as long as a block is much longer than τ_int; the standard
error of a plain mean can also come from Flyvbjerg–Petersen blocking (`blocking_error`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import special, stats

__all__ = [
    "BlockingResult",
    "autocorrelation",
    "binder_cumulant",
    "blocking_analysis",
    "blocking_error",
    "chi_square_test",
    "effective_sample_size",
    "heat_capacity",
    "integrated_autocorrelation_time",
    "jackknife",
    "kl_divergence",
    "mean_with_error",
    "split_rhat",
    "susceptibility",
    "total_variation",
]

# Relative tolerance on Σ p = 1 for "exact probabilities".
_PROBABILITY_SUM_RTOL = 1e-6
# |m| may exceed 1 by this much (rounding) before it is rejected as not per spin.
_MAGNETIZATION_SLACK = 1e-9
# integrated_autocorrelation_time warns when a chain is shorter than this many τ_int.
_MIN_SAMPLES_PER_TAU = 50
# blocking_analysis only selects levels with at least this many blocks (all chains together).
_MIN_BLOCKS = 16


# ----------------------------------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------------------------------


def _float_array(value: object, name: str) -> np.ndarray:
    """`value` as a float64 array; ValueError for non-numeric, complex or ragged input."""
    try:
        raw = np.asarray(value)
        if np.iscomplexobj(raw):
            raise ValueError("complex values are not supported")
        return raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real numeric array: {error}") from error


def _as_trace(trace: object, name: str, min_samples: int = 1) -> np.ndarray:
    """Validate a trace and return it as float64 of shape (n_samples, n_chains)."""
    array = _float_array(trace, name)
    if array.ndim == 1:
        array = array[:, None]
    elif array.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_samples,) or (n_samples, n_chains), got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if array.shape[0] < min_samples:
        raise ValueError(
            f"{name} needs at least {min_samples} samples per chain, got {array.shape[0]}"
        )
    return array


def _as_distribution_pair(
    counts: object, probabilities: object, counts_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate (counts ≥ 0 with a positive total, probabilities summing to 1), same length."""
    counts_array = _float_array(counts, counts_name)
    p = _float_array(probabilities, "exact_probabilities")
    for name, array in ((counts_name, counts_array), ("exact_probabilities", p)):
        if array.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one entry per state), got shape {array.shape}")
        if array.size == 0:
            raise ValueError(f"{name} is empty")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if np.any(array < 0):
            raise ValueError(f"{name} has negative entries")
    if counts_array.shape != p.shape:
        raise ValueError(
            f"{counts_name} has {counts_array.size} states but exact_probabilities has {p.size}"
        )
    total = counts_array.sum()
    if total <= 0:
        raise ValueError(f"{counts_name} sum to zero; there is no empirical distribution")
    p_total = p.sum()
    if abs(p_total - 1.0) > _PROBABILITY_SUM_RTOL:
        raise ValueError(
            f"exact_probabilities must sum to 1 (within {_PROBABILITY_SUM_RTOL:g}), got {p_total!r}"
        )
    return counts_array, p / p_total


def _check_beta(beta: float) -> float:
    try:
        value = float(beta)
    except (TypeError, ValueError) as error:
        raise ValueError(f"beta must be a real number, got {beta!r}") from error
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"beta must be finite and ≥ 0, got {beta!r}")
    return value


def _check_n_spins(n_spins: int) -> int:
    if isinstance(n_spins, bool) or not isinstance(n_spins, int | np.integer):
        raise ValueError(f"n_spins must be a positive integer, got {n_spins!r}")
    if n_spins < 1:
        raise ValueError(f"n_spins must be a positive integer, got {n_spins!r}")
    return int(n_spins)


# ----------------------------------------------------------------------------------------------
# autocorrelation, τ_int, ESS, R̂
# ----------------------------------------------------------------------------------------------


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Chain-averaged biased autocovariance C(t) = (1/n) Σ_i δx_i δx_{i+t}, t = 0 … n−1.

    x: (n_samples, n_chains) float64, each chain centred on its own mean. FFT with zero
    padding to ≥ 2n, so there is no circular wrap-around. Constant chains contribute exactly 0.
    """
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    constant = np.ptp(x, axis=0) == 0
    centred[:, constant] = 0.0  # the mean of a constant float array is not always exact
    n_fft = sp_fft.next_fast_len(2 * n, real=True)
    spectrum = sp_fft.rfft(centred, n=n_fft, axis=0)
    acov = sp_fft.irfft(spectrum * np.conj(spectrum), n=n_fft, axis=0)[:n] / n
    return acov.mean(axis=1)


def autocorrelation(trace: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation function ρ(t) = C(t) / C(0), t = 0 … n_samples − 1.

    trace: (n_samples,) or (n_samples, n_chains), n_samples ≥ 2. For several chains the
    autocovariances C(t) (each chain about its own mean, biased 1/n normalisation, via FFT)
    are averaged over chains before normalising. Returns shape (n_samples,), dimensionless,
    with ρ(0) = 1; a trace whose every chain is constant returns ρ = (1, 0, 0, …).
    """
    x = _as_trace(trace, "trace", min_samples=2)
    acov = _autocovariance(x)
    if acov[0] <= 0:
        rho = np.zeros_like(acov)
        rho[0] = 1.0
        return rho
    return acov / acov[0]


def integrated_autocorrelation_time(trace: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time τ_int in units of samples (sweeps between records).

    trace: (n_samples,) or (n_samples, n_chains), n_samples ≥ 2; chains are combined by
    averaging their autocovariance functions (see `autocorrelation`), so a between-chain
    difference of means is *not* seen here — use `split_rhat` for that.

    Convention τ_int = 1 + 2 Σ_{t=1}^{M} ρ(t), so independent samples give 1 and
    Var(mean) ≈ σ² τ_int / N. The window M is chosen by Sokal's automatic windowing: the
    smallest M ≥ 1 with M ≥ c · τ_int(M) (default c = 5). The estimator's statistical error is
    roughly var(τ̂) ≈ 2(2M+1)/N_total · τ² (Sokal 1997; Madras & Sokal 1988).

    Edge cases (documented, never NaN):

    * every chain constant → 1.0 (no fluctuations, nothing to decorrelate);
    * a chain shorter than 50·τ_int (emcee's rule of thumb) gets a ``RuntimeWarning``: the
      empirical ρ(t) of a short run decays too early (its full sum is exactly −½), so τ_int
      is then underestimated — record longer runs. If no window satisfies the criterion,
      the largest lag is used;
    * anti-correlated series can give τ < 1; the result is bounded below by
      1 / max(1, log10 N_total) (Stan's cap ESS ≤ N log10 N) so it stays positive.
      Sokal's window is designed for positive correlations and truncates strongly
      oscillating ρ(t) early.

    Compared with ArviZ's ``ess(method="mean")`` (Stan's estimator; tests/test_diagnostics.py
    checks both on the same chains): on well-mixed chains the two agree within this
    estimator's statistical error. They differ by design in two ways. ArviZ sums Geyer's
    initial monotone sequence instead of a window, so for anti-correlated chains it finds
    τ < 1 where this function stops at its floor. And ArviZ divides by a variance that
    includes the spread between chain means, so chains stuck at different values get a
    small ESS there while τ_int here is unchanged.
    """
    c = float(c)
    if not math.isfinite(c) or c <= 0:
        raise ValueError(f"c must be positive and finite, got {c!r}")
    x = _as_trace(trace, "trace", min_samples=2)
    acov = _autocovariance(x)
    if acov[0] <= 0:
        return 1.0
    rho = acov / acov[0]
    # taus[M] = 1 + 2 Σ_{t=1}^{M} ρ(t)
    taus = 2.0 * np.cumsum(rho) - 1.0
    lags = np.arange(taus.size)
    satisfied = (lags >= 1) & (lags >= c * taus)
    window = int(np.argmax(satisfied)) if np.any(satisfied) else taus.size - 1
    tau = float(max(taus[window], 1.0 / max(1.0, math.log10(x.size))))
    n_samples = x.shape[0]
    if n_samples < _MIN_SAMPLES_PER_TAU * tau:
        warnings.warn(
            f"integrated_autocorrelation_time: the trace is too short — {n_samples} samples "
            f"per chain < {_MIN_SAMPLES_PER_TAU}·τ_int = {_MIN_SAMPLES_PER_TAU * tau:.3g}; "
            f"τ_int = {tau:.3g} is unreliable and probably an underestimate",
            RuntimeWarning,
            stacklevel=2,
        )
    return tau


def effective_sample_size(trace: np.ndarray, c: float = 5.0) -> float:
    """Effective number of independent samples N_total / τ_int (dimensionless).

    trace: (n_samples,) or (n_samples, n_chains); N_total = n_samples · n_chains and τ_int is
    `integrated_autocorrelation_time(trace, c)` (see there how it compares with ArviZ's ESS).
    """
    x = _as_trace(trace, "trace", min_samples=2)
    return float(x.size / integrated_autocorrelation_time(x, c))


def mean_with_error(
    trace: np.ndarray, notes: list[str] | None = None
) -> tuple[float, float, float]:
    """(mean, standard error σ √(τ_int / N), τ_int in samples) of a series.

    trace: (n_samples,) or (n_samples, n_chains), N all its values together. τ_int warns when
    the run is short for it (see `integrated_autocorrelation_time`): with `notes`, every
    warning's message is appended there (for a report); without, that RuntimeWarning is
    silenced (a live view's short windows are expected).
    """
    values = np.asarray(trace, dtype=np.float64)
    with warnings.catch_warnings(record=notes is not None) as caught:
        if notes is None:
            warnings.simplefilter("ignore", RuntimeWarning)
        else:
            warnings.simplefilter("always")
        tau = integrated_autocorrelation_time(values)
    if notes is not None:
        notes.extend(str(warning.message) for warning in caught)
    return float(values.mean()), float(values.std() * math.sqrt(tau / values.size)), tau


def split_rhat(trace: np.ndarray) -> float:
    """Split-R̂ potential scale reduction factor (basic split version, Vehtari et al. 2021).

    trace: (n_samples, n_chains) with n_chains ≥ 1 and n_samples ≥ 4 (a 1-D array is one
    chain). Each chain is split into its first and last ⌊n/2⌋ samples (the middle sample is
    dropped when n is odd), giving m = 2·n_chains chains of length n' = ⌊n/2⌋; then
    W = mean within-chain variance (ddof 1), B = n' · variance of the chain means (ddof 1),
    var⁺ = (n'−1)/n' · W + B/n' and R̂ = sqrt(var⁺ / W). Dimensionless; ≈ 1 for mixed
    chains, > 1.01 (strict) or > 1.1 (lenient) signals non-convergence. No rank
    normalisation or folding: this equals ArviZ's ``rhat(method="split")`` to rounding, while
    ArviZ's default ``rhat`` (method ``"rank"``) rank-normalises and folds the draws and takes
    the larger of two such R̂, so it also detects chains that differ in spread or tails.

    If every split chain is constant (W = 0): 1.0 when they all share one value, inf
    otherwise (chains stuck at different values).
    """
    x = _as_trace(trace, "trace", min_samples=4)
    half = x.shape[0] // 2
    chains = np.concatenate([x[:half], x[-half:]], axis=1)  # (half, 2·n_chains)
    if np.all(np.ptp(chains, axis=0) == 0):
        return 1.0 if np.ptp(chains[0]) == 0 else math.inf
    within = float(np.mean(np.var(chains, axis=0, ddof=1)))
    between = float(half * np.var(chains.mean(axis=0), ddof=1))
    var_plus = (half - 1) / half * within + between / half
    return float(math.sqrt(var_plus / within))


# ----------------------------------------------------------------------------------------------
# errors of means and derived quantities
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockingResult:
    """Flyvbjerg–Petersen blocking analysis of the mean of a trace.

    Level k averages consecutive pairs k times (block size 2^k samples).

    error: standard error of the grand mean at the selected level (units of the samples).
    level: the selected k.
    converged: False if no eligible level passed the test (then the deepest level with ≥ 16
        blocks is used; the error is probably an underestimate and the trace too short).
    block_sizes: (n_levels,) int, 2^k.
    n_blocks: (n_levels,) int, blocks per chain at each level.
    errors: (n_levels,) the standard-error estimate at each level (the classic FP plot).
    error_uncertainties: (n_levels,) ≈ errors / sqrt(2(n_blocks·n_chains − 1)).
    """

    error: float
    level: int
    converged: bool
    block_sizes: np.ndarray
    n_blocks: np.ndarray
    errors: np.ndarray
    error_uncertainties: np.ndarray


def blocking_analysis(samples: np.ndarray, significance: float = 0.01) -> BlockingResult:
    """Standard error of the mean by Flyvbjerg–Petersen blocking with an automatic plateau.

    samples: (n_samples,) or (n_samples, n_chains), n_samples ≥ 2. Chains are blocked in
    parallel; the error is that of the grand mean over all chains.

    At level k (k = 0, 1, …, while ≥ 2 blocks per chain remain) the block means x_k (odd
    lengths drop their last element) give
      * the SE estimate sqrt(s²_k / (n_k·n_chains)), s²_k the variance (ddof 1) of all
        n_k·n_chains block means about their common mean (so a between-chain spread of
        means inflates the error, as it should);
      * the lag-1 autocorrelation ρ̂_k of the block means (pooled over chains).

    Plateau rule (Jonsson, Phys. Rev. E 98, 043304 (2018)): with
    M_k = Σ_{j ≥ k} n_j·n_chains·ρ̂_j², which is ≈ χ² with (n_levels − k) degrees of freedom
    once the level-k block means are uncorrelated, the selected level is the smallest k with
    M_k < the (1 − significance) quantile of that χ². Blocks that pass are longer than the
    correlation time, which is where the FP curve of `errors` reaches its plateau.
    Deviation from Jonsson: only levels with ≥ 16 blocks in all (or level 0) may be selected,
    since with fewer the test has no power and the error itself is uncertain by > 18 %. If
    no eligible level passes, the deepest eligible one is used, ``converged`` is False and
    a ``RuntimeWarning`` is issued.

    Like any such method it cannot see correlations much longer than the trace itself: a
    run of a few τ_int can pass the test and still underestimate the error. Trust the
    result when the selected blocks are long compared with `integrated_autocorrelation_time`
    and number at least ~100.
    """
    significance = float(significance)
    if not 0 < significance < 1:
        raise ValueError(f"significance must be in (0, 1), got {significance!r}")
    x = _as_trace(samples, "samples", min_samples=2)
    n_chains = x.shape[1]

    block_sizes, n_blocks, errors, uncertainties, m_terms = [], [], [], [], []
    level_data = x
    size = 1
    while level_data.shape[0] >= 2:
        n_k = level_data.shape[0]
        deviations = level_data - level_data.mean()
        count = n_k * n_chains
        variance_biased = float(np.sum(deviations**2) / count)
        variance = variance_biased * count / (count - 1)
        error = math.sqrt(variance / count)
        if variance_biased > 0:
            lag1 = float(np.sum(deviations[:-1] * deviations[1:]) / count)
            rho1 = lag1 / variance_biased
        else:
            rho1 = 0.0
        block_sizes.append(size)
        n_blocks.append(n_k)
        errors.append(error)
        uncertainties.append(error / math.sqrt(2.0 * (count - 1)))
        m_terms.append(count * rho1**2)
        even = n_k - (n_k % 2)
        level_data = 0.5 * (level_data[0:even:2] + level_data[1:even:2])
        size *= 2

    n_levels = len(errors)
    m_statistic = np.cumsum(np.asarray(m_terms)[::-1])[::-1]  # M_k = Σ_{j ≥ k} terms
    dof = n_levels - np.arange(n_levels)
    totals = np.asarray(n_blocks) * n_chains
    eligible = (totals >= _MIN_BLOCKS) | (np.arange(n_levels) == 0)
    passes = eligible & (m_statistic < stats.chi2.ppf(1.0 - significance, dof))
    converged = bool(np.any(passes))
    if converged:
        level = int(np.argmax(passes))
    else:
        level = int(np.flatnonzero(eligible)[-1])
        warnings.warn(
            f"blocking_analysis: no blocking level with ≥ {_MIN_BLOCKS} blocks passed the "
            "decorrelation test; the trace is too short for its correlation time and the "
            "error is probably underestimated",
            RuntimeWarning,
            stacklevel=2,
        )
    return BlockingResult(
        error=float(errors[level]),
        level=level,
        converged=converged,
        block_sizes=np.asarray(block_sizes, dtype=np.int64),
        n_blocks=np.asarray(n_blocks, dtype=np.int64),
        errors=np.asarray(errors),
        error_uncertainties=np.asarray(uncertainties),
    )


def blocking_error(samples: np.ndarray, significance: float = 0.01) -> float:
    """Standard error of the mean of `samples` (same units) by automatic blocking.

    samples: (n_samples,) or (n_samples, n_chains). See `blocking_analysis` for the method
    and the plateau rule; this returns its ``error``.
    """
    return blocking_analysis(samples, significance).error


def _checked_estimate(estimator: Callable[[np.ndarray], float], data: np.ndarray) -> float:
    value = np.asarray(estimator(data), dtype=np.float64)
    if value.ndim != 0 and value.size != 1:
        raise ValueError(f"estimator must return a scalar, got shape {value.shape}")
    result = float(value.reshape(()))
    if not math.isfinite(result):
        raise ValueError(f"estimator returned a non-finite value ({result})")
    return result


def jackknife(
    samples: np.ndarray,
    estimator: Callable[[np.ndarray], float],
    n_blocks: int = 50,
) -> tuple[float, float]:
    """Block (delete-one-block) jackknife: (value, standard error) of a derived quantity.

    samples: (n_samples,) or (n_samples, n_chains). The time axis is cut into `n_blocks`
    contiguous blocks of L = ⌊n_samples / n_blocks⌋ samples (the first n_samples mod n_blocks
    samples, the part nearest to burn-in, are left out); block b holds that time segment of
    every chain. estimator: a symmetric function of a 1-D array of pooled samples returning
    a finite scalar (e.g. ``np.mean`` or a variance); it receives all chains flattened.

    value = estimator(all samples); with θ_b = estimator(all but block b) and θ̄ their mean,
    SE² = (B−1)/B · Σ_b (θ_b − θ̄)². Blocks must be much longer than τ_int for the error to
    account for correlations; the SE is itself uncertain by a relative ≈ 1/sqrt(2(B−1)).
    """
    x = _as_trace(samples, "samples")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int | np.integer):
        raise ValueError(f"n_blocks must be an integer, got {n_blocks!r}")
    n_blocks = int(n_blocks)
    if n_blocks < 2:
        raise ValueError(f"n_blocks must be ≥ 2, got {n_blocks}")
    n_samples = x.shape[0]
    if n_samples < n_blocks:
        raise ValueError(
            f"samples has {n_samples} samples per chain, fewer than n_blocks = {n_blocks}; "
            "record more samples or use fewer blocks"
        )
    value = _checked_estimate(estimator, x.reshape(-1))
    length = n_samples // n_blocks
    blocks = x[n_samples - n_blocks * length :].reshape(n_blocks, length, x.shape[1])
    leave_one_out = np.array(
        [
            _checked_estimate(estimator, np.delete(blocks, b, axis=0).reshape(-1))
            for b in range(n_blocks)
        ]
    )
    spread = leave_one_out - leave_one_out.mean()
    error = math.sqrt((n_blocks - 1) / n_blocks * float(np.sum(spread**2)))
    return value, error


# ----------------------------------------------------------------------------------------------
# statistical-physics observables
# ----------------------------------------------------------------------------------------------


def _binder(m: np.ndarray) -> float:
    m2 = float(np.mean(m**2))
    if m2 == 0:
        raise ValueError("binder_cumulant is undefined when every magnetisation is 0")
    return 1.0 - float(np.mean(m**4)) / (3.0 * m2**2)


def binder_cumulant(magnetization: np.ndarray) -> float:
    """Binder cumulant U4 = 1 − ⟨m⁴⟩ / (3 ⟨m²⟩²), dimensionless.

    magnetization: (n_samples,) or (n_samples, n_chains), pooled over chains; any
    normalisation (U4 is scale invariant). U4 → 0 for a Gaussian m centred on 0 (disordered
    phase) and → 2/3 for m = ±m₀ (ordered phase). Raises ValueError if every m is 0. For an
    error bar use ``jackknife(m, binder_cumulant)``.
    """
    x = _as_trace(magnetization, "magnetization")
    return _binder(x.reshape(-1))


def _abs_variance(m: np.ndarray) -> float:
    a = np.abs(m)
    return float(np.mean((a - a.mean()) ** 2))


def _population_variance(e: np.ndarray) -> float:
    return float(np.mean((e - e.mean()) ** 2))


def susceptibility(
    magnetization: np.ndarray, beta: float, n_spins: int, n_blocks: int = 50
) -> tuple[float, float]:
    """Magnetic susceptibility per spin χ = β·N·(⟨m²⟩ − ⟨|m|⟩²) and its jackknife error.

    magnetization: (n_samples,) or (n_samples, n_chains) of the per-spin magnetisation
    m = Σ s_i / N ∈ [−1, 1] (values with |m| > 1 are rejected: pass per-spin values, not
    totals). beta: 1/T in units of 1/J, ≥ 0. n_spins: N. Returns (χ, standard error), in
    units of 1/J, from `jackknife` with `n_blocks` blocks.

    Uses ⟨|m|⟩ rather than ⟨m⟩ — the finite-lattice convention: on a finite lattice
    without a field ⟨m⟩ = 0 by symmetry (a long enough run flips between ±m), so
    β N ⟨m²⟩ would grow like N below T_c. Since m² = |m|², χ = β N Var(|m|)
    (population variance, ddof 0).
    """
    beta = _check_beta(beta)
    n_spins = _check_n_spins(n_spins)
    x = _as_trace(magnetization, "magnetization")
    if np.max(np.abs(x)) > 1.0 + _MAGNETIZATION_SLACK:
        raise ValueError(
            "magnetization must be per spin (|m| ≤ 1); got values up to "
            f"{float(np.max(np.abs(x))):g} — divide total magnetisation by n_spins"
        )
    value, error = jackknife(x, _abs_variance, n_blocks=n_blocks)
    scale = beta * n_spins
    return scale * value, scale * error


def heat_capacity(
    energy: np.ndarray, beta: float, n_spins: int, n_blocks: int = 50
) -> tuple[float, float]:
    """Heat capacity per spin C = β² (⟨E²⟩ − ⟨E⟩²) / N and its jackknife error.

    energy: (n_samples,) or (n_samples, n_chains) of the *total* energy E in units of J.
    beta: 1/T in units of 1/J, ≥ 0. n_spins: N. Returns (C, standard error), dimensionless
    (k_B = 1), from `jackknife` with `n_blocks` blocks. The variance is the population
    variance (ddof 0). Note `thermolab.exact.ExactResult.heat_capacity` is the total,
    N times this.
    """
    beta = _check_beta(beta)
    n_spins = _check_n_spins(n_spins)
    x = _as_trace(energy, "energy")
    value, error = jackknife(x, _population_variance, n_blocks=n_blocks)
    scale = beta**2 / n_spins
    return scale * value, scale * error


# ----------------------------------------------------------------------------------------------
# comparing an empirical state distribution with exact enumeration
# ----------------------------------------------------------------------------------------------


def kl_divergence(empirical_counts: np.ndarray, exact_probabilities: np.ndarray) -> float:
    """KL(p̂ ‖ p) = Σ_s p̂_s ln(p̂_s / p_s) in nats.

    empirical_counts: (n_states,) non-negative counts (or weights), normalised here to p̂.
    exact_probabilities: (n_states,) non-negative, summing to 1 (within 1e-6; renormalised).
    States with zero count contribute 0; a state with count > 0 but p = 0 gives inf.
    Note the plug-in estimate is biased upward by ≈ (K − 1) / (2 N_samples) for K occupied
    states even when the sampler is exact.
    """
    counts, p = _as_distribution_pair(empirical_counts, exact_probabilities, "empirical_counts")
    p_hat = counts / counts.sum()
    return float(np.sum(special.rel_entr(p_hat, p)))


def total_variation(empirical_counts: np.ndarray, exact_probabilities: np.ndarray) -> float:
    """Total-variation distance ½ Σ_s |p̂_s − p_s| ∈ [0, 1].

    Same inputs as `kl_divergence` (counts normalised here; probabilities summing to 1).
    """
    counts, p = _as_distribution_pair(empirical_counts, exact_probabilities, "empirical_counts")
    p_hat = counts / counts.sum()
    return float(0.5 * np.sum(np.abs(p_hat - p)))


def chi_square_test(
    counts: np.ndarray, exact_probabilities: np.ndarray, min_expected: float = 5.0
) -> tuple[float, int, float]:
    """Pearson χ² goodness-of-fit test of observed state counts against exact probabilities.

    counts: (n_states,) non-negative integer counts of *independent* samples (thin a
    correlated chain by ~2τ_int first, or the p-value is too small). exact_probabilities:
    (n_states,) summing to 1. Returns (statistic, degrees of freedom, p-value).

    Binning, with N = Σ counts and expected counts e_s = N p_s:

    1. states with p_s = 0 are dropped; if any of them has a count > 0 the sample is
       impossible under p and the result is (inf, dof, 0.0);
    2. every state with e_s < min_expected is pooled into one bin (counts and expectations
       summed); if that pooled bin still has expectation < min_expected it is merged into the
       remaining bin with the smallest expectation;
    3. statistic = Σ_bins (O − E)² / E, dof = n_bins − 1 (no fitted parameters),
       p-value = P(χ²_dof ≥ statistic).

    Raises ValueError if fewer than 2 bins remain (too few samples to test anything).
    """
    observed, p = _as_distribution_pair(counts, exact_probabilities, "counts")
    if not np.all(observed == np.round(observed)):
        raise ValueError("counts must be integer counts (not frequencies or weights)")
    min_expected = float(min_expected)
    if not math.isfinite(min_expected) or min_expected < 0:
        raise ValueError(f"min_expected must be finite and ≥ 0, got {min_expected!r}")
    n_total = observed.sum()
    possible = p > 0
    impossible_hit = bool(np.any(observed[~possible] > 0))
    observed, expected = observed[possible], n_total * p[possible]

    small = expected < min_expected
    bins_observed = list(observed[~small])
    bins_expected = list(expected[~small])
    if np.any(small):
        pooled_observed = float(observed[small].sum())
        pooled_expected = float(expected[small].sum())
        if pooled_expected < min_expected and bins_expected:
            j = int(np.argmin(bins_expected))
            bins_observed[j] += pooled_observed
            bins_expected[j] += pooled_expected
        else:
            bins_observed.append(pooled_observed)
            bins_expected.append(pooled_expected)
    n_bins = len(bins_expected)
    if n_bins < 2:
        raise ValueError(
            f"only {n_bins} bin(s) with expected count ≥ {min_expected:g} after pooling; "
            "draw more samples or lower min_expected"
        )
    dof = n_bins - 1
    if impossible_hit:
        return math.inf, dof, 0.0
    o = np.asarray(bins_observed)
    e = np.asarray(bins_expected)
    statistic = float(np.sum((o - e) ** 2 / e))
    return statistic, dof, float(stats.chi2.sf(statistic, dof))
