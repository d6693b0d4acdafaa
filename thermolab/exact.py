"""Ground truth: energies, exact enumeration for small models, Onsager's 2D lattice results.

Conventions are those of `thermolab.problems` (k_B = 1, E(s) = −Σ_{i<j} J_ij s_i s_j − Σ h_i s_i).
A state of n spins is numbered k = Σ_i b_i 2^i with b_i = (s_i + 1) / 2, so state 0 is all −1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ellipe, ellipk, logsumexp

from thermolab.problems import IsingModel, WeightedGraph, cut_values, maxcut_to_ising

__all__ = [
    "MAX_ENUMERATION_SPINS",
    "ExactResult",
    "critical_temperature",
    "energy",
    "enumerate_model",
    "ground_energy_bound",
    "ground_energy_reference",
    "ground_states",
    "index_states",
    "max_cut",
    "onsager_energy_per_spin",
    "onsager_magnetization",
    "onsager_reference",
    "onsager_specific_heat",
    "state_indices",
]

MAX_ENUMERATION_SPINS = 20
_CHUNK_STATES = 1 << 16


def energy(model: IsingModel, states: np.ndarray) -> np.ndarray:
    """E(s) of each state: states (..., n) of ±1 (any numeric dtype) → (...,) float64."""
    states = np.asarray(states)
    if states.shape[-1] != model.n_spins:
        raise ValueError(f"states have {states.shape[-1]} spins, the model {model.n_spins}")
    flat = states.reshape(-1, model.n_spins).astype(np.float64)
    local = (model.couplings @ flat.T).T
    energies = -0.5 * np.einsum("ki,ki->k", flat, local) - flat @ model.fields
    return energies.reshape(states.shape[:-1])


def index_states(indices: np.ndarray, n_spins: int) -> np.ndarray:
    """States numbered by `indices` (shape (k,)) as ±1 int8 of shape (k, n_spins)."""
    bits = (np.asarray(indices, dtype=np.int64)[:, None] >> np.arange(n_spins)) & 1
    return (2 * bits - 1).astype(np.int8)


def state_indices(states: np.ndarray) -> np.ndarray:
    """Inverse of `index_states`: states (..., n) of ±1, n ≤ 62 → (...,) int64."""
    states = np.asarray(states)
    if states.shape[-1] > 62:
        raise ValueError("states of more than 62 spins cannot be numbered in int64")
    bits = (states > 0).astype(np.int64)
    return (bits << np.arange(states.shape[-1], dtype=np.int64)).sum(axis=-1)


def _check_enumerable(model: IsingModel) -> None:
    if model.n_spins > MAX_ENUMERATION_SPINS:
        raise ValueError(
            f"exact enumeration is limited to {MAX_ENUMERATION_SPINS} spins "
            f"(2^{MAX_ENUMERATION_SPINS} states); this model has {model.n_spins}"
        )


def _all_energies(model: IsingModel) -> np.ndarray:
    """Energy of every state, in state-number order: shape (2ⁿ,) float64."""
    _check_enumerable(model)
    n_states = 1 << model.n_spins
    couplings = model.couplings.toarray()
    energies = np.empty(n_states)
    for start in range(0, n_states, _CHUNK_STATES):
        stop = min(start + _CHUNK_STATES, n_states)
        spins = index_states(np.arange(start, stop), model.n_spins).astype(np.float64)
        pair = np.einsum("ki,ij,kj->k", spins, couplings, spins)
        energies[start:stop] = -0.5 * pair - spins @ model.fields
    return energies


def _all_magnetizations(n_spins: int) -> np.ndarray:
    """Per-spin magnetisation Σ s_i / n of every state: (2ⁿ,) float64 (popcount based)."""
    indices = np.arange(1 << n_spins, dtype=np.int64)
    ones = np.zeros(indices.shape, dtype=np.int64)
    for i in range(n_spins):
        ones += (indices >> i) & 1
    return (2.0 * ones - n_spins) / n_spins


@dataclass(frozen=True)
class ExactResult:
    """Exact Boltzmann statistics of a model at one temperature (k_B = 1).

    Energies and the heat capacity are totals over the model; magnetisations are per spin.
    `probabilities[k]` is the probability of state number k (see `index_states`).
    """

    temperature: float
    log_partition: float
    probabilities: np.ndarray
    mean_energy: float
    heat_capacity: float
    mean_abs_magnetization: float
    mean_magnetization_squared: float
    ground_energy: float
    ground_state_indices: np.ndarray


def enumerate_model(model: IsingModel, temperature: float) -> ExactResult:
    """Sum over all 2ⁿ states (n ≤ 20) at temperature T > 0."""
    temperature = float(temperature)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be positive and finite, got {temperature}")
    energies = _all_energies(model)
    with np.errstate(over="ignore"):
        log_weights = -energies / temperature
    if not np.all(np.isfinite(log_weights)):
        raise ValueError(
            f"temperature {temperature:g} is too small: E/T overflows double precision "
            "(at such a T only the ground states count; see ground_states)"
        )
    log_partition = float(logsumexp(log_weights))
    probabilities = np.exp(log_weights - log_partition)
    mean_energy = float(probabilities @ energies)
    variance = float(probabilities @ (energies - mean_energy) ** 2)
    magnetizations = _all_magnetizations(model.n_spins)
    ground_energy, ground = _ground(energies)
    return ExactResult(
        temperature=temperature,
        log_partition=log_partition,
        probabilities=probabilities,
        mean_energy=mean_energy,
        heat_capacity=variance / temperature / temperature,  # T² may underflow to 0
        mean_abs_magnetization=float(probabilities @ np.abs(magnetizations)),
        mean_magnetization_squared=float(probabilities @ magnetizations**2),
        ground_energy=ground_energy,
        ground_state_indices=ground,
    )


def _ground(energies: np.ndarray) -> tuple[float, np.ndarray]:
    lowest = float(energies.min())
    tolerance = 1e-9 * max(1.0, abs(lowest))
    return lowest, np.flatnonzero(energies <= lowest + tolerance)


def ground_states(model: IsingModel) -> tuple[float, np.ndarray]:
    """Exact ground energy and every ground state, as ±1 int8 of shape (k, n)."""
    lowest, indices = _ground(_all_energies(model))
    return lowest, index_states(indices, model.n_spins)


def ground_energy_bound(model: IsingModel) -> float | None:
    """Exact ground energy where it is known without search, else None.

    For a lattice with uniform |J| and h on a bipartite (even periodic or open) lattice the
    ordered or Néel state is a ground state when h = 0, and an all-aligned state when J > 0.
    """
    lattice, coupling = model.lattice, model.uniform_coupling
    if lattice is None or coupling is None or not model.has_uniform_fields:
        return None
    field_value = float(model.fields[0])
    bipartite = not lattice.periodic or lattice.length % 2 == 0
    if coupling > 0:
        return -coupling * model.n_edges - abs(field_value) * model.n_spins
    if bipartite and field_value == 0:
        return coupling * model.n_edges
    return None


def ground_energy_reference(model: IsingModel) -> float | None:
    """The model's exact ground energy where it can be had: by enumeration for n ≤
    MAX_ENUMERATION_SPINS, else `ground_energy_bound`'s closed form, else None."""
    if model.n_spins <= MAX_ENUMERATION_SPINS:
        return ground_states(model)[0]
    return ground_energy_bound(model)


