"""Chains that keep running between frames: the state behind a live lattice view.

A `LiveChain` holds one chain's spins and the traces recorded so far. Each `advance` call runs a
few sweeps at the temperature of that moment, continuing from the last state, so a slider that
moves changes the temperature of the running chain instead of restarting it. The jax backend
takes β as traced data, so a new temperature never recompiles. `LiveTempering` does the same
for a ladder of replicas with swaps between them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thermolab import diagnostics, exact
from thermolab.backends import Backend
from thermolab.backends.base import derived_seed
from thermolab.problems import IsingModel

__all__ = ["TRACE_LENGTH", "LiveChain", "LiveTempering"]

TRACE_LENGTH = 4000  # sweeps of history kept per chain (bounded memory)


@dataclass
class LiveChain:
    """One Markov chain advanced frame by frame.

    spins: current state, (n,) int8 of ±1. energies, magnetizations: per-spin traces, one value
    per sweep, the last `TRACE_LENGTH` sweeps. temperatures: the temperature of each of those
    sweeps. sweeps: total sweeps done.

    Two threads may hold the same chain: Streamlit starts a new script run before the one it
    replaces has stopped. `lock` (reentrant) serialises every change; hold it to read several
    fields as one consistent state, or use `traces()`.
    """

    model: IsingModel
    backend: Backend
    algorithm: str = "gibbs"
    seed: int = 0
    spins: np.ndarray = field(init=False)
    energies: deque = field(init=False)
    magnetizations: deque = field(init=False)
    temperatures: deque = field(init=False)
    sweeps: int = 0
    lock: Any = field(default_factory=threading.RLock, repr=False, compare=False)  # an RLock
    _calls: int = 0

    def __post_init__(self) -> None:
        self.energies = deque(maxlen=TRACE_LENGTH)
        self.magnetizations = deque(maxlen=TRACE_LENGTH)
        self.temperatures = deque(maxlen=TRACE_LENGTH)
        self.randomise()

    def randomise(self) -> None:
        with self.lock:
            self._calls += 1
            rng = np.random.default_rng(derived_seed(self.seed, self._calls))
            self.spins = (2 * rng.integers(0, 2, self.model.n_spins) - 1).astype(np.int8)
            self.clear_traces()

    def set_all(self, value: int) -> None:
        with self.lock:
            self.spins = np.full(self.model.n_spins, 1 if value > 0 else -1, dtype=np.int8)
            self.clear_traces()

    def clear_traces(self) -> None:
        with self.lock:
            self.energies.clear()
            self.magnetizations.clear()
            self.temperatures.clear()

    def traces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of (temperatures, E/n, m), each (k,) for the last k ≤ TRACE_LENGTH sweeps."""
        with self.lock:
            return (
                np.array(self.temperatures),
                np.array(self.energies),
                np.array(self.magnetizations),
            )

    def advance(self, temperature: float | np.ndarray, n_sweeps: int) -> None:
        """Run `n_sweeps` sweeps at `temperature` (a scalar, or one value per sweep)."""
        temperatures = np.broadcast_to(np.asarray(temperature, dtype=np.float64), (n_sweeps,))
        if np.any(~np.isfinite(temperatures)) or np.any(temperatures <= 0):
            raise ValueError("temperature must be positive and finite")
        with self.lock:
            self._calls += 1
            result = self.backend.sample_ising(
                self.model,
                (1.0 / temperatures)[:, None],
                n_sweeps=n_sweeps,
                algorithm=self.algorithm,
                seed=derived_seed(self.seed, self._calls),
                initial_state=self.spins,
            )
            self.spins = result.states[0]
            self.sweeps += n_sweeps
            self.energies.extend(result.energies[:, 0] / self.model.n_spins)
            self.magnetizations.extend(result.magnetizations[:, 0])
            self.temperatures.extend(temperatures)

    @property
    def energy_per_spin(self) -> float:
        """E/n of the current state: the last sweep's, or (no sweep since the state was set,
        by `randomise` or `set_all`) computed from the spins."""
        with self.lock:
            if self.energies:
                return float(self.energies[-1])
            return float(exact.energy(self.model, self.spins)) / self.model.n_spins

    @property
    def abs_magnetization(self) -> float:
        """|m| = |Σ s_i| / n of the current state (the last sweep's, or the spins')."""
        with self.lock:
            if self.magnetizations:
                return float(abs(self.magnetizations[-1]))
            return float(abs(self.spins.mean(dtype=np.float64)))

    def recent(self, window: int) -> tuple[np.ndarray, np.ndarray]:
        """The last `window` sweeps that ran at the current temperature: (E/n, |m|)."""
        temperatures, energies, magnetizations = self.traces()
        if not temperatures.size:
            return np.empty(0), np.empty(0)
        same = np.flatnonzero(temperatures != temperatures[-1])
        start = max(len(temperatures) - window, same[-1] + 1 if same.size else 0)
        return energies[start:], np.abs(magnetizations[start:])

    def autocorrelation(self, window: int = 1000) -> tuple[float, float] | None:
        """(τ_int of E in sweeps, effective sample size) since the temperature last changed.

        None until there are 50 sweeps at this temperature.
        """
        energies, _ = self.recent(window)
        if energies.size < 50:
            return None
        _, _, tau = diagnostics.mean_with_error(energies)  # short runs are expected here
        return tau, energies.size / tau


@dataclass
class LiveTempering:
    """Replica exchange advanced frame by frame: one replica per temperature of a ladder.

    states: (n_temperatures, n) in temperature order. accepted / proposed: swap counts per
    neighbouring pair since the start.
    """

    model: IsingModel
    backend: Backend
    temperatures: np.ndarray
    algorithm: str = "gibbs"
    seed: int = 0
    states: Any = None
    accepted: np.ndarray = field(init=False)
    proposed: np.ndarray = field(init=False)
    rounds: int = 0
    energies: deque = field(init=False)

    def __post_init__(self) -> None:
        self.temperatures = np.asarray(self.temperatures, dtype=np.float64)
        self.accepted = np.zeros(self.temperatures.size - 1)
        self.proposed = np.zeros(self.temperatures.size - 1)
        self.energies = deque(maxlen=TRACE_LENGTH)

    def advance(self, n_rounds: int) -> None:
        result = self.backend.parallel_tempering(
            self.model,
            1.0 / self.temperatures,
            n_rounds=n_rounds,
            algorithm=self.algorithm,
            seed=derived_seed(self.seed, self.rounds),
            initial_state=self.states,
        )
        self.accepted += result.swap_acceptance * result.swap_proposed
        self.proposed += result.swap_proposed
        self.states = result.states
        self.rounds += n_rounds
        self.energies.extend(result.energies / self.model.n_spins)

    @property
    def swap_rates(self) -> np.ndarray:
        return np.divide(
            self.accepted, self.proposed, out=np.zeros_like(self.accepted), where=self.proposed > 0
        )
