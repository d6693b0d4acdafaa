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
    # the simulator by default, its gradient count and time, and the fixed-angle baseline
    assert report["device"] == "thermolab"
    assert report["gradient_evaluations"] > 0 and report["seconds"] > 0
    assert 0 < report["seconds_per_gradient"] < report["seconds"]
    assert report["published_fixed_angle_ratio"] == pytest.approx([0.69245, 0.75591], abs=1e-5)
    assert len(report["fixed_angle_ratio"]) == 2
    for ours, published in zip(
        report["fixed_angle_ratio"], report["published_fixed_angle_ratio"], strict=True
    ):
        assert ours >= published


def test_a_pennylane_device_by_name_gives_the_same_answer(capsys):
    args = ["--graph", "ring", "--nodes", "6", "--restarts", "1", "--steps", "30"]
    ours = run_json(capsys, *args)
    theirs = run_json(capsys, *args, "--device", "lightning.qubit")
    assert theirs["device"] == "lightning.qubit"
    assert theirs["approximation_ratio"] == pytest.approx(ours["approximation_ratio"], abs=1e-7)
    assert ours["fixed_angle_ratio"] is None  # a ring is not 3-regular


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--graph", "ring", "--nodes", "25"], "too many"),
        (["--graph", "er", "--nodes", "5", "--edge-probability", "0"], "no edges"),
        (["--graph", "er", "--nodes", "5", "--edge-probability", "nan"], "finite"),
        (["--graph", "ring", "--nodes", "5", "--layers", "0"], "positive"),
        (["--graph", "star", "--nodes", "5"], "invalid choice"),
        (["--graph", "ring", "--nodes", "5", "--device", "no.such.device"], "not usable"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["qaoa", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
