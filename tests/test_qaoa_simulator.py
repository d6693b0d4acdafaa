"""The QAOA simulator (device "thermolab") against PennyLane, finite differences and the p = 1
closed form; its basis order; and its refusal of work that would not fit in memory."""

from __future__ import annotations

import numpy as np
import pytest

import thermolab.quantum.simulator as simulator_module
from thermolab import exact, problems
from thermolab.quantum import (
    QaoaCircuit,
    QaoaInstance,
    QaoaSimulator,
    basis_energies,
    basis_spins,
    cost_hamiltonian,
    hamiltonian_diagonal,
    make_circuit,
    maxcut_p1_expected_cut,
    solve,
)

AGREEMENT = 1e-9  # energies and gradients against PennyLane (both complex128)


def random_instance(n: int, seed: int) -> QaoaInstance:
    """Random couplings of both signs on a random graph, plus random fields: no symmetry
    hides a wrong qubit order or a wrong sign."""
    rng = np.random.default_rng(seed)
    graph = problems.erdos_renyi_graph(n, 0.7, seed=seed)
    couplings = np.zeros((n, n))
    for (i, j), weight in zip(graph.edges, rng.normal(0.0, 1.0, len(graph.edges)), strict=True):
        couplings[i, j] = couplings[j, i] = weight
    return QaoaInstance.ising(problems.IsingModel(couplings, rng.normal(0.0, 0.7, n)))


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_basis_energies_follow_pennylane_wire_order(n):
    rng = np.random.default_rng(n)
    couplings = np.triu(rng.normal(size=(n, n)), 1)
    model = problems.IsingModel(couplings + couplings.T, rng.normal(size=n))
    energies = basis_energies(model)
    np.testing.assert_allclose(energies, exact.energy(model, basis_spins(n)), atol=1e-12)
    if n > 1:  # the PennyLane operator's diagonal, wire by wire
        diagonal = hamiltonian_diagonal(cost_hamiltonian(model), n)
        np.testing.assert_allclose(energies, diagonal, atol=1e-12)


@pytest.mark.parametrize(("n", "p", "seed"), [(3, 1, 0), (5, 2, 1), (6, 3, 2), (7, 2, 3)])
def test_energy_gradient_and_state_agree_with_pennylane(n, p, seed):
    instance = random_instance(n, seed)
    ours = QaoaSimulator(instance.basis_energies, p)
    lightning = QaoaCircuit(instance, p, device="lightning.qubit")
    rng = np.random.default_rng(seed)
    for x in rng.uniform(-np.pi, np.pi, size=(3, 2 * p)):
        energy, grad = ours.energy_and_grad(x)
        reference_energy, reference_grad = lightning.energy_and_grad(x)
        assert abs(energy - reference_energy) < AGREEMENT
        np.testing.assert_allclose(grad, reference_grad, rtol=0, atol=AGREEMENT)
        assert abs(ours.energy(x) - energy) < 1e-12
        np.testing.assert_allclose(
            ours.probabilities(x), lightning.probabilities(x), rtol=0, atol=1e-12
        )
    assert ours.evaluations == 6 and ours.gradient_evaluations == 3


def test_gradient_agrees_with_default_qubit_backprop():
    import pennylane as qml

    instance = random_instance(5, 7)
    x = np.array([0.4, -1.1, 0.3, 0.9, -0.2, 0.5])
    reference = QaoaCircuit(instance, 3, device="default.qubit", diff_method="backprop")
    _, reference_grad = reference.energy_and_grad(x)
    _, grad = QaoaSimulator(instance.basis_energies, 3).energy_and_grad(x)
    np.testing.assert_allclose(grad, reference_grad, rtol=0, atol=AGREEMENT)
    assert qml.__version__  # the reference really ran on PennyLane


def test_gradient_agrees_with_central_differences():
    instance = random_instance(6, 11)
    simulator = QaoaSimulator(instance.basis_energies, 2)
    x = np.array([0.7, -0.4, 0.2, -0.9])
    _, grad = simulator.energy_and_grad(x)
    step = 1e-5  # central differences: error O(step²) ≈ 1e-10 × |third derivative|
    for i in range(x.size):
        shift = np.zeros_like(x)
        shift[i] = step
        numeric = (simulator.energy(x + shift) - simulator.energy(x - shift)) / (2 * step)
        assert abs(numeric - grad[i]) < 1e-7


@pytest.mark.parametrize(
    "graph",
    [problems.ring_graph(9), problems.random_regular_graph(12, 3, seed=4)],
    ids=lambda g: g.name,
)
def test_p1_energy_equals_the_closed_form(graph):
    instance = QaoaInstance.maxcut(graph)
    simulator = QaoaSimulator(instance.basis_energies, 1)
    for gamma, beta in np.random.default_rng(0).uniform(-np.pi, np.pi, size=(6, 2)):
        cut = instance.cut_from_energy(simulator.energy([gamma, beta]))
        assert abs(cut - maxcut_p1_expected_cut(graph, gamma, beta)) < 1e-10


def test_phase_table_and_exponentials_give_the_same_state(monkeypatch):
    instance = QaoaInstance.maxcut(problems.random_regular_graph(10, 3, seed=1))
    x = np.array([0.3, 0.8, -0.5, -0.2])
    table = QaoaSimulator(instance.basis_energies, 2)
    assert table._levels is not None  # integer cuts: the lookup path
    monkeypatch.setattr(simulator_module, "_MAX_TABLE", 0)
    direct = QaoaSimulator(instance.basis_energies + 0.5, 2)  # shifted: not integers either
    assert direct._levels is None
    np.testing.assert_allclose(
        np.abs(table.state(x)), np.abs(direct.state(x)), rtol=0, atol=1e-13
    )  # a constant shift is a global phase
    _, grad_table = table.energy_and_grad(x)
    _, grad_direct = direct.energy_and_grad(x)
    np.testing.assert_allclose(grad_table, grad_direct, rtol=0, atol=1e-12)


def test_solve_on_thermolab_matches_lightning_and_reaches_the_ring_ratio():
    instance = QaoaInstance.maxcut(problems.ring_graph(8))
    (ours,) = solve(instance, 1, restarts=1, steps=60, device="thermolab")
    (theirs,) = solve(instance, 1, restarts=1, steps=60, device="lightning.qubit")
    assert ours.ratio == pytest.approx(0.75, abs=1e-6)
    assert ours.device == "thermolab, adjoint" and theirs.device == "lightning.qubit, adjoint"
    np.testing.assert_allclose(ours.best_run.path, theirs.best_run.path, atol=1e-7)
    assert ours.gradient_evaluations >= 1 and ours.gradient_seconds > 0


def test_memory_above_the_budget_is_refused_before_allocating(monkeypatch):
    instance = QaoaInstance.maxcut(problems.ring_graph(16))
    energies = instance.basis_energies
    monkeypatch.setattr(problems, "memory_budget_bytes", lambda: 2**20)
    with pytest.raises(ValueError, match=r"simulating 16 qubits needs about .* GiB.*fewer qubits"):
        make_circuit(instance, 2, "thermolab")
    with pytest.raises(ValueError, match="energies of 16 qubits"):
        basis_energies(instance.model)
    assert energies.size == 2**16


def test_the_qubit_cap_is_24_and_says_the_memory():
    from thermolab.quantum import MAX_QUBITS, check_qubit_count

    assert MAX_QUBITS == 24
    check_qubit_count(24)
    with pytest.raises(ValueError, match=r"25 qubits are too many.*512 MiB"):
        check_qubit_count(25)
