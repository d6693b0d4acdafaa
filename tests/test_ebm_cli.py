"""`python -m thermolab rbm`: the JSON contract, save and load, and one-line refusals."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from thermolab.cli import RBM_OPTIONS, _build_parser, main
from thermolab.ebm.store import load_model
from thermolab.ebm.training import RBMConfig

KEYS = {
    "train_log_likelihood",
    "test_log_likelihood",
    "log_likelihood_method",
    "log_likelihood_stderr",
    "log_partition_function",
    "reconstruction_error",
    "classification_accuracy",
    "pbit_updates",
    "seconds",
    "energy",
}


def run_json(capsys, *argv: str) -> dict:
    assert main(["rbm", *argv, "--json", "--meter", "estimate"]) == 0
    return json.loads(capsys.readouterr().out)


def test_trains_saves_and_loads_back(capsys, tmp_path):
    path = tmp_path / "model.npz"
    report = run_json(
        capsys, "--hidden", "8", "--epochs", "2", "--labels", "--save", str(path), "--seed", "3"
    )
    assert set(report) >= KEYS
    assert report["log_likelihood_method"] == "exact" and report["log_likelihood_stderr"] == 0
    assert report["test_log_likelihood"] < 0 and 0 <= report["classification_accuracy"] <= 1
    assert report["pbit_updates"] > 0
    kinds = [row["kind"] for row in report["energy"]]
    assert kinds[0] == "projected" and len(set(kinds)) == len(kinds)  # one row per kind
    rbm, metadata = load_model(path)
    assert rbm.weights.shape == (74, 8)  # 64 pixels + 10 label units
    assert metadata["test_log_likelihood"] == report["test_log_likelihood"]
    again = run_json(capsys, "--load", str(path), "--epochs", "0", "--labels")
    assert again["test_log_likelihood"] == pytest.approx(report["test_log_likelihood"])
    assert again["log_partition_function"] == pytest.approx(report["log_partition_function"])
    assert again["pbit_updates"] == 0


def test_ais_beyond_twenty_hidden_units(capsys):
    report = run_json(
        capsys, "--hidden", "24", "--epochs", "1", "--method", "cd", "--ais-temperatures", "100"
    )
    assert report["log_likelihood_method"] == "ais"
    assert report["log_likelihood_stderr"] > 0 and report["ais_temperatures"] == 100
    assert report["classification_accuracy"] is None


def test_uploaded_npz_with_labels(capsys, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "bits.npz"
    np.savez(path, data=rng.integers(0, 2, (60, 9)), labels=rng.integers(0, 3, 60))
    report = run_json(capsys, "--data", str(path), "--hidden", "4", "--epochs", "1", "--labels")
    assert report["n_visible"] == 12 and report["classification_accuracy"] is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hidden", "0"], "positive integer"),
        (["--hidden", "100000"], "n_hidden"),
        (["--learning-rate", "nan"], "positive finite"),
        (["--learning-rate", "-1"], "positive finite"),
        (["--method", "magic"], "invalid choice"),
        (["--data", "nowhere.npz"], "cannot read"),
        (["--data", "digits.txt"], "npz / .csv"),
        (["--epochs", "0"], "--load"),
        (["--save", "model.txt"], ".npz"),
        (["--backend", "nope"], "no backend"),
        (["--momentum", "1"], "momentum"),
        (["--beta-min", "1.5"], "beta_min"),
        (["--lr-schedule", "cosine"], "invalid choice"),
        (["--chains", "0"], "positive integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["rbm", *argv]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and "Traceback" not in error


def test_non_binary_upload_is_refused(capsys, tmp_path):
    path = tmp_path / "grey.csv"
    path.write_text("a,b,label\n0.5,1,0\n1,0,1\n0,0,1\n")
    assert main(["rbm", "--data", str(path)]) == 2
    assert "0 or 1" in capsys.readouterr().err


def test_module_entry_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "thermolab", "rbm", "--hidden", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.startswith("thermolab: error:")


def test_training_options_and_defaults_come_from_the_config():
    """Every RBMConfig field is a flag, with the field's default (hidden units excepted: None
    until known, since a loaded model brings its own), and the flags build that config."""
    args = _build_parser().parse_args(["rbm"])
    fields = {field.name: field.default for field in dataclasses.fields(RBMConfig)}
    assert {name for name, *_ in RBM_OPTIONS} == set(fields)
    for name, default in fields.items():
        assert getattr(args, name) == (None if name == "n_hidden" else default), name
    args = _build_parser().parse_args(
        ["rbm", "--lr-schedule", "constant", "--chains", "7", "--beta-min", "0.3", "--k", "2"]
    )
    assert (args.lr_schedule, args.n_chains, args.beta_min, args.k) == ("constant", 7, 0.3, 2)
