"""The playground in a real browser: cool the running lattice, watch it order, check the canvas."""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

MAGNETIZATION = re.compile(r"\|m\|\s*=\s*([0-9.]+)")


def read_magnetization(page) -> float:
    """|m| as the caption under the lattice shows it (the traces' captions show Onsager's)."""
    caption = page.locator('[data-testid="stBidiComponentIsolated"] .caption')  # (shadow DOM)
    return float(MAGNETIZATION.search(caption.inner_text()).group(1))


def click_slider(page, label: str, fraction: float) -> None:
    """Click a Streamlit slider's track at `fraction` of its width (what a person does)."""
    slider = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    track = slider.locator('[role="group"] > div').first
    box = track.bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def move_canvas_slider(page, label: str, fraction: float) -> float:
    """Click the slider drawn with the lattice's canvas at `fraction` of its width; its value
    (it goes to the running chain without a Streamlit rerun)."""
    slider = page.locator(f'[data-testid="stBidiComponentIsolated"] input[aria-label="{label}"]')
    box = slider.bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    return float(slider.input_value())


def canvas_state(page) -> dict:
    """The lattice canvas as drawn: its frame number and which of its cells (rows, columns) are
    spin +1."""
    state = page.evaluate(
        """() => {
          const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
          const canvas = host.shadowRoot.querySelector("canvas");
          const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          const up = [];  // spin +1 is drawn (244, 165, 130), spin -1 (33, 102, 172)
          for (let i = 0; i < pixels.data.length; i += 4) up.push(pixels.data[i] === 244);
          const [rows, columns] = [canvas.height, canvas.width];
          return {rows, columns, frame: Number(canvas.dataset.frame), up};
        }"""
    )
    state["up"] = np.array(state["up"]).reshape(state["rows"], state["columns"])
    return state


def samples(page, seconds: float) -> list[float]:
    values, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        values.append(read_magnetization(page))
        page.wait_for_timeout(250)
    return values


# Counts the messages that Streamlit's WebSocket and the canvas's frame socket bring the page.
COUNT_MESSAGES = """
window.__messages = {streamlit: 0, frames: 0};
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(url, ...rest) {
    super(url, ...rest);
    const socket = String(url).includes("/thermolab/frames/") ? "frames" : "streamlit";
    this.addEventListener("message", () => window.__messages[socket]++);
  }
};
"""


