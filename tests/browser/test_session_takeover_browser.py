"""A participant cannot take over another's session with anything the page gives them.

Streamlit reconnects any client that presents a session id (the third Sec-WebSocket-Protocol
entry of ``_stcore/stream``) to that session, with its page and controls, and disconnects the
session's own browser. So nothing the page offers another person may carry a session id.

Two browser contexts on one server: A finishes one short training (so a finished run's downloads
exist) and starts a long one. B takes every download the page offers it, then opens the page
once per identifier-like string found in them with that string as the session id to resume.
A's training keeps running and B never sees A's controls. Last, a control: presenting A's real
session id (read from A's own socket) does hand A's page to B, so the check above can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

pytestmark = pytest.mark.browser

TIMEOUT_MS = 180_000
PAGE = "/TinyGPT_training"
TINY = {
    "Validation batches": "1",
    "Predictive samples K (TSU)": "2",
    "Batch size (0: the preset's)": "2",
    "Block size (0: the preset's)": "16",
    "Generated sample length (characters)": "8",
}
LONG_STEPS = 100_000  # the longest the page allows: A's training outlasts the test
# What a session id could look like: whole runs of letters, digits, "_" and "-" of 8 or more that
# hold a digit (Streamlit's ids are uuid4 strings). Words such as metric names are left out, and
# so are numbers and their pieces (a loss's digits after its ".", a timestamp, 1.7e-08).
IDENTIFIER = re.compile(r"(?<![\w.-])[A-Za-z0-9_-]{8,}(?!\w)")
# Sent as the third subprotocol entry on the page's Streamlit socket, as a reconnecting client
# sends its last session id; "CANDIDATE" is replaced by the string to try.
PRESENT_SESSION_ID = """(() => {
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(url, protocols) {
            if (String(url).includes('_stcore/stream')) {
                const list = protocols === undefined ? [] : [].concat(protocols);
                if (list.length < 1) list.push('streamlit');
                if (list.length < 2) list.push('PLACEHOLDER_AUTH_TOKEN');
                list[2] = 'CANDIDATE';
                protocols = list;
            }
            super(url, protocols);
        }
    };
})();"""
A_PROGRESS = re.compile(rf"step \d+/{LONG_STEPS}: baseline")


def loaded(page):
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS
    )
    return page


def start_training(page, steps: int) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    if not sidebar.get_by_label("Validation batches", exact=True).is_visible():
        sidebar.get_by_text("Advanced", exact=True).click()
    every = {"Evaluate every (steps)": str(min(steps, 10))}
    for label, value in {"Steps": str(steps), **every, **TINY}.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")  # commit the value without submitting the form
    sidebar.get_by_role("button", name="Start training").click()


def session_ids_seen(page) -> list[str]:
    """The Streamlit session ids the server sent this page (its NewSession messages)."""
    seen: list[str] = []

    def on_frame(payload) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg()
            try:
                message.ParseFromString(payload)
            except Exception:  # not a ForwardMsg: nothing to read
                return
            if message.HasField("new_session") and message.new_session.initialize.session_id:
                seen.append(message.new_session.initialize.session_id)

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    return seen


def downloads(page, folder: Path) -> dict[str, str]:
    """Every download the page offers: {suggested file name: its text}."""
    taken = {}
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    buttons.first.wait_for(timeout=60_000)
    count = -1
    while count != buttons.count():  # the results draw in steps: take them once none is added
        count = buttons.count()
        page.wait_for_timeout(1000)
    for index in range(count):
        with page.expect_download(timeout=60_000) as info:
            buttons.nth(index).click()
        download = info.value
        path = folder / download.suggested_filename
        download.save_as(path)
        taken[download.suggested_filename] = path.read_text(encoding="utf-8")
    return taken


def identifiers(texts) -> set[str]:
    """Identifier-like strings in `texts` (see IDENTIFIER)."""
    found = {word for text in texts for word in IDENTIFIER.findall(text)}
    return {word for word in found if any(c.isdigit() for c in word) and not is_number(word)}


def is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def as_session(browser_context, base_url: str, candidate: str, *, wait_until_idle: bool = True):
    """B's page opened with `candidate` presented as the session id to resume.

    A page that resumes a session following a running training may never be idle (its script
    follows the training), so the control does not wait for that: it waits for the Stop button.
    """
    page = browser_context.new_page()
    page.add_init_script(PRESENT_SESSION_ID.replace("CANDIDATE", candidate))
    page.goto(base_url + PAGE, wait_until="domcontentloaded")
    return loaded(page) if wait_until_idle else page


def sees_a_controls(page) -> bool:
    page.wait_for_timeout(500)  # a fragment's first run lands just after the script's
    return (
        page.get_by_role("button", name="Stop").count() > 0
        or page.get_by_text(A_PROGRESS).count() > 0
    )


def a_step(page) -> int:
    """The step A's progress text shows now."""
    text = page.get_by_text(A_PROGRESS).first.inner_text(timeout=60_000)
    return int(re.search(rf"step (\d+)/{LONG_STEPS}", text).group(1))


