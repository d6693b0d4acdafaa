"""`thermolab qaoa`: the JSON contract, a known answer, and one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest

from thermolab.cli import main


def run_json(capsys, *args: str) -> dict:
    assert main(["qaoa", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ring_p1_contract_and_three_quarters(capsys):
    report = run_json(
        capsys, "--graph", "ring", "--nodes", "6", "--layers", "1", "--seed", "0", "--restarts", "1"
    )
    for key in ("approximation_ratio", "expected_cut", "max_cut", "optimal_probability"):
        assert isinstance(report[key], float), key
    assert report["max_cut"] == 6.0
    assert report["approximation_ratio"] == pytest.approx(0.75, abs=1e-6)
    assert report["expected_cut"] == pytest.approx(4.5, abs=1e-5)
    assert 0 < report["optimal_probability"] < 1
    assert set(report["baselines"]) == {"exact", "annealing", "tempering", "random"}


def test_regular_graph_two_layers(capsys):
    report = run_json(
        capsys,
        "--graph",
        "regular",
        "--nodes",
        "8",
        "--layers",
        "2",
        "--seed",
        "3",
        "--steps",
        "40",
    )
    assert len(report["ratio_by_layer"]) == 2
    assert report["approximation_ratio"] >= 0.6924
    assert report["best_sampled_cut"] <= report["max_cut"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--graph", "ring", "--nodes", "25"], "too many"),
        (["--graph", "er", "--nodes", "5", "--edge-probability", "0"], "no edges"),
        (["--graph", "er", "--nodes", "5", "--edge-probability", "nan"], "finite"),
        (["--graph", "ring", "--nodes", "5", "--layers", "0"], "positive"),
        (["--graph", "star", "--nodes", "5"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["qaoa", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
