"""Fixtures shared by test files (helpers that are not fixtures live in hardening_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hardening_support import no_job_left_running


@pytest.fixture
def quick_pages(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Pages as tests want them: one frame per live-view run, a run store of the test's own,
    and no job of the process-wide manager left running after the test."""
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")
    monkeypatch.setenv("THERMOLAB_RUNS_DIR", str(tmp_path / "runs"))
    with no_job_left_running():
        yield
