"""Fixed-angle QAOA (Wurtz & Lykov): the convention conversion, the published tree ratios, and
the conjecture's promise on random 3-regular graphs."""

from __future__ import annotations

import numpy as np
import pytest

from thermolab import problems
from thermolab.quantum import QaoaInstance, QaoaSimulator, make_circuit
from thermolab.quantum.fixed_angles import (
    FIXED_ANGLE_DEPTHS,
    fixed_angle_applies,
    fixed_angle_ratio,
    fixed_angles,
    published_angles,
    run_fixed_angles,
)


def heawood_graph() -> problems.WeightedGraph:
    """3-regular, 14 nodes, girth 6 (LCF [5, −5]^7): every edge's depth-2 neighbourhood is a
    tree, so QAOA with p ≤ 2 gives exactly the tree value there."""
    edges = [(i, (i + 1) % 14) for i in range(14)] + [(i, (i + 5) % 14) for i in range(0, 14, 2)]
    return problems.WeightedGraph(14, np.array(edges), np.ones(len(edges)), "Heawood graph")


def their_energy(simulator: QaoaSimulator, p: int) -> float:
    """⟨E⟩ at the listed angles read in the source's convention, γ_ours = −γ / 2 (w = 1)."""
    angles = published_angles(p)
    return simulator.energy(np.concatenate([-angles[:p] / 2, angles[p:]]))


def test_heawood_graph_is_3_regular_with_girth_6():
    graph = heawood_graph()
    adjacency = np.zeros((14, 14), dtype=int)
    adjacency[graph.edges[:, 0], graph.edges[:, 1]] = 1
    adjacency += adjacency.T
    assert np.all(adjacency.sum(axis=1) == 3)
    walks = np.linalg.matrix_power(adjacency, 2)
    assert np.all(np.diag(np.linalg.matrix_power(adjacency, 3)) == 0)  # no triangles
    assert np.all(walks[adjacency == 1] == 0) and np.all(walks[~np.eye(14, dtype=bool)] <= 1)
    five = np.diag(np.linalg.matrix_power(adjacency, 5))
    assert np.all(five == 0)  # bipartite: no 5-cycles; ≤ 1 path of 2: no 4-cycles


@pytest.mark.parametrize("p", [1, 2])
def test_published_tree_ratio_is_reproduced_on_a_girth_6_graph(p):
    instance = QaoaInstance.maxcut(heawood_graph())
    simulator = QaoaSimulator(instance.basis_energies, p)
    fraction = instance.cut_from_energy(simulator.energy(fixed_angles(p))) / 21
    # the source's angles carry 8 decimals: the tree value comes back to about 1e-7
    assert fraction == pytest.approx(fixed_angle_ratio(p), abs=1e-6)


def test_p1_angles_are_the_known_optimum():
    # 3-regular, triangle-free: γ_W = arctan(1/√2), β = π/8 (their convention); ours γ_W / 2, −β.
    # The listed p = 1 angles are an optimiser's output, 1.0e-6 from these.
    np.testing.assert_allclose(
        fixed_angles(1), [np.arctan(1 / np.sqrt(2)) / 2, -np.pi / 8], atol=2e-6
    )


def test_canonical_angles_give_the_listed_angles_expectation():
    instance = QaoaInstance.maxcut(problems.random_regular_graph(12, 3, seed=7))
    for p in FIXED_ANGLE_DEPTHS:
        simulator = QaoaSimulator(instance.basis_energies, p)
        x = fixed_angles(p)
        assert np.all(x[:p] > 0) and np.all(np.abs(x[:p]) <= np.pi / 4)
        assert np.all(np.abs(x[p:]) <= np.pi / 4)
        assert abs(simulator.energy(x) - their_energy(simulator, p)) < 1e-9


@pytest.mark.parametrize(("n", "seed"), [(10, 0), (12, 1), (14, 2), (16, 3), (16, 4)])
def test_fixed_angles_reach_the_published_ratio_on_random_3_regular_graphs(n, seed):
    instance = QaoaInstance.maxcut(problems.random_regular_graph(n, 3, seed=seed))
    results = run_fixed_angles(
        instance, FIXED_ANGLE_DEPTHS, lambda p: make_circuit(instance, p, "thermolab")
    )
    assert [r.p for r in results] == list(FIXED_ANGLE_DEPTHS)
    for result in results:
        assert result.ratio >= result.published_ratio, result.p
        assert result.expected_cut == pytest.approx(result.ratio * instance.max_cut)


def test_weight_scales_gamma_and_other_graphs_are_refused():
    graph = problems.random_regular_graph(8, 3, seed=1)
    doubled = problems.WeightedGraph(8, graph.edges, 2 * graph.weights, "doubled")
    single, double = QaoaInstance.maxcut(graph), QaoaInstance.maxcut(doubled)
    a = run_fixed_angles(single, [2], lambda p: make_circuit(single, p))
    b = run_fixed_angles(double, [2], lambda p: make_circuit(double, p))
    assert a[0].ratio == pytest.approx(b[0].ratio, abs=1e-12)
    np.testing.assert_allclose(b[0].gammas, a[0].gammas / 2)
    for other in [problems.ring_graph(8), problems.erdos_renyi_graph(8, 0.5, seed=1)]:
        assert not fixed_angle_applies(QaoaInstance.maxcut(other))
        with pytest.raises(ValueError, match="3-regular"):
            run_fixed_angles(QaoaInstance.maxcut(other), [1], make_circuit)
    with pytest.raises(ValueError, match="p = 12"):
        fixed_angles(12)
