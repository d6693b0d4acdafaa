"""Measurements the playground runs as jobs: temperature sweeps and exact-distribution checks.

Both take an optional `JobContext` (see `thermolab.jobs`) to report progress and partial
results and to stop early; without one they simply run to the end.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from thermolab import diagnostics, exact
from thermolab.backends import Backend
from thermolab.jobs import JobContext
from thermolab.problems import IsingModel, square_lattice

__all__ = [
    "MAX_SWEEP_UPDATES",
    "ExactCheck",
    "SweepPoint",
    "check_sweep_request",
    "exact_check",
    "sweep_rows",
    "temperature_sweep",
]

MAX_SWEEP_UPDATES = 4_000_000_000  # spin updates one sweep job may ask for (≈ 15 s at 300 M/s)
MIN_MEASURED_SWEEPS = 100  # the jackknife uses 50 blocks of at least 2 sweeps


@dataclass(frozen=True)
class SweepPoint:
    """Observables of an L × L lattice at one temperature, each with its standard error.

    energy and abs_magnetization are per spin; susceptibility and heat_capacity per spin
    (k_B = 1); binder is the Binder cumulant U4 = 1 − ⟨m⁴⟩/(3⟨m²⟩²).
    """

    length: int
    temperature: float
    energy: float
    energy_error: float
    abs_magnetization: float
    abs_magnetization_error: float
    susceptibility: float
    susceptibility_error: float
    heat_capacity: float
    heat_capacity_error: float
    binder: float
    binder_error: float
    tau_int_energy: float


def _binder_estimator(samples: np.ndarray) -> float:
    return diagnostics.binder_cumulant(samples)


def check_sweep_request(
    lengths: list[int], temperatures: list[float], *, sweeps: int, burn_in: int, chains: int
) -> None:
    """Refuse (ValueError, one line) a sweep that cannot run or is too large for one job.

    Pages call it before submitting, so the person sees the reason at once.
    """
    if not lengths or not temperatures:
        raise ValueError("choose at least one lattice size and one temperature")
    if any(int(length) < 3 for length in lengths):
        raise ValueError("lattice sizes must be at least 3")
    if sweeps < MIN_MEASURED_SWEEPS:
        raise ValueError(f"measure at least {MIN_MEASURED_SWEEPS} sweeps per temperature")
    if burn_in < 0 or chains < 1:
        raise ValueError("burn-in must be 0 or more and chains at least 1")
    if any(not math.isfinite(t) or t <= 0 for t in temperatures):
        raise ValueError("temperatures must be positive and finite")
    updates = sum(length**2 for length in lengths) * len(temperatures) * (sweeps + burn_in) * chains
    if updates > MAX_SWEEP_UPDATES:
        raise ValueError(
            f"this sweep needs {updates:.2g} spin updates, more than the {MAX_SWEEP_UPDATES:.0e} "
            "allowed per job: use fewer sizes, temperatures, sweeps or chains"
        )


def temperature_sweep(
    backend: Backend,
    lengths: list[int],
    temperatures: list[float],
    *,
    sweeps: int,
    burn_in: int,
    chains: int,
    algorithm: str = "gibbs",
    coupling: float = 1.0,
    seed: int = 0,
    context: JobContext | None = None,
) -> list[SweepPoint]:
    """Measure each L × L periodic lattice at each temperature, hottest first.

    Each temperature starts from the previous one's final states (then `burn_in` sweeps are
    discarded), which equilibrates faster than a random start below T_c.
    """
    check_sweep_request(lengths, temperatures, sweeps=sweeps, burn_in=burn_in, chains=chains)
    order = sorted(temperatures, reverse=True)
    points: list[SweepPoint] = []
    total, done = len(lengths) * len(order), 0
    for length in lengths:
        model = square_lattice(length, coupling)
        states = None
        for temperature in order:
            if context is not None and context.stop_requested:
                return points
            result = backend.sample_ising(
                model,
                1.0 / temperature,
                n_sweeps=burn_in + sweeps,
                n_chains=chains,
                algorithm=algorithm,
                seed=seed + done,
                initial_state=states,
            )
            states = result.states
            points.append(_observe(result, model, length, temperature, burn_in))
            done += 1
            if context is not None:
                context.report(done / total, f"L = {length}, T = {temperature:.3f}", list(points))
    return points


def _observe(result, model: IsingModel, length: int, temperature: float, burn_in: int):
    n = model.n_spins
    beta = 1.0 / temperature
    energies = result.energies[burn_in:]
    magnetizations = result.magnetizations[burn_in:]
    energy, energy_error, tau = diagnostics.mean_with_error(energies / n)
    magnet, magnet_error, _ = diagnostics.mean_with_error(np.abs(magnetizations))
    chi, chi_error = diagnostics.susceptibility(magnetizations, beta, n)
    heat, heat_error = diagnostics.heat_capacity(energies, beta, n)
    if np.all(magnetizations == 0):
        binder, binder_error = float("nan"), float("nan")
    else:
        binder, binder_error = diagnostics.jackknife(magnetizations, _binder_estimator)
    return SweepPoint(
        length, temperature, energy, energy_error, magnet, magnet_error, chi, chi_error,
        heat, heat_error, binder, binder_error, tau,
    )  # fmt: skip


def sweep_rows(points: list[SweepPoint]) -> list[dict[str, float]]:
    """Points as plain rows (for tables and CSV/JSON export)."""
    return [asdict(point) for point in points]


@dataclass(frozen=True)
class ExactCheck:
    """Sampled vs exact Boltzmann distribution of a small model.

    probabilities: exact, (2ⁿ,), state k has s_i = +1 iff bit i of k is set.
    counts: empirical state counts of the longest run, (2ⁿ,).
    sweep_counts, kl, total_variation: KL(p̂ ‖ p) in nats and TV distance after each number of
    sweeps (independent chains, one sample per chain).
    kl_floor, kl_floor_spread: mean and standard deviation of the KL of a perfect sampler
    with as many samples (from exact multinomial draws): the best any sampler can show.
    chi_square_p_value: of the longest run.
    """

    temperature: float
    probabilities: np.ndarray
    counts: np.ndarray
    sweep_counts: list[int]
    kl: list[float]
    total_variation: list[float]
    kl_floor: float
    kl_floor_spread: float
    chi_square_p_value: float
    ground_energy: float
    ground_states: np.ndarray


MAX_EXACT_CHECK_SPINS = 16
PERFECT_SAMPLER_DRAWS = 20


def exact_check(
    backend: Backend,
    model: IsingModel,
    temperature: float,
    *,
    sweep_counts: list[int],
    samples: int = 4000,
    algorithm: str = "gibbs",
    seed: int = 0,
    context: JobContext | None = None,
) -> ExactCheck:
    """Compare the state distribution after each number of sweeps with exact enumeration."""
    if model.n_spins > MAX_EXACT_CHECK_SPINS:
        raise ValueError(
            f"the exact check enumerates all 2ⁿ states: at most {MAX_EXACT_CHECK_SPINS} spins, "
            f"this model has {model.n_spins}"
        )
    if not sweep_counts or min(sweep_counts) < 1:
        raise ValueError("sweep counts must be positive")
    result = exact.enumerate_model(model, temperature)
    probabilities = result.probabilities
    kls, tvs, counts = [], [], np.zeros_like(probabilities)
    steps = sorted(set(sweep_counts))
    for index, n_sweeps in enumerate(steps):
        if context is not None and context.stop_requested:
            break
        states = backend.sample_ising(
            model, 1.0 / temperature, n_sweeps=n_sweeps, n_chains=samples,
            algorithm=algorithm, seed=seed + index, record_every=n_sweeps,
        ).states  # fmt: skip
        counts = np.bincount(exact.state_indices(states), minlength=probabilities.size)
        kls.append(diagnostics.kl_divergence(counts, probabilities))
        tvs.append(diagnostics.total_variation(counts, probabilities))
        if context is not None:
            context.report((index + 1) / len(steps), f"{n_sweeps} sweeps")
    rng = np.random.default_rng(seed)
    perfect = [
        diagnostics.kl_divergence(rng.multinomial(samples, probabilities), probabilities)
        for _ in range(PERFECT_SAMPLER_DRAWS)
    ]
    p_value = diagnostics.chi_square_test(counts, probabilities)[2] if kls else float("nan")
    return ExactCheck(
        temperature=float(temperature),
        probabilities=probabilities,
        counts=counts,
        sweep_counts=steps[: len(kls)],
        kl=kls,
        total_variation=tvs,
        kl_floor=float(np.mean(perfect)),
        kl_floor_spread=float(np.std(perfect, ddof=1)),
        chi_square_p_value=p_value,
        ground_energy=result.ground_energy,
        ground_states=exact.index_states(result.ground_state_indices, model.n_spins),
    )
