"""Smoke test of bench/ebm.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

from bench_runner import run_quick


def test_quick_benchmark_runs(tmp_path):
    report, printed = run_quick("ebm.py", tmp_path / "ebm.json")
    quality = report["quality_vs_sklearn"]
    assert set(quality["rows"]) == {"thermolab pcd", "scikit-learn BernoulliRBM"}
    for row in quality["rows"].values():
        assert row["test_log_likelihood"] < 0 and row["stderr"] > 0 and row["seconds_per_epoch"] > 0
    assert quality["status"] in {"PASS", "MISS"}
    (speed,) = report["speed_vs_thrml"]["sizes"].values()
    rates = speed["pbit_updates_per_second"]
    assert isinstance(rates["thermolab numpy"], float) and rates["thermolab numpy"] > 0
    assert speed["status"] in {"PASS", "MISS", "n/a"}
    assert set(report["methods"]["rows"]) == {"CD-1", "CD-10", "PCD", "PT"}
    assert report["methods"]["rows"]["PT"]["swap_acceptance"] is not None
    protocol = report["pcd_vs_cd1"]
    (length,) = protocol["lengths"].values()
    assert set(length["rows"]) == {"CD-1", "PCD-1"} and len(length["pcd_minus_cd1"]) == 2
    for row in length["rows"].values():
        assert row["learning_rate"] in protocol["rates"] and row["test_ll_mean"] < 0
    assert "## PCD-1 against CD-1" in printed
    assert report["mnist"]["status"] in {"skipped", "measured"}
    assert "## Methods on digits" in printed
