"""The QAOA page in a real browser: a small p = 1 run ends in the comparison table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 90_000


def test_qaoa_page_runs_p1_in_chromium(open_app, tmp_path):
    page = open_app("/QAOA")
    page.get_by_role("heading", name="QAOA", exact=True, level=1).wait_for(state="visible")
    assert page.locator('[data-testid="stException"]').count() == 0

    # p = 2 by default: one step left on the slider makes it p = 1.
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("ArrowLeft")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    thumb = page.locator('[data-testid="stSliderThumbValue"]').first
    page.wait_for_function("el => el.textContent.trim() === '1'", arg=thumb.element_handle())

    page.get_by_role("button", name="Run QAOA").click()
    page.get_by_text("Comparison on MaxCut of ring n=8").wait_for(
        state="visible", timeout=RUN_TIMEOUT_MS
    )
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(state="visible")
    page.get_by_role("button", name="Download results (JSON)").wait_for(state="visible")
    assert page.locator('[data-testid="stException"]').count() == 0

    # The table is drawn on a canvas; its rows are checked through the JSON export.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download results (JSON)").click()
    results = json.loads(Path(download.value.path()).read_text())
    assert [layer["p"] for layer in results["layers"]] == [1]
    assert results["layers"][0]["approximation_ratio"] == pytest.approx(0.75, abs=1e-4)
    methods = [row["method"] for row in results["baselines"]]
    assert methods == ["exact", "annealing", "tempering", "random"]

    page.set_viewport_size({"width": 1400, "height": 2400})  # Streamlit scrolls inside the page
    page.wait_for_timeout(500)
    screenshot = tmp_path / "qaoa.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 20_000


def test_qaoa_page_runs_16_qubits_on_its_simulator_in_chromium(open_app):
    page = open_app("/QAOA")
    page.get_by_role("heading", name="QAOA", exact=True, level=1).wait_for(state="visible")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Problem").click()
    page.get_by_role("option", name="random 3-regular").click()
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    for label, value in {"Nodes (qubits)": "16", "Restarts": "1", "Iterations": "20"}.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    sidebar.get_by_text("16 qubits (at most 24)").wait_for(state="visible")

    page.get_by_role("button", name="Run QAOA").click()
    page.get_by_text("Comparison on MaxCut of random 3-regular").wait_for(
        state="visible", timeout=RUN_TIMEOUT_MS
    )
    page.get_by_text("At p = 2: optimised ratio").wait_for(state="visible")
    assert page.locator('[data-testid="stException"]').count() == 0
    with page.expect_download() as download:
        page.get_by_role("button", name="Download results (JSON)").click()
    results = json.loads(Path(download.value.path()).read_text())
    assert results["instance"]["n_qubits"] == 16
    assert results["settings"]["device"] == "thermolab"
    assert [layer["p"] for layer in results["layers"]] == [1, 2]
    assert all(layer["device"] == "thermolab, adjoint" for layer in results["layers"])
    fixed = results["fixed_angles"]
    assert [item["p"] for item in fixed] == [1, 2]
    assert all(item["approximation_ratio"] >= item["published_ratio"] for item in fixed)