def test_cooling_the_running_lattice_orders_it(page, streamlit_server, tmp_path):
    page.add_init_script(COUNT_MESSAGES)
    # Not `open_app`: the live view never reaches "script not running" while it animates.
    page.goto(streamlit_server + "/Ising_playground", wait_until="domcontentloaded")
    page.get_by_text(MAGNETIZATION).first.wait_for(timeout=120_000)  # the first numbers
    # L = 32 (the 4th of 9 sizes in the sidebar) so that ordering takes seconds, not minutes.
    click_slider(page, "Side L", 3 / 8)
    page.get_by_text("32×32 square lattice").first.wait_for(timeout=30_000)
    # The frames come on the canvas's own socket; Streamlit's WebSocket brings only the
    # traces, every 30 frames (about once a second at this size), not a message per frame.
    page.evaluate("window.__messages = {streamlit: 0, frames: 0}")
    page.wait_for_timeout(5000)
    messages = page.evaluate("window.__messages")
    assert 1 <= messages["streamlit"] <= 60 and messages["frames"] >= 50
    hot = samples(page, 3.0)
    # T from 0.05 to 6.0: T ≈ 2.0, below T_c ≈ 2.27, is at fraction (2.0 − 0.05) / 5.95.
    temperature = move_canvas_slider(page, "Temperature T", (2.0 - 0.05) / 5.95)
    assert 1.9 <= temperature <= 2.1
    page.get_by_text(f"T = {temperature:.2f} · β").first.wait_for(timeout=30_000)
    deadline = time.monotonic() + 45
    while read_magnetization(page) < 0.6 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    cold = samples(page, 3.0)
    page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
    # Onsager at T = 2.0: |m| = 0.91; at T = 3.0 a 32 × 32 lattice has |m| ≈ 0.1.
    assert sum(cold) / len(cold) > sum(hot) / len(hot) + 0.4, (hot, cold)
    # The canvas keeps drawing new frames while the chain runs...
    first = canvas_state(page)["frame"]
    page.wait_for_timeout(1000)
    assert canvas_state(page)["frame"] > first
    # ...and, paused, it shows exactly the state whose |m| is printed beside it, pixel for pixel
    # the lattice that the PNG export (made in Python, not through the canvas) shows.
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Run").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.get_by_label("Temperature T").is_disabled()  # (press Run to change it)
    drawn = canvas_state(page)
    assert drawn["up"].shape == (32, 32)
    assert abs(2 * drawn["up"].mean() - 1) == pytest.approx(read_magnetization(page), abs=5e-4)
    with page.expect_download() as download:
        page.get_by_role("button", name="Lattice (PNG)").click()
    exported = np.asarray(Image.open(download.value.path()).convert("RGB"))[::2, ::2, 0] == 244
    np.testing.assert_array_equal(drawn["up"], exported)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_graph_problem_is_drawn_live(page, streamlit_server):
    """A graph's live view draws a Plotly figure per frame, which the browser must get to draw
    before the next replaces it (it stayed blank at the lattice's frame rate)."""
    page.goto(streamlit_server + "/Ising_playground", wait_until="domcontentloaded")
    page.get_by_text(MAGNETIZATION).first.wait_for(timeout=120_000)
    page.get_by_text("Graph", exact=True).click()
    page.get_by_text("ring n=64").first.wait_for(timeout=30_000)
    # The ring's spins as markers coloured by their spin (WebGL: read from screenshots of the
    # left column, where the figure is; each frame's figure replaces the last). Drawn in most
    # of eight screenshots half a second apart, not in a lucky one.
    page.wait_for_timeout(2000)
    left = {"x": 300, "y": 0, "width": 600, "height": 1000}
    drawn = []
    for _ in range(8):
        pixels = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=left))).convert("RGB"))
        coloured = sum(
            int((np.abs(pixels.astype(int) - colour).sum(axis=-1) < 30).sum())
            for colour in ((244, 165, 130), (33, 102, 172))
        )
        drawn.append(coloured >= 64 * 20)  # 64 markers of some 50 pixels each when drawn
        page.wait_for_timeout(500)
    assert sum(drawn) >= 6, drawn
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_dense_graph_streams_its_spins_beside_its_coupling_matrix(page, streamlit_server):
    """SK at the playground's largest n (124,750 couplings): its spins on the lattice canvas as
    a 20 × 25 grid, taken from the canvas's socket at the lattice's rate; its coupling matrix an
    image drawn once; its temperature the canvas's slider, moved live."""
    page.add_init_script(COUNT_MESSAGES)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(streamlit_server + "/Ising_playground", wait_until="domcontentloaded")
    page.get_by_text(MAGNETIZATION).first.wait_for(timeout=120_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Graph", exact=True).click()
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Graph").click()
    page.get_by_role("option", name="Sherrington–Kirkpatrick").click()
    page.get_by_text("Sherrington–Kirkpatrick n=64").first.wait_for(timeout=30_000)
    nodes = sidebar.get_by_label("Spins n", exact=True)
    nodes.fill("500")
    nodes.press("Enter")
    page.get_by_text("124,750 couplings").first.wait_for(timeout=60_000)
    page.wait_for_function(
        """() => {
          const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
          const canvas = host?.shadowRoot?.querySelector("canvas");
          return canvas && canvas.width === 25 && canvas.height === 20;
        }""",
        timeout=30_000,
    )
    assert page.locator('[data-testid="stImage"] img').count() == 1  # the coupling matrix
    # Frames come on the canvas's socket, many a second; Streamlit's socket brings the traces.
    page.evaluate("window.__messages = {streamlit: 0, frames: 0}")
    first = canvas_state(page)["frame"]
    page.wait_for_timeout(3000)
    messages = page.evaluate("window.__messages")
    assert messages["frames"] >= 15 and messages["streamlit"] <= 60, messages
    assert canvas_state(page)["frame"] > first
    temperature = move_canvas_slider(page, "Temperature T", (1.0 - 0.05) / 5.95)
    page.get_by_text(f"T = {temperature:.2f} · β").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Run").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    drawn = canvas_state(page)  # a grid of 20 × 25: the state whose |m| is printed beside it
    assert drawn["up"].shape == (20, 25)
    assert abs(2 * drawn["up"].mean() - 1) == pytest.approx(read_magnetization(page), abs=5e-4)
    assert page.locator('[data-testid="stException"]').count() == 0
