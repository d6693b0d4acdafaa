"""Smoke test of bench/load.py: `--quick` runs two concurrent sessions end to end and reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for bench_runner
from bench_runner import run_quick

pytestmark = pytest.mark.browser


def test_quick_load_bench(tmp_path):
    report, printed = run_quick("load.py", tmp_path / "load.json")
    assert "RSS peak MiB" in printed
    assert report["settings"] == {
        "sessions": 2, "changes": 2, "trainings": 0, "quick": True, "browser_nice": 0,
        "server_fps": "60 (default)",
    }  # fmt: skip
    one, many = report["phases"]
    assert (one["sessions"], many["sessions"]) == (1, 2)
    for phase in (one, many):
        assert phase["errors"] == 0, phase
        assert phase["changes_timed"] == 2 * phase["sessions"]
        assert 0 < phase["latency_ms_p50"] <= phase["latency_ms_p95"] < 30_000
        assert phase["server_rss_mb_peak"] > 0
        # the browsers drew frames and the server made them; no training ran
        cores = phase["cpu_cores"]
        assert cores["browsers"] > 0 and cores["server"] > 0 and cores["trainings"] == 0
        assert phase["page_load_ms_p50"] > 0
        by_session = phase["latency_ms_by_session"]
        assert phase["first_change_ms_max"] == max(latencies[0] for latencies in by_session)
        assert phase["later_changes_ms_p50"] > 0
        for parts in phase["latency_parts_ms_by_session"]:
            assert len(parts) == 2 and all(part["server_ms"] >= 0 for part in parts)
