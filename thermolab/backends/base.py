"""The backend protocol every sampler implements, and what is built on it once for all.

A backend draws from Boltzmann distributions p(s) ∝ exp(−β E(s)). It implements one sweep
kernel, `_run_sweeps`, and two primitives, `bernoulli` and `categorical`; `sample_ising` is
written here once around the kernel (argument checks, β schedule, initial states, record layout,
counting, result), and so are annealing and parallel tempering, built on `sample_ising` with one
β per chain. What a backend can do is data: its `capabilities`.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from thermolab.exact import energy
from thermolab.problems import IsingModel, check_memory

Algorithm = Literal["gibbs", "metropolis"]
ALGORITHMS: tuple[str, ...] = ("gibbs", "metropolis")

__all__ = [
    "ALGORITHMS",
    "Backend",
    "BackendUnavailable",
    "Capabilities",
    "OperationCounter",
    "Recorder",
    "SampleResult",
    "SweepRecords",
    "SweepRequest",
    "TemperingResult",
    "beta_schedule",
    "check_categorical_energies",
    "derived_seed",
    "initial_states",
    "record_layout",
    "temperature_schedule",
]


class BackendUnavailable(RuntimeError):
    """A backend that cannot run here; the message says why in one line."""


@dataclass
class CompileClock:
    """Seconds one thread spent preparing kernels (tracing, compiling, loading them from a
    cache) inside a `Backend.compile_clock()` block; 0 for a backend that compiles nothing."""

    seconds: float = 0.0


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared by its class (`Backend.features`) plus where it runs.

    algorithms: the `sample_ising` algorithms it runs.
    lattice_fast_path: periodic L × L lattices (even L, uniform J and h) take a packed
        checkerboard kernel instead of the general graph kernel.
    array_type: what `bernoulli` and `categorical` return, e.g. "numpy.ndarray".
    device: where samples are drawn, e.g. "cpu" or "cuda:0" (empty in a class's declaration).
    devices: how many devices an instance spreads its chains over.
    """

    algorithms: tuple[str, ...] = ALGORITHMS
    lattice_fast_path: bool = False
    array_type: str = "numpy.ndarray"
    device: str = ""
    devices: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithms": list(self.algorithms),
            "lattice_fast_path": self.lattice_fast_path,
            "array_type": self.array_type,
            "device": self.device,
            "devices": self.devices,
        }


@dataclass
class OperationCounter:
    """Running totals of the stochastic work a backend did (read by the energy ledger).

    spin_updates: single-spin (p-bit) updates, accepted or not.
    random_numbers: uniform (or Gumbel) variates drawn.
    samples: Bernoulli or categorical samples returned.
    """

    spin_updates: int = 0
    random_numbers: int = 0
    samples: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, spin_updates: int = 0, random_numbers: int = 0, samples: int = 0) -> None:
        with self._lock:
            self.spin_updates += int(spin_updates)
            self.random_numbers += int(random_numbers)
            self.samples += int(samples)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "spin_updates": self.spin_updates,
                "random_numbers": self.random_numbers,
                "samples": self.samples,
            }

    def reset(self) -> None:
        with self._lock:
            self.spin_updates = self.random_numbers = self.samples = 0

    # A lock cannot be pickled or deep-copied; a copy gets its own (so modules holding a
    # backend, e.g. thermolab.nn layers, survive copy.deepcopy and torch.save).
    def __getstate__(self) -> dict[str, int]:
        return self.snapshot()

    def __setstate__(self, state: dict[str, int]) -> None:
        self.__init__(**state)


