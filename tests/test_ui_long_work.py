"""`ui.long_work`: one answer per page run for the controls and the timer; the fragment asks
for the page's full run as soon as the work has ended, and only while its timer runs."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

from ui import long_work, pacing


class Rerun(Exception):
    """What `st.rerun` raises here, with its scope."""


@pytest.fixture
def fragments(monkeypatch) -> list[dict]:
    """Each `st.fragment` declared (its run_every) and `st.rerun(scope=…)` as an exception; the
    fragment body runs as if on its timer, outside a Streamlit script run."""
    declared: list[dict] = []

    def fragment(body, run_every=None):
        declared.append({"run_every": run_every})
        return body

    def rerun(scope="app"):
        raise Rerun(scope)

    monkeypatch.setattr(long_work.st, "fragment", fragment)
    monkeypatch.setattr(long_work.st, "rerun", rerun)
    monkeypatch.setattr(long_work, "_on_its_timer", lambda: True)
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: None)
    return declared


def test_the_answer_is_taken_once_per_page_run(fragments):
    answers = iter([False, True, True])  # the work ends just after the page has asked
    calls = []

    def finished() -> bool:
        calls.append(1)
        return next(answers)

    work = long_work.LongWork(finished)
    assert work.running and len(calls) == 1
    with pytest.raises(Rerun, match="app"):  # its fragment, drawn inline, finds it ended
        work.follow(lambda: None, every=1.0)
    # A timer, as the page's controls say "running"; ticking fast, the fragment waiting between.
    assert fragments == [{"run_every": long_work.TICK_SECONDS}]


def test_ended_work_gets_no_timer_and_no_rerun(fragments):
    drawn = []
    work = long_work.LongWork(lambda: True)
    work.follow(lambda: drawn.append(1), every=1.0)
    assert not work.running and fragments == [{"run_every": None}] and drawn == [1]


def test_the_fragment_waits_for_the_end_and_reruns_the_page_at_once(fragments):
    ended = threading.Event()
    work = long_work.LongWork(ended.is_set)
    threading.Timer(0.1, ended.set).start()
    started = time.monotonic()
    with pytest.raises(Rerun, match="app"):
        work.follow(lambda: None, every=5.0)
    assert 0.09 <= time.monotonic() - started < 1.0  # not the 5 s of its interval


def test_without_waiting_it_samples_the_end_at_its_tick(fragments):
    ended = threading.Event()
    work = long_work.LongWork(ended.is_set)
    started = time.monotonic()
    work.follow(lambda: None, every=5.0, wait_for_end=False)  # still running: no rerun
    assert time.monotonic() - started < 0.5
    ended.set()
    with pytest.raises(Rerun):  # the next tick finds it ended
        work.follow(lambda: None, every=5.0, wait_for_end=False)


def test_a_click_ends_the_wait_without_a_rerun(fragments, monkeypatch):
    """A Stop button in the fragment is queued behind the run like a tick: the wait ends for it,
    so the click is handled at once, and the work (still running) is not rerun as ended."""
    requests = ScriptRequests()
    context = SimpleNamespace(script_requests=requests)
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: context)
    click = RerunData(fragment_id_queue=["progress"], is_auto_rerun=False)
    threading.Timer(0.1, requests.request_rerun, args=(click,)).start()
    work = long_work.LongWork(lambda: False)
    started = time.monotonic()
    work.follow(lambda: None, every=5.0)
    assert time.monotonic() - started < 1.0


def test_a_queued_tick_ends_the_wait_once_the_interval_is_over(fragments, monkeypatch):
    """The next run then starts at once (the tick waits behind this one), so the work is
    watched without a gap; a tick alone never ends the wait early."""
    requests = ScriptRequests()
    requests.request_rerun(RerunData(fragment_id_queue=["progress"], is_auto_rerun=True))
    context = SimpleNamespace(script_requests=requests)
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: context)
    work = long_work.LongWork(lambda: False)
    started = time.monotonic()
    work.follow(lambda: None, every=0.3)
    assert 0.3 <= time.monotonic() - started < 0.3 * long_work.MAX_WAIT_INTERVALS


def test_without_a_tick_it_waits_a_few_intervals_at_most(fragments):
    work = long_work.LongWork(lambda: False)
    started = time.monotonic()
    work.follow(lambda: None, every=0.1)
    assert time.monotonic() - started >= 0.1 * long_work.MAX_WAIT_INTERVALS - 0.01


def test_work_ended_since_the_last_tick_reruns_the_page_without_drawing(fragments):
    answers = iter([False, True])  # running at the page's run, ended by the next tick
    drawn = []
    work = long_work.LongWork(lambda: next(answers))
    with pytest.raises(Rerun):
        work.follow(lambda: drawn.append(1), every=1.0)
    assert drawn == []


def test_inline_in_the_page_run_it_never_waits(fragments, monkeypatch):
    monkeypatch.setattr(long_work, "_on_its_timer", lambda: False)
    work = long_work.LongWork(lambda: False)
    started = time.monotonic()
    work.follow(lambda: None, every=5.0)
    assert time.monotonic() - started < 0.5


def test_a_click_merged_with_a_later_tick_still_ends_the_wait(fragments, monkeypatch):
    """Streamlit keeps the newest request's is_auto_rerun; the button's trigger survives."""
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    requests = ScriptRequests()
    context = SimpleNamespace(script_requests=requests)
    monkeypatch.setattr(pacing, "get_script_run_ctx", lambda suppress_warning=False: context)
    pressed = WidgetStates()
    stop = pressed.widgets.add()
    stop.id, stop.trigger_value = "stop-button", True
    requests.request_rerun(RerunData(fragment_id_queue=["progress"], widget_states=pressed))
    ticked = WidgetStates()  # the browser drops a trigger once sent: the tick has no Stop
    ticked.widgets.add().id = "observable-radio"
    requests.request_rerun(
        RerunData(fragment_id_queue=["progress"], widget_states=ticked, is_auto_rerun=True)
    )
    assert requests._rerun_data.is_auto_rerun  # the click's flag is gone...
    assert pacing.interaction_pending()  # ...its trigger is not
    started = time.monotonic()
    long_work.LongWork(lambda: False).follow(lambda: None, every=5.0)
    assert time.monotonic() - started < 1.0


def test_a_wait_free_fragment_ticks_at_its_interval(fragments):
    long_work.LongWork(lambda: False).follow(lambda: None, every=5.0, wait_for_end=False)
    assert fragments == [{"run_every": 5.0}]


def test_this_streamlit_still_tells_a_tick_from_a_click():
    """`interaction_pending` reads RerunData.is_auto_rerun, which has no public accessor."""
    assert RerunData(is_auto_rerun=True).is_auto_rerun and not RerunData().is_auto_rerun
