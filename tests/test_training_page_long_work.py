"""The TinyGPT page's running state follows its job, not its run records: a job outlives its
runs being marked finished (its worker process exits after), and a page run in between once
drew a running job with no polling timer left, so the page never left "running"."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from thermolab.jobs import Job
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare
from thermolab.training.launch import Launch
from ui import long_work

PAGE = Path(__file__).resolve().parents[1] / "pages" / "3_TinyGPT_training.py"


@pytest.fixture
def timers(monkeypatch, tmp_path) -> list:
    """The timer (run_every) of each fragment `ui.long_work` declares, in order."""
    monkeypatch.setenv("THERMOLAB_RUNS_DIR", str(tmp_path))
    declared: list = []
    fragment = streamlit.fragment

    def recording(func=None, *, run_every=None, **options):
        if func is long_work._follow:
            declared.append(run_every)
        return fragment(func, run_every=run_every, **options)

    monkeypatch.setattr(streamlit, "fragment", recording)
    return declared


def test_a_job_that_outlives_its_finished_runs_keeps_the_page_polling(timers, tmp_path):
    store = RunStore(tmp_path)
    group, run_ids = prepare(TrainConfig(steps=3), store, owner="someone")
    for run_id in run_ids.values():
        store.set_status(run_id, "finished", "finished after 3 of 3 steps")
    job = Job(name="TinyGPT (3 steps)", work=None, status="running", progress=1.0)
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["gpt.launch"] = Launch(job, group, run_ids)
    app.session_state["gpt.view"] = group
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.button(key="gpt.start").disabled  # the job still runs: Start waits for it...
    assert timers and all(every for every in timers)  # ...and so do the page's timers

    job.status = "done"  # the worker has exited
    timers.clear()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.button(key="gpt.start").disabled
    assert timers and not any(timers)  # ended: no timer left