def max_cut(graph: WeightedGraph) -> tuple[float, np.ndarray]:
    """Maximum cut weight of a graph (n ≤ 20) and every optimal cut, as ±1 int8 (k, n)."""
    _, optimal = ground_states(maxcut_to_ising(graph))
    values = cut_values(graph, optimal)
    return float(values.max()), optimal


# --------------------------------------------------------------------------- Onsager


def _check_onsager(temperature: np.ndarray, coupling: float) -> None:
    if not coupling > 0 or not np.isfinite(coupling):
        raise ValueError(f"Onsager's results need a positive finite coupling, got {coupling}")
    if np.any(~np.isfinite(temperature)) or np.any(temperature <= 0):
        raise ValueError("temperatures must be positive and finite")


def critical_temperature(coupling: float = 1.0) -> float:
    """T_c = 2J / ln(1 + √2) ≈ 2.269 J of the infinite square lattice."""
    _check_onsager(np.array([1.0]), coupling)
    return 2.0 * coupling / np.log1p(np.sqrt(2.0))


def onsager_reference(model: IsingModel, temperature: float) -> tuple[float, float] | None:
    """Onsager's exact infinite-lattice (energy per spin, |m|) at `temperature` where they
    apply to `model`: a periodic square lattice with uniform J > 0 and no field; else None.
    A finite lattice approaches them as L grows."""
    coupling = model.uniform_coupling
    if (
        model.lattice is None
        or not model.lattice.periodic
        or coupling is None
        or coupling <= 0
        or np.any(model.fields != 0)
    ):
        return None
    return (
        float(onsager_energy_per_spin(temperature, coupling)),
        float(onsager_magnetization(temperature, coupling)),
    )


