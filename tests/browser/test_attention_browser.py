"""The attention explorer in a real browser: move the temperature slider, the heatmaps change."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

RUN_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_for_rerun(page) -> None:
    # A rerun flips the script state to running and back; give it a moment to start.
    page.wait_for_timeout(500)
    page.wait_for_selector(RUN_DONE, timeout=120_000)


def test_temperature_slider_redraws_heatmaps(open_app, tmp_path):
    page = open_app("/Attention_explorer")
    page.get_by_role("heading", name="Attention-temperature explorer").wait_for(state="visible")
    heatmaps = page.locator('[data-testid="stPlotlyChart"]').first
    heatmaps.get_by_text("Attention weights at T = 1", exact=True).wait_for(state="visible")
    before = heatmaps.screenshot(path=str(tmp_path / "heatmaps_T1.png"))

    slider = (
        page.locator('[data-testid="stSlider"]')
        .filter(has_text="Temperature T (log scale)")
        .get_by_role("slider")
    )
    slider.focus()
    for _ in range(6):  # six log-steps of 10^(1/10) down: T = 1 → 0.251
        slider.press("ArrowLeft")
    wait_for_rerun(page)

    heatmaps.get_by_text("Attention weights at T = 0.251", exact=True).wait_for(state="visible")
    page.wait_for_timeout(500)  # let plotly finish drawing the new traces
    after = heatmaps.screenshot(path=str(tmp_path / "heatmaps_T0251.png"))
    assert after != before
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "attention_page.png"), full_page=True)
    assert (tmp_path / "attention_page.png").stat().st_size > 10_000
