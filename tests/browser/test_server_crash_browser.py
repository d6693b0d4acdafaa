"""kill -9 of the server mid-training: nothing committed is lost, the run resumes.

A person starts a side-by-side training in the browser; the server process is killed with
SIGKILL (as when a presenter's laptop dies). A new server on the same run store marks the
runs "interrupted" when the training page first loads; "Resume" continues them from their
last checkpoints, and no step is lost or logged twice.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from thermolab.runs import RunStore

pytestmark = pytest.mark.browser

SETTINGS = {
    "Steps": "5000",
    "Evaluate every (steps)": "20",
    "Validation batches": "2",
    "Predictive samples K (TSU)": "2",
    "Batch size (0: the preset's)": "2",
    "Block size (0: the preset's)": "16",
    "Checkpoint every (steps)": "10",
    "Generated sample length (characters)": "24",
}
TIMEOUT_S = 120


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (an exited child not yet reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}


def open_training_page(page, url: str):
    page.goto(url + "/TinyGPT_training", wait_until="domcontentloaded")
    page.get_by_role("heading", name="TinyGPT: baseline vs TSU", level=1).wait_for(
        timeout=TIMEOUT_S * 1000
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    return page


def wait_for_checkpoints(store: RunStore, minimum: int) -> dict[str, int]:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        records = store.list_runs()
        steps = {record.id: record.checkpoint_step or 0 for record in records}
        if len(steps) == 2 and min(steps.values()) >= minimum:
            return steps
        time.sleep(0.2)
    pytest.fail(f"no checkpoint at step ≥ {minimum} within {TIMEOUT_S} s: {steps}")


def test_a_killed_server_loses_no_run_and_the_training_resumes(server_launcher, page, tmp_path):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    server, url = server_launcher(runs_dir)
    open_training_page(page, url)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Advanced", exact=True).click()
    for label, value in SETTINGS.items():
        field = sidebar.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")
    sidebar.get_by_role("button", name="Start training").click()

    store = RunStore(runs_dir)
    wait_for_checkpoints(store, 20)  # past an evaluation too, so samples exist
    os.kill(server.pid, signal.SIGKILL)
    server.wait(30)
    workers = {record.pid for record in store.list_runs()} - {server.pid}
    assert workers, "the training ran in a worker process of its own"
    deadline = time.monotonic() + 15  # a worker dies with its server: it does not train on alone
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(running, workers))
    before = {
        record.id: (record.checkpoint_step, store.metrics(record.id)["val_loss"][0])
        for record in store.list_runs()
    }
    assert {record.status for record in store.list_runs()} == {"running"}

    _, url = server_launcher(runs_dir)  # a new server on the same run store
    open_training_page(page, url)
    resume = page.get_by_role("button", name="Resume from the last checkpoint")
    resume.wait_for(timeout=TIMEOUT_S * 1000)
    records = store.list_runs()
    assert {record.status for record in records} == {"interrupted"}
    assert all("the process that ran it has ended" in record.message for record in records)
    for record in records:  # everything committed before the kill is still there
        steps, _ = store.metrics(record.id)["val_loss"]
        assert steps[: len(before[record.id][1])] == before[record.id][1]

    resume.click()
    page.get_by_text(re.compile(r"step \d+/5000: baseline")).wait_for(timeout=TIMEOUT_S * 1000)
    resumed_from = min(step for step, _ in before.values())
    wait_for_checkpoints(store, resumed_from + 10)
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Resume from the last checkpoint").wait_for(
        timeout=TIMEOUT_S * 1000
    )
    for record in store.list_runs():
        assert record.status == "stopped"
        assert record.checkpoint_step > before[record.id][0]
        steps, _ = store.metrics(record.id)["train_loss"]
        assert steps == list(range(1, record.checkpoint_step + 1)), "a step lost or repeated"
    assert page.locator('[data-testid="stException"]').count() == 0
