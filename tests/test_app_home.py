"""The home page runs headless (Streamlit's AppTest) and shows its live status tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "home.py"


@pytest.fixture(scope="module")
def home() -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    return app


def test_home_runs_without_exception(home):
    assert not home.exception, [e.value for e in home.exception]
    assert not home.error, [e.value for e in home.error]
    assert home.title[0].value == "ThermoLab"


def test_home_lists_backends_including_numpy(home):
    tables = [table.value for table in home.table]
    backends = next(t for t in tables if "backend" in t.columns)
    assert "numpy" in set(backends["backend"])
    numpy_row = backends[backends["backend"] == "numpy"].iloc[0]
    assert numpy_row["status"] == "available"


def test_home_lists_energy_meters(home):
    tables = [table.value for table in home.table]
    meters = next(t for t in tables if "meter" in t.columns)
    assert list(meters["meter"]) == ["NVML", "RAPL", "estimate"]
    assert list(meters["gives"]) == ["measured", "measured", "estimated"]


def test_home_states_the_honesty_rule(home):
    text = " ".join(block.value for block in home.markdown)
    for kind in ("measured", "exact", "estimated", "projected"):
        assert f"**{kind}**" in text
