"""Waiting between animation frames without delaying the next rerun.

A script run that animates (draw a frame, sleep, draw the next) only notices that the person
moved a widget at its next Streamlit element: Streamlit checks for a pending rerun each time the
script sends something. A plain `time.sleep` between frames therefore adds up to one frame
interval to every slider change (166 ms at 6 frames per second). `sleep_until_rerun` sleeps in
short slices and returns as soon as a request is pending that Streamlit will let interrupt this
script run (a stop, a rerun of the app, a fragment-scoped rerun), or a condition the caller
waits for holds. A fragment's timer, which Streamlit queues behind the running script instead,
does not end the sleep, so an animation loop never spins on it.

It reads Streamlit's request state, which has no public accessor (`ScriptRunContext.
script_requests` and its `_state` and `_rerun_data`, present since Streamlit 1.37, whose
`is_auto_rerun` tells a timer's tick from a person's click);
`tests/test_ui_pacing.py` checks that this Streamlit still has them. Where they are missing the
sleep is a plain sleep, never an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

__all__ = ["interaction_pending", "sleep_until_rerun", "timer_tick_pending"]

SLICE_SECONDS = 0.01


def _interrupting_request() -> bool:
    """Whether a request is pending that Streamlit will let interrupt this script run (False
    outside a script run). Streamlit's rule: any stop, and any rerun except one that only
    reruns fragments and was not scoped to them (a fragment's timer)."""
    requests = getattr(get_script_run_ctx(suppress_warning=True), "script_requests", None)
    state = getattr(requests, "_state", None)
    if state is ScriptRequestType.STOP:
        return True
    if state is not ScriptRequestType.RERUN:
        return False
    rerun = getattr(requests, "_rerun_data", None)
    queued_fragments_only = bool(getattr(rerun, "fragment_id_queue", None)) and not getattr(
        rerun, "is_fragment_scoped_rerun", False
    )
    return not queued_fragments_only


def interaction_pending() -> bool:
    """Whether a rerun that a person asked for is pending (a widget, a button, inside a fragment
    too), as opposed to a fragment's timer: False outside a script run. A click in a fragment is
    queued behind the running script like a timer's tick, so `sleep_until_rerun` alone does not
    end for it. Streamlit keeps the newest request's `is_auto_rerun` when it merges requests, so
    a button's press is also told by its trigger, which merging keeps."""
    requests = getattr(get_script_run_ctx(suppress_warning=True), "script_requests", None)
    if getattr(requests, "_state", None) is not ScriptRequestType.RERUN:
        return False
    rerun = getattr(requests, "_rerun_data", None)
    if not getattr(rerun, "is_auto_rerun", True):
        return True
    widgets = getattr(getattr(rerun, "widget_states", None), "widgets", None) or []
    return any(
        widget.WhichOneof("value") == "trigger_value" and widget.trigger_value for widget in widgets
    )


def timer_tick_pending() -> bool:
    """Whether a fragment's timer has asked for a rerun that waits behind this script run
    (False outside a script run)."""
    requests = getattr(get_script_run_ctx(suppress_warning=True), "script_requests", None)
    if getattr(requests, "_state", None) is not ScriptRequestType.RERUN:
        return False
    rerun = getattr(requests, "_rerun_data", None)
    return bool(getattr(rerun, "fragment_id_queue", None)) and getattr(
        rerun, "is_auto_rerun", False
    )


def sleep_until_rerun(seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Sleep `seconds`, or less if a request that interrupts this run is pending or arrives
    meanwhile (True then), or once `until()` is true (checked every SLICE_SECONDS; False then).
    """
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if _interrupting_request():
            return True
        if until is not None and until():
            return False
        time.sleep(min(SLICE_SECONDS, left))
    return _interrupting_request()
