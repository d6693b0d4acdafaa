"""Smoke test of bench/attention.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

from bench_runner import run_quick


def test_quick_attention_bench(tmp_path):
    out = tmp_path / "attention.json"
    report, _ = run_quick("attention.py", out, "--repeats", "1")
    assert report["target"]["status"] in {"PASS", "MISS"}
    for row in report["results"]:
        assert set(row["seconds"]) >= {"thermolab-torch", "torch.multinomial"}
        assert all(rate > 0 for rate in row["msamples_per_s"].values())
