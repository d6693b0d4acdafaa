"""The TinyGPT training page in a real browser: start a run, watch the charts grow, stop it."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

START_TIMEOUT_MS = 120_000
SETTINGS = {
    "Steps": "5000",
    "Evaluate every (steps)": "20",
    "Validation batches": "2",
    "Predictive samples K (TSU)": "2",
    "Batch size (0: the preset's)": "2",
    "Block size (0: the preset's)": "16",
    "Generated sample length (characters)": "24",
}
# Points in the loss chart's traces (plotly keeps its figure on the div it draws into; Streamlit
# wraps titles in <b> tags).
LOSS_POINTS = """() => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    const title = p => ((p.layout && p.layout.title && p.layout.title.text) || '')
        .replace(/<[^>]*>/g, '');
    const loss = plots.find(p => title(p) === 'Loss');
    if (!loss) return -1;
    const points = x => !x ? 0 : (x._inputArray || x).length;  // numpy arrays arrive base64
    return loss.data.reduce((n, trace) => n + points(trace.x), 0);
}"""


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_training_page_runs_live_and_stops_in_chromium(open_app, tmp_path):
    page = open_app("/TinyGPT_training")
    page.get_by_role("heading", name="TinyGPT: baseline vs TSU", level=1).wait_for(state="visible")
    no_exception(page)

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Advanced", exact=True).click()
    for label, value in SETTINGS.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")  # commit the value without submitting the form
    sidebar.get_by_role("button", name="Start training").click()

    # The live view: the progress text counts steps, and the loss chart gains points.
    page.get_by_text(re.compile(r"step \d+/5000: baseline")).wait_for(timeout=START_TIMEOUT_MS)
    page.wait_for_function(f"({LOSS_POINTS})() > 0", timeout=START_TIMEOUT_MS)
    first = page.evaluate(LOSS_POINTS)
    page.wait_for_function(f"({LOSS_POINTS})() > {first}", timeout=30_000)
    assert page.evaluate(LOSS_POINTS) > first
    no_exception(page)

    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Resume from the last checkpoint").wait_for(timeout=60_000)
    page.get_by_text("Results: TSU ÷ baseline").wait_for(state="visible")
    assert page.get_by_text("stopped", exact=False).count() > 0
    no_exception(page)

    page.set_viewport_size({"width": 1400, "height": 3200})  # Streamlit scrolls inside the page
    page.wait_for_timeout(500)
    screenshot = tmp_path / "tinygpt_training.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 20_000
    no_exception(page)


def _choose(page, sidebar, label: str, option: str) -> None:
    """Pick `option` in the sidebar selectbox `label` (Streamlit's dropdown is a listbox)."""
    sidebar.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_tiny_sampled_attention_pair_ends_in_its_review(open_app):
    page = open_app("/TinyGPT_training")
    # Tall enough that the sidebar's dropdowns open in view: scrolling one into view closes it.
    page.set_viewport_size({"width": 1280, "height": 2000})
    page.get_by_role("heading", name="TinyGPT: baseline vs TSU", level=1).wait_for(state="visible")
    sidebar = page.locator('[data-testid="stSidebar"]')
    _choose(
        page,
        sidebar,
        "Attention (TSU run; both runs unless set below)",
        "boltzmann (K samples, averaged)",
    )
    _choose(page, sidebar, "Baseline's attention", "softmax (exact)")
    sidebar.get_by_text("Advanced", exact=True).click()
    settings = SETTINGS | {
        "Steps": "6",
        "Evaluate every (steps)": "3",
        "K (boltzmann)": "4",
        "Flag tokens with MI ≥ (nats)": "0.000",
        "MC p-bit dropout (review)": "0.10",
    }
    for label, value in settings.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")
    sidebar.get_by_role("button", name="Start training").click()

    page.get_by_text("Review: which predictions to check").wait_for(timeout=START_TIMEOUT_MS)
    no_exception(page)
    # Threshold 0 flags every token: the highlighted texts hold marks, and both runs say 100 %.
    page.locator("mark").first.wait_for(timeout=30_000)  # drawn after the review's heading
    assert page.get_by_text(re.compile(r"100\.0% of \d+ validation tokens flagged")).count() == 2
    risk = """() => [...document.querySelectorAll('.js-plotly-plot')].some(
        p => ((p.layout && p.layout.title && p.layout.title.text) || '').includes('Risk'))"""
    page.wait_for_function(risk, timeout=30_000)
    no_exception(page)
