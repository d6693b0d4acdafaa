"""A state-vector simulator built for QAOA: one phase per cost layer, blocked mixers, adjoint
gradients. The device named "thermolab".

The cost layer exp(−iγ H_C) is diagonal with the model's energies E(s) on the diagonal (see
`hamiltonian`), so the 2ⁿ cost values are computed once (`QaoaInstance.basis_energies`) and each
layer is one elementwise multiplication by exp(−iγE). When the energies take at most 2¹⁶ distinct
values (any unweighted MaxCut, integer QUBOs) the phase is a table lookup instead of 2ⁿ complex
exponentials.

The mixer exp(−iβ Σ X_i) = ⊗_i RX(2β) is applied in blocks of `BLOCK_QUBITS` qubits: viewing the
state as a (2ⁿ⁻ᵏ, 2ᵏ) matrix whose columns are the lowest k qubits, one matrix product
out = RX(2β)^{⊗k} · stateᵀ applies the k rotations and moves those qubits to the top of the index;
after blocks covering all n qubits the order is back where it started. Each block is one BLAS
call over the state instead of k strided passes.

Gradients by adjoint differentiation (Jones & Gacon, arXiv:2009.02823): one forward pass, then
one backward pass that un-applies each layer to |ψ⟩ and to |λ⟩ = H_C|ψ⟩ and reads off
∂⟨H_C⟩/∂θ = 2 Im⟨λ|G|ψ⟩ for a gate exp(−iθG) (G = H_C for γ, G = Σ X_i for β). Memory: a few
state vectors, independent of p.

Basis order: whatever order the energies come in (the mixer treats all qubits alike); this
package passes PennyLane's order (wire 0 most significant), so states and probabilities here
match PennyLane's element for element.
"""

from __future__ import annotations

import time
from functools import reduce

import numpy as np
from scipy.linalg.blas import zgemm as _zgemm

from thermolab.problems import check_memory
from thermolab.quantum.hamiltonian import check_qubit_count

__all__ = [
    "BLOCK_QUBITS",
    "DEVICE_NAME",
    "QaoaSimulator",
    "simulator_bytes",
]

DEVICE_NAME = "thermolab"
#: Qubits per mixer block (2³ × 2³ complex products). Blocks of 2 to 5 qubits timed within noise
#: of each other on a loaded 2-core machine; flops grow as 2ᵏ/k, passes over memory as 1/k.
#: Any value gives the same state.
BLOCK_QUBITS = 3
#: At most this many distinct energies → phases by table lookup (uint16 indices).
_MAX_TABLE = 1 << 16
#: Complex vectors of 2ⁿ alive at the peak of a gradient: |ψ⟩, |λ⟩, their two block buffers,
#: the phase vector and two temporaries; plus the float64 energies and the uint16 phase indices.
_COMPLEX_VECTORS = 7


def simulator_bytes(n_qubits: int) -> int:
    """Peak bytes the simulator allocates for n qubits (energies included)."""
    return 2**n_qubits * (16 * _COMPLEX_VECTORS + 8 + 2)


def _rx_block(beta: float, k: int) -> np.ndarray:
    """RX(2β)^{⊗k} = (cos β I − i sin β X)^{⊗k}: (2ᵏ, 2ᵏ) complex128, symmetric."""
    c, s = np.cos(beta), -1j * np.sin(beta)
    one = np.array([[c, s], [s, c]])
    return reduce(np.kron, [one] * k, np.ones((1, 1), dtype=np.complex128))


def _x_sum_block(k: int) -> np.ndarray:
    """Σ_{i<k} X_i on k qubits: (2ᵏ, 2ᵏ) float64 with 1 where indices differ in one bit."""
    index = np.arange(2**k)
    flips = index[:, None] ^ index[None, :]
    return ((flips != 0) & ((flips & (flips - 1)) == 0)).astype(np.float64)


