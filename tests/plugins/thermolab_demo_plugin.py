"""A tiny third-party backend, found through the `thermolab.backends` entry-point group.

What a plug-in writes: its identity (`name`, `features`, `device`, `version`), one sweep
kernel and the two primitives. `Backend.sample_ising` does the rest (argument checks, β
schedule, initial states, counting, the result); `Recorder` keeps the records.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from thermolab.backends.base import (
    Backend,
    Capabilities,
    SweepRecords,
    SweepRequest,
    check_categorical_energies,
)


class DemoBackend(Backend):
    """Sequential single-spin Gibbs on numpy: the demo chip updates one p-bit at a time."""

    name = "demo"
    features = Capabilities(algorithms=("gibbs",), array_type="numpy.ndarray")

    device = property(lambda self: "cpu (the demo chip, simulated)")
    version = property(lambda self: "0.1")

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self._rng = np.random.default_rng(seed)  # for draws that bring no seed of their own

    def _run_sweeps(self, request: SweepRequest) -> SweepRecords:
        model, rng = request.model, np.random.default_rng(request.seed)
        spins = request.start.astype(np.float64)
        recorder = request.recorder()
        for sweep, beta in enumerate(request.betas):
            for site in range(model.n_spins):  # one p-bit at a time: h_i = Σ_j J_ij s_j + h_i
                local = spins @ model.couplings[site] + model.fields[site]
                spins[:, site] = np.where(
                    rng.random(len(spins)) * (1 + np.exp(-2 * beta * local)) < 1, 1.0, -1.0
                )
            if recorder.wants(sweep):
                recorder.record(spins)
        return recorder.records(spins)

    def bernoulli(self, probabilities: Any, *, seed: int | None = None) -> np.ndarray:
        p = np.asarray(probabilities, dtype=np.float64)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        self.counter.add(random_numbers=p.size, samples=p.size)
        return (rng.random(p.shape) < p).astype(np.float64)

    def categorical(
        self, energies: Any, temperature: float, n_samples: int, *, seed: int | None = None
    ) -> np.ndarray:
        temperature, n_samples = self._check_temperature(temperature, n_samples)
        values = np.asarray(energies, dtype=np.float64)
        check_categorical_energies(values)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        # Gumbel-max: argmax_k (−E_k / T + G_k) is index k with probability ∝ exp(−E_k / T).
        gumbel = rng.gumbel(size=(n_samples, *values.shape))
        self.counter.add(random_numbers=gumbel.size, samples=gumbel.size // values.shape[-1])
        return np.argmax(-values / temperature + gumbel, axis=-1)


class OfflineBackend(DemoBackend):
    name = "offline"

    @classmethod
    def probe(cls) -> str | None:
        return "the demo chip is not connected"
