"""Long work off the UI thread: start, poll, stop, and cap how many jobs run at once.

A job is a function `work(context) -> result` run in a worker thread. It reports progress
through `context.report(fraction, message, partial=…)` and checks `context.stop_requested`
between steps; the page polls `job.progress`, `job.partial` and `job.status`. One
process-wide `JobManager` (see `get_manager`) runs at most `max_running` jobs and queues the
rest in submission order, so one server stays responsive for a room of people.

This module does not import streamlit: pages keep the `Job` handle in their session state.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Job", "JobContext", "JobManager", "JobStatus", "get_manager"]

JobStatus = Literal["queued", "running", "done", "failed", "stopped"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "stopped"})


class JobContext:
    """What a running job sees: a stop flag to check and a way to report progress."""

    def __init__(self, job: Job) -> None:
        self._job = job

    @property
    def stop_requested(self) -> bool:
        return self._job._stop.is_set()

    def report(self, fraction: float, message: str = "", partial: Any = None) -> None:
        """Record progress in [0, 1], a short message and (optionally) results so far."""
        job = self._job
        with job._lock:
            job.progress = min(max(float(fraction), 0.0), 1.0)
            if message:
                job.message = message
            if partial is not None:
                job.partial = partial


@dataclass(eq=False)
class Job:
    """Handle to one submitted job; every field is safe to read from any thread."""

    name: str
    work: Callable[[JobContext], Any]
    owner: str | None = None
    id: int = 0
    status: JobStatus = "queued"
    progress: float = 0.0
    message: str = ""
    partial: Any = None
    result: Any = None
    error: str | None = None
    error_traceback: str | None = None
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _manager: JobManager | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def queue_position(self) -> int | None:
        """1-based place in the queue while queued, else None."""
        return None if self._manager is None else self._manager.queue_position(self)

    def stop(self) -> None:
        """Ask the job to stop; a queued job is cancelled at once."""
        self._stop.set()
        if self._manager is not None:
            self._manager._cancel_if_queued(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; True if it did within `timeout` seconds."""
        return self._done.wait(timeout)


class JobManager:
    """Runs submitted jobs in threads, at most `max_running` at a time, the rest queued."""

    def __init__(self, max_running: int = 2) -> None:
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        self.max_running = max_running
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._all: list[Job] = []
        self._ids = itertools.count(1)

    def submit(
        self, name: str, work: Callable[[JobContext], Any], *, owner: str | None = None
    ) -> Job:
        """Queue `work(context)`; it starts as soon as fewer than `max_running` jobs run."""
        job = Job(name=name, work=work, owner=owner, id=next(self._ids), _manager=self)
        with self._lock:
            self._all.append(job)
            self._queue.append(job)
        self._start_queued()
        return job

    def jobs(self, owner: str | None = None) -> list[Job]:
        """Every job submitted (by `owner`, if given), oldest first."""
        with self._lock:
            return [job for job in self._all if owner is None or job.owner == owner]

    def queue_position(self, job: Job) -> int | None:
        with self._lock:
            for place, queued in enumerate(self._queue, start=1):
                if queued is job:
                    return place
        return None

    @property
    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def _cancel_if_queued(self, job: Job) -> None:
        with self._lock:
            if job not in self._queue:
                return
            self._queue.remove(job)
        self._finish(job, "stopped")

    def _start_queued(self) -> None:
        while True:
            with self._lock:
                if not self._queue or len(self._running) >= self.max_running:
                    return
                job = self._queue.popleft()
                self._running.add(job)
                job.status = "running"
                job.started_at = time.time()
            threading.Thread(
                target=self._run, args=(job,), name=f"job-{job.id}", daemon=True
            ).start()

    def _run(self, job: Job) -> None:
        try:
            result = job.work(JobContext(job))
        except Exception as error:
            job.error = f"{type(error).__name__}: {error}".splitlines()[0]
            job.error_traceback = traceback.format_exc()
            status: JobStatus = "failed"
        else:
            job.result = result
            status = "stopped" if job._stop.is_set() else "done"
        with self._lock:
            self._running.discard(job)
        self._finish(job, status)
        self._start_queued()

    @staticmethod
    def _finish(job: Job, status: JobStatus) -> None:
        with job._lock:
            job.status = status
            job.finished_at = time.time()
            if status == "done":
                job.progress = 1.0
        job._done.set()


_manager: JobManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide manager; its cap comes from THERMOLAB_MAX_JOBS (default 2)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = JobManager(int(os.environ.get("THERMOLAB_MAX_JOBS", "2")))
        return _manager
