"""thermolab.quantum's experiment function and text parsers: what the page and the CLI call."""

from __future__ import annotations

import numpy as np
import pytest

from thermolab import problems
from thermolab.quantum import (
    QaoaInstance,
    QaoaSettings,
    comparison_rows,
    parse_edge_list,
    parse_qubo,
    results_json,
    run_experiment,
)


class Recorder:
    """A Progress that records every report and asks to stop after `stop_after` of them."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.reports: list[tuple[float, str, object]] = []
        self.stop_after = stop_after

    @property
    def stop_requested(self) -> bool:
        return self.stop_after is not None and len(self.reports) >= self.stop_after

    def report(self, fraction, message="", partial=None):
        self.reports.append((fraction, message, partial))


def test_experiment_solves_every_depth_then_the_baselines_with_progress():
    instance = QaoaInstance.maxcut(problems.ring_graph(6))
    progress = Recorder()
    settings = QaoaSettings(p_max=2, restarts=1, steps=20)
    result = run_experiment(instance, settings, progress)
    assert [layer.p for layer in result.layers] == [1, 2]
    assert result.layers[0].ratio == pytest.approx(0.75, abs=1e-4)  # ring, p = 1
    assert [row.method for row in result.baselines] == ["exact", "annealing", "tempering", "random"]
    fractions = [fraction for fraction, *_ in progress.reports]
    assert fractions == sorted(fractions) and fractions[0] > 0 and fractions[-1] < 1
    assert result.settings.as_dict()["p_max"] == 2 and result.seconds > 0


def test_a_stop_request_keeps_the_finished_layers():
    instance = QaoaInstance.maxcut(problems.ring_graph(6))
    result = run_experiment(instance, QaoaSettings(p_max=4, restarts=2, steps=5), Recorder(1))
    assert [layer.p for layer in result.layers] == [1]


def test_edge_list_parser_reads_weights_and_refuses_bad_lines():
    graph = parse_edge_list("0 1 2.5\n1,2\n\n2 0 -1", max_nodes=5)
    assert graph.n_nodes == 3
    np.testing.assert_allclose(graph.weights, [2.5, 1.0, -1.0])
    for text, message in [
        ("0 1 x", "line 1: not numbers"),
        ("0 1 2 3", r"expected 'i j \[weight\]'"),
        ("", "at least one edge"),
        ("0 -1", "0 or more"),
        ("0 9", "too many qubits"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_edge_list(text, max_nodes=5)


def test_qubo_parser_reads_a_square_matrix_and_refuses_others():
    np.testing.assert_array_equal(parse_qubo("1 2\n3, 4"), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="square"):
        parse_qubo("1 2\n3")
    with pytest.raises(ValueError, match="numbers only"):
        parse_qubo("1 a\n3 4")


def test_3_regular_experiment_adds_fixed_angles_beside_the_optimised_layers():
    instance = QaoaInstance.maxcut(problems.random_regular_graph(10, 3, seed=2))
    result = run_experiment(instance, QaoaSettings(p_max=2, restarts=1, steps=30))
    assert [fixed.p for fixed in result.fixed_angles] == [1, 2]
    for layer, fixed in zip(result.layers, result.fixed_angles, strict=True):
        assert fixed.ratio >= fixed.published_ratio
        assert layer.ratio >= fixed.ratio - 1e-6  # optimised from a ramp: at least as good here
    assert result.gradient_evaluations == sum(layer.gradient_evaluations for layer in result.layers)
    assert result.gradient_evaluations > 0 and result.seconds_per_gradient > 0
    rows = comparison_rows(instance, result.layers, result.baselines, result.fixed_angles)
    assert [row["method"] for row in rows][:4] == [
        "QAOA p=1",
        "QAOA p=2",
        "fixed angles p=1",
        "fixed angles p=2",
    ]
    export = results_json(instance, result.layers, result.baselines, None, result.fixed_angles)
    assert export["fixed_angles"][1]["published_ratio"] == pytest.approx(0.7559, abs=1e-4)
    ring = run_experiment(QaoaInstance.maxcut(problems.ring_graph(6)), QaoaSettings(p_max=1))
    assert ring.fixed_angles == []  # a ring is 2-regular: no published angles


def test_large_instances_keep_only_the_deepest_state(monkeypatch):
    import thermolab.quantum.qaoa as qaoa_module
    from thermolab.quantum import sampled_objectives

    monkeypatch.setattr(qaoa_module, "KEEP_ALL_PROBABILITIES_QUBITS", 5)
    instance = QaoaInstance.maxcut(problems.ring_graph(6))
    result = run_experiment(instance, QaoaSettings(p_max=2, restarts=1, steps=5))
    first, last = result.layers
    assert first.probabilities is None and last.probabilities.shape == (64,)
    states, cuts = sampled_objectives(instance, last, 100)
    assert states.shape == (100, 6) and np.all(cuts <= instance.max_cut)
    with pytest.raises(ValueError, match="p = 1 state was not kept"):
        sampled_objectives(instance, first, 100)


def test_bfgs_stops_between_gradients_not_only_between_iterations():
    from thermolab.quantum import make_circuit, optimise, ramp_init

    instance = QaoaInstance.maxcut(problems.random_regular_graph(10, 3, seed=0))
    circuit = make_circuit(instance, 3)
    run = optimise(
        circuit,
        ramp_init(3),
        "bfgs",
        steps=50,
        should_stop=lambda: circuit.gradient_evaluations >= 1,
    )
    assert run.stopped and circuit.gradient_evaluations == 1  # a BFGS iteration takes ≥ 2
