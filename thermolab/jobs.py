"""Long work off the UI thread: start, poll, stop, and cap how many jobs run at once.

A job is a function `work(context) -> result` run in a worker thread. It reports progress
through `context.report(fraction, message, partial=…)` and checks `context.stop_requested`
between steps; the page polls `job.progress`, `job.partial` and `job.status`. One
process-wide `JobManager` (see `get_manager`) runs at most `max_running` jobs and queues the
rest in submission order, so one server stays responsive for a room of people.

Jobs belong to an owner: an opaque name, for a browser session a random token that the app
tier (`ui.session`) holds for it, never its Streamlit session id. Work nobody is watching is
stopped: the manager's reaper stops an owner's jobs when a liveness probe (the app registers
"is this session still connected") has said "gone" for `grace_s`, or when the owner has not
been seen (`touch`) for `idle_timeout_s`. Jobs without an owner are never reaped.

Pages keep the `Job` handle in their session state. This module knows nothing of Streamlit.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Job",
    "JobContext",
    "JobFailed",
    "JobManager",
    "JobStatus",
    "get_manager",
]

JobStatus = Literal["queued", "running", "done", "failed", "stopped"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "stopped"})
#: Finished jobs kept for `jobs()` listings; older ones are forgotten (memory stays bounded).
KEEP_FINISHED = 200


class JobFailed(RuntimeError):
    """A failure the work reports in full itself (e.g. relayed from another process): its
    message becomes the job's `error` as it is, without this class's name in front."""


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
    work: Callable[[JobContext], Any] | None  # dropped (None) once it has run: frees its closure
    owner: str | None = None
    id: int = 0
    status: JobStatus = "queued"
    progress: float = 0.0
    message: str = ""
    partial: Any = None
    result: Any = None
    error: str | None = None
    error_traceback: str | None = None
    stop_reason: str | None = None
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _manager: JobManager | None = field(default=None, repr=False)
    _on_cancel: Callable[[Job], None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def queue_position(self) -> int | None:
        """1-based place in the queue while queued, else None."""
        return None if self._manager is None else self._manager.queue_position(self)

    def stop(self, reason: str | None = None) -> None:
        """Ask the job to stop (saying why, if given); a queued job is cancelled at once."""
        if reason is not None:
            with self._lock:
                self.stop_reason = reason
        self._stop.set()
        if self._manager is not None:
            self._manager._cancel_if_queued(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; True if it did within `timeout` seconds."""
        return self._done.wait(timeout)


