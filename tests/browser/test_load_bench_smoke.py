"""Smoke test of bench/load.py: `--quick` runs two concurrent sessions end to end, with a third
watching the largest dense graph live, and reports."""

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
        "dense_graph": True, "server_fps": "60 (default)",
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
    # the dense-graph session: SK at the page's largest n, its live view advancing while the
    # two others changed their sliders, and the server's memory around it
    dense = report["dense_graph"]
    assert dense["model"] == "Sherrington–Kirkpatrick n=500" and dense["couplings"] == 124_750
    assert dense["errors"] == 0, dense
    assert dense["sweeps_advanced"] > 0 and dense["received_kib_per_s"] > 0
    before, peak, after = (dense[f"server_rss_mb_{when}"] for when in ("before", "peak", "after"))
    assert 0 < before <= peak and after > 0
    assert dense["settle_seconds"] >= 5  # (15 s in a full run)
    stages = [stage for _, _, stage in dense["rss_mb_timeline"]]
    assert stages[0] == "opening" and stages[-1] == "closed"
    for row in ("before it opened:", "peak while open:", "after it closed:"):
        assert row in printed
    assert "with 2 sessions and the dense graph:" in printed
