"""One QAOA instance: the `IsingModel` being solved, plus what gives its numbers meaning.

A MaxCut instance keeps its graph, so results are cuts and the approximation ratio is
cut / maximum cut (with cut = (W − E) / 2, see `problems.maxcut_to_ising`). Any other Ising
model (a QUBO, the playground's model) is scored by the normalised energy
r = (E_max − E) / (E_max − E_min) ∈ [0, 1], which is also cut / max cut for MaxCut with
non-negative weights (the empty cut has E = W = E_max).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from thermolab.problems import (
    IsingModel,
    WeightedGraph,
    check_memory,
    cut_values,
    maxcut_to_ising,
    qubo_to_ising,
)
from thermolab.quantum.hamiltonian import _check_model

__all__ = ["QaoaInstance", "basis_energies", "parse_edge_list", "parse_qubo"]


def basis_energies(model: IsingModel) -> np.ndarray:
    """E(s) of every basis state in PennyLane's order (wire 0 most significant): (2ⁿ,) float64.

    Built spin by spin: with the energies E_m of spins 0..m−1 (2ᵐ values), spin m joins as the
    new least significant bit, E_{m+1} = [E_m − G_m, E_m + G_m] interleaved, where
    G_m = −h_m − Σ_{i<m} J_im s_i is its local field (bit 0 is spin −1, as in `exact`). About
    (degree + 2) passes over 2ⁿ numbers instead of n per state; `exact.energy` is the oracle the
    tests compare against.
    """
    n = model.n_spins
    check_memory(3 * 8 * 2**n, f"the {2**n:,} energies of {n} qubits", "use fewer qubits")
    couplings = model.couplings
    energies = np.zeros(1)
    for m in range(n):
        local = np.full(2**m, -model.fields[m])
        row = slice(couplings.indptr[m], couplings.indptr[m + 1])
        for i, coupling in zip(couplings.indices[row], couplings.data[row], strict=True):
            if i < m:  # spin i is bit m − 1 − i of the 2ᵐ states so far
                by_spin = local.reshape(2**i, 2, -1)
                by_spin[:, 0] += coupling  # s_i = −1: −J s_i = +J
                by_spin[:, 1] -= coupling
        energies = np.stack([energies - local, energies + local], axis=-1).reshape(-1)
    return energies


@dataclass(frozen=True, eq=False)
class QaoaInstance:
    """model: the Ising model (qubit i = spin i); graph: set for MaxCut instances;
    constant: added to E in the cost Hamiltonian (a QUBO's offset, so ⟨H_C⟩ = ⟨xᵀQx⟩)."""

    model: IsingModel
    graph: WeightedGraph | None = None
    constant: float = 0.0
    name: str = "Ising model"

    def __post_init__(self) -> None:
        _check_model(self.model)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def maxcut(cls, graph: WeightedGraph) -> QaoaInstance:
        if not isinstance(graph, WeightedGraph):
            raise ValueError(f"expected a WeightedGraph, got {type(graph).__name__}")
        if len(graph.edges) == 0:
            raise ValueError(f"the graph '{graph.name}' has no edges: there is nothing to cut")
        return cls(maxcut_to_ising(graph), graph=graph, name=f"MaxCut of {graph.name}")

    @classmethod
    def qubo(cls, matrix: np.ndarray) -> QaoaInstance:
        model, offset = qubo_to_ising(matrix)
        return cls(model, constant=offset, name=model.name)

    @classmethod
    def ising(cls, model: IsingModel) -> QaoaInstance:
        return cls(model, name=model.name)

    # ----------------------------------------------------------------- exact facts

    @property
    def n_qubits(self) -> int:
        return self.model.n_spins

    @property
    def is_maxcut(self) -> bool:
        return self.graph is not None

    @cached_property
    def basis_energies(self) -> np.ndarray:
        """E(s) of every basis state in PennyLane's order (wire 0 most significant): (2ⁿ,)."""
        return basis_energies(self.model)

    @property
    def ground_energy(self) -> float:
        return float(self.basis_energies.min())

    @property
    def highest_energy(self) -> float:
        return float(self.basis_energies.max())

    @cached_property
    def optimal_mask(self) -> np.ndarray:
        """Basis states (PennyLane order) that are ground states / maximum cuts: (2ⁿ,) bool."""
        lowest = self.ground_energy
        return self.basis_energies <= lowest + 1e-9 * max(1.0, abs(lowest))

    @property
    def max_cut(self) -> float | None:
        return None if self.graph is None else self.cut_from_energy(self.ground_energy)

    def cut_from_energy(self, energy):
        """cut = (W − E) / 2 (MaxCut instances only)."""
        if self.graph is None:
            raise ValueError("cuts are defined for MaxCut instances only")
        return (self.graph.total_weight - np.asarray(energy, dtype=np.float64)) / 2

    def cuts(self, states: np.ndarray) -> np.ndarray:
        if self.graph is None:
            raise ValueError("cuts are defined for MaxCut instances only")
        return cut_values(self.graph, states)

    def ratio(self, energy) -> np.ndarray | float:
        """Approximation ratio of (mean) energy E: cut / max cut, or the normalised energy."""
        energy = np.asarray(energy, dtype=np.float64)
        if self.graph is not None:
            best = self.max_cut
            value = self.cut_from_energy(energy) / best if best else np.ones_like(energy)
        else:
            span = self.highest_energy - self.ground_energy
            value = (self.highest_energy - energy) / span if span > 0 else np.ones_like(energy)
        return float(value) if value.ndim == 0 else value

    def objective_label(self) -> str:
        return "cut" if self.is_maxcut else "energy"

    def objective(self, energy):
        """What a person reads: the cut for MaxCut, else E + constant (the QUBO value)."""
        if self.graph is not None:
            return self.cut_from_energy(energy)
        return np.asarray(energy, dtype=np.float64) + self.constant


# --------------------------------------------------------------------------- text input


def parse_edge_list(text: str, max_nodes: int) -> WeightedGraph:
    """Lines 'i j weight' (weight optional, default 1; commas allowed) → a weighted graph.

    Raises ValueError naming the offending line; more than `max_nodes` nodes is refused before
    any array is built.
    """
    rows = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise ValueError(f"line {number}: expected 'i j [weight]', got {line!r}")
        try:
            i, j = int(parts[0]), int(parts[1])
            weight = float(parts[2]) if len(parts) == 3 else 1.0
        except ValueError:
            raise ValueError(f"line {number}: not numbers: {line!r}") from None
        rows.append((i, j, weight))
    if not rows:
        raise ValueError("type at least one edge, one per line: 'i j weight'")
    if min(min(i, j) for i, j, _ in rows) < 0:
        raise ValueError("node numbers must be 0 or more")
    n = max(max(i, j) for i, j, _ in rows) + 1  # Python ints: checked before numpy holds them
    if n > max_nodes:
        raise ValueError(f"node {n - 1} makes {n} nodes: too many qubits (at most {max_nodes})")
    edges = np.array([(i, j) for i, j, _ in rows])
    return WeightedGraph(n, edges, [w for *_, w in rows], f"weighted graph n={n}")


def parse_qubo(text: str) -> np.ndarray:
    """A square QUBO matrix Q typed one row per line (spaces or commas): (n, n) float64."""
    try:
        rows = [
            [float(x) for x in line.replace(",", " ").split()]
            for line in text.strip().splitlines()
            if line.strip()
        ]
    except ValueError:
        raise ValueError("the QUBO must hold numbers only, one matrix row per line") from None
    if not rows or any(len(row) != len(rows) for row in rows):
        raise ValueError(f"the QUBO must be a square matrix ({len(rows)} rows typed)")
    return np.array(rows)
