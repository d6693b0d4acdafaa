"""Smoke test of bench/training.py: `--quick` trains both runs and writes a well-formed JSON."""

from __future__ import annotations

from bench_runner import run_quick


def test_quick_training_bench(tmp_path):
    out = tmp_path / "training.json"
    report, printed = run_quick("training.py", out, "--threads", "1")
    assert set(report["summaries"]) == {"baseline", "tsu"}
    for mode, summary in report["summaries"].items():
        assert summary["steps"] == 20 and summary["tokens_per_second"] > 0, mode
        assert summary["val_loss"] > 0
    assert report["step_time_ratio"] > 0
    assert {target["met"] for target in report["targets"].values()} <= {True, False}
    assert "TSU / baseline step time" in printed