@dataclass(frozen=True)
class SampleResult:
    """What `sample_ising` returns (numpy arrays, whatever the backend).

    states: final spins, (n_chains, n) int8 of ±1.
    energies: total energy E after each recorded sweep, (n_records, n_chains) float64.
    magnetizations: per-spin magnetisation Σ s_i / n at the same sweeps, (n_records, n_chains).
    recorded_sweeps: 1-based sweep number of each record, (n_records,) int64.
    best_energies, best_states: lowest recorded energy per chain and its state.
    """

    states: np.ndarray
    energies: np.ndarray
    magnetizations: np.ndarray
    recorded_sweeps: np.ndarray
    best_energies: np.ndarray
    best_states: np.ndarray


@dataclass(frozen=True)
class TemperingResult:
    """What `parallel_tempering` returns; replicas are indexed by temperature slot.

    betas: the ladder, (n_temperatures,), sorted as given.
    states: final state at each temperature, (n_temperatures, n) int8.
    energies: energy at each temperature after each round, (n_rounds, n_temperatures).
    magnetizations: likewise, per spin.
    swap_acceptance: accepted / proposed swaps between slots k and k+1, (n_temperatures − 1,).
    swap_proposed: how many swaps were proposed between slots k and k+1, (n_temperatures − 1,).
    slot_of_replica: temperature slot of each replica after each round, (n_rounds, n_replicas).
    round_trips: completed trips of replicas from the coldest slot to the hottest and back.
    best_energy, best_state: lowest energy seen at any slot after any round.
    """

    betas: np.ndarray
    states: np.ndarray
    energies: np.ndarray
    magnetizations: np.ndarray
    swap_acceptance: np.ndarray
    swap_proposed: np.ndarray
    slot_of_replica: np.ndarray
    round_trips: int
    best_energy: float
    best_state: np.ndarray


@dataclass(frozen=True)
class SweepRequest:
    """What a backend's sweep kernel is asked to run (checked by `Backend.sample_ising`).

    betas: β per sweep and chain, (n_sweeps, n_chains) float64. start: initial spins,
    (n_chains, n) int8 of ±1. The kernel records after every `record_every`-th sweep
    (`record_layout`), draws from `seed` alone, and uses one uniform per spin update.
    """

    model: IsingModel
    betas: np.ndarray
    start: np.ndarray
    algorithm: str
    seed: int
    record_every: int

    @property
    def n_sweeps(self) -> int:
        return self.betas.shape[0]

    @property
    def n_chains(self) -> int:
        return self.betas.shape[1]

    def recorder(self) -> Recorder:
        """A `Recorder` for a kernel that hands its spins back at each record."""
        return Recorder(self.model, self.start, self.n_sweeps, self.record_every)


@dataclass(frozen=True)
class SweepRecords:
    """What a backend's sweep kernel returns (numpy arrays; shapes as in `SampleResult`).

    states: final spins, (n_chains, n) int8. energies, magnetizations: (n_records, n_chains).
    best_energies, best_states: lowest recorded energy per chain, (n_chains,), and its state.
    """

    states: np.ndarray
    energies: np.ndarray
    magnetizations: np.ndarray
    best_energies: np.ndarray
    best_states: np.ndarray


