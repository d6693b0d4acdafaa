"""The energy ledger: every joule is measured, estimated or projected, and kinds never add.

- measured: a sensor read it (NVML's counter or sampled power on a GPU, RAPL on a CPU).
- estimated: a labelled power model where no sensor exists (see `EstimateMeter`).
- projected: what the counted p-bit operations would cost on thermodynamic hardware, from a
  per-operation energy (`OperationEnergy`) that cites its source and that a person can edit.

`Energy` values of one kind add (their sources are listed together); values of different kinds
refuse to (`MixedEnergyKinds`), so no total on screen ever mixes a sensor with a model.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ENERGY_KINDS",
    "Energy",
    "EnergyKind",
    "EnergyLedger",
    "LedgerEntry",
    "MixedEnergyKinds",
    "OperationEnergy",
    "project_operations",
]

EnergyKind = Literal["measured", "estimated", "projected"]
#: The kinds, in the order they are shown.
ENERGY_KINDS: tuple[EnergyKind, ...] = get_args(EnergyKind)

#: Separates the sources of a sum of same-kind energies from different meters.
SOURCE_SEPARATOR = " | "


class MixedEnergyKinds(TypeError):
    """Raised when code tries to add joules of different kinds (e.g. measured + estimated)."""


def check_kind(kind: str) -> EnergyKind:
    """`kind` if it is one of ENERGY_KINDS, else ValueError naming the three."""
    if kind not in ENERGY_KINDS:
        raise ValueError(f"energy kind must be one of {', '.join(ENERGY_KINDS)}, not {kind!r}")
    return kind  # type: ignore[return-value]


def check_non_negative(amount: float, what: str = "joules") -> float:
    """`amount` (joules, seconds, …) as a float if it is finite and ≥ 0, else ValueError."""
    value = float(amount)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number ≥ 0, not {amount!r}")
    return value


def merge_sources(*sources: str) -> str:
    """One source line for a sum: each distinct source once, in first-seen order."""
    seen: list[str] = []
    for source in sources:
        for part in source.split(SOURCE_SEPARATOR):
            if part not in seen:
                seen.append(part)
    return SOURCE_SEPARATOR.join(seen)


@dataclass(frozen=True)
class Energy:
    """An amount of energy and what it is.

    joules: J, finite and ≥ 0.
    kind: "measured", "estimated" or "projected".
    source: one line for people: which meter or model produced it.

    `a + b` needs `a.kind == b.kind` (else MixedEnergyKinds); the sum's source lists both
    sources once each, so measured GPU (NVML) + measured CPU (RAPL) says it holds both.
    """

    joules: float
    kind: EnergyKind
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "joules", check_non_negative(self.joules))
        check_kind(self.kind)
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError("an energy needs a source: which meter or model produced it")

    def __add__(self, other: object) -> Energy:
        if not isinstance(other, Energy):
            return NotImplemented
        if other.kind != self.kind:
            raise MixedEnergyKinds(
                f"refuses to add {self.kind} and {other.kind} joules "
                f"({self.joules:.6g} J from {self.source!r}, {other.joules:.6g} J from "
                f"{other.source!r}): show each kind on its own"
            )
        return Energy(
            self.joules + other.joules, self.kind, merge_sources(self.source, other.source)
        )

    def to_dict(self) -> dict[str, float | str]:
        """{"kind", "joules", "source"}, e.g. for the command line's JSON."""
        return {"kind": self.kind, "joules": self.joules, "source": self.source}


#: Energy of one random bit from a superparamagnetic-tunnel-junction p-bit, in J (see below).
SMTJ_JOULES_PER_BIT = 20e-15
#: Random bits that make one uniform random number (a float32-grade variate).
BITS_PER_RANDOM_NUMBER = 32

SMTJ_SOURCE = (
    "order-of-magnitude projection, not a measurement: 20 fJ per random bit from a "
    "superparamagnetic-tunnel-junction p-bit, a circuit-level estimate including read "
    "overheads (Vodenicarevic et al., 'Circuit-Level Evaluation of the Generation of Truly "
    "Random Bits with Superparamagnetic Tunnel Junctions', arXiv:1806.09124); one p-bit "
    "sample counted as one such bit, one uniform random number as 32 bits"
)


@dataclass(frozen=True)
class OperationEnergy:
    """Per-operation energy on thermodynamic hardware, for *projected* joules.

    joules_per_pbit_sample: J per p-bit sample (one spin update, Bernoulli or categorical
        sample drawn through the backend).
    joules_per_random_number: J per random number drawn that is not itself a p-bit sample
        (e.g. the uniforms behind Gumbel noise).
    source: where the numbers come from, shown beside every projected total.

    The defaults are an order-of-magnitude projection from a published stochastic-MTJ p-bit
    estimate (see `SMTJ_SOURCE`); change them, and the source line, to project other hardware.
    """

    joules_per_pbit_sample: float = SMTJ_JOULES_PER_BIT
    joules_per_random_number: float = SMTJ_JOULES_PER_BIT * BITS_PER_RANDOM_NUMBER
    source: str = SMTJ_SOURCE

    def __post_init__(self) -> None:
        check_non_negative(self.joules_per_pbit_sample, "joules_per_pbit_sample")
        check_non_negative(self.joules_per_random_number, "joules_per_random_number")
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError("a per-operation energy needs a source: cite where it comes from")


#: The operation counts `project_operations` understands (OperationCounter.snapshot()'s keys).
OPERATION_COUNTS = ("spin_updates", "random_numbers", "samples")


