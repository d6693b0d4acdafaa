"""Smoke test of bench/qaoa.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

from bench_runner import run_quick


def test_quick_benchmark_runs(tmp_path):
    out = tmp_path / "qaoa.json"
    report, printed = run_quick("qaoa.py", out)
    evaluations = report["evaluations"]
    contestants = {(row["qubits"], row["p"], row["contestant"]) for row in evaluations["rows"]}
    for n in (8, 10):
        for p in (1, 3):
            for name in ("thermolab", "lightning.qubit adjoint", "default.qubit backprop"):
                assert (n, p, name) in contestants
    assert evaluations["agreement_status"] == "PASS"  # 1e-9 against both PennyLane devices
    assert all(row["gradient_seconds"] > 0 for row in evaluations["rows"])
    assert evaluations["target"] == []  # n = 16 and 20 are not in the quick run
    landscape = report["landscape"]
    assert landscape["max_abs_difference_closed_vs_lightning"] < 1e-8
    assert landscape["max_abs_difference_closed_vs_thermolab"] < 1e-8
    assert set(landscape["seconds"]) == {
        "closed form",
        "thermolab simulator",
        "lightning.qubit circuit (5 × 5, measured)",
        "lightning.qubit circuit (extrapolated)",
    }
    assert "| 10 | 3 | lightning.qubit adjoint |" in printed
