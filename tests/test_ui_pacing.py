"""`ui.pacing.sleep_until_rerun` against this Streamlit's own request object."""

from __future__ import annotations

import dataclasses
import threading
import time
from types import SimpleNamespace

import pytest
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests
from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

from ui import pacing


@pytest.fixture
def requests(monkeypatch) -> ScriptRequests:
    """A script run's request object, as the page's script thread would see it."""
    requests = ScriptRequests()
    context = SimpleNamespace(script_requests=requests)
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: context)
    return requests


def test_this_streamlit_still_exposes_the_request_state_it_relies_on():
    """If an upgrade renames these, the live view would silently fall back to plain sleeps."""
    assert "script_requests" in {field.name for field in dataclasses.fields(ScriptRunContext)}
    assert hasattr(ScriptRequests(), "_state")


def test_a_rerun_arriving_mid_sleep_ends_it_at_once(requests):
    threading.Timer(0.05, requests.request_rerun, args=(RerunData(),)).start()
    started = time.monotonic()
    assert pacing.sleep_until_rerun(2.0) is True
    assert time.monotonic() - started < 0.5  # not the 2 s asked for


def test_a_stop_request_ends_it_too(requests):
    threading.Timer(0.05, requests.request_stop).start()
    started = time.monotonic()
    assert pacing.sleep_until_rerun(2.0) is True
    assert time.monotonic() - started < 0.5


def test_without_requests_it_sleeps_the_whole_time(requests):
    started = time.monotonic()
    assert pacing.sleep_until_rerun(0.1) is False
    assert time.monotonic() - started >= 0.1


def test_a_request_waiting_before_the_sleep_does_not_make_a_loop_spin(requests):
    requests.request_rerun(RerunData())  # e.g. a fragment's timer that may not interrupt
    started = time.monotonic()
    assert pacing.sleep_until_rerun(0.1) is False
    assert time.monotonic() - started >= 0.1


def test_outside_a_script_run_it_is_a_plain_sleep(monkeypatch):
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: None)
    started = time.monotonic()
    assert pacing.sleep_until_rerun(0.05) is False
    assert time.monotonic() - started >= 0.05


def test_it_ends_once_the_awaited_condition_holds(requests):
    ready = threading.Event()
    threading.Timer(0.05, ready.set).start()
    started = time.monotonic()
    assert pacing.sleep_until_rerun(2.0, until=ready.is_set) is False
    assert time.monotonic() - started < 0.5
