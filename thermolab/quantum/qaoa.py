"""QAOA circuits with p layers, their optimisation, and sampling from the optimum.

Parameters are x = (γ_1..γ_p, β_1..β_p), shape (2p,). The circuit prepares |+⟩ⁿ and applies
p layers exp(−iβ_k H_B) exp(−iγ_k H_C) with H_C, H_B from `hamiltonian` (the identity term of
H_C is a global phase and is left out of the gates). The cost is ⟨H_C⟩ − c = ⟨E(s)⟩, the
model's mean energy, to be minimised; for MaxCut the mean cut is (W − ⟨E⟩) / 2.

Default device: "thermolab", the QAOA-specific state-vector simulator of `simulator` (adjoint
gradients). Any PennyLane device by name runs the same circuit gate by gate (`QaoaCircuit`):
`lightning.qubit` and `default.qubit` with adjoint differentiation (`default.qubit` also stands
in when lightning is missing), any other device with parameter-shift gradients. Both kinds of
circuit offer the same methods (energy, energy_and_grad, probabilities) and counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from thermolab.quantum.hamiltonian import (
    check_cost_hamiltonian,
    cost_hamiltonian,
    index_spins,
    mixer_hamiltonian,
)
from thermolab.quantum.instance import QaoaInstance
from thermolab.quantum.simulator import DEVICE_NAME, QaoaSimulator

__all__ = [
    "DEFAULT_DEVICE",
    "MAX_LAYERS",
    "MAX_RESTARTS",
    "MAX_SHOTS",
    "MAX_STEPS",
    "METHODS",
    "LayerResult",
    "OptimisationResult",
    "QaoaCircuit",
    "energy_scale",
    "interp_init",
    "make_circuit",
    "optimise",
    "ramp_init",
    "sample_states",
    "solve",
]

DEFAULT_DEVICE = DEVICE_NAME
LIGHTNING_DEVICE = "lightning.qubit"
FALLBACK_DEVICE = "default.qubit"
METHODS = ("adam", "bfgs")
Method = Literal["adam", "bfgs"]
Init = Literal["ramp", "interp"]
# Upper bounds on one request, so a typo (p = 1000, 10¹³ shots) is an error message rather than
# a server busy for hours or out of memory. Each is far beyond what a lab run needs.
MAX_LAYERS = 20
MAX_RESTARTS = 100
MAX_STEPS = 10_000
MAX_SHOTS = 1_000_000
# Above this many qubits only the deepest layer keeps its 2ⁿ probabilities (128 MiB at n = 24).
KEEP_ALL_PROBABILITIES_QUBITS = 20


class StopRequested(Exception):
    """Raised inside an optimiser's callback when the caller asks to stop."""


def _check_count(name: str, value: object, maximum: int) -> None:
    """A positive integer no larger than `maximum`, else ValueError saying which."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {value:,}")


def energy_scale(instance: QaoaInstance) -> float:
    """A typical |J| or |h|: the ramp's γ is divided by it so that γ·J is O(1)."""
    _, couplings = instance.model.edges()
    values = np.abs(np.concatenate([couplings, instance.model.fields]))
    values = values[values > 0]
    return float(np.median(values)) if values.size else 1.0


