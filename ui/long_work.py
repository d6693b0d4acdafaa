"""Long work on a page: show it while it runs, then end the page's running state once, at once.

A page that starts long work (a training, a sweep, an annealing run, a QAOA optimisation) draws
its progress in a fragment on a timer, and when the work has ended it must run the whole page
once more: the controls outside the fragment (a disabled Start button, a Stop button) only
change in a full run, and a fragment's timer, set at the page's run, only stops in one.

`LongWork(finished)` and its `follow(draw, every=…)` are that pattern, and the one place it is
written down:

- One answer decides both things. A page run asks `finished()` once; its controls and its
  fragments' timers follow that answer, and the fragment asks the same `finished()` before it
  asks for the full run. Deciding them from two sources, or at two moments, is how a page gets
  stuck: the training page's fragment saw the runs marked finished in the store and reran the
  page, while its Start and Stop buttons followed the job, which ends later (once the training's
  worker process has exited: seconds on a loaded server); a full run in between drew a running
  job with no timer left, and nothing ever ran the page again. The same happens when a page
  draws its Start button from "running" and then sets no timer because the work ended a moment
  later.
- The fragment asks for the full run every time it finds the work ended while its timer runs,
  not once: a full run that is lost or interrupted leaves the old timer, whose next tick asks
  again, so the page cannot stay "running".
- Waiting for the end instead of sampling it: run alone on its timer, the fragment draws and
  then waits for `finished()` (checked every 10 ms, for cheap predicates such as
  `Job.finished`) until its interval is over and its timer's next tick is queued, so the next
  run starts at once and no moment goes unwatched: the full run starts within moments of the
  work's end instead of up to a timer interval later. Its timer ticks every TICK_SECONDS, so
  its first run follows the page's that soon too (work that ended meanwhile, such as a sweep
  of a second, is not left a whole interval). It stops waiting at once for a widget
  interaction (a Stop button), a full rerun or a stop. Run inline in the page's run it never
  waits, so the rest of the page is not held up.

Pages give `draw` everything they show of the running work (progress, Stop, partial results),
and build the ended state in the page's own run (enabled Start, results, exports).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ui.pacing import interaction_pending, sleep_until_rerun, timer_tick_pending

__all__ = ["LongWork"]

# A fragment waits at most this many of its intervals for the next tick of its timer (a
# backstop: the tick normally comes after one).
MAX_WAIT_INTERVALS = 3
# A waiting fragment's timer ticks this often (s), whatever its interval: its first run comes
# this soon after the page's, and a tick is always queued when it stops waiting. A tick that
# comes while it waits costs a message and is merged into the pending one.
TICK_SECONDS = 0.25


class LongWork:
    """One page run's view of a piece of long work: whether it runs, decided once, and the
    fragments that follow it.

    `finished` must be monotone (once true, true for good) and is the only test of whether the
    work has ended. The page reads `running` for its controls (a disabled Start, a Stop) and
    declares its polling fragments with `follow`, both from the one answer taken here: work
    that ends while the page is drawn is then drawn as running, with a timer, whose next tick
    finds it ended and runs the page again; never as running without a timer.
    """

    def __init__(self, finished: Callable[[], bool]) -> None:
        self.finished = finished
        self.running = not finished()

    def follow(self, draw: Callable[[], None], *, every: float, wait_for_end: bool = True) -> None:
        """Draw `draw()` in a fragment that reruns every `every` seconds while the work runs,
        and reruns the whole page as soon as it finds the work ended.

        `wait_for_end`: between ticks, wait for `finished()` (checked every 10 ms) instead of
        sampling it at the next tick; pass False where it is not cheap (a database read), or
        for a second fragment following the same work.
        """
        timer = min(every, TICK_SECONDS) if wait_for_end else every
        fragment = st.fragment(_follow, run_every=timer if self.running else None)
        fragment(draw, self.finished, self.running, every, wait_for_end)


def _follow(
    draw: Callable[[], None],
    finished: Callable[[], bool],
    running: bool,
    every: float,
    wait_for_end: bool,
) -> None:
    """The fragment's body: draw, then (while the page shows the work as running) wait for its
    end and run the whole page once it has ended."""
    started = time.monotonic()
    if running and finished():
        st.rerun(scope="app")  # ended since the last tick: the page's run draws it
    draw()
    if not running:
        return
    if wait_for_end and _on_its_timer():
        # Until the work ends, a person acts, or (the interval over) the next tick is queued:
        # the next run then starts at once, so no moment goes unwatched.
        sleep_until_rerun(
            MAX_WAIT_INTERVALS * every - (time.monotonic() - started),
            until=lambda: (
                finished()
                or interaction_pending()
                or (time.monotonic() - started >= every and timer_tick_pending())
            ),
        )
    if finished():
        st.rerun(scope="app")  # the ended state, drawn by the page's own run; no timer left


def _on_its_timer() -> bool:
    """Whether this is a run of fragments alone (a timer's tick), not the page's full run."""
    context = get_script_run_ctx(suppress_warning=True)
    return bool(getattr(context, "fragment_ids_this_run", None))
