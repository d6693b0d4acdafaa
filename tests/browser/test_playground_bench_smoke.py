"""Smoke test of bench/playground.py: `--quick` runs end to end in the browser and reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for bench_runner
from bench_runner import run_quick

pytestmark = pytest.mark.browser


def test_quick_playground_bench(tmp_path):
    report, printed = run_quick("playground.py", tmp_path / "playground.json")
    assert "harness/input/server/delivery/draw" in printed
    assert report["settings"]["quick"] is True and report["page_exceptions"] == 0
    result = report["results"]["16"]
    assert result["fps"] > 1 and result["frames_counted"] > 2
    assert 0 < result["latency_ms_median"] <= result["latency_ms_p95"] < 30_000
    parts = result["latency_parts_ms_median"]
    assert set(parts) == {"harness_ms", "input_ms", "server_ms", "delivery_ms", "draw_ms"}
    assert all(value >= 0 for value in parts.values())
    assert result["engine_ms_per_frame"] > 0
