"""thermolab.quantum: the Hamiltonian encodes the model, the p = 1 closed form matches the
circuit, QAOA reaches the known ratios, INTERP helps, and bad input is refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from thermolab import exact, problems
from thermolab.quantum import (
    MAX_QUBITS,
    QaoaCircuit,
    QaoaInstance,
    basis_spins,
    check_cost_hamiltonian,
    comparison_rows,
    cost_hamiltonian,
    hamiltonian_diagonal,
    interp_init,
    maxcut_p1_expected_cut,
    optimise,
    p1_landscape,
    ramp_init,
    results_json,
    run_baselines,
    sample_states,
    simulated_p1_expected_energy,
    solve,
)

FARHI_3_REGULAR_P1 = 0.6924


# --------------------------------------------------------------------------- Hamiltonian


@pytest.mark.parametrize("seed", [0, 1])
def test_hamiltonian_diagonal_equals_model_energy_on_every_basis_state(seed):
    model = problems.sherrington_kirkpatrick(6, seed=seed, field=0.4)
    hamiltonian = cost_hamiltonian(model, constant=0.7)
    spins = basis_spins(6)
    expected = exact.energy(model, spins) + 0.7
    np.testing.assert_allclose(hamiltonian_diagonal(hamiltonian, 6), expected, atol=1e-12)
    import pennylane as qml  # an independent route: PennyLane's own dense matrix

    matrix = qml.matrix(hamiltonian, wire_order=range(6))
    np.testing.assert_allclose(np.diag(matrix).real, expected, atol=1e-12)
    assert np.allclose(matrix - np.diag(np.diag(matrix)), 0)


def test_check_cost_hamiltonian_catches_a_wrong_sign():
    model = problems.sherrington_kirkpatrick(4, seed=3, field=0.2)
    energies = exact.energy(model, basis_spins(4))
    assert check_cost_hamiltonian(model, cost_hamiltonian(model), energies) < 1e-12
    flipped = problems.IsingModel(-model.couplings, model.fields)
    with pytest.raises(RuntimeError, match="does not match"):
        check_cost_hamiltonian(model, cost_hamiltonian(flipped), energies)


def test_basis_order_reads_bit_one_as_spin_plus_one():
    # |011⟩ in PennyLane's order: wire 0 is 0 (spin −1), wires 1 and 2 are 1 (spin +1).
    assert basis_spins(3)[0b011].tolist() == [-1, 1, 1]


def test_qubo_hamiltonian_diagonal_is_the_qubo_objective():
    matrix = np.array([[1.0, -2.0, 0.5], [0.0, -1.0, 3.0], [0.0, 0.0, -0.5]])
    instance = QaoaInstance.qubo(matrix)
    hamiltonian = cost_hamiltonian(instance.model, instance.constant)
    bits = (basis_spins(3) + 1) // 2
    np.testing.assert_allclose(
        hamiltonian_diagonal(hamiltonian, 3), problems.qubo_energies(matrix, bits), atol=1e-12
    )


def test_circuit_encodes_the_couplings_not_just_fields():
    # A field-free model: a circuit with only RZ terms would give ⟨E⟩ = 0 for every angle.
    instance = QaoaInstance.maxcut(problems.ring_graph(5))
    circuit = QaoaCircuit(instance, 1)
    assert abs(circuit.energy([0.4, -0.3])) > 0.1


# --------------------------------------------------------------------------- closed form


@pytest.mark.parametrize(
    "graph",
    [
        problems.erdos_renyi_graph(7, 0.6, seed=3),
        problems.random_regular_graph(8, 3, seed=5),
        problems.erdos_renyi_graph(6, 0.9, seed=1),
    ],
    ids=lambda g: g.name,
)
def test_closed_form_p1_equals_simulated_circuit(graph):
    instance = QaoaInstance.maxcut(graph)
    circuit = QaoaCircuit(instance, 1)
    rng = np.random.default_rng(42)
    for gamma, beta in rng.uniform(-np.pi, np.pi, size=(4, 2)):
        simulated_cut = instance.cut_from_energy(circuit.energy([gamma, beta]))
        closed = maxcut_p1_expected_cut(graph, gamma, beta)
        assert abs(simulated_cut - closed) < 1e-8


def test_landscape_closed_form_matches_numpy_simulation_and_uses_the_formula():
    instance = QaoaInstance.maxcut(problems.erdos_renyi_graph(6, 0.7, seed=2))
    gammas, betas = np.linspace(-1, 1, 5), np.linspace(-0.7, 0.7, 4)
    values, method = p1_landscape(instance, gammas, betas)
    assert method == "closed form" and values.shape == (5, 4)
    np.testing.assert_allclose(
        values, simulated_p1_expected_energy(instance, gammas, betas), atol=1e-10
    )


def test_weighted_graph_landscape_falls_back_to_simulation():
    graph = problems.WeightedGraph(4, [[0, 1], [1, 2], [2, 3]], [1.0, 2.0, 0.5])
    with pytest.raises(ValueError, match="same weight"):
        maxcut_p1_expected_cut(graph, 0.1, 0.2)
    _, method = p1_landscape(QaoaInstance.maxcut(graph), [0.1], [0.2])
    assert method == "simulated"


# --------------------------------------------------------------------------- known ratios


def test_ring_of_disagrees_reaches_three_quarters_at_p1():
    instance = QaoaInstance.maxcut(problems.ring_graph(8))
    (layer,) = solve(instance, 1, restarts=2, steps=60)
    assert layer.ratio == pytest.approx(0.75, abs=1e-6)
    assert instance.cut_from_energy(layer.mean_energy) == pytest.approx(6.0, abs=1e-5)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_3_regular_reaches_farhi_bound_at_p1(seed):
    instance = QaoaInstance.maxcut(problems.random_regular_graph(10, 3, seed=seed))
    (layer,) = solve(instance, 1, restarts=2, steps=60, seed=seed)
    assert layer.ratio >= FARHI_3_REGULAR_P1


def test_interp_at_p2_is_no_worse_than_p1_and_adam_works():
    instance = QaoaInstance.maxcut(problems.random_regular_graph(8, 3, seed=4))
    layers = solve(instance, 2, init="interp", restarts=1, steps=60)
    assert [layer.p for layer in layers] == [1, 2]
    assert layers[1].mean_energy <= layers[0].mean_energy + 1e-9
    assert layers[1].ratio >= layers[0].ratio - 1e-9
    adam = solve(instance, 1, method="adam", restarts=1, steps=80, learning_rate=0.05)
    assert adam[0].ratio == pytest.approx(layers[0].ratio, abs=2e-3)


def test_interp_formula():
    # p = 1 → 2: γ' = (γ₁, γ₁), β' = (β₁, β₁) (Zhou et al.)
    np.testing.assert_allclose(interp_init(np.array([0.3, -0.2])), [0.3, 0.3, -0.2, -0.2])
    np.testing.assert_allclose(
        interp_init(np.array([0.2, 0.4, -0.5, -0.1])), [0.2, 0.3, 0.4, -0.5, -0.3, -0.1]
    )


def test_optimiser_path_is_recorded_and_descends():
    instance = QaoaInstance.maxcut(problems.ring_graph(6))
    circuit = QaoaCircuit(instance, 2)
    x0 = ramp_init(2)
    run = optimise(circuit, x0, "bfgs", steps=30)
    assert run.path.shape[1] == 4 and len(run.path) == len(run.path_energies) >= 2
    np.testing.assert_allclose(run.path[0], x0)
    assert run.energy <= run.path_energies[0] and run.energy == run.path_energies.min()


def test_stop_request_ends_the_sweep_early():
    instance = QaoaInstance.maxcut(problems.ring_graph(6))
    layers = solve(instance, 3, restarts=2, steps=5, should_stop=lambda: True)
    assert len(layers) == 1 and len(layers[0].restart_energies) == 1


# --------------------------------------------------------------------------- sampling, baselines


def test_sampling_and_optimal_probability_agree():
    instance = QaoaInstance.maxcut(problems.ring_graph(6))
    (layer,) = solve(instance, 1, restarts=1, steps=40)
    assert layer.probabilities.sum() == pytest.approx(1.0)
    states = sample_states(layer.probabilities, 6, 20_000, seed=1)
    cuts = instance.cuts(states)
    sampled = np.mean(cuts == instance.max_cut)
    assert abs(sampled - layer.optimal_probability) < 0.02
    assert abs(cuts.mean() - layer.expected_objective) < 0.05


def test_baselines_on_the_same_model_and_the_comparison_table():
    instance = QaoaInstance.maxcut(problems.random_regular_graph(8, 3, seed=0))
    rows = run_baselines(instance, sweeps=200, rounds=50, random_samples=4000)
    by_method = {row.method: row for row in rows}
    assert list(by_method) == ["exact", "annealing", "tempering", "random"]
    assert by_method["exact"].objective == instance.max_cut == exact.max_cut(instance.graph)[0]
    assert by_method["annealing"].ratio == pytest.approx(1.0)
    # a uniformly random cut keeps each edge with probability ½
    random_cut = by_method["random"].objective
    assert abs(random_cut - instance.graph.total_weight / 2) < 0.3
    (layer,) = solve(instance, 1, restarts=1, steps=30)
    table = comparison_rows(instance, [layer], rows)
    assert [row["method"] for row in table][:2] == ["QAOA p=1", "exact"]
    export = results_json(instance, [layer], rows)
    import json

    assert json.loads(json.dumps(export))["layers"][0]["approximation_ratio"] == layer.ratio


# --------------------------------------------------------------------------- bad input


def test_empty_graph_is_refused():
    with pytest.raises(ValueError, match="no edges"):
        QaoaInstance.maxcut(problems.erdos_renyi_graph(5, 0.0))
    with pytest.raises(ValueError, match="empty"):
        QaoaInstance.ising(problems.ising_from_graph(problems.erdos_renyi_graph(4, 0.0)))


def test_too_many_qubits_is_refused_with_the_memory_needed():
    with pytest.raises(ValueError, match=rf"{MAX_QUBITS + 1} qubits.*MiB"):
        QaoaInstance.maxcut(problems.ring_graph(MAX_QUBITS + 1))


def test_nan_weights_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        problems.WeightedGraph(3, [[0, 1], [1, 2]], [1.0, float("nan")])
    with pytest.raises(ValueError, match="NaN"):
        QaoaInstance.qubo(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_bad_settings_are_refused():
    instance = QaoaInstance.maxcut(problems.ring_graph(4))
    with pytest.raises(ValueError, match="layers p"):
        QaoaCircuit(instance, 0)
    with pytest.raises(ValueError, match="not usable"):
        QaoaCircuit(instance, 1, device="no.such.device")
    with pytest.raises(ValueError, match="method"):
        optimise(QaoaCircuit(instance, 1), [0.1, 0.1], "newton")
    with pytest.raises(ValueError, match="finite"):
        QaoaCircuit(instance, 1).energy([np.nan, 0.1])


def test_default_qubit_is_the_fallback_when_lightning_fails(monkeypatch):
    import pennylane as qml

    real_device = qml.device

    def device(name, *args, **kwargs):
        if name == "lightning.qubit":
            raise RuntimeError("lightning not built for this CPU")
        return real_device(name, *args, **kwargs)

    monkeypatch.setattr(qml, "device", device)
    instance = QaoaInstance.maxcut(problems.ring_graph(4))
    circuit = QaoaCircuit(instance, 1)
    assert circuit.device_name == "default.qubit" and circuit.diff_method == "adjoint"
    assert "lightning not built" in circuit.note
    reference = maxcut_p1_expected_cut(instance.graph, 0.3, -0.4)
    assert instance.cut_from_energy(circuit.energy([0.3, -0.4])) == pytest.approx(reference)
