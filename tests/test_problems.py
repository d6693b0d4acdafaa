"""IsingModel construction, the MaxCut / QUBO maps, and every bad input's ValueError."""

import numpy as np
import pytest
import scipy.sparse as sp

from thermolab import exact, problems


def all_states(n: int) -> np.ndarray:
    return exact.index_states(np.arange(2**n), n)


def brute_force_energy(model: problems.IsingModel, states: np.ndarray) -> np.ndarray:
    """E(s) = −Σ_{i<j} J_ij s_i s_j − Σ h_i s_i written as the literal double loop."""
    couplings = model.couplings.toarray()
    n = model.n_spins
    out = np.zeros(len(states))
    for k, s in enumerate(states.astype(float)):
        total = -model.fields @ s
        for i in range(n):
            for j in range(i + 1, n):
                total -= couplings[i, j] * s[i] * s[j]
        out[k] = total
    return out


def test_energy_matches_the_definition_on_every_state():
    model = problems.sherrington_kirkpatrick(7, seed=3, field=0.4)
    states = all_states(7)
    np.testing.assert_allclose(exact.energy(model, states), brute_force_energy(model, states))


def test_square_lattice_structure():
    model = problems.square_lattice(6, coupling=-0.5, field=0.2)
    assert model.n_spins == 36
    assert model.n_edges == 2 * 36
    assert np.all(np.diff(model.couplings.indptr) == 4)
    assert len(model.colouring) == 2
    assert model.lattice == problems.SquareLattice(6, True)
    all_up = np.ones((1, 36))
    np.testing.assert_allclose(exact.energy(model, all_up), [0.5 * 72 - 0.2 * 36])


def test_open_and_odd_lattices():
    open_lattice = problems.square_lattice(5, periodic=False)
    assert open_lattice.n_edges == 2 * 5 * 4
    assert len(open_lattice.colouring) == 2
    odd_periodic = problems.square_lattice(5)
    assert odd_periodic.n_edges == 50
    # An odd cycle needs at least three colours; greedy colouring uses at most degree + 1.
    assert 3 <= len(odd_periodic.colouring) <= 5


@pytest.mark.parametrize(
    "model",
    [
        problems.ring(9),
        problems.random_regular(20, 3, seed=1),
        problems.erdos_renyi(15, 0.3, spin_glass=True, seed=2),
        problems.sherrington_kirkpatrick(12, seed=0),
    ],
    ids=["ring", "regular", "er", "sk"],
)
def test_colouring_is_a_partition_into_independent_sets(model):
    label = np.full(model.n_spins, -1)
    for c, block in enumerate(model.colouring):
        assert np.all(label[block] == -1)
        label[block] = c
    assert np.all(label >= 0)
    pairs, _ = model.edges()
    assert np.all(label[pairs[:, 0]] != label[pairs[:, 1]])


def test_random_regular_degrees_and_sk_statistics():
    model = problems.random_regular(100, 4, seed=5)
    assert np.all(np.diff(model.couplings.indptr) == 4)
    sk = problems.sherrington_kirkpatrick(400, seed=1)
    _, couplings = sk.edges()
    # J_ij ~ N(0, 1/n): the sample variance of m = n(n−1)/2 draws has relative error √(2/m).
    m = couplings.size
    assert abs(couplings.var() * 400 - 1.0) < 4 * np.sqrt(2.0 / m)
    assert abs(couplings.mean()) < 4 * np.sqrt(1.0 / 400 / m)


def test_maxcut_ising_and_cut_values_agree_on_every_state():
    rng = np.random.default_rng(0)
    base = problems.random_regular_graph(10, 3, seed=4)
    graph = problems.WeightedGraph(10, base.edges, rng.uniform(0.5, 2.0, len(base.edges)))
    model = problems.maxcut_to_ising(graph)
    states = all_states(10)
    cuts = problems.cut_values(graph, states)
    np.testing.assert_allclose(cuts, (graph.total_weight - exact.energy(model, states)) / 2)
    best, optimal = exact.max_cut(graph)
    assert best == pytest.approx(cuts.max())
    assert np.allclose(problems.cut_values(graph, optimal), best)


def test_qubo_ising_round_trip_on_every_state():
    rng = np.random.default_rng(7)
    qubo = rng.normal(size=(8, 8))  # deliberately not symmetric
    model, offset = problems.qubo_to_ising(qubo)
    states = all_states(8)
    bits = (states + 1) // 2
    np.testing.assert_allclose(
        problems.qubo_energies(qubo, bits), exact.energy(model, states) + offset, atol=1e-12
    )
    back, back_offset = problems.ising_to_qubo(model)
    np.testing.assert_allclose(
        problems.qubo_energies(back, bits) + back_offset, exact.energy(model, states), atol=1e-12
    )


