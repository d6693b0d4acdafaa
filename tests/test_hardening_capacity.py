"""The job cap across sessions, as each page shows it: a queued job says its place, and a job
the server stopped (its session gone or idle) says why."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from hardening_support import assert_no_exception, new_app

from thermolab.jobs import get_manager
from thermolab.runs import RunStore

REAPED = "stopped because its session was idle for 1800 s"


pytestmark = pytest.mark.usefixtures("quick_pages")  # tests/conftest.py


@pytest.fixture
def full_server() -> Iterator[None]:
    """Every running slot of the process-wide manager taken by other work until the test ends."""
    manager = get_manager()
    release = threading.Event()
    started = []
    while manager.running_count < manager.max_running:
        started.append(manager.submit("someone else's job", lambda context: release.wait(120)))
    try:
        yield
    finally:
        release.set()
        for job in started:
            assert job.wait(30)


def progress_texts(app) -> list[str]:
    return [bar.text for bar in app.get("progress")]


def sweep_app():
    app = new_app("playground")
    for kind, key, value in (
        ("segmented_control", "mode", "Measure"),
        ("multiselect", "m_L", [8]),
        ("slider", "m_points", 2),
        ("number_input", "m_sw", 100),
        ("number_input", "m_burn", 0),
    ):
        getattr(app, kind)(key=key).set_value(value).run()
    return app


def qaoa_app():
    app = new_app("qaoa")
    app.sidebar.number_input(key="qaoa.n").set_value(4).run()
    app.sidebar.number_input(key="qaoa.steps").set_value(3).run()
    app.sidebar.number_input(key="qaoa.restarts").set_value(1).run()
    return app


def test_a_queued_sweep_shows_its_place(full_server):
    app = sweep_app()
    app.button(key="m_run").click().run()
    assert_no_exception(app)
    job = app.session_state["sweep_job"]
    assert job.status == "queued"
    assert any(re.fullmatch(r"Sweep: queued, place \d+", t) for t in progress_texts(app))
    job.stop(REAPED)


def test_a_reaped_sweep_says_why():
    app = sweep_app()
    app.number_input(key="m_sw").set_value(50_000).run()
    app.button(key="m_run").click().run()
    job = app.session_state["sweep_job"]
    job.stop(REAPED)
    assert job.wait(60) and job.status == "stopped"
    app.run()
    assert_no_exception(app)
    assert any(f"The sweep was {REAPED}" in w.value for w in app.warning)


def test_a_queued_qaoa_run_shows_its_place(full_server):
    app = qaoa_app()
    app.button(key="qaoa.run").click().run()
    assert_no_exception(app)
    job = app.session_state["qaoa.job"]
    assert job.status == "queued"
    assert any(re.match(r"queued \(queued, place \d+\)", t) for t in progress_texts(app))
    job.stop(REAPED)


def test_a_reaped_qaoa_run_says_why(full_server):
    app = qaoa_app()
    app.button(key="qaoa.run").click().run()
    job = app.session_state["qaoa.job"]
    job.stop(REAPED)  # still queued: cancelled at once
    assert job.wait(10)
    app.run()
    app.run()  # the first run collects the job, the second draws the page without it
    assert_no_exception(app)
    assert any(f"The last run was {REAPED}" in w.value for w in app.warning)


def test_a_queued_training_shows_its_place(full_server):
    app = new_app("training")
    app.number_input(key="gpt.steps").set_value(2)
    app.selectbox(key="gpt.meter").set_value("none")
    app.button(key="gpt.start").click().run()
    assert_no_exception(app)
    launch = app.session_state["gpt.launch"]
    assert launch.job.status == "queued"
    assert any(re.fullmatch(r"Queued: place \d+ in line.*", i.value) for i in app.info)
    launch.job.stop(REAPED)  # reaped while queued: it never runs
    assert launch.job.wait(10) and launch.job.status == "stopped"
    records = RunStore().list_runs(group=launch.group)
    assert {r.status for r in records} == {"stopped"}  # not "queued" (active) for ever
    assert all(REAPED in r.message for r in records)
    app.run()
    assert_no_exception(app)
    assert any(f"The training was {REAPED}" in w.value for w in app.warning)
    assert "gpt.resume" in {b.key for b in app.button}
