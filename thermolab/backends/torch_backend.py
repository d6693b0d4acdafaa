"""The torch backend: the same protocol on torch tensors, on the model's device.

Trainers call `bernoulli` and `categorical` with tensors that live in their graph; the
answers come back as tensors on the same device. `uniform` and `normal` draw the continuous
noise that layers such as Gumbel-softmax and Gaussian weights need, counted like the rest.
`sample_ising` gathers neighbours from a padded neighbour table, one colour block at a time,
in float32.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import torch

from thermolab.backends.base import Backend, Capabilities, SweepRecords, SweepRequest

# Bytes of weights, running sums and search state per block of rows in `categorical`.
_BLOCK_BYTES = 3 << 19


class TorchBackend(Backend):
    """Sampler on torch, on `device` (default: CUDA when available, else CPU)."""

    name = "torch"
    features = Capabilities(array_type="torch.Tensor")

    def __init__(self, seed: int = 0, device: str | None = None) -> None:
        super().__init__()
        self._device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._generators: dict[torch.device, torch.Generator] = {}
        self._seed = seed

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def version(self) -> str:
        return torch.__version__

    def _generator(self, device: torch.device, seed: int | None) -> torch.Generator:
        if seed is not None:
            return torch.Generator(device=device).manual_seed(seed)
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self._seed)
        return self._generators[device]

    def _run_sweeps(self, request: SweepRequest) -> SweepRecords:
        device, model, algorithm = self._device, request.model, request.algorithm
        betas_t = torch.tensor(request.betas, dtype=torch.float32).to(device)
        n = model.n_spins
        # Slot n is a dummy spin: padded neighbours point there with coupling 0.
        spins = torch.ones((request.n_chains, n + 1), dtype=torch.float32, device=device)
        spins[:, :n] = torch.as_tensor(request.start, dtype=torch.float32, device=device)
        neighbours, couplings = model.neighbour_table()
        neighbours_t = torch.as_tensor(neighbours, dtype=torch.long, device=device)
        couplings_t = torch.as_tensor(couplings, dtype=torch.float32, device=device)
        fields_t = torch.tensor(model.fields, dtype=torch.float32, device=device)
        blocks = [torch.tensor(b, dtype=torch.long, device=device) for b in model.colouring]
        generator = self._generator(device, request.seed)
        recorder = request.recorder()
        with torch.no_grad():
            for sweep in range(request.n_sweeps):
                beta_now = betas_t[sweep][:, None]
                for block in blocks:
                    local = (spins[:, neighbours_t[block]] * couplings_t[block]).sum(-1)
                    local = local + fields_t[block]
                    uniform = torch.rand(local.shape, generator=generator, device=device)
                    current = spins[:, block]
                    if algorithm == "gibbs":
                        up = uniform < torch.sigmoid(2.0 * beta_now * local)
                        spins[:, block] = torch.where(up, 1.0, -1.0)
                    else:
                        accept = uniform < torch.exp(-2.0 * beta_now * current * local)
                        spins[:, block] = torch.where(accept, -current, current)
                if recorder.wants(sweep):
                    recorder.record(spins[:, :n].to(torch.int8).cpu().numpy())
        return recorder.records(spins[:, :n].to(torch.int8).cpu().numpy())

    def bernoulli(self, probabilities: Any, *, seed: int | None = None) -> torch.Tensor:
        p = torch.as_tensor(probabilities)
        if not p.is_floating_point():
            p = p.to(torch.float32)
        if p.numel():
            low, high = torch.aminmax(p.detach())  # a NaN propagates to both: rejected
            if not bool((low >= 0) & (high <= 1)):  # one device sync
                raise ValueError("probabilities must lie in [0, 1]")
        bits = torch.bernoulli(p.detach(), generator=self._generator(p.device, seed))
        self.counter.add(random_numbers=p.numel(), samples=p.numel())
        return bits

    def categorical(
        self, energies: Any, temperature: float, n_samples: int, *, seed: int | None = None
    ) -> torch.Tensor:
        temperature, n_samples = self._check_temperature(temperature, n_samples)
        values = torch.as_tensor(energies)
        if not values.is_floating_point():
            values = values.to(torch.float32)
        values = values.detach()
        if values.ndim == 0 or values.shape[-1] == 0:
            raise ValueError("energies need a non-empty last axis of categories")
        generator = self._generator(values.device, seed)
        n_categories = values.shape[-1]
        rows = values.reshape(-1, n_categories)
        # On a CPU, blocks of rows whose weights, running sums and search state fit in a core's
        # L2 cache (each search round gathers from all of a block's rows); on a GPU, one block.
        if values.device.type == "cpu":
            block_rows = max(1, _BLOCK_BYTES // (12 * n_categories + 33 * n_samples))
        else:
            block_rows = max(1, rows.shape[0])
        blocks = [
            _boltzmann_block(rows[start : start + block_rows], temperature, n_samples, generator)
            for start in range(0, rows.shape[0], block_rows)
        ]
        if not blocks:
            blocks = [torch.empty((0, n_samples), dtype=torch.long, device=values.device)]
        flat = blocks[0] if len(blocks) == 1 else torch.cat(blocks)
        indices = flat.reshape(*values.shape[:-1], n_samples)
        self.counter.add(random_numbers=indices.numel(), samples=indices.numel())
        return indices.movedim(-1, 0)

    def uniform(
        self,
        shape: tuple[int, ...],
        *,
        device: Any = None,
        dtype: torch.dtype = torch.float32,
        seed: int | None = None,
    ) -> torch.Tensor:
        """Uniform variates in [0, 1) of `shape`, counted as random numbers (torch only).

        For noise that is not itself a Boltzmann sample, e.g. the Gumbel variates of the
        Gumbel-softmax relaxation in `thermolab.nn`; drawn from this backend's generator.
        """
        where = torch.device(device) if device is not None else self._device
        generator = self._generator(where, seed)
        values = torch.rand(shape, generator=generator, device=where, dtype=dtype)
        self.counter.add(random_numbers=values.numel())
        return values

    def normal(
        self,
        shape: tuple[int, ...],
        *,
        device: Any = None,
        dtype: torch.dtype = torch.float32,
        seed: int | None = None,
        method: Literal["native", "pbit"] = "native",
        n_bits: int = 16,
    ) -> torch.Tensor:
        """Standard normal variates N(0, 1) of `shape` (torch only).

        method "native": torch.randn from this backend's generator, counted as random numbers.
        method "pbit": Z = (Σ_{i<n} b_i − n/2) / √(n/4) over n = `n_bits` fair p-bits b_i per
        value: a standardised Binomial(n, ½), exactly mean 0 and variance 1, Gaussian by the
        central limit (Kolmogorov distance `thermolab.nn.clt_gaussian_distance(n)` ≈ 0.4/√n).
        Each value is counted as n p-bits, as `bernoulli` counts them (a random number and a
        sample per bit). The simulator draws the bits 16 at a time as one uniform 16-bit
        integer — exactly 16 independent fair bits — and adds them up with a popcount table:
        the same distribution as n Bernoulli(½) draws at about 1/40 of their cost on a CPU.
        """
        if any(int(size) != size or size < 0 for size in shape):
            raise ValueError(f"shape must be non-negative integers, got {tuple(shape)}")
        shape = tuple(int(size) for size in shape)
        where = torch.device(device) if device is not None else self._device
        generator = self._generator(where, seed)
        if method == "native":
            values = torch.randn(shape, generator=generator, device=where, dtype=dtype)
            self.counter.add(random_numbers=values.numel())
            return values
        if method != "pbit":
            raise ValueError(f"method must be 'native' or 'pbit', got {method!r}")
        if isinstance(n_bits, bool) or int(n_bits) != n_bits or n_bits < 1:
            raise ValueError(f"n_bits must be a positive integer, got {n_bits}")
        n_bits = int(n_bits)
        ones = torch.zeros(shape, dtype=torch.int32, device=where)
        table = _popcount_table(where)
        for start in range(0, n_bits, 16):
            width = min(16, n_bits - start)
            words = torch.randint(
                1 << width, shape, generator=generator, device=where, dtype=torch.int32
            )
            ones += table[words]
        self.counter.add(random_numbers=n_bits * ones.numel(), samples=n_bits * ones.numel())
        return (ones.to(dtype) - 0.5 * n_bits) / math.sqrt(0.25 * n_bits)


@functools.cache
def _popcount_table(device: torch.device) -> torch.Tensor:
    """How many bits are set in each 16-bit integer k: (65536,) uint8 on `device`."""
    words = torch.arange(1 << 16, device=device)
    return sum((words >> bit) & 1 for bit in range(16)).to(torch.uint8)


def _boltzmann_block(
    energies: torch.Tensor, temperature: float, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    """(rows, m) energies → (rows, n) indices, index k drawn with probability ∝ exp(−E_k / T).

    The weights are torch's fused softmax of −E/T (+inf energies give exactly 0; it is 3×
    faster than exp on its own). Raises ValueError for a row with a NaN or −inf energy, or
    with only +inf ones: each makes the row's softmax, and so its total, NaN.
    """
    weights = torch.softmax(energies * (-1.0 / temperature), dim=-1)
    cumulative = weights.cumsum(dim=-1, dtype=torch.float64)
    if bool(torch.isnan(cumulative[:, -1]).any()):
        if bool((torch.isnan(energies) | (energies == -torch.inf)).any()):
            raise ValueError("energies must not be NaN or −inf")
        raise ValueError("every category of some row has infinite energy")
    return _inverse_cdf(cumulative, n_samples, generator)


def _inverse_cdf(
    cumulative: torch.Tensor, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    """(rows, m) running sums of non-negative weights, float64, each row's total > 0 →
    (rows, n) indices, index k drawn with probability weight_k / total.

    Inverse-CDF sampling: one float64 uniform target per sample, scaled to just below the
    row's total, and the index of the first running sum above the target. That index never
    has zero weight: its running sum exceeds the one before.

    The search is branchless and vectorised over all targets at once: log₂ m rounds of
    gather-compare-add, each target moving by half the remaining width. torch.multinomial
    and torch.searchsorted instead loop over targets one at a time, with a branch per step
    that random targets mispredict half the time; this is faster than either on CPU
    (bench/attention.py).
    """
    n_rows, n_categories = cumulative.shape
    total = cumulative[:, -1:]
    # Targets u · t⁻ with t⁻ the double just below the total t: u < 1 makes them < t⁻ < t.
    below_total = torch.nextafter(total, total.new_zeros(()))
    targets = torch.rand(
        (n_rows, n_samples), generator=generator, device=cumulative.device, dtype=torch.float64
    ).mul_(below_total)
    # Pad to a power of two P with +inf (no target reaches it), then halve the step from P/2
    # to 1: found[r, s] counts the running sums of row r known to be ≤ its target, and each
    # round compares the sum `width` places further on through a shifted view (no index sum).
    widths = [1 << bit for bit in reversed(range((n_categories - 1).bit_length()))]
    padded = 2 * widths[0] if widths else 1
    if padded > n_categories:
        cumulative = torch.nn.functional.pad(cumulative, (0, padded - n_categories), value=math.inf)
    found = torch.zeros_like(targets, dtype=torch.long)
    for width in widths:
        found.add_(cumulative[:, width - 1 :].gather(1, found) <= targets, alpha=width)
    return found
