"""The command-line contract: JSON keys other tools read, and one-line errors with exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from thermolab import exact, problems
from thermolab.cli import main


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_backends_json(capsys):
    rows = run_json(capsys, "backends")["backends"]
    assert {"jax", "numpy", "torch"} <= {row["name"] for row in rows}
    assert set(rows[0]) >= {"name", "available", "reason", "device", "version", "capabilities"}
    numpy_row = next(row for row in rows if row["name"] == "numpy")
    assert numpy_row["capabilities"]["algorithms"] == ["gibbs", "metropolis"]


def test_ising_reports_kernel_preparation_apart_from_sampling(capsys):
    # A lattice size and sweep count no other test uses, so jax prepares a new kernel in
    # this call (traced at least; compiled or loaded from the persistent cache).
    arguments = ("ising", "--lattice", "10", "--temperature", "2.5", "--sweeps", "37")
    first = run_json(capsys, *arguments, "--burn-in", "0")
    assert first["backend"] == "jax"
    assert 0 < first["compile_seconds"] < first["wall_seconds"]
    assert first["sampling_seconds"] == pytest.approx(
        first["wall_seconds"] - first["compile_seconds"]
    )
    rate = first["spin_updates"] / first["sampling_seconds"]
    assert first["sampling_spin_updates_per_second"] == pytest.approx(rate)
    # The same call again reuses the kernel: nothing is prepared.
    assert run_json(capsys, *arguments, "--burn-in", "0")["compile_seconds"] == 0


def test_ising_contract(capsys):
    report = run_json(
        capsys,
        "ising",
        "--lattice",
        "16",
        "--temperature",
        "1.8",
        "--sweeps",
        "300",
        "--burn-in",
        "100",
        "--chains",
        "2",
        "--algorithm",
        "metropolis",
        "--backend",
        "numpy",
        "--seed",
        "3",
    )
    for key in (
        "energy_per_spin",
        "energy_per_spin_stderr",
        "abs_magnetization",
        "abs_magnetization_stderr",
        "tau_int_energy",
        "spin_updates_per_second",
    ):
        assert isinstance(report[key], float), key
    assert report["spin_updates_per_second"] > 0
    assert isinstance(report["warnings"], list)
    # At T = 1.8 a 16×16 lattice is ordered: energy near Onsager's −1.86.
    onsager = float(exact.onsager_energy_per_spin(1.8))
    assert abs(report["energy_per_spin"] - onsager) < 4 * report["energy_per_spin_stderr"] + 0.01
    finite = exact.square_lattice_exact(16, 1.8)
    assert report["exact_energy_per_spin"] == pytest.approx(float(finite.energy_per_spin))
    assert report["exact_heat_capacity"] == pytest.approx(float(finite.heat_capacity_per_spin))
    assert report["onsager_energy_per_spin"] == pytest.approx(onsager)


def test_anneal_contract(capsys):
    report = run_json(
        capsys,
        "anneal",
        "--graph",
        "sk",
        "--nodes",
        "10",
        "--seed",
        "2",
        "--sweeps",
        "300",
        "--backend",
        "numpy",
    )
    model = problems.sherrington_kirkpatrick(10, seed=2)
    assert report["exact_ground_energy"] == pytest.approx(exact.ground_states(model)[0])
    assert len(report["best_state"]) == 10
    assert report["best_energy"] == pytest.approx(exact.energy(model, report["best_state"]))
    assert report["best_energy"] >= report["exact_ground_energy"] - 1e-9


def test_exact_contract(capsys):
    report = run_json(capsys, "exact", "--graph", "ring", "--nodes", "10", "--temperature", "1.5")
    expected = exact.enumerate_model(problems.ring(10), 1.5)
    assert report["log_partition"] == pytest.approx(expected.log_partition)
    assert report["energy_per_spin"] == pytest.approx(expected.mean_energy / 10)


def test_exact_lattice_contract(capsys):
    # Any L, by Kaufman's solution: L = 16 at T_c is 0.039 below Onsager's −√2 per spin.
    critical = exact.critical_temperature()
    report = run_json(capsys, "exact", "--lattice", "16", "--temperature", str(float(critical)))
    assert report["energy_per_spin"] == pytest.approx(-1.4531, abs=5e-5)
    assert report["onsager_energy_per_spin"] == pytest.approx(-np.sqrt(2))
    assert report["onsager_heat_capacity"] is None  # diverges at T_c
    large = run_json(capsys, "exact", "--lattice", "300", "--temperature", "3", "--coupling", "2")
    finite = exact.square_lattice_exact(300, 3.0, coupling=2.0)
    assert large["heat_capacity_per_spin"] == pytest.approx(float(finite.heat_capacity_per_spin))
    assert large["log_partition"] == pytest.approx(float(finite.log_partition))


@pytest.mark.parametrize(
    "args",
    [
        ["exact", "--lattice", "1", "--temperature", "1"],
        ["exact", "--temperature", "1"],
        ["exact", "--lattice", "8", "--graph", "ring", "--nodes", "8", "--temperature", "1"],
        ["exact", "--lattice", "8", "--temperature", "1", "--field", "0.5"],
        ["exact", "--lattice", "8", "--temperature", "1", "--coupling", "-1"],
        ["exact", "--lattice", "8", "--temperature", "1e-4"],
        ["ising", "--lattice", "0", "--temperature", "1"],
        ["ising", "--lattice", "16", "--temperature", "nan"],
        ["ising", "--lattice", "16", "--temperature", "-2"],
        ["ising", "--lattice", "16", "--temperature", "2", "--backend", "nope"],
        ["ising", "--lattice", "16", "--temperature", "2", "--algorithm", "wolff"],
        ["ising", "--lattice", "1000000", "--temperature", "2"],
        ["anneal", "--graph", "regular", "--nodes", "7", "--degree", "3"],
        ["anneal", "--graph", "er", "--nodes", "7", "--edge-probability", "2"],
        ["exact", "--graph", "ring", "--nodes", "30", "--temperature", "1"],
        ["exact", "--graph", "lattice", "--nodes", "10", "--temperature", "1"],
        ["exact", "--graph", "moon", "--nodes", "10", "--temperature", "1"],
        ["teleport"],
        [],
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(capsys, args):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("thermolab: error: ")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_python_dash_m_entry_point():
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "thermolab",
            "exact",
            "--graph",
            "ring",
            "--nodes",
            "0",
            "--temperature",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr


def test_train_options_take_their_defaults_from_train_config():
    """One source for the training defaults: the CLI's are TrainConfig's fields' (threads 1)."""
    from thermolab.cli import TRAIN_OPTIONS, _build_parser
    from thermolab.training import TrainConfig

    args = _build_parser().parse_args(["train", "--mode", "tsu"])
    defaults = TrainConfig()
    for name, *_ in TRAIN_OPTIONS:
        assert getattr(args, name) == getattr(defaults, name), name
    assert args.threads == 1
    changed = _build_parser().parse_args(["train", "--mode", "tsu", "--lr", "0.01"])
    assert changed.learning_rate == 0.01
