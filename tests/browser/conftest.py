"""Shared fixtures for browser tests: one Streamlit server and one chromium per session.

Browser tests drive Debian's chromium (/usr/bin/chromium) through Playwright; they never run
their own browser download. Outside CI they skip when chromium or Playwright is missing; with the
CI environment variable set they fail instead, because `make test` installs both.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("THERMOLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 90
APP_RUN_TIMEOUT_MS = 120_000


def _missing_prerequisites() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if find_spec("playwright") is None:
        missing.append("the playwright package (pip install playwright)")
    return missing


@pytest.fixture(scope="session", autouse=True)
def _browser_prerequisites() -> None:
    missing = _missing_prerequisites()
    if not missing:
        return
    message = "browser tests need " + " and ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(f"{message}; in CI they must run, not skip", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def launch_server(
    runs_dir: Path, log_path: Path, port: int | None = None, launcher: tuple = ("-m", "streamlit")
) -> tuple:
    """Start `streamlit run app.py` on 127.0.0.1 with its run store in `runs_dir`.

    `launcher`: what Python runs instead of `-m streamlit` (a script taking the same arguments).
    Returns (process, base URL) once the server is healthy; fails the test otherwise.
    """
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"THERMOLAB_RUNS_DIR": str(runs_dir)}
    command = [
        sys.executable,
        *launcher,
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not _healthy(url):
        if process.poll() is not None:
            pytest.fail(
                f"streamlit exited with {process.returncode}:\n{log_path.read_text()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            stop_server(process)
            pytest.fail(
                f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}",
                pytrace=False,
            )
        time.sleep(0.25)
    return process, url


def stop_server(process: subprocess.Popen) -> None:
    """Terminate a server started by `launch_server` (kill it if it does not stop)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory) -> Iterator[str]:
    """One server for the session; yields its base URL.

    Its runs go to a temporary run store (THERMOLAB_RUNS_DIR), never to the checkout's ./runs.
    """
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    process, url = launch_server(tmp_path_factory.mktemp("runs"), log_path)
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture
def server_launcher(tmp_path) -> Iterator[Callable[..., tuple]]:
    """launch(runs_dir, port=None) -> (process, url): servers of the test's own, all stopped
    (if still running) when it ends; for tests that kill and restart a server."""
    processes: list[subprocess.Popen] = []

    def launch(runs_dir: Path, port: int | None = None) -> tuple:
        process, url = launch_server(runs_dir, tmp_path / "server.log", port)
        processes.append(process)
        return process, url

    yield launch
    for process in processes:
        if process.poll() is None:
            stop_server(process)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, launched through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page (own context) at a desktop size; closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def open_app(page, streamlit_server) -> Callable[[str], object]:
    """open_app(path) loads a page of the running app and waits until its script has finished."""

    def open_(path: str = "/"):
        page.goto(streamlit_server + path, wait_until="domcontentloaded")
        page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]',
            timeout=APP_RUN_TIMEOUT_MS,
        )
        return page

    return open_
