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
    requests = ScriptRequests()
    assert hasattr(requests, "_state") and isinstance(requests._rerun_data, RerunData)
    fields = {field.name for field in dataclasses.fields(RerunData)}
    assert {"fragment_id_queue", "is_fragment_scoped_rerun"} <= fields


@pytest.mark.parametrize(
    ("rerun", "interrupts"),
    [
        (RerunData(), True),  # the whole app: a widget outside the fragment
        (RerunData(fragment_id_queue=["live"], is_fragment_scoped_rerun=True), True),  # st.rerun
        (RerunData(fragment_id_queue=["live"]), False),  # a fragment's timer
    ],
    ids=["app", "fragment-scoped", "fragment-timer"],
)
def test_it_follows_streamlits_rule_for_which_requests_interrupt_a_run(
    monkeypatch, rerun, interrupts
):
    """As Streamlit decides at the script's next element: `on_scriptrunner_yield` returns the
    request that interrupts the run, None for one it queues behind it."""
    ours, streamlits = ScriptRequests(), ScriptRequests()
    ours.request_rerun(rerun)
    streamlits.request_rerun(rerun)
    context = SimpleNamespace(script_requests=ours)
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: context)
    assert (streamlits.on_scriptrunner_yield() is not None) is interrupts
    assert pacing.sleep_until_rerun(0.0) is interrupts


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


def test_a_request_waiting_before_the_sleep_ends_it_at_once(requests):
    requests.request_rerun(RerunData())  # came while the loop drew its frame
    assert pacing.sleep_until_rerun(2.0) is True


def test_a_fragment_timer_waiting_behind_the_run_does_not_end_it(requests):
    requests.request_rerun(RerunData(fragment_id_queue=["live"]))  # Streamlit queues it
    started = time.monotonic()
    assert pacing.sleep_until_rerun(0.1) is False  # so an animation loop never spins on it
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