class QaoaCircuit:
    """The p-layer QAOA circuit of one instance on one PennyLane device."""

    def __init__(
        self,
        instance: QaoaInstance,
        p: int,
        device: str = LIGHTNING_DEVICE,
        diff_method: str | None = None,
    ) -> None:
        import pennylane as qml
        from pennylane import numpy as pnp

        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
            raise ValueError(f"the number of layers p must be a positive integer, got {p!r}")
        self.instance, self.p, self.n = instance, int(p), instance.n_qubits
        self.hamiltonian = cost_hamiltonian(instance.model)  # constant 0: cost is ⟨E⟩
        self.mixer = mixer_hamiltonian(self.n)
        self.device_name, self.note = device, ""
        try:
            dev = qml.device(device, wires=self.n)
        except Exception as error:  # lightning missing or broken: say so, use default.qubit
            if device != LIGHTNING_DEVICE:
                raise ValueError(f"PennyLane device '{device}' is not usable: {error}") from None
            dev = qml.device(FALLBACK_DEVICE, wires=self.n)
            self.device_name = FALLBACK_DEVICE
            self.note = f"{LIGHTNING_DEVICE} unavailable ({error}); used {FALLBACK_DEVICE}"
        if diff_method is None:
            adjoint = self.device_name in (LIGHTNING_DEVICE, FALLBACK_DEVICE)
            diff_method = "adjoint" if adjoint else "parameter-shift"
        self.diff_method = diff_method
        zz, z = [], []
        for coeff, op in zip(*self.hamiltonian.terms(), strict=True):
            wires = [int(w) for w in op.wires]
            if isinstance(op, qml.Identity):
                continue
            (zz if len(wires) == 2 else z).append((wires, float(coeff)))
        p_layers, n, hamiltonian = self.p, self.n, self.hamiltonian

        def layers(x):
            for wire in range(n):
                qml.Hadamard(wires=wire)
            for k in range(p_layers):
                gamma, beta = x[k], x[p_layers + k]
                for wires, coeff in zz:  # exp(−iγ c Z_i Z_j)
                    qml.IsingZZ(2 * gamma * coeff, wires=wires)
                for wires, coeff in z:  # exp(−iγ c Z_i)
                    qml.RZ(2 * gamma * coeff, wires=wires[0])
                for wire in range(n):  # exp(−iβ X_i)
                    qml.RX(2 * beta, wires=wire)

        @qml.qnode(dev, diff_method=diff_method)
        def energy(x):
            layers(x)
            return qml.expval(hamiltonian)

        @qml.qnode(dev, diff_method=None)
        def probabilities(x):
            layers(x)
            return qml.probs(wires=range(n))

        self._energy, self._probabilities = energy, probabilities
        self._grad = qml.grad(energy)
        self._pnp = pnp
        self.evaluations = 0
        self.gradient_evaluations = 0
        self.gradient_seconds = 0.0

    def _params(self, x) -> object:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.shape != (2 * self.p,) or not np.all(np.isfinite(x)):
            raise ValueError(f"parameters must be {2 * self.p} finite numbers (γ₁..γ_p, β₁..β_p)")
        return self._pnp.array(x, requires_grad=True)

    def energy(self, x) -> float:
        """⟨E(s)⟩ in the state prepared with parameters x."""
        self.evaluations += 1
        return float(self._energy(self._params(x)))

    def energy_and_grad(self, x) -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        self.evaluations += 1
        self.gradient_evaluations += 1
        grad = np.asarray(self._grad(self._params(x)), dtype=np.float64)
        self.gradient_seconds += time.perf_counter() - start
        return float(self._grad.forward), grad

    def probabilities(self, x) -> np.ndarray:
        """Probability of every basis state (PennyLane order), (2ⁿ,) float64."""
        return np.asarray(self._probabilities(self._params(x)), dtype=np.float64)


Circuit = QaoaCircuit | QaoaSimulator


def make_circuit(instance: QaoaInstance, p: int, device: str = DEFAULT_DEVICE) -> Circuit:
    """The p-layer circuit of `instance` on `device`: "thermolab" or a PennyLane device name."""
    if device == DEVICE_NAME:
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
            raise ValueError(f"the number of layers p must be a positive integer, got {p!r}")
        return QaoaSimulator(instance.basis_energies, int(p))
    return QaoaCircuit(instance, p, device=device)


# --------------------------------------------------------------------------- initialisations


def ramp_init(p: int, scale: float = 1.0, dt: float = 0.75) -> np.ndarray:
    """Linear ramp (a Trotterised anneal): γ_k = s_k dt / scale, β_k = −(1 − s_k) dt,
    s_k = (k − ½) / p. The signs follow from minimising ⟨H_C⟩ from |+⟩ⁿ, the ground state of −H_B.
    """
    s = (np.arange(1, p + 1) - 0.5) / p
    return np.concatenate([s * dt / scale, -(1 - s) * dt])


