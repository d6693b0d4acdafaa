"""The Boltzmann-machine page in a real browser: train a small model, see its filters and
samples, drag the live samples' temperature slider and watch them melt and freeze, no
exception block."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytestmark = pytest.mark.browser

SETTINGS = {"Hidden units": "8", "Epochs": "3", "Batch size": "50"}


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def canvas_state(page) -> dict:
    """The sample canvas as drawn: its side, its frame number and its pixels that are on."""
    state = page.evaluate(
        """() => {
          const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
          const canvas = host.shadowRoot.querySelector("canvas");
          const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          const on = [];  // v = 1 is drawn (244, 165, 130), v = 0 (33, 102, 172)
          for (let i = 0; i < pixels.data.length; i += 4) on.push(pixels.data[i] === 244);
          return {side: canvas.width, frame: Number(canvas.dataset.frame), on};
        }"""
    )
    state["on"] = np.array(state["on"])
    return state


def flip_fraction(page, frames: int = 5) -> float:
    """Mean fraction of pixels that changed between two canvas frames at least `frames` apart,
    over three such pairs."""
    changes = []
    for _ in range(3):
        first = canvas_state(page)
        while (second := canvas_state(page))["frame"] < first["frame"] + frames:
            page.wait_for_timeout(50)
        changes.append(float((first["on"] != second["on"]).mean()))
    return sum(changes) / len(changes)


def drag_canvas_slider(page, label: str, start: float, end: float) -> None:
    """Drag the slider drawn with the canvas from `start` to `end` (fractions of its width; a
    drag past an end stops the slider there, as it does for a person)."""
    slider = page.locator(f'[data-testid="stBidiComponentIsolated"] input[aria-label="{label}"]')
    slider.scroll_into_view_if_needed()  # mouse coordinates are the viewport's
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + start * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + end * box["width"], y, steps=10)
    page.mouse.up()


def test_train_then_drag_the_temperature(page, streamlit_server, tmp_path):
    page.goto(streamlit_server + "/Boltzmann_machine", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Boltzmann machine: learning by sampling").wait_for()
    no_exception(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    for label, value in SETTINGS.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")  # commit the value without submitting the form
    sidebar.get_by_role("button", name="Train").click()

    # Not waiting for "script not running": the live samples keep their fragment running.
    page.get_by_role("heading", name="The trained model").wait_for(timeout=120_000)
    page.get_by_text("Filters (weights of the first 64 hidden units)").first.wait_for()
    page.get_by_text("Fantasy particles (the negative chains now)").first.wait_for()
    page.locator('[data-testid="stImage"]').nth(2).wait_for()  # images land after captions
    assert page.locator('[data-testid="stImage"]').count() >= 3  # filters, fantasy, in-painting
    no_exception(page)

    # The samples run live on the lattice canvas (8 × 8 chains of 8 × 8 digits); its slider
    # sends T on the canvas's own socket. Drag it to the hot end, then to the cold end.
    page.get_by_text(re.compile(r"T = 1\.00 · β = 1\.000 · sweep")).first.wait_for(timeout=60_000)
    assert canvas_state(page)["side"] == 64
    drag_canvas_slider(page, "Temperature T", (1.0 - 0.25) / 3.75, 1.1)  # past its end
    page.get_by_text(re.compile(r"T = 4\.00 · β = 0\.250")).first.wait_for(timeout=30_000)
    hot = flip_fraction(page)
    page.screenshot(path=str(tmp_path / "samples_T4.png"))
    drag_canvas_slider(page, "Temperature T", 0.98, -0.1)
    page.get_by_text(re.compile(r"T = 0\.25 · β = 4\.000")).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # the chains settle into their modes
    cold = flip_fraction(page)
    page.screenshot(path=str(tmp_path / "samples_T025.png"))
    # Melted, a chain's pixels change from frame to frame; frozen (β = 4 amplifies every
    # input 16-fold over β = 0.25), they barely do.
    assert hot > 3 * cold + 0.02, (hot, cold)
    no_exception(page)

    page.set_viewport_size({"width": 1400, "height": 3600})
    page.wait_for_timeout(500)
    screenshot = tmp_path / "boltzmann_page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 20_000
    no_exception(page)