def onsager_magnetization(temperature: np.ndarray | float, coupling: float = 1.0) -> np.ndarray:
    """Spontaneous magnetisation per spin, (1 − sinh(2J/T)⁻⁴)^(1/8) below T_c, 0 above."""
    temperature = np.asarray(temperature, dtype=np.float64)
    _check_onsager(temperature, coupling)
    inverse_sinh4 = np.sinh(2.0 * coupling / temperature) ** -4.0
    return np.where(inverse_sinh4 < 1.0, np.clip(1.0 - inverse_sinh4, 0.0, None) ** 0.125, 0.0)


def _elliptic_parts(temperature: np.ndarray, coupling: float):
    beta_j = coupling / temperature
    modulus = 2.0 * np.sinh(2 * beta_j) / np.cosh(2 * beta_j) ** 2  # k, with 0 ≤ k ≤ 1
    parameter = np.minimum(modulus**2, 1.0)  # scipy's m = k²
    return beta_j, np.tanh(2 * beta_j), ellipk(parameter), ellipe(parameter)


def onsager_energy_per_spin(temperature: np.ndarray | float, coupling: float = 1.0) -> np.ndarray:
    """Internal energy per spin u = −J coth(2βJ) [1 + (2/π)(2 tanh²(2βJ) − 1) K(k)]."""
    temperature = np.asarray(temperature, dtype=np.float64)
    _check_onsager(temperature, coupling)
    _, tanh2, k_integral, _ = _elliptic_parts(temperature, coupling)
    return -coupling / tanh2 * (1.0 + (2.0 / np.pi) * _vanishing_product(tanh2, k_integral))


def _vanishing_product(tanh2: np.ndarray, k_integral: np.ndarray) -> np.ndarray:
    """(2 tanh²(2βJ) − 1)·K(k): at T_c the first factor vanishes linearly while K diverges
    only logarithmically, so the product is 0 there (not inf × 0)."""
    factor = 2.0 * tanh2**2 - 1.0
    return np.where(np.isinf(k_integral), 0.0, factor * k_integral)


def onsager_specific_heat(temperature: np.ndarray | float, coupling: float = 1.0) -> np.ndarray:
    """Specific heat per spin c = du/dT (diverges logarithmically at T_c).

    c = (2/π)(βJ coth 2βJ)² {2K − 2E − 2(1 − tanh² 2βJ)[π/2 + (2 tanh² 2βJ − 1) K]}.
    """
    temperature = np.asarray(temperature, dtype=np.float64)
    _check_onsager(temperature, coupling)
    beta_j, tanh2, k_integral, e_integral = _elliptic_parts(temperature, coupling)
    prefactor = (2.0 / np.pi) * (beta_j / tanh2) ** 2
    bracket = (
        2.0 * k_integral
        - 2.0 * e_integral
        - 2.0 * (1.0 - tanh2**2) * (np.pi / 2.0 + _vanishing_product(tanh2, k_integral))
    )
    return prefactor * bracket