def project_operations(
    counts: Mapping[str, int], op_energy: OperationEnergy | None = None
) -> Energy:
    """Projected energy of counted operations on thermodynamic hardware.

    counts: OperationCounter.snapshot() (or a difference of two): spin_updates, random_numbers,
        samples; missing keys count 0. Each spin update and each sample is one p-bit sample;
        the backends draw one random number per p-bit sample, so only random numbers beyond
        spin_updates + samples are charged as random numbers.
    op_energy: per-operation energy (default: `OperationEnergy()`).
    Returns Energy(kind="projected", source=op_energy.source), in J.
    """
    op_energy = OperationEnergy() if op_energy is None else op_energy
    unknown = set(counts) - set(OPERATION_COUNTS)
    if unknown:
        raise ValueError(
            f"unknown operation count(s) {sorted(unknown)}; expected {', '.join(OPERATION_COUNTS)}"
        )
    values = {name: int(counts.get(name, 0)) for name in OPERATION_COUNTS}
    if any(value < 0 for value in values.values()):
        raise ValueError(f"operation counts must be ≥ 0, not {values}")
    pbit_samples = values["spin_updates"] + values["samples"]
    other_random = max(values["random_numbers"] - pbit_samples, 0)
    joules = (
        pbit_samples * op_energy.joules_per_pbit_sample
        + other_random * op_energy.joules_per_random_number
    )
    return Energy(joules, "projected", op_energy.source)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row: energy a run spent, usually over one training step.

    run: run id. joules: J. kind, source: as in `Energy`. step: the training step (None if not
    a step). seconds: wall time it covers, s. tokens: training tokens it processed.
    """

    run: str
    joules: float
    kind: EnergyKind
    source: str
    step: int | None = None
    seconds: float | None = None
    tokens: int | None = None

    def energy(self) -> Energy:
        return Energy(self.joules, self.kind, self.source)


class EnergyLedger:
    """Energy entries per run, safe to add to and read from several threads.

    Totals are kept per (run, kind, source) by `totals`; `total(run, kind)` adds the sources of
    one kind (each named in the result's source) and never adds across kinds.
    """

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []
        self._lock = threading.Lock()

    def add(
        self,
        run: str,
        joules: float,
        kind: EnergyKind,
        source: str,
        *,
        step: int | None = None,
        seconds: float | None = None,
        tokens: int | None = None,
    ) -> LedgerEntry:
        """Record `joules` (J, finite, ≥ 0) of `kind` from `source` against `run`."""
        if not isinstance(run, str) or not run:
            raise ValueError("a ledger entry needs a run id")
        energy = Energy(joules, kind, source)  # validates joules, kind and source
        if step is not None and int(step) < 0:
            raise ValueError(f"step must be ≥ 0, not {step}")
        if seconds is not None:
            seconds = check_non_negative(seconds, "seconds")
        if tokens is not None and int(tokens) < 0:
            raise ValueError(f"tokens must be ≥ 0, not {tokens}")
        entry = LedgerEntry(
            run,
            energy.joules,
            energy.kind,
            energy.source,
            None if step is None else int(step),
            seconds,
            None if tokens is None else int(tokens),
        )
        with self._lock:
            self._entries.append(entry)
        return entry

    @property
    def entries(self) -> list[LedgerEntry]:
        """A copy of all entries, in the order they were added."""
        with self._lock:
            return list(self._entries)

    def _select(self, run: str, kind: EnergyKind | None = None) -> list[LedgerEntry]:
        if kind is not None:
            check_kind(kind)
        return [e for e in self.entries if e.run == run and (kind is None or e.kind == kind)]

    def totals(self, run: str) -> list[Energy]:
        """One Energy per (kind, source) the run has, kinds in ENERGY_KINDS order."""
        sums: dict[tuple[str, str], float] = {}
        for entry in self._select(run):
            key = (entry.kind, entry.source)
            sums[key] = sums.get(key, 0.0) + entry.joules
        ordered = sorted(sums, key=lambda key: ENERGY_KINDS.index(key[0]))  # stable: first seen
        return [Energy(sums[key], key[0], key[1]) for key in ordered]  # type: ignore[arg-type]

    def total(self, run: str, kind: EnergyKind) -> Energy | None:
        """All of the run's energy of one kind (None if it has none), sources listed together."""
        return _sum(entry.energy() for entry in self._select(run, kind))

    def per_token(self, run: str, kind: EnergyKind) -> float | None:
        """J per training token: the run's joules of `kind` over its tokens.

        Only entries that carry a token count take part (numerator and denominator alike);
        None if there are none or they hold no tokens.
        """
        counted = [e for e in self._select(run, kind) if e.tokens is not None]
        tokens = sum(e.tokens for e in counted if e.tokens is not None)
        if tokens == 0:
            return None
        return sum(e.joules for e in counted) / tokens

    def to_target(self, run: str, kind: EnergyKind, steps_to_target: int) -> Energy | None:
        """Energy of `kind` spent on steps 0 … steps_to_target (inclusive); None if none.

        steps_to_target: the first step at which the run reached the target (e.g. a
        validation loss); entries without a step are not counted.
        """
        if int(steps_to_target) < 0:
            raise ValueError(f"steps_to_target must be ≥ 0, not {steps_to_target}")
        return _sum(
            entry.energy()
            for entry in self._select(run, kind)
            if entry.step is not None and entry.step <= steps_to_target
        )


def _sum(energies: Iterable[Energy]) -> Energy | None:
    total: Energy | None = None
    for energy in energies:
        total = energy if total is None else total + energy
    return total
