"""Smoke test of bench/qaoa.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

from bench_runner import run_quick


def test_quick_benchmark_runs(tmp_path):
    out = tmp_path / "qaoa.json"
    report, _ = run_quick("qaoa.py", out)
    optimisation = report["optimisation"]
    assert optimisation["same_final_energy"] is True
    assert optimisation["status"] in {"PASS", "MISS"}
    assert optimisation["thermolab_default"]["diff_method"] == "adjoint"
    assert optimisation["default_qubit_parameter_shift"]["diff_method"] == "parameter-shift"
    landscape = report["landscape"]
    assert landscape["max_abs_difference_closed_vs_lightning"] < 1e-8
    assert set(landscape["seconds"]) == {
        "closed form",
        "numpy state vector",
        "lightning.qubit circuit (5 × 5, measured)",
        "lightning.qubit circuit (extrapolated)",
    }