def interp_init(x: np.ndarray) -> np.ndarray:
    """INTERP (Zhou et al., PRX 10, 021067): the p-layer optimum interpolated to p + 1 layers,
    θ'_i = (i − 1)/p · θ_{i−1} + (p − i + 1)/p · θ_i, i = 1..p+1, with θ_0 = θ_{p+1} = 0."""
    x = np.asarray(x, dtype=np.float64)
    p = x.size // 2
    out = []
    for theta in (x[:p], x[p:]):
        padded = np.concatenate([[0.0], theta, [0.0]])
        i = np.arange(1, p + 2)
        out.append((i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i])
    return np.concatenate(out)


# --------------------------------------------------------------------------- optimisation


@dataclass
class OptimisationResult:
    """One optimisation run: best parameters, mean energy there, and the path taken.

    path: parameters after each step, (k, 2p); path_energies: ⟨E⟩ at each, (k,).
    """

    x: np.ndarray
    energy: float
    path: np.ndarray
    path_energies: np.ndarray
    evaluations: int
    seconds: float
    method: str
    stopped: bool = False


def optimise(
    circuit: Circuit,
    x0: np.ndarray,
    method: Method = "bfgs",
    steps: int = 100,
    learning_rate: float = 0.05,
    should_stop: Callable[[], bool] | None = None,
) -> OptimisationResult:
    """Minimise ⟨E⟩ from x0 with Adam or BFGS (scipy), both on the circuit's exact gradient.

    `steps` caps Adam steps or BFGS iterations; `should_stop()` is checked after every step
    (and before every BFGS gradient, which at 24 qubits takes seconds).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _check_count("steps", steps, MAX_STEPS)
    should_stop = should_stop or (lambda: False)
    start, evaluations0 = time.perf_counter(), circuit.evaluations
    x = np.asarray(x0, dtype=np.float64).copy()
    path, energies = [x.copy()], [circuit.energy(x)]
    stopped = False
    if method == "adam":  # Kingma & Ba (2015), β₁ = 0.9, β₂ = 0.999, ε = 1e-8
        first, second = np.zeros_like(x), np.zeros_like(x)
        for t in range(1, int(steps) + 1):
            _, grad = circuit.energy_and_grad(x)
            first = 0.9 * first + 0.1 * grad
            second = 0.999 * second + 0.001 * grad**2
            step = first / (1 - 0.9**t) / (np.sqrt(second / (1 - 0.999**t)) + 1e-8)
            x = x - learning_rate * step
            path.append(x.copy())
            energies.append(circuit.energy(x))
            if should_stop():
                stopped = True
                break
    else:
        from scipy.optimize import minimize

        def callback(xk):
            path.append(np.array(xk, dtype=np.float64))
            energies.append(circuit.energy(xk))
            if should_stop():
                raise StopRequested

        def objective(xk):  # also polled here: one BFGS iteration may take several gradients
            if should_stop():
                raise StopRequested
            return circuit.energy_and_grad(xk)

        try:
            minimize(
                objective,
                x,
                jac=True,
                method="BFGS",
                callback=callback,
                options={"maxiter": int(steps), "gtol": 1e-6},
            )
        except StopRequested:
            stopped = True
    path_array, energy_array = np.array(path), np.array(energies)
    best = int(np.argmin(energy_array))
    return OptimisationResult(
        x=path_array[best],
        energy=float(energy_array[best]),
        path=path_array,
        path_energies=energy_array,
        evaluations=circuit.evaluations - evaluations0,
        seconds=time.perf_counter() - start,
        method=method,
        stopped=stopped,
    )


# --------------------------------------------------------------------------- sampling


def sample_states(probabilities: np.ndarray, n_qubits: int, shots: int, seed: int = 0):
    """Draw `shots` basis states from the circuit's distribution: spins (shots, n) int8 ±1."""
    _check_count("shots", shots, MAX_SHOTS)
    weights = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    rng = np.random.default_rng(seed)
    index = rng.choice(weights.size, size=int(shots), p=weights / weights.sum())
    return index_spins(index, n_qubits)


# --------------------------------------------------------------------------- layer sweep