class Recorder:
    """The records of a kernel that hands its spins back after every `record_every`-th sweep:
    energy and magnetisation per record and chain, and each chain's lowest-energy state.

    A kernel asks `wants(sweep)` after each sweep (0-based) and, when it does, calls `record`.
    """

    def __init__(
        self, model: IsingModel, start: np.ndarray, n_sweeps: int, record_every: int
    ) -> None:
        n_records, _, _ = record_layout(n_sweeps, record_every)
        n_chains = start.shape[0]
        self._model = model
        self._every = record_every
        self._next = 0
        self.energies = np.empty((n_records, n_chains))
        self.magnetizations = np.empty((n_records, n_chains))
        self.best_energies = np.full(n_chains, np.inf)
        self.best_states = np.array(start, dtype=np.int8)

    def wants(self, sweep: int) -> bool:
        """Whether the spins after 0-based sweep `sweep` are recorded."""
        return (sweep + 1) % self._every == 0 and self._next < len(self.energies)

    def record(self, states: np.ndarray) -> None:
        """The next record: `states`, (n_chains, n) of ±1 (any real dtype)."""
        index = self._next
        self._next += 1
        self.energies[index] = energy(self._model, states)
        self.magnetizations[index] = states.mean(axis=1)
        lower = self.energies[index] < self.best_energies
        self.best_energies[lower] = self.energies[index][lower]
        self.best_states[lower] = states[lower]

    def records(self, final_states: np.ndarray) -> SweepRecords:
        return SweepRecords(
            states=np.asarray(final_states, dtype=np.int8),
            energies=self.energies,
            magnetizations=self.magnetizations,
            best_energies=self.best_energies,
            best_states=self.best_states,
        )


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def beta_schedule(beta: Any, n_sweeps: int, n_chains: int) -> np.ndarray:
    """Normalise β to one value per sweep and chain: shape (n_sweeps, n_chains) float64.

    Accepted: a scalar; shape (n_chains,), one β per chain; shape (n_sweeps, 1), a per-sweep
    schedule shared by all chains; shape (n_sweeps, n_chains). β must be finite and ≥ 0.
    """
    values = np.asarray(beta, dtype=np.float64)
    if values.ndim == 0:
        values = np.full((n_sweeps, n_chains), float(values))
    elif (values.ndim == 1 and values.shape[0] == n_chains) or (
        values.ndim == 2 and values.shape[0] == n_sweeps and values.shape[1] in (1, n_chains)
    ):
        values = np.broadcast_to(values, (n_sweeps, n_chains))
    else:
        raise ValueError(
            f"beta must be a scalar, shape ({n_chains},) per chain, or ({n_sweeps}, 1) / "
            f"({n_sweeps}, {n_chains}) per sweep; got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("beta must be finite and non-negative (β = 1/T, T > 0)")
    return np.ascontiguousarray(values)


def temperature_schedule(
    t_start: float, t_end: float, n_sweeps: int, kind: Literal["linear", "geometric"] = "linear"
) -> np.ndarray:
    """Annealing schedule from T_start to T_end as β per sweep: shape (n_sweeps,) float64."""
    n_sweeps = _positive_int("n_sweeps", n_sweeps)
    check_memory(16 * n_sweeps, f"an annealing schedule of {n_sweeps:,} sweeps", "use fewer sweeps")
    t_start, t_end = float(t_start), float(t_end)
    if not (np.isfinite(t_start) and np.isfinite(t_end)) or t_start <= 0 or t_end <= 0:
        raise ValueError(f"temperatures must be positive and finite, got {t_start}, {t_end}")
    if kind == "linear":
        temperatures = np.linspace(t_start, t_end, n_sweeps)
    elif kind == "geometric":
        temperatures = np.geomspace(t_start, t_end, n_sweeps)
    else:
        raise ValueError(f"schedule kind must be 'linear' or 'geometric', got {kind!r}")
    return 1.0 / temperatures


def derived_seed(seed: int, step: int) -> int:
    """An independent 32-bit seed for step `step` of a run seeded with `seed` (both ≥ 0)."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0])


def initial_states(
    model: IsingModel, n_chains: int, seed: int, initial_state: Any = None
) -> np.ndarray:
    """Starting spins, (n_chains, n) int8: random ±1 from `seed`, or the given state(s)."""
    n = model.n_spins
    if initial_state is None:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
        return (2 * rng.integers(0, 2, size=(n_chains, n), dtype=np.int8) - 1).astype(np.int8)
    states = np.asarray(initial_state)
    if states.shape == (n,):
        states = np.broadcast_to(states, (n_chains, n))
    if states.shape != (n_chains, n):
        raise ValueError(f"initial_state must have shape ({n},) or ({n_chains}, {n})")
    if not np.all(np.abs(states) == 1):
        raise ValueError("initial_state must hold only −1 and +1")
    return np.array(states, dtype=np.int8)


class Backend(ABC):
    """A Boltzmann sampler. Subclasses implement `device`, `version`, the sweep kernel
    `_run_sweeps`, `bernoulli` and `categorical`, and declare `name` and `features`.

    Every call adds its work to `self.counter`.
    """

    name: str = "abstract"
    features: ClassVar[Capabilities] = Capabilities()

    def __init__(self) -> None:
        self.counter = OperationCounter()

    # ----------------------------------------------------------------- identity

    @classmethod
    def probe(cls) -> str | None:
        """None when this backend can run here, else a one-line reason."""
        return None

    @property
    @abstractmethod
    def device(self) -> str:
        """Where samples are drawn, e.g. 'cpu' or 'cuda:0'."""

    @property
    def device_count(self) -> int:
        """How many devices this instance spreads its chains over."""
        return 1

    @contextlib.contextmanager
    def compile_clock(self) -> Iterator[CompileClock]:
        """A block whose kernel preparation this thread times: `with backend.compile_clock()
        as clock: ...`, then clock.seconds (set when the block ends). Subtracting it from the
        block's wall time leaves the sampling itself."""
        yield CompileClock()

    @classmethod
    def local_device_count(cls) -> int:
        """How many devices an instance could spread its chains over here (its `devices`
        option ranges over 1 … this); 1 for a backend that takes no device count."""
        return 1

    @property
    @abstractmethod
    def version(self) -> str:
        """Version of the library doing the work."""

    @property
    def capabilities(self) -> Capabilities:
        """The class's declared `features`, with the device this instance runs on."""
        return Capabilities(
            algorithms=self.features.algorithms,
            lattice_fast_path=self.features.lattice_fast_path,
            array_type=self.features.array_type,
            device=self.device,
            devices=self.device_count,
        )

    # ----------------------------------------------------------------- primitives

    def sample_ising(
        self,
        model: IsingModel,
        beta: Any,
        *,
        n_sweeps: int,
        n_chains: int = 1,
        algorithm: Algorithm = "gibbs",
        seed: int = 0,
        record_every: int = 1,
        initial_state: Any = None,
    ) -> SampleResult:
        """Run `n_chains` Markov chains for `n_sweeps` sweeps at inverse temperature β.

        A sweep updates every spin once, block by block of `model.colouring`: block Gibbs
        (p-bit: s_i = +1 with probability σ(2β h_i^eff)) or Metropolis (flip with probability
        min(1, e^{−β ΔE})). β is a scalar, one value per chain, or a per-sweep schedule
        (see `beta_schedule`). Energies and magnetisations are recorded after every
        `record_every`-th sweep. The same seed gives the same result on the same backend.
        """
        n_sweeps, n_chains, record_every = self._check_sampling_args(
            model, n_sweeps, n_chains, algorithm, record_every
        )
        if algorithm not in self.features.algorithms:
            raise ValueError(f"the {self.name} backend runs {self.features.algorithms} only")
        betas = beta_schedule(beta, n_sweeps, n_chains)
        start = initial_states(model, n_chains, seed, initial_state)
        _, _, recorded = record_layout(n_sweeps, record_every)
        records = self._run_sweeps(SweepRequest(model, betas, start, algorithm, seed, record_every))
        self.counter.add(
            spin_updates=n_sweeps * n_chains * model.n_spins,
            random_numbers=n_sweeps * n_chains * model.n_spins,
        )
        return SampleResult(
            states=records.states,
            energies=records.energies,
            magnetizations=records.magnetizations,
            recorded_sweeps=recorded,
            best_energies=records.best_energies,
            best_states=records.best_states,
        )

    @abstractmethod
    def _run_sweeps(self, request: SweepRequest) -> SweepRecords:
        """The kernel: `request.n_sweeps` sweeps of `request.n_chains` chains from
        `request.start` (see `SweepRequest`; a `Recorder` keeps the records for a kernel that
        can hand its spins back)."""

    @abstractmethod
    def bernoulli(self, probabilities: Any, *, seed: int | None = None) -> Any:
        """Independent p-bits: 1 with probability p, else 0, same shape and float dtype as p."""

    @abstractmethod
    def categorical(
        self, energies: Any, temperature: float, n_samples: int, *, seed: int | None = None
    ) -> Any:
        """Boltzmann samples over the last axis: index k with probability ∝ exp(−E_k / T).

        energies (..., m) → int indices of shape (n_samples, ...). +inf energies are never drawn.
        """

    # ----------------------------------------------------------------- shared argument checks

    @staticmethod
    def _check_sampling_args(
        model: IsingModel, n_sweeps: int, n_chains: int, algorithm: str, record_every: int
    ) -> tuple[int, int, int]:
        if not isinstance(model, IsingModel):
            raise ValueError(f"model must be an IsingModel, got {type(model).__name__}")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        n_sweeps = _positive_int("n_sweeps", n_sweeps)
        n_chains = _positive_int("n_chains", n_chains)
        record_every = _positive_int("record_every", record_every)
        if record_every > n_sweeps:
            raise ValueError(f"record_every ({record_every}) exceeds n_sweeps ({n_sweeps})")
        # β per sweep and chain (float64), two recorded series (float64), states and work space.
        needed = (
            8 * n_sweeps * n_chains
            + 16 * (n_sweeps // record_every) * n_chains
            + 8 * n_chains * model.n_spins
        )
        check_memory(
            needed,
            f"{n_sweeps:,} sweeps of {n_chains:,} chains of {model.n_spins:,} spins",
            "ask for fewer sweeps or chains",
        )
        return n_sweeps, n_chains, record_every

    @staticmethod
    def _check_temperature(temperature: float, n_samples: int) -> tuple[float, int]:
        """The `categorical` arguments checked: (T > 0 finite, n_samples ≥ 1)."""
        temperature = float(temperature)
        if not np.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be positive and finite, got {temperature}")
        return temperature, _positive_int("n_samples", n_samples)

    # ----------------------------------------------------------------- built on sample_ising

    def anneal(
        self,
        model: IsingModel,
        schedule: Any,
        *,
        n_chains: int = 1,
        algorithm: Algorithm = "metropolis",
        seed: int = 0,
        record_every: int = 1,
        initial_state: Any = None,
    ) -> SampleResult:
        """Simulated annealing: one sweep per entry of `schedule` (β per sweep, shape (n,))."""
        betas = np.asarray(schedule, dtype=np.float64)
        if betas.ndim != 1 or betas.size == 0:
            raise ValueError(f"schedule must be a non-empty 1-D array of β, got {betas.shape}")
        return self.sample_ising(
            model,
            betas[:, None],
            n_sweeps=betas.size,
            n_chains=n_chains,
            algorithm=algorithm,
            seed=seed,
            record_every=record_every,
            initial_state=initial_state,
        )

    def parallel_tempering(
        self,
        model: IsingModel,
        betas: Any,
        *,
        n_rounds: int,
        sweeps_per_round: int = 1,
        algorithm: Algorithm = "gibbs",
        seed: int = 0,
        initial_state: Any = None,
    ) -> TemperingResult:
        """Replica exchange: one replica per β; after each round of sweeps, neighbouring
        temperature slots (k, k+1) propose to swap, even pairs on even rounds and odd pairs on
        odd rounds, accepted with probability min(1, exp((β_k − β_{k+1})(E_k − E_{k+1}))).

        `initial_state`, shape (n_temperatures, n) in slot order (as `TemperingResult.states`),
        continues an earlier run; by default every replica starts at random.
        """
        ladder = np.asarray(betas, dtype=np.float64)
        if ladder.ndim != 1 or ladder.size < 2:
            raise ValueError("parallel tempering needs a 1-D ladder of at least two β values")
        if not np.all(np.isfinite(ladder)) or np.any(ladder < 0):
            raise ValueError("β values must be finite and non-negative")
        n_rounds = _positive_int("n_rounds", n_rounds)
        sweeps_per_round = _positive_int("sweeps_per_round", sweeps_per_round)
        n_temps = ladder.size
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E4])).random
        replica_at_slot = np.arange(n_temps)
        states = initial_states(model, n_temps, seed, initial_state)
        energies = np.empty((n_rounds, n_temps))
        magnetizations = np.empty((n_rounds, n_temps))
        slot_history = np.empty((n_rounds, n_temps), dtype=np.int64)
        accepted = np.zeros(n_temps - 1)
        proposed = np.zeros(n_temps - 1)
        # Round trips: a replica that last touched the coldest slot (0) and reaches the hottest
        # slot and then the coldest again completes one trip.
        last_end = np.full(n_temps, -1)
        round_trips = 0
        best_energy, best_state = np.inf, states[0].copy()
        for round_index in range(n_rounds):
            slot_of_replica = np.argsort(replica_at_slot)
            result = self.sample_ising(
                model,
                ladder[slot_of_replica],
                n_sweeps=sweeps_per_round,
                n_chains=n_temps,
                algorithm=algorithm,
                seed=derived_seed(seed, round_index),
                record_every=sweeps_per_round,
                initial_state=states,
            )
            states = result.states
            replica_energy = result.energies[-1]
            for k in range(round_index % 2, n_temps - 1, 2):
                a, b = replica_at_slot[k], replica_at_slot[k + 1]
                proposed[k] += 1
                log_ratio = (ladder[k] - ladder[k + 1]) * (replica_energy[a] - replica_energy[b])
                if log_ratio >= 0 or rng() < np.exp(log_ratio):
                    replica_at_slot[k], replica_at_slot[k + 1] = b, a
                    accepted[k] += 1
            energies[round_index] = replica_energy[replica_at_slot]
            magnetizations[round_index] = result.magnetizations[-1][replica_at_slot]
            slot_history[round_index] = np.argsort(replica_at_slot)
            for end, slot in ((0, 0), (1, n_temps - 1)):
                replica = replica_at_slot[slot]
                if end == 0 and last_end[replica] == 1:
                    round_trips += 1
                last_end[replica] = end
            lowest = int(np.argmin(replica_energy))
            if replica_energy[lowest] < best_energy:
                best_energy, best_state = float(replica_energy[lowest]), states[lowest].copy()
        return TemperingResult(
            betas=ladder,
            states=states[replica_at_slot],
            energies=energies,
            magnetizations=magnetizations,
            swap_acceptance=np.divide(
                accepted, proposed, out=np.zeros_like(accepted), where=proposed > 0
            ),
            swap_proposed=proposed.astype(np.int64),
            slot_of_replica=slot_history,
            round_trips=round_trips,
            best_energy=best_energy,
            best_state=best_state,
        )


def record_layout(n_sweeps: int, record_every: int) -> tuple[int, int, np.ndarray]:
    """(n_records, remainder sweeps after the last record, 1-based recorded sweep numbers)."""
    n_records = n_sweeps // record_every
    recorded = record_every * np.arange(1, n_records + 1, dtype=np.int64)
    return n_records, n_sweeps - n_records * record_every, recorded


def check_categorical_energies(values: Any) -> None:
    """Raise ValueError unless `values` (..., m), a numpy or array-API array, holds categorical
    energies: a non-empty last axis, no NaN or −inf, and some finite energy in every row."""
    if values.ndim == 0 or values.shape[-1] == 0:
        raise ValueError("energies need a non-empty last axis of categories")
    if bool(((values != values) | (values == -float("inf"))).any()):
        raise ValueError("energies must not be NaN or −inf")
    if bool((values == float("inf")).all(axis=-1).any()):
        raise ValueError("every category of some row has infinite energy")
