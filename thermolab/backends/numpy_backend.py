"""The numpy backend: small and obviously correct, the oracle the other backends are tested on.

Float64 throughout, one block of the colouring at a time, no tricks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from thermolab.backends.base import (
    Backend,
    Capabilities,
    SweepRecords,
    SweepRequest,
    check_categorical_energies,
)


class NumpyBackend(Backend):
    """Reference sampler on numpy's PCG64 generator (CPU, single-threaded)."""

    name = "numpy"
    features = Capabilities(array_type="numpy.ndarray")

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self._rng = np.random.default_rng(seed)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def version(self) -> str:
        return np.__version__

    def _generator(self, seed: int | None) -> np.random.Generator:
        return self._rng if seed is None else np.random.default_rng(seed)

    def _run_sweeps(self, request: SweepRequest) -> SweepRecords:
        model, algorithm = request.model, request.algorithm
        spins = request.start.astype(np.float64)
        rng = np.random.default_rng(request.seed)
        recorder = request.recorder()
        rows = [model.couplings[block] for block in model.colouring]  # (|block|, n) each
        for sweep, betas in enumerate(request.betas):
            beta_now = betas[:, None]  # (n_chains, 1)
            for block, block_rows in zip(model.colouring, rows, strict=True):
                local = (block_rows @ spins.T).T + model.fields[block]  # (n_chains, |block|)
                uniform = rng.random(local.shape)
                if algorithm == "gibbs":
                    spins[:, block] = np.where(uniform < expit(2 * beta_now * local), 1.0, -1.0)
                else:
                    delta = 2.0 * spins[:, block] * local
                    accept = uniform < np.exp(np.minimum(0.0, -beta_now * delta))
                    spins[:, block] = np.where(accept, -spins[:, block], spins[:, block])
            if recorder.wants(sweep):
                recorder.record(spins)
        return recorder.records(spins)

    def bernoulli(self, probabilities: Any, *, seed: int | None = None) -> np.ndarray:
        p = np.asarray(probabilities, dtype=np.float64)
        # One pass each for min and max; a NaN fails both comparisons, ±inf one of them.
        if p.size and not (p.min() >= 0 and p.max() <= 1):
            raise ValueError("probabilities must lie in [0, 1]")
        uniform = self._generator(seed).random(p.shape)
        bits = np.less(uniform, p, out=uniform)  # 1.0 where u < p, else 0.0, in place
        self.counter.add(random_numbers=p.size, samples=p.size)
        return bits

    def categorical(
        self, energies: Any, temperature: float, n_samples: int, *, seed: int | None = None
    ) -> np.ndarray:
        temperature, n_samples = self._check_temperature(temperature, n_samples)
        values = np.asarray(energies, dtype=np.float64)
        check_categorical_energies(values)
        # Inverse-CDF sampling of p ∝ exp(−(E − E_min)/T): one uniform per sample.
        shifted = -(values - values.min(axis=-1, keepdims=True)) / temperature
        cumulative = np.cumsum(np.exp(shifted), axis=-1)
        uniform = self._generator(seed).random((n_samples, *values.shape[:-1], 1))
        targets = uniform * cumulative[..., -1:]
        indices = (cumulative[None] <= targets).sum(axis=-1)
        self.counter.add(random_numbers=uniform.size, samples=uniform.size)
        return np.minimum(indices, values.shape[-1] - 1)