@dataclass
class LayerResult:
    """The best of all restarts at one depth p, with what its state gives when measured."""

    p: int
    gammas: np.ndarray
    betas: np.ndarray
    mean_energy: float
    ratio: float
    optimal_probability: float
    seconds: float
    evaluations: int
    restart_energies: list[float]
    best_run: OptimisationResult
    probabilities: np.ndarray | None = field(repr=False)  # None: dropped to save memory
    expected_objective: float = 0.0  # mean cut (MaxCut) or mean E + constant
    device: str = ""  # the device and gradient used, and any fallback note
    gradient_evaluations: int = 0
    gradient_seconds: float = 0.0  # wall time inside gradient evaluations


def solve(
    instance: QaoaInstance,
    p_max: int,
    *,
    method: Method = "bfgs",
    init: Init = "interp",
    restarts: int = 3,
    steps: int = 100,
    learning_rate: float = 0.05,
    device: str = DEFAULT_DEVICE,
    seed: int = 0,
    report: Callable[[float, str, list[LayerResult]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[LayerResult]:
    """Optimise QAOA at p = 1..p_max; each p keeps the best of `restarts` starts.

    Starts at p = 1 (and at every p with init="ramp"): linear ramps with dt = 0.75, 0.4, 1.1, …,
    then random perturbations of them. With init="interp", p > 1 starts from INTERP of the
    p − 1 optimum, the other restarts perturb it. Returns one LayerResult per completed p; above
    KEEP_ALL_PROBABILITIES_QUBITS qubits only the last keeps its probabilities.
    """
    if init not in ("ramp", "interp"):
        raise ValueError(f"init must be 'ramp' or 'interp', got {init!r}")
    _check_count("p_max", p_max, MAX_LAYERS)
    _check_count("restarts", restarts, MAX_RESTARTS)
    _check_count("steps", steps, MAX_STEPS)
    should_stop = should_stop or (lambda: False)
    if device != DEVICE_NAME:  # the gate-by-gate circuit's cost is the model's energy
        check_cost_hamiltonian(
            instance.model, cost_hamiltonian(instance.model), instance.basis_energies
        )
    rng = np.random.default_rng(seed)
    scale = energy_scale(instance)
    results: list[LayerResult] = []
    total = p_max * restarts
    for p in range(1, p_max + 1):
        circuit = make_circuit(instance, p, device)
        start = time.perf_counter()
        runs: list[OptimisationResult] = []
        for r in range(restarts):
            if init == "interp" and results:
                base = interp_init(results[-1].best_run.x)
                x0 = base if r == 0 else base + rng.normal(0.0, 0.1, base.size)
            else:
                dts = (0.75, 0.4, 1.1)
                x0 = ramp_init(p, scale, dts[r % 3])
                if r >= 3:
                    x0 = x0 + rng.normal(0.0, 0.15, x0.size)
            runs.append(
                optimise(circuit, x0, method, steps, learning_rate, should_stop=should_stop)
            )
            if report is not None:
                done = (p - 1) * restarts + r + 1
                report(done / total, f"p = {p}: restart {r + 1} of {restarts}", results)
            if should_stop():
                break
        best = min(runs, key=lambda run: run.energy)
        probabilities = circuit.probabilities(best.x)
        if results and instance.n_qubits > KEEP_ALL_PROBABILITIES_QUBITS:
            results[-1].probabilities = None
        mean_energy = float(probabilities @ instance.basis_energies)
        results.append(
            LayerResult(
                p=p,
                gammas=best.x[:p].copy(),
                betas=best.x[p:].copy(),
                mean_energy=mean_energy,
                ratio=float(instance.ratio(mean_energy)),
                optimal_probability=float(probabilities[instance.optimal_mask].sum()),
                seconds=time.perf_counter() - start,
                evaluations=sum(run.evaluations for run in runs),
                restart_energies=[run.energy for run in runs],
                best_run=best,
                probabilities=probabilities,
                expected_objective=float(instance.objective(mean_energy)),
                device=f"{circuit.device_name}, {circuit.diff_method}"
                + (f" ({circuit.note})" if circuit.note else ""),
                gradient_evaluations=circuit.gradient_evaluations,
                gradient_seconds=circuit.gradient_seconds,
            )
        )
        if report is not None:
            report(p * restarts / total, f"p = {p} done", results)
        if should_stop():
            break
    return results
