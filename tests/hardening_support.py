"""Helpers shared by the hardening tests (issue 8): sessions, fault injectors, page checks.

Imported by tests/test_hardening_*.py (pytest puts tests/ on sys.path). Nothing here is used
by the app itself.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from thermolab.backends.numpy_backend import NumpyBackend
from ui.frames import EXCHANGE
from ui.session import STATE_KEY, Identity

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "playground": ROOT / "pages" / "1_Ising_playground.py",
    "attention": ROOT / "pages" / "2_Attention_explorer.py",
    "training": ROOT / "pages" / "3_TinyGPT_training.py",
    "qaoa": ROOT / "pages" / "4_QAOA.py",
}


# --------------------------------------------------------------------------- sessions


class _Context:
    """A ScriptRunContext seen through a different session id (everything else delegated)."""

    def __init__(self, context: Any, session_id: str) -> None:
        self._context = context
        self.session_id = session_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def distinct_sessions(monkeypatch: pytest.MonkeyPatch) -> Callable[[AppTest], str]:
    """Give every AppTest its own Streamlit session id.

    AppTest runs every instance as "test session id"; a browser session has its own uuid. The
    real `ui.session.identity` then registers one session per AppTest (keyed by the instance's
    session-state object, which lives as long as the AppTest). Returns a function giving the
    owner token the pages hold for an AppTest's session once it has run (see `identity_of`).
    """
    from streamlit.runtime import scriptrunner

    real = scriptrunner.get_script_run_ctx
    ids: dict[int, str] = {}
    counter = itertools.count(1)

    def get_script_run_ctx(suppress_warning: bool = False):
        context = real(suppress_warning=suppress_warning)
        if context is None:
            return None
        key = id(context.session_state._state)
        if key not in ids:
            ids[key] = f"session-{next(counter)}"
        return _Context(context, ids[key])

    monkeypatch.setattr(scriptrunner, "get_script_run_ctx", get_script_run_ctx)

    def owner(app: AppTest) -> str:
        """The owner token (of its jobs and runs) the pages hold for this AppTest's session."""
        return identity_of(app).owner

    return owner


def identity_of(app: AppTest) -> Identity:
    """The identity (`ui.session`) the pages made for this AppTest's session once it has run."""
    return app.session_state[STATE_KEY]


@contextmanager
def no_job_left_running() -> Iterator[None]:
    """Fail a test that leaves a job of the process-wide manager running (it would keep a slot
    and a core busy for the tests after it); such jobs are stopped first."""
    from thermolab.jobs import get_manager

    manager = get_manager()
    before = {id(job) for job in manager.jobs()}
    yield
    left = [job for job in manager.jobs() if id(job) not in before and not job.finished]
    for job in left:
        job.stop("the test that started it ended")
    for job in left:
        job.wait(60)
    assert not left, f"jobs left running: {[job.name for job in left]}"


# --------------------------------------------------------------------------- page checks


def new_app(page: str, timeout: float = 120) -> AppTest:
    """A fresh session of `page`, run once; it must render without an exception."""
    app = AppTest.from_file(str(PAGES[page]), default_timeout=timeout)
    app.run()
    assert_no_exception(app)
    return app


def move_temperature(app: AppTest, value: float) -> AppTest:
    """Move the playground's temperature slider, which is drawn with the live lattice's canvas:
    its value goes to the view's frame channel (`ui.frames` controls, as the browser sends it),
    and the running view takes it at its next frame; here that is the next run."""
    EXCHANGE.set_controls(app.session_state["live_stream"].channel, {"temperature": value})
    return app.run()


def start_small_sweep(app: AppTest) -> Any:
    """On the playground, start the smallest Measure sweep (L = 8, 2 temperatures, 100 sweeps,
    no burn-in, 1 chain) and return its job."""
    app.segmented_control(key="mode").set_value("Measure").run()
    app.multiselect(key="m_L").set_value([8]).run()
    app.slider(key="m_points").set_value(2).run()
    app.number_input(key="m_sw").set_value(100).run()
    app.number_input(key="m_burn").set_value(0).run()
    app.number_input(key="m_chains").set_value(1).run()
    app.button(key="m_run").click().run()
    assert_no_exception(app)
    return app.session_state["sweep_job"]


def assert_no_exception(app: AppTest) -> None:
    """No traceback on the page."""
    assert not app.exception, [element.value for element in app.exception]


def messages(app: AppTest) -> list[str]:
    """Every error and warning shown (main area and sidebar)."""
    return [element.value for element in (*app.error, *app.warning)]


def errors(app: AppTest) -> list[str]:
    return [element.value for element in app.error]


# --------------------------------------------------------------------------- faults


class FaultyBackend(NumpyBackend):
    """The numpy sampler, until `fail_after` more sampling calls have run; then it raises.

    Set `FaultyBackend.fail_after` (class-wide; None: never fails) before the calls. The
    error imitates a device that vanished mid-run.
    """

    name = "faulty"
    fail_after: int | None = None
    calls = 0
    _lock = threading.Lock()

    @classmethod
    def arm(cls, fail_after: int | None) -> None:
        with cls._lock:
            cls.fail_after, cls.calls = fail_after, 0

    def sample_ising(self, *args: Any, **kwargs: Any):
        cls = type(self)
        with cls._lock:
            cls.calls += 1
            failing = cls.fail_after is not None and cls.calls > cls.fail_after
        if failing:
            raise RuntimeError("simulated sampler fault: the device stopped answering")
        return super().sample_ising(*args, **kwargs)


@contextmanager
def faulty_backend_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FaultyBackend]]:
    """Register FaultyBackend as backend "faulty" (as a plugin would be) for the test."""
    import streamlit as st

    from thermolab import backends

    monkeypatch.setitem(backends._BUILTIN, "faulty", f"{__name__}:FaultyBackend")
    st.cache_resource.clear()  # the page caches backend names and instances
    FaultyBackend.arm(None)
    try:
        yield FaultyBackend
    finally:
        FaultyBackend.arm(None)
        st.cache_resource.clear()
