"""Waiting between animation frames without delaying the next rerun.

A script run that animates (draw a frame, sleep, draw the next) only notices that the person
moved a widget at its next Streamlit element: Streamlit checks for a pending rerun each time the
script sends something. A plain `time.sleep` between frames therefore adds up to one frame
interval to every slider change (166 ms at 6 frames per second). `sleep_until_rerun` sleeps in
short slices and returns as soon as a rerun or stop request arrives for this script run (or a
condition the caller waits for holds).

It reads Streamlit's request state, which has no public accessor (`ScriptRunContext.
script_requests`, present since Streamlit 1.37); `tests/test_ui_pacing.py` checks that this
Streamlit still has it. Where it is missing the sleep is a plain sleep, never an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

__all__ = ["sleep_until_rerun"]

SLICE_SECONDS = 0.01


def _request_state() -> ScriptRequestType | None:
    """This script run's pending request (CONTINUE when none), None outside a script run."""
    requests = getattr(get_script_run_ctx(suppress_warning=True), "script_requests", None)
    return getattr(requests, "_state", None)


def sleep_until_rerun(seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Sleep `seconds`, or less if a rerun or stop request arrives meanwhile (True then), or
    once `until()` is true (checked every SLICE_SECONDS; False then).

    Only a request that arrives during this sleep ends it early. One already waiting when the
    sleep starts is a rerun that Streamlit does not let interrupt this run (a fragment's timer,
    queued behind it), so the sleep then runs its full length (or until `until()`): an
    animation loop never spins.
    """
    deadline = time.monotonic() + seconds
    pending = _request_state() is not ScriptRequestType.CONTINUE
    while (left := deadline - time.monotonic()) > 0:
        if until is not None and until():
            return False
        time.sleep(min(SLICE_SECONDS, left))
        if not pending and _request_state() is not ScriptRequestType.CONTINUE:
            return True
    return False
