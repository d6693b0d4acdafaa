"""How good an RBM is: log Z (exact or AIS), log-likelihood, pseudo-LL, reconstruction, mixing.

All likelihoods are in nats per example at T = 1.

- `exact_log_partition`: enumerate the smaller layer (≤ `MAX_EXACT_UNITS` units) and sum the
  other out analytically, log-sum-exp in chunks of `CHUNK_STATES` states.
- `ais_log_partition`: annealed importance sampling (Salakhutdinov & Murray, "On the
  quantitative analysis of deep belief networks", ICML 2008) from a base-rate model with W = 0,
  with log Z ± the delta-method standard error of the runs' mean weight.
- `pseudo_log_likelihood`, `reconstruction_error`: cheap per-epoch curves.
- `chain_mixing`: τ_int (in sweeps) of the joint energy of Gibbs chains (`thermolab.diagnostics`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from thermolab.backends import Backend
from thermolab.diagnostics import integrated_autocorrelation_time
from thermolab.ebm.model import RBM, check_binary, softplus
from thermolab.ebm.sampling import draw, gibbs
from thermolab.problems import check_memory

__all__ = [
    "MAX_EXACT_UNITS",
    "LogPartition",
    "ais_log_partition",
    "chain_mixing",
    "exact_log_partition",
    "log_likelihood",
    "log_partition",
    "pseudo_log_likelihood",
    "reconstruction_error",
]

#: Largest layer enumerated exactly (2^20 ≈ 1 M states).
MAX_EXACT_UNITS = 20
#: States per chunk of the enumeration (bounds memory at CHUNK_STATES × max layer × 8 bytes).
CHUNK_STATES = 2**14
#: Elements per chunk in pseudo-LL (examples × flipped units × hidden units).
PLL_CHUNK_ELEMENTS = 2**22


@dataclass(frozen=True)
class LogPartition:
    """log Z at T = 1 and how it was obtained.

    value: log Z (nats). stderr: its standard error (0 when exact). method: "exact" or "ais".
    n_temperatures, n_runs: the AIS schedule length and number of runs (0 when exact).
    """

    value: float
    stderr: float
    method: str
    n_temperatures: int = 0
    n_runs: int = 0


def _binary_states(start: int, stop: int, n_units: int) -> np.ndarray:
    """States numbered start … stop − 1 as (stop − start, n_units) float64 of 0/1."""
    indices = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((indices >> np.arange(n_units)) & 1).astype(np.float64)


def exact_log_partition(rbm: RBM) -> LogPartition:
    """log Z by enumerating the smaller layer (≤ MAX_EXACT_UNITS units), chunked log-sum-exp."""
    n_units = min(rbm.n_visible, rbm.n_hidden)
    if n_units > MAX_EXACT_UNITS:
        raise ValueError(
            f"exact log Z enumerates the smaller layer, which has {n_units} units here "
            f"(at most {MAX_EXACT_UNITS}); use AIS"
        )
    enumerate_hidden = rbm.n_hidden <= rbm.n_visible
    total = 2**n_units
    partial = []
    for start in range(0, total, CHUNK_STATES):
        states = _binary_states(start, min(start + CHUNK_STATES, total), n_units)
        if enumerate_hidden:
            partial.append(logsumexp(rbm.log_hidden_marginal_unnormalised(states)))
        else:
            partial.append(logsumexp(-rbm.free_energy(states)))
    return LogPartition(float(logsumexp(partial)), 0.0, "exact")


def _base_visible_bias(rbm: RBM, data: np.ndarray | None) -> np.ndarray:
    """The base-rate model's visible bias: log-odds of the data's unit means (smoothed by one
    pseudo-count each way, as a Beta(1, 1) posterior mean), or zeros without data."""
    if data is None:
        return np.zeros(rbm.n_visible)
    means = (data.sum(axis=0) + 1.0) / (data.shape[0] + 2.0)
    return np.log(means) - np.log1p(-means)


def ais_log_partition(
    rbm: RBM,
    backend: Backend,
    *,
    n_temperatures: int = 2000,
    n_runs: int = 100,
    base_data: np.ndarray | None = None,
) -> LogPartition:
    """log Z by AIS from the base-rate model A (W = 0, visible bias from `base_data`'s unit
    means, hidden bias 0) to the RBM B, through p*_k(v) ∝ exp((1 − β_k) a_Aᵀv) p*_B,β_k(v) with
    β_k = k/(K − 1), K = `n_temperatures` (≥ 2) linearly spaced, on `n_runs` runs.

    Each intermediate transition is one block Gibbs sweep leaving p_k invariant; the p-bits
    are drawn by `backend`. log Ẑ = log Z_A + log mean(w); its stderr is the delta-method
    std(w) / (mean(w) √n_runs). The estimate of Z is unbiased, so log Ẑ is biased low
    (Jensen), strongly so when the schedule is too short for the model.
    """
    if (
        isinstance(n_temperatures, bool)
        or not isinstance(n_temperatures, int)
        or n_temperatures < 2
    ):
        raise ValueError(f"AIS needs at least 2 temperatures, got {n_temperatures!r}")
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 2:
        raise ValueError(f"AIS needs at least 2 runs (for its standard error), got {n_runs!r}")
    check_memory(
        8 * n_runs * (rbm.n_visible + 2 * rbm.n_hidden),
        f"AIS with {n_runs:,} runs",
        "use fewer runs",
    )
    base_data = None if base_data is None else check_binary(base_data, rbm.n_visible, "base_data")
    base_bias = _base_visible_bias(rbm, base_data)
    betas = np.linspace(0.0, 1.0, n_temperatures)

    def log_p_star(
        base_term: np.ndarray, visible_term: np.ndarray, inputs: np.ndarray, beta: float
    ) -> np.ndarray:
        """log p*_β(v) from v's terms: aᴬ·v, aᴮ·v and the hidden inputs vW + b (runs,
        n_hidden), computed once per temperature and shared by β_k, β_(k−1) and the sweep."""
        return (
            (1 - beta) * base_term
            + beta * visible_term
            + softplus(beta * inputs).sum(axis=1)
            # p*_B,0 sums its hidden layer to 2^n_hidden: take that out at β = 0 so p*_0 is the
            # base-rate model exactly (Z_0 = Z_A) while p*_1 is the RBM's own p*_B.
            - (1 - beta) * rbm.n_hidden * math.log(2.0)
        )

    visible = draw(backend, np.broadcast_to(1 / (1 + np.exp(-base_bias)), (n_runs, rbm.n_visible)))
    log_weights = np.zeros(n_runs)
    for k in range(1, n_temperatures):
        terms = (visible @ base_bias, visible @ rbm.visible_bias)
        inputs = visible @ rbm.weights + rbm.hidden_bias
        log_weights += log_p_star(*terms, inputs, betas[k]) - log_p_star(
            *terms, inputs, betas[k - 1]
        )
        if k < n_temperatures - 1:
            beta = betas[k]
            hidden = draw(backend, 1 / (1 + np.exp(-beta * inputs)))
            field = (1 - beta) * base_bias + beta * (hidden @ rbm.weights.T + rbm.visible_bias)
            visible = draw(backend, 1 / (1 + np.exp(-field)))
    log_z_base = float(softplus(base_bias).sum())
    log_mean_weight = float(logsumexp(log_weights) - math.log(n_runs))
    ratios = np.exp(log_weights - log_weights.max())
    stderr = float(ratios.std(ddof=1) / (ratios.mean() * math.sqrt(n_runs)))
    return LogPartition(log_z_base + log_mean_weight, stderr, "ais", n_temperatures, n_runs)


def log_partition(
    rbm: RBM,
    backend: Backend,
    *,
    n_temperatures: int = 2000,
    n_runs: int = 100,
    base_data: np.ndarray | None = None,
) -> LogPartition:
    """Exact log Z when the smaller layer has ≤ MAX_EXACT_UNITS units, else AIS."""
    if min(rbm.n_visible, rbm.n_hidden) <= MAX_EXACT_UNITS:
        return exact_log_partition(rbm)
    return ais_log_partition(
        rbm, backend, n_temperatures=n_temperatures, n_runs=n_runs, base_data=base_data
    )


def log_likelihood(rbm: RBM, data: np.ndarray, log_z: LogPartition) -> float:
    """Mean log p(v) = mean(−F(v)) − log Z over the rows of `data` (nats per example)."""
    data = check_binary(data, rbm.n_visible)
    return float(np.mean(-rbm.free_energy(data)) - log_z.value)


def pseudo_log_likelihood(
    rbm: RBM, data: np.ndarray, *, max_units: int = 128, seed: int = 0
) -> float:
    """Mean Σ_i log p(v_i | v_−i) over the rows of `data` (nats per example).

    p(v_i | v_−i) = σ(F(v with i flipped) − F(v)). With ≤ `max_units` visible units every i is
    summed; beyond that, `max_units` units per example drawn without replacement (seeded) and
    scaled by n_visible / max_units (an unbiased estimate of the sum).
    """
    data = check_binary(data, rbm.n_visible)
    n_examples, n_visible = data.shape
    rng = np.random.default_rng(seed)
    if n_visible <= max_units:
        units = np.broadcast_to(np.arange(n_visible), (n_examples, n_visible))
    else:
        units = np.argsort(rng.random((n_examples, n_visible)), axis=1)[:, :max_units]
    n_units = units.shape[1]
    rows_per_chunk = max(1, PLL_CHUNK_ELEMENTS // (n_units * rbm.n_hidden))
    total = 0.0
    for start in range(0, n_examples, rows_per_chunk):
        v = data[start : start + rows_per_chunk]
        chosen = units[start : start + rows_per_chunk]
        inputs = v @ rbm.weights + rbm.hidden_bias  # (m, n_hidden)
        bits = np.take_along_axis(v, chosen, axis=1)  # (m, n_units)
        sign = 1 - 2 * bits  # +1 where the flip turns a 0 on
        flipped = inputs[:, None, :] + sign[..., None] * rbm.weights[chosen]  # (m, n_units, n_h)
        delta_free = -sign * rbm.visible_bias[chosen] - (
            softplus(flipped).sum(axis=2) - softplus(inputs).sum(axis=1)[:, None]
        )  # F(flipped) − F(v)
        total += float(-softplus(-delta_free).sum())
    return total / n_examples * (n_visible / n_units)


def reconstruction_error(rbm: RBM, data: np.ndarray) -> float:
    """Mean squared error per visible unit of the mean-field reconstruction p(v | p(h | v))."""
    data = check_binary(data, rbm.n_visible)
    reconstruction = rbm.visible_probabilities(rbm.hidden_probabilities(data))
    return float(np.mean((data - reconstruction) ** 2))


@dataclass(frozen=True)
class Mixing:
    """τ_int (sweeps) of the joint energy E(v, h) of Gibbs chains, and whether to trust it.

    reliable: the chains ran at least 50 τ_int sweeps (emcee's rule, as in diagnostics)."""

    tau_int: float
    n_sweeps: int
    n_chains: int
    reliable: bool


def chain_mixing(rbm: RBM, backend: Backend, start: np.ndarray, n_sweeps: int = 200) -> Mixing:
    """Run the chains in `start` (n_chains, n_visible) `n_sweeps` more sweeps at T = 1 with the
    parameters frozen and return τ_int of their energy trace (n_sweeps, n_chains)."""
    if n_sweeps < 2:
        raise ValueError(f"n_sweeps must be ≥ 2 to estimate τ_int, got {n_sweeps}")
    visible = np.asarray(start, dtype=np.float64)
    trace = np.empty((n_sweeps, visible.shape[0]))
    for sweep in range(n_sweeps):
        visible, hidden = gibbs(rbm, backend, visible, 1)
        trace[sweep] = rbm.energy(visible, hidden)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # reported as `reliable` instead
        tau = integrated_autocorrelation_time(trace)
    return Mixing(tau, n_sweeps, visible.shape[0], n_sweeps >= 50 * tau)