def test_qubo_maxcut_ising_agree_on_a_triangle():
    graph = problems.ring_graph(3)
    model = problems.maxcut_to_ising(graph)
    qubo, offset = problems.ising_to_qubo(model)
    states = all_states(3)
    energies = exact.energy(model, states)
    np.testing.assert_allclose(problems.qubo_energies(qubo, (states + 1) // 2) + offset, energies)
    assert problems.cut_values(graph, states).max() == 2.0


def symmetric(matrix):
    return sp.csr_array(np.asarray(matrix, dtype=float))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: problems.IsingModel(symmetric([[0, np.nan], [np.nan, 0]]), [0, 0]), "NaN"),
        (lambda: problems.IsingModel(symmetric([[0, 1], [2, 0]]), [0, 0]), "symmetric"),
        (lambda: problems.IsingModel(symmetric([[1, 1], [1, 0]]), [0, 0]), "diagonal"),
        (lambda: problems.IsingModel(symmetric([[0, 1], [1, 0]]), [0, np.inf]), "fields"),
        (lambda: problems.IsingModel(symmetric([[0, 1], [1, 0]]), [0, 0, 0]), "shape"),
        (lambda: problems.IsingModel(symmetric(np.zeros((2, 3))), [0, 0]), "square"),
        (lambda: problems.square_lattice(0), "at least"),
        (lambda: problems.square_lattice(-4), "at least"),
        (lambda: problems.square_lattice(2.5), "integer"),
        (lambda: problems.square_lattice(8, coupling=np.nan), "finite"),
        (lambda: problems.square_lattice(1_000_000), "GiB"),
        (lambda: problems.ring(0), "at least"),
        (lambda: problems.random_regular(7, 3), "even"),
        (lambda: problems.random_regular(4, 4), "less than"),
        (lambda: problems.erdos_renyi(10, 1.5), r"\[0, 1\]"),
        (lambda: problems.sherrington_kirkpatrick(0), "at least"),
        (lambda: problems.sherrington_kirkpatrick(200_000), "GiB"),
        (lambda: problems.WeightedGraph(3, [[0, 1]], [np.nan]), "NaN"),
        (lambda: problems.WeightedGraph(3, [[0, 3]], [1.0]), "endpoints"),
        (lambda: problems.WeightedGraph(3, [[1, 1]], [1.0]), "self-loops"),
        (lambda: problems.qubo_to_ising(np.ones((2, 3))), "square"),
        (lambda: problems.qubo_to_ising([[np.nan]]), "NaN"),
        (
            lambda: problems.IsingModel(
                symmetric([[0, 1], [1, 0]]), [0, 0], colouring=(np.array([0, 1]),)
            ),
            "same block",
        ),
    ],
)
def test_bad_input_raises_a_clear_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_model_is_immutable():
    model = problems.ring(5)
    with pytest.raises(ValueError):
        model.fields[0] = 1.0
    with pytest.raises(AttributeError):
        model.name = "other"


def test_problem_families_build_what_their_constructors_build():
    """The registry's models equal the direct constructors' (same couplings and fields)."""

    def same(a, b):
        return (a.couplings != b.couplings).nnz == 0 and np.array_equal(a.fields, b.fields)

    graph = problems.erdos_renyi_graph(12, 0.3, 4)
    built = problems.build_model(
        "er", 12, edge_probability=0.3, seed=4, coupling=-1.5, field=0.2, spin_glass=True
    )
    assert same(built, problems.ising_from_graph(graph, -1.5, 0.2, spin_glass=True, seed=4))
    assert same(
        problems.build_model("sk", 10, seed=2, field=0.1, coupling=9.0),  # SK takes no J
        problems.sherrington_kirkpatrick(10, seed=2, field=0.1),
    )
    assert same(problems.build_model("lattice", 16, coupling=2.0), problems.square_lattice(4, 2.0))
    regular = problems.build_graph("regular", 10, degree=4, seed=1)
    assert np.array_equal(regular.edges, problems.random_regular_graph(10, 4, seed=1).edges)
    assert set(problems.GRAPH_FAMILIES) <= set(problems.MODEL_FAMILIES)
    labels = [family.label for family in problems.MODEL_FAMILIES.values()]
    assert len(set(labels)) == len(labels)  # a page can find a family by its label
    assert problems.family_by_label(problems.MODEL_FAMILIES, "Erdős–Rényi").name == "er"


def test_problem_families_refuse_unknown_names_and_non_square_lattices():
    with pytest.raises(ValueError, match="unknown problem family 'moon'"):
        problems.build_model("moon", 4)
    with pytest.raises(ValueError, match="square number"):
        problems.build_model("lattice", 10)
