"""The QAOA cost Hamiltonian of an `IsingModel`, and the X mixer, as PennyLane operators.

Qubit i carries spin i. We measure bit x_i ∈ {0, 1} and read the spin as s_i = 2 x_i − 1, so a
measured bit 1 is spin +1, the same as bit i of a ThermoLab state number (`exact.index_states`).
Since Z|x⟩ = (1 − 2x)|x⟩, s_i = −Z_i and

    H_C = −Σ_{i<j} J_ij Z_i Z_j + Σ_i h_i Z_i + c · I

is diagonal with H_C|x⟩ = (E(s) + c)|x⟩: the model's energy (plus the constant c, e.g. the
offset of a QUBO) on every basis state. The mixer is H_B = Σ_i X_i.
"""

from __future__ import annotations

import numpy as np

from thermolab.problems import IsingModel

__all__ = [
    "MAX_QUBITS",
    "basis_spins",
    "check_cost_hamiltonian",
    "check_qubit_count",
    "cost_hamiltonian",
    "hamiltonian_diagonal",
    "index_spins",
    "mixer_hamiltonian",
    "state_vector_bytes",
]

# 2^24 amplitudes × 16 B = 256 MiB per state vector; a gradient holds a few (see
# `simulator.simulator_bytes`), about 2 GiB at the cap.
MAX_QUBITS = 24


def state_vector_bytes(n_qubits: int) -> int:
    """Bytes of one complex128 state vector of n qubits."""
    return 16 * 2**n_qubits


def check_qubit_count(n_qubits: int) -> None:
    """Refuse more than MAX_QUBITS qubits (saying the memory) and models with nothing to do."""
    if n_qubits > MAX_QUBITS:
        need = state_vector_bytes(n_qubits)
        raise ValueError(
            f"{n_qubits} qubits are too many for state-vector simulation here (at most "
            f"{MAX_QUBITS}): one state vector alone takes {need / 2**20:,.0f} MiB "
            f"({need / 2**30:,.1f} GiB), and gradients keep several"
        )


def _check_model(model: IsingModel) -> None:
    if not isinstance(model, IsingModel):
        raise ValueError(f"expected an IsingModel, got {type(model).__name__}")
    check_qubit_count(model.n_spins)
    if model.n_edges == 0 and not np.any(model.fields):
        raise ValueError("the problem is empty: no couplings and no fields (nothing to optimise)")


def cost_hamiltonian(model: IsingModel, constant: float = 0.0):
    """H_C of the module docstring: ZZ terms from J, Z terms from h, the constant kept.

    Returns a PennyLane operator (LinearCombination) on wires 0..n−1.
    """
    import pennylane as qml

    _check_model(model)
    constant = float(constant)
    if not np.isfinite(constant):
        raise ValueError(f"the constant must be finite, got {constant}")
    edges, couplings = model.edges()
    coeffs: list[float] = []
    ops: list = []
    for (i, j), coupling in zip(edges.tolist(), couplings.tolist(), strict=True):
        coeffs.append(-coupling)
        ops.append(qml.Z(i) @ qml.Z(j))
    for i, field in enumerate(model.fields.tolist()):
        if field != 0.0:
            coeffs.append(field)
            ops.append(qml.Z(i))
    coeffs.append(constant)
    ops.append(qml.Identity(0))
    return qml.Hamiltonian(coeffs, ops)


def mixer_hamiltonian(n_qubits: int):
    """H_B = Σ_i X_i on wires 0..n−1."""
    import pennylane as qml

    return qml.qaoa.x_mixer(range(n_qubits))


def index_spins(indices: np.ndarray, n_qubits: int) -> np.ndarray:
    """Spins of the basis states numbered `indices` in PennyLane's order (wire 0 most
    significant): indices (k,) → (k, n) int8 of ±1 (bit 1 is spin +1)."""
    index = np.asarray(indices, dtype=np.int64).reshape(-1, 1)
    bits = (index >> (n_qubits - 1 - np.arange(n_qubits))) & 1
    return (2 * bits - 1).astype(np.int8)


def basis_spins(n_qubits: int) -> np.ndarray:
    """Spins of every computational basis state in PennyLane's order (wire 0 most significant).

    Returns (2ⁿ, n) int8 of ±1: row b is the spin configuration read from basis state |b⟩.
    """
    check_qubit_count(n_qubits)
    return index_spins(np.arange(2**n_qubits), n_qubits)


def hamiltonian_diagonal(hamiltonian, n_qubits: int) -> np.ndarray:
    """Diagonal of a Hamiltonian made of Z strings, in PennyLane's basis order: (2ⁿ,) float64.

    Computed term by term from the Z eigenvalues (no 2ⁿ × 2ⁿ matrix); raises on X or Y terms.
    """
    index = np.arange(2**n_qubits, dtype=np.int64)
    diagonal = np.zeros(2**n_qubits)
    coeffs, ops = hamiltonian.terms()
    for coeff, op in zip(coeffs, ops, strict=True):
        word = op.pauli_rep
        if word is None or len(word) != 1:
            raise ValueError(f"term {op} is not a single Pauli word")
        ((pauli_word, factor),) = word.items()
        values = np.full(2**n_qubits, float(np.real(coeff * factor)))
        for wire, letter in pauli_word.items():
            if letter != "Z":
                raise ValueError(f"term {op} is not diagonal (has {letter} on wire {wire})")
            bit = (index >> (n_qubits - 1 - int(wire))) & 1  # wire 0 most significant
            values = values * (1 - 2 * bit)  # Z eigenvalue: +1 for bit 0
        diagonal += values
    return diagonal


def check_cost_hamiltonian(model: IsingModel, hamiltonian, energies: np.ndarray, constant=0.0):
    """Raise if diag(H_C) differs from E(s) + constant on any basis state; returns the largest
    difference. `energies`: E of every basis state in PennyLane's order, (2ⁿ,)."""
    diagonal = hamiltonian_diagonal(hamiltonian, model.n_spins)
    error = float(np.abs(diagonal - np.asarray(energies) - constant).max())
    scale = max(1.0, float(np.abs(energies).max()))
    if error > 1e-9 * scale:
        raise RuntimeError(f"cost Hamiltonian does not match the model's energy (off by {error:g})")
    return error
