"""Playground responsiveness in a real browser: slider-to-frame latency and frames per second.

Starts `streamlit run app.py` on 127.0.0.1, opens the Ising playground in Debian's headless
chromium (Playwright with `executable_path`, never Playwright's own browser download), and for
each lattice size:

- fps: distinct lattice images the browser received per second while the chain runs;
- latency: time from a temperature change (a click on the slider's track) to the first image whose
  caption shows the new temperature, measured in the page's own clock;
- engine time per frame, in this process: `LiveChain.advance` + the uint8 image + PNG encoding
  (what the server does for each frame), without the browser.

Targets (issue 4) at L = 256: latency ≤ 100 ms and ≥ 20 fps. Prints a table; writes JSON.

    python bench/playground.py [--sizes 256,1024] [--json bench/results/playground.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("THERMOLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SIZES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)  # the page's "Side L" options, in order
DEFAULT_SIZE = 128
SWEEPS_PER_FRAME = 5  # the page's default

# Records the time of every new lattice image and of every caption change, in page time.
WATCHER = """
() => {
  window.__frames = [];
  window.__captions = [];
  let lastSrc = null, lastCaption = null;
  const poll = () => {
    const image = document.querySelector('[data-testid="stImage"] img');
    if (image && image.src !== lastSrc) { lastSrc = image.src; window.__frames.push(performance.now()); }
    const caption = document.querySelector('[data-testid="stImageCaption"]');
    const text = caption ? caption.innerText : null;
    if (text !== lastCaption) { lastCaption = text; window.__captions.push([performance.now(), text]); }
    requestAnimationFrame(poll);
  };
  poll();
}
"""  # noqa: E501


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise RuntimeError("streamlit did not start within 90 s")


def slider_input(page, label: str):
    return page.locator(f'input[type="range"][aria-label="{label}"]').first


def choose_size(page, length: int) -> None:
    steps = SIZES.index(length) - SIZES.index(DEFAULT_SIZE)
    handle = slider_input(page, "Side L")
    handle.focus()
    for _ in range(abs(steps)):
        handle.press("ArrowRight" if steps > 0 else "ArrowLeft")
    page.get_by_text(f"{length}×{length} square lattice").first.wait_for(timeout=60_000)


def measure_browser(page, length: int, seconds: float, changes: int) -> dict:
    choose_size(page, length)
    page.evaluate(WATCHER)
    page.wait_for_timeout(3000)  # compilation of the new shape, first frames
    start = page.evaluate("performance.now()")
    page.wait_for_timeout(seconds * 1000)
    frames = page.evaluate("window.__frames")
    in_window = [t for t in frames if t >= start]
    fps = 0.0
    if len(in_window) > 2:
        fps = (len(in_window) - 1) / ((in_window[-1] - in_window[0]) / 1000)
    latencies = []
    handle = slider_input(page, "Temperature T")
    track = page.locator('[data-testid="stSlider"]').filter(has_text="Temperature T")
    box = track.locator('[role="group"] > div').first.bounding_box()
    for index in range(changes):
        # Click the track (what a person does), alternating between T ≈ 2.0 and T ≈ 2.6.
        temperature = 2.0 if index % 2 == 0 else 2.6
        fraction = (temperature - 0.05) / 5.95
        before = page.evaluate("performance.now()")
        page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
        target = f"T = {float(handle.get_attribute('aria-valuetext')):.2f}"
        page.wait_for_function(
            "(target) => window.__captions.some(([t, text]) => text && text.startsWith(target))",
            arg=target, timeout=30_000,
        )  # fmt: skip
        shown = page.evaluate(
            "(target) => window.__captions.find(([t, text]) => text && text.startsWith(target))[0]",
            target,
        )
        latencies.append(shown - before)
        page.evaluate("window.__captions = []")
        page.wait_for_timeout(300)
    return {
        "fps": fps,
        "frames_counted": len(in_window),
        "latency_ms_median": statistics.median(latencies),
        "latency_ms_p95": sorted(latencies)[max(0, int(0.95 * len(latencies)) - 1)],
        "latency_ms": latencies,
    }


def measure_engine(length: int, frames: int = 40) -> dict:
    """Server-side work per frame, no browser: sweep + image + PNG encoding, in ms."""
    from PIL import Image

    from thermolab import problems
    from thermolab.backends import get_backend
    from thermolab.live import LiveChain
    from thermolab.viz.ising import lattice_image

    chain = LiveChain(problems.square_lattice(length), get_backend("jax"))
    chain.advance(3.0, SWEEPS_PER_FRAME)  # compile
    sweep_ms, image_ms = [], []
    for frame in range(frames):
        start = time.perf_counter()
        chain.advance(2.0 + 0.01 * (frame % 7), SWEEPS_PER_FRAME)
        middle = time.perf_counter()
        buffer = io.BytesIO()
        Image.fromarray(lattice_image(chain.spins, length)).save(buffer, format="PNG")
        end = time.perf_counter()
        sweep_ms.append(1000 * (middle - start))
        image_ms.append(1000 * (end - middle))
    return {
        "sweeps_ms_median": statistics.median(sweep_ms),
        "image_png_ms_median": statistics.median(image_ms),
        "engine_ms_per_frame": statistics.median(sweep_ms) + statistics.median(image_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024")
    parser.add_argument("--seconds", type=float, default=8.0, help="fps window per size")
    parser.add_argument("--changes", type=int, default=10, help="slider changes per size")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "playground.json"))
    args = parser.parse_args(argv)
    sizes = [int(token) for token in args.sizes.split(",")]
    if any(size not in SIZES for size in sizes):
        parser.error(f"sizes must be among {SIZES}")
    from playwright.sync_api import sync_playwright

    results = {}
    port = free_port()
    server = start_server(port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/Ising_playground")
            page.get_by_text("|m|").first.wait_for(timeout=120_000)
            for length in sizes:
                results[length] = measure_browser(page, length, args.seconds, args.changes)
                print(f"L={length}: browser done", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    for length in sizes:
        results[length].update(measure_engine(length))
    header = f"{'L':>6} {'fps':>6} {'latency p50 ms':>15} {'p95 ms':>8} {'engine ms/frame':>16}"
    print(header)
    for length in sizes:
        r = results[length]
        print(
            f"{length:>6} {r['fps']:>6.1f} {r['latency_ms_median']:>15.0f} "
            f"{r['latency_ms_p95']:>8.0f} {r['engine_ms_per_frame']:>16.1f}"
        )
    if 256 in results:
        r = results[256]
        verdict = "PASS" if r["latency_ms_median"] <= 100 else "MISS"
        print(f"target L=256 latency ≤ 100 ms: {verdict}")
        print(f"target L=256 ≥ 20 fps: {'PASS' if r['fps'] >= 20 else 'MISS'}")
    report = {
        "sweeps_per_frame": SWEEPS_PER_FRAME,
        "frame_interval_s": 0.05,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": {str(k): v for k, v in results.items()},
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
