"""The Boltzmann-machine page in a real browser: train a small model, see its filters and
samples, drag the temperature slider and watch the sample grid change, no exception block."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

RUN_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SETTINGS = {"Hidden units": "8", "Epochs": "3", "Batch size": "50"}


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_train_then_drag_the_temperature(open_app, tmp_path):
    page = open_app("/Boltzmann_machine")
    page.get_by_role("heading", name="Boltzmann machine: learning by sampling").wait_for()
    no_exception(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    for label, value in SETTINGS.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")  # commit the value without submitting the form
    sidebar.get_by_role("button", name="Train").click()

    page.get_by_role("heading", name="The trained model").wait_for(timeout=120_000)
    page.wait_for_selector(RUN_DONE, timeout=120_000)
    page.get_by_text("Filters (weights of the first 64 hidden units)").wait_for()
    page.get_by_text("Fantasy particles (the negative chains now)").wait_for()
    page.locator('[data-testid="stImage"]').nth(3).wait_for()  # images land after captions
    assert page.locator('[data-testid="stImage"]').count() >= 4
    no_exception(page)

    caption = page.get_by_text(re.compile(r"100 block-Gibbs sweeps at T = "))
    caption.wait_for()
    assert "T = 1.00" in caption.inner_text()
    grid = page.locator('[data-testid="stImage"]').nth(2)
    before = grid.screenshot(path=str(tmp_path / "samples_T1.png"))
    slider = (
        page.locator('[data-testid="stSlider"]')
        .filter(has_text="Temperature T")
        .get_by_role("slider")
    )
    slider.focus()
    for _ in range(20):  # 20 steps of 0.05: T = 1 → 2
        slider.press("ArrowRight")
    page.get_by_text(re.compile(r"sweeps at T = 2\.00")).wait_for(timeout=60_000)
    page.wait_for_selector(RUN_DONE, timeout=60_000)
    page.wait_for_timeout(500)
    after = grid.screenshot(path=str(tmp_path / "samples_T2.png"))
    assert after != before
    no_exception(page)

    page.set_viewport_size({"width": 1400, "height": 3600})
    page.wait_for_timeout(500)
    screenshot = tmp_path / "boltzmann_page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 20_000
    no_exception(page)
