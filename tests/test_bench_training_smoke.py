"""Smoke test of bench/training.py: `--quick` runs every section and writes a well-formed JSON."""

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
    assert {target["met"] for target in report["targets"].values()} <= {True, False, None}
    assert "TSU / baseline step time" in printed
    # TinyThermoLM sections: without a nanoGPT model.py its peer is n/a, never invented.
    speed = report["speed"]
    assert speed["nanogpt_model"] is None
    for row in speed["threads"].values():
        assert row["tokens_per_second"]["thermolab"] > 0 and row["ratio_vs_nanogpt"] is None
    assert set(speed["mode_step_ratio"]) >= {"softmax", "boltzmann K=8", "gumbel", "hard"}
    assert speed["mode_step_ratio"]["softmax"] == 1.0
    runs = report["variants"]["runs"]
    assert len(runs) == 5 and all(0 < row["aurc"] < 1 for row in runs.values())
    assert "ours ÷ nanoGPT" in printed and "AURC" in printed