@pytest.mark.timeout(1200)  # two trainings and a page load per string tried, on shared cores
def test_nothing_b_downloads_lets_b_take_over_a_running_training(
    browser, server_launcher, tmp_path, monkeypatch
):
    # Trainings in the server's own process: a worker process runs at idle priority, and on a
    # busy machine it may not get through a few steps in minutes. Whose it is does not change.
    monkeypatch.setenv("THERMOLAB_TRAINING_IN", "thread")
    _, url = server_launcher(tmp_path / "runs")
    a_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    b_context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        a = a_context.new_page()
        a_session_ids = session_ids_seen(a)
        a.goto(url + PAGE, wait_until="domcontentloaded")
        loaded(a)
        start_training(a, 4)  # finishes: its downloads are offered to everyone
        a.get_by_text("Results: TSU ÷ baseline").wait_for(timeout=TIMEOUT_MS)
        start_training(a, LONG_STEPS)
        a.get_by_text(A_PROGRESS).wait_for(timeout=TIMEOUT_MS)
        assert a_session_ids, "A's page never saw its session id"

        b = b_context.new_page()
        b.goto(url + PAGE, wait_until="domcontentloaded")
        loaded(b)
        b.get_by_text("Results: TSU ÷ baseline").wait_for(timeout=60_000)  # A's finished one
        assert not sees_a_controls(b)
        taken = downloads(b, tmp_path)
        # CSV and JSON of A's finished baseline and TSU runs (and the TSU run's review JSON)
        kinds = {name.rsplit("_", 1)[-1] for name in taken}
        assert kinds >= {"baseline.json", "baseline.csv", "tsu.json", "tsu.csv"}, taken.keys()
        assert all(session not in text for text in taken.values() for session in a_session_ids)
        candidates = identifiers([*taken, *taken.values()])
        assert candidates, "no identifier-like string to try: the test would prove nothing"
        print(f"{len(candidates)} identifier-like strings tried: {sorted(candidates)}")

        step_before = a_step(a)
        for candidate in sorted(candidates):
            tried = as_session(b_context, url, candidate)
            assert not sees_a_controls(tried), f"{candidate!r} gave B A's page"
            tried.close()
        a.wait_for_timeout(3_000)  # a few more steps
        assert a_step(a) > step_before, "A's training stopped"
        assert a.get_by_role("button", name="Stop").count() == 1

        # The control: A's real session id (never offered to B) does hand B A's page.
        control = as_session(b_context, url, a_session_ids[-1], wait_until_idle=False)
        control.get_by_role("button", name="Stop").wait_for(timeout=TIMEOUT_MS)
        control.get_by_role("button", name="Stop").click()  # as A's session: ends the training
    finally:
        a_context.close()
        b_context.close()
