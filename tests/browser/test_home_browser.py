"""The home page in a real browser: it renders, with no exception box."""

from __future__ import annotations

from pathlib import Path

import pytest

PAGES = Path(__file__).resolve().parents[2] / "pages"
pytestmark = pytest.mark.browser


def test_home_renders_in_chromium(open_app, tmp_path):
    page = open_app("/")

    heading = page.get_by_role("heading", name="ThermoLab", exact=True)
    heading.wait_for(state="visible")
    assert heading.is_visible()
    assert page.title() == "ThermoLab"
    page.get_by_text("The honesty rule").wait_for(state="visible")
    page.get_by_text("numpy", exact=True).first.wait_for(state="visible")
    assert page.locator('[data-testid="stException"]').count() == 0

    # Every page link shows its whole label: none of its text is cut off (an ellipsis).
    links = page.locator('[data-testid="stPageLink"]')
    links.first.wait_for(state="visible")
    assert links.count() == len(list(PAGES.glob("*.py")))  # one card per page
    cut = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stPageLink"] *')]
            .filter(el => el.childElementCount === 0 && el.scrollWidth > el.clientWidth + 1)
            .map(el => el.textContent)"""
    )
    assert cut == [], cut

    screenshot = tmp_path / "home.png"
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
