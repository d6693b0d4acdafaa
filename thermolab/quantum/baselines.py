"""Classical answers on the very same `IsingModel` a QAOA instance encodes, each timed.

- exact: the lowest of the instance's 2ⁿ basis energies, the reference every ratio uses;
- annealing: the backend's simulated annealing (geometric schedule, several chains, best kept);
- tempering: the backend's parallel tempering (geometric β ladder, best state seen);
- random: uniformly random states (for MaxCut, random cuts: mean ratio ≈ ½ · W / max cut).

Temperatures are in units of the model's typical |J| (or |h|), so the same settings suit
unit-weight graphs and QUBOs alike. The default backend is numpy: on n ≤ 20 spins it needs no
compilation, which would otherwise dominate the time taken (any registered backend works).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from thermolab import exact
from thermolab.backends import get_backend, temperature_schedule
from thermolab.quantum.hamiltonian import index_spins
from thermolab.quantum.instance import QaoaInstance
from thermolab.quantum.qaoa import energy_scale

__all__ = ["BaselineResult", "run_baselines"]


@dataclass(frozen=True)
class BaselineResult:
    """One classical method: its best (or, for random, mean) energy, the state, its ratio."""

    method: str
    energy: float
    state: np.ndarray
    ratio: float
    objective: float
    seconds: float
    detail: str


def _row(instance, method, energy, state, seconds, detail) -> BaselineResult:
    return BaselineResult(
        method=method,
        energy=float(energy),
        state=np.asarray(state, dtype=np.int8),
        ratio=float(instance.ratio(energy)),
        objective=float(instance.objective(energy)),
        seconds=float(seconds),
        detail=detail,
    )


def run_baselines(
    instance: QaoaInstance,
    *,
    backend: str = "numpy",
    sweeps: int = 500,
    chains: int = 8,
    rounds: int = 200,
    replicas: int = 8,
    random_samples: int = 1000,
    seed: int = 0,
) -> list[BaselineResult]:
    """exact, annealing, tempering and random on `instance.model`, in that order."""
    model = instance.model
    scale = energy_scale(instance)
    rows = []

    start = time.perf_counter()
    optimal = np.flatnonzero(instance.optimal_mask)  # basis states in PennyLane's order
    ground_state = index_spins(optimal[:1], model.n_spins)[0]
    rows.append(
        _row(
            instance,
            "exact",
            instance.ground_energy,
            ground_state,
            time.perf_counter() - start,
            f"enumeration of 2^{model.n_spins} states, {optimal.size} optimal",
        )
    )

    sampler = get_backend(backend)
    schedule = temperature_schedule(3.0 * scale, 0.05 * scale, sweeps, "geometric")
    start = time.perf_counter()
    annealed = sampler.anneal(model, schedule, n_chains=chains, seed=seed)
    best = int(np.argmin(annealed.best_energies))
    rows.append(
        _row(
            instance,
            "annealing",
            annealed.best_energies[best],
            annealed.best_states[best],
            time.perf_counter() - start,
            f"{backend}, {chains} chains × {sweeps} sweeps, T {3 * scale:g} → {0.05 * scale:g}",
        )
    )

    ladder = np.geomspace(0.2, 5.0, replicas) / scale
    start = time.perf_counter()
    tempered = sampler.parallel_tempering(model, ladder, n_rounds=rounds, seed=seed)
    rows.append(
        _row(
            instance,
            "tempering",
            tempered.best_energy,
            tempered.best_state,
            time.perf_counter() - start,
            f"{backend}, {replicas} replicas × {rounds} rounds, β {ladder[0]:.3g}…{ladder[-1]:.3g}",
        )
    )

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    random_states = (2 * rng.integers(0, 2, size=(random_samples, model.n_spins)) - 1).astype(
        np.int8
    )
    energies = exact.energy(model, random_states)
    rows.append(
        _row(
            instance,
            "random",
            float(energies.mean()),
            random_states[int(np.argmin(energies))],
            time.perf_counter() - start,
            f"mean of {random_samples} uniformly random states",
        )
    )
    return rows