class QaoaSimulator:
    """QAOA with p layers on fixed cost values; parameters x = (γ_1..γ_p, β_1..β_p).

    costs: E of every basis state, (2ⁿ,) float64. The circuit is |+⟩ⁿ followed by
    p layers exp(−iβ_k Σ X) exp(−iγ_k diag(costs)); the cost function is ⟨costs⟩.
    """

    device_name = DEVICE_NAME
    diff_method = "adjoint"
    note = ""

    def __init__(self, costs: np.ndarray, p: int) -> None:
        costs = np.ascontiguousarray(costs, dtype=np.float64)
        n = int(costs.size).bit_length() - 1
        if costs.ndim != 1 or costs.size != 2**n or n < 1:
            raise ValueError(f"costs must hold 2^n values, got shape {costs.shape}")
        check_qubit_count(n)
        check_memory(
            simulator_bytes(n),
            f"simulating {n} qubits",
            "use fewer qubits (each one more doubles the memory)",
        )
        if not np.all(np.isfinite(costs)):
            raise ValueError("costs must be finite")
        self.n, self.p, self.costs = n, int(p), costs
        self.blocks = [BLOCK_QUBITS] * (n // BLOCK_QUBITS) + (
            [n % BLOCK_QUBITS] if n % BLOCK_QUBITS else []
        )
        self._x_sums = {k: _x_sum_block(k) for k in set(self.blocks)}
        self._levels, self._level_index = self._phase_table(costs)
        self._state = np.empty((2, costs.size), dtype=np.complex128)  # |ψ⟩, |λ⟩
        self._spare = np.empty_like(self._state)  # block products write here, then swap
        self._phase = np.empty(costs.size, dtype=np.complex128)
        self.evaluations = 0
        self.gradient_evaluations = 0
        self.gradient_seconds = 0.0

    @staticmethod
    def _phase_table(costs: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(distinct values, uint16 index of each state's value) when there are few, else Nones."""
        lowest, highest = float(costs.min()), float(costs.max())
        if highest - lowest < _MAX_TABLE and np.array_equal(costs, np.round(costs)):
            levels = np.arange(lowest, lowest + int(highest - lowest) + 1)
            return levels, (costs - lowest).astype(np.uint16)
        levels, index = np.unique(costs, return_inverse=True)
        if levels.size <= _MAX_TABLE:
            return levels, index.astype(np.uint16)
        return None, None

    # ----------------------------------------------------------------- layers

    def _cost_phase(self, gamma: float) -> np.ndarray:
        """exp(−iγ costs) into the phase buffer: (2ⁿ,) complex128."""
        if self._levels is None:
            np.multiply(self.costs, -gamma, out=self._phase.real)
            np.exp(1j * self._phase.real, out=self._phase)
        else:
            np.take(
                np.exp(-1j * gamma * self._levels), self._level_index, out=self._phase, mode="clip"
            )
        return self._phase

    def _mix(self, rows: int, beta: float, x_sum_overlap: bool = False) -> complex:
        """Apply exp(−iβ Σ X) to the first `rows` state rows (1: ψ; 2: ψ and λ); with
        x_sum_overlap, also return ⟨λ|Σ X|ψ⟩, read block by block on the way."""
        overlap = 0j
        for k in self.blocks:
            size = 2**k
            current = self._state[:rows].reshape(rows, -1, size)
            if x_sum_overlap:
                # gram[a, b] = Σ_r ψ[r, a] λ*[r, b] in one BLAS call (no conjugated copy).
                gram = _zgemm(1.0, current[0].T, current[1].T, trans_b=2)
                overlap += np.sum(self._x_sums[k] * gram)
            np.matmul(
                _rx_block(beta, k),
                current.transpose(0, 2, 1),
                out=self._spare[:rows].reshape(rows, size, -1),
            )
            self._state, self._spare = self._spare, self._state
        return overlap

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.shape != (2 * self.p,) or not np.all(np.isfinite(x)):
            raise ValueError(f"parameters must be {2 * self.p} finite numbers (γ₁..γ_p, β₁..β_p)")
        return x

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """|ψ(x)⟩ into state row 0 (and returned, a view valid until the next call)."""
        psi = self._state[0]
        psi.fill(2 ** (-self.n / 2))
        for k in range(self.p):
            self._state[0] *= self._cost_phase(x[k])
            self._mix(1, x[self.p + k])
        return self._state[0]

    # ----------------------------------------------------------------- public

    def state(self, x) -> np.ndarray:
        """A copy of |ψ(x)⟩: (2ⁿ,) complex128."""
        return self._forward(self._check(x)).copy()

    def probabilities(self, x) -> np.ndarray:
        """|⟨b|ψ(x)⟩|² of every basis state: (2ⁿ,) float64."""
        psi = self._forward(self._check(x))
        return psi.real**2 + psi.imag**2

    def energy(self, x) -> float:
        """⟨ψ(x)| diag(costs) |ψ(x)⟩."""
        self.evaluations += 1
        psi = self._forward(self._check(x))
        return float((psi.real**2 + psi.imag**2) @ self.costs)

    def energy_and_grad(self, x) -> tuple[float, np.ndarray]:
        """⟨costs⟩ and its exact gradient with respect to x, (2p,), by adjoint differentiation."""
        start = time.perf_counter()
        self.evaluations += 1
        self.gradient_evaluations += 1
        x = self._check(x)
        p = self.p
        self._forward(x)
        np.multiply(self._state[0], self.costs, out=self._state[1])  # |λ⟩ = H_C|ψ⟩
        energy = float(np.vdot(self._state[0], self._state[1]).real)
        grad = np.empty(2 * p)
        for k in reversed(range(p)):
            # Mixer: Σ X commutes with every block, so ⟨λ|Σ X|ψ⟩ may be read block by block
            # while both vectors are rotated back by −β.
            grad[p + k] = 2 * self._mix(2, -x[p + k], x_sum_overlap=True).imag
            psi, lam = self._state
            # Cost layer: 2 Im⟨λ|H_C|ψ⟩ (H_C ψ goes through the phase buffer, rewritten below).
            cost_psi = np.multiply(psi, self.costs, out=self._phase)
            grad[k] = 2 * np.vdot(lam, cost_psi).imag
            if k > 0:
                phase = np.conjugate(self._cost_phase(x[k]), out=self._phase)
                psi *= phase
                lam *= phase
        self.gradient_seconds += time.perf_counter() - start
        return energy, grad