class JobManager:
    """Runs submitted jobs in threads, at most `max_running` at a time, the rest queued."""

    def __init__(
        self,
        max_running: int = 2,
        *,
        idle_timeout_s: float | None = None,
        grace_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """max_running: jobs run at once. idle_timeout_s: stop an owner's jobs when it has not
        been seen for this long (None: never). grace_s: how long an owner the liveness probe
        calls gone may stay gone (a reconnecting browser) before its jobs are stopped.
        """
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        self.max_running = max_running
        self.idle_timeout_s = idle_timeout_s
        self.grace_s = grace_s
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._all: list[Job] = []
        self._ids = itertools.count(1)
        self._last_seen: dict[str, float] = {}
        self._gone_since: dict[str, float] = {}
        self._liveness: Callable[[str], bool] | None = None
        self._watchdog: threading.Thread | None = None

    def submit(
        self,
        name: str,
        work: Callable[[JobContext], Any],
        *,
        owner: str | None = None,
        on_cancel: Callable[[Job], None] | None = None,
    ) -> Job:
        """Queue `work(context)`; it starts as soon as fewer than `max_running` jobs run.

        on_cancel(job): called (in the stopping thread) if the job is stopped while still
        queued, so it never runs; e.g. to mark records it was to update. Its errors are ignored.
        """
        job = Job(
            name=name, work=work, owner=owner, id=next(self._ids), _manager=self,
            _on_cancel=on_cancel,
        )  # fmt: skip
        with self._lock:
            self._all.append(job)
            self._queue.append(job)
            self._forget_old_jobs()
        if owner is not None:
            self.touch(owner)
        self._start_queued()
        return job

    def forget(self, job: Job) -> None:
        """Drop a finished job from the listings once its owner has taken the result.

        A page that copies a large result (a QAOA state vector per layer) into its session
        calls this, so the manager's history does not keep a second reference to it.
        """
        with self._lock:
            if job.finished:
                self._all = [kept for kept in self._all if kept is not job]

    def _forget_old_jobs(self) -> None:
        """Keep every unfinished job and the newest KEEP_FINISHED finished ones (lock held)."""
        finished = [job for job in self._all if job.finished]
        if len(finished) > KEEP_FINISHED:
            dropped = {id(job) for job in finished[: len(finished) - KEEP_FINISHED]}
            self._all = [job for job in self._all if id(job) not in dropped]

    # ---- owners: who is still there ------------------------------------------------------

    def touch(self, owner: str) -> None:
        """Record that `owner` (a browser session) is here now; pages call it on every run."""
        with self._lock:
            self._last_seen[owner] = self._clock()
            self._gone_since.pop(owner, None)

    def set_liveness(self, probe: Callable[[str], bool] | None) -> None:
        """Register `probe(owner) -> bool` (False: that session is gone); None removes it."""
        with self._lock:
            self._liveness = probe

    def reap(self) -> list[Job]:
        """Stop the unfinished jobs of owners that are gone or idle; returns the jobs stopped."""
        now = self._clock()
        with self._lock:
            owners = {job.owner for job in self._all if job.owner is not None and not job.finished}
            probe = self._liveness
        reasons: dict[str, str] = {}
        for owner in owners:
            alive = True
            if probe is not None:
                try:
                    alive = bool(probe(owner))
                except Exception:  # a probe that cannot tell must not stop anyone's work
                    alive = True
            with self._lock:
                if alive:
                    self._gone_since.pop(owner, None)
                else:
                    gone_since = self._gone_since.setdefault(owner, now)
                    if now - gone_since >= self.grace_s:
                        reasons[owner] = "its browser session ended"
                seen = self._last_seen.get(owner, now)
                if self.idle_timeout_s is not None and now - seen >= self.idle_timeout_s:
                    reasons.setdefault(owner, f"its session was idle for {now - seen:.0f} s")
        self._forget_absent_owners(now)
        stopped = []
        for job in self.jobs():
            if job.owner in reasons and not job.finished:
                job.stop(f"stopped because {reasons[job.owner]}")
                stopped.append(job)
        return stopped

    def _forget_absent_owners(self, now: float) -> None:
        """Drop the bookkeeping of owners with no unfinished job, unseen for a long while.

        One entry per browser session ever seen would otherwise grow for the server's life.
        """
        horizon = max(self.grace_s, self.idle_timeout_s or 0.0, 3600.0)
        with self._lock:
            busy = {job.owner for job in self._all if not job.finished}
            for owner, seen in list(self._last_seen.items()):
                if owner not in busy and now - seen > horizon:
                    del self._last_seen[owner]
                    self._gone_since.pop(owner, None)

    def start_watchdog(self, interval_s: float = 5.0) -> None:
        """Run `reap` every `interval_s` seconds in a daemon thread (once per manager)."""
        with self._lock:
            if self._watchdog is not None:
                return
            self._watchdog = threading.Thread(
                target=self._watch, args=(interval_s,), name="job-reaper", daemon=True
            )
        self._watchdog.start()

    def _watch(self, interval_s: float) -> None:
        while True:
            time.sleep(interval_s)
            self.reap()

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
        job.work = None
        if job._on_cancel is not None:
            # a failing hook must not keep the job from being cancelled
            with contextlib.suppress(Exception):
                job._on_cancel(job)
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
        work, job.work = job.work, None  # the closure (models, data) is freed when it returns
        try:
            if work is None:
                raise RuntimeError("this job has already run")
            result = work(JobContext(job))
        except Exception as error:
            line = f"{type(error).__name__}: {error}"
            job.error = (str(error) if isinstance(error, JobFailed) else line).splitlines()[0]
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
    """The process-wide manager, its reaper running.

    Cap: THERMOLAB_MAX_JOBS (default 2). Idle timeout: THERMOLAB_IDLE_TIMEOUT_S seconds
    (default 1800; 0 turns it off).
    """
    global _manager
    with _manager_lock:
        if _manager is None:
            idle = float(os.environ.get("THERMOLAB_IDLE_TIMEOUT_S", "1800"))
            _manager = JobManager(
                int(os.environ.get("THERMOLAB_MAX_JOBS", "2")),
                idle_timeout_s=idle if idle > 0 else None,
            )
            _manager.start_watchdog()
        return _manager
