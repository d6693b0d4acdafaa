"""A training in a process of its own, driven by a job thread of the server.

Training in the server's own process shares its interpreter lock with every session: the
trainer's Python between torch operations competes with the sessions' scripts and the event
loop, and a page then waits for its reply. So the job (`run_in_worker`, on a job-manager thread)
starts `python -m thermolab.training.worker`, which lowers its own CPU priority below every
session's (`lower_priority`) and trains there, writing to the run store as always. Its process
meters are its own, and a crash of the trainer cannot take the server with it.

The protocol, one JSON object per line:
- stdin: the request {"action": "train" | "resume", "store", "run_ids", and "config" (train)
  or "group" (resume)},
  then "stop" when the job is asked to stop. End of input means the server is gone: the worker
  exits at once and leaves its runs to be marked "interrupted" (as after `kill -9`).
- stdout: {"progress": fraction, "message": text} while it trains, then {"result": {...}} or
  {"error": text}.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from thermolab.jobs import JobFailed
from thermolab.runs import RunStore
from thermolab.training.config import TrainConfig
from thermolab.training.trainer import Progress, TrainingResult, resume, train

__all__ = ["WORKER_NICE", "WorkerDied", "lower_priority", "run_in_worker", "run_request"]

#: The worker's Unix niceness (0–19) where the system has no idle scheduling class, and its
#: autogroup's where the system has autogroups.
WORKER_NICE = 19
STOP_POLL_SECONDS = 0.2


class WorkerDied(JobFailed):
    """The worker ended without a result (killed, out of memory, or crashed)."""


def run_in_worker(request: dict[str, Any], progress: Progress) -> TrainingResult:
    """Run `request` in a worker process; relay its progress and a stop request.

    Returns the worker's `TrainingResult`; raises `JobFailed` with the worker's one-line
    error, or `WorkerDied` (the runs are marked "interrupted" then: they resume from their last
    checkpoint).
    """
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "thermolab.training.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
    except OSError as error:  # no process to train in: say so on the runs, not leave them queued
        reason = f"the training worker could not start: {error.strerror or error}"
        _mark(request, "failed", reason)
        raise JobFailed(reason) from error
    stderr_tail: deque[str] = deque(maxlen=20)
    helpers = [
        threading.Thread(target=_drain, args=(process.stderr, stderr_tail), daemon=True),
        threading.Thread(target=_relay_stop, args=(process, progress), daemon=True),
    ]
    with contextlib.suppress(BrokenPipeError):
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
    for helper in helpers:
        helper.start()
    outcome: dict[str, Any] = {}
    for line in process.stdout:
        with contextlib.suppress(json.JSONDecodeError):
            message = json.loads(line)
            if "progress" in message:
                progress.report(message["progress"], message.get("message", ""))
            else:
                outcome = message
    code = process.wait()
    with contextlib.suppress(OSError):
        process.stdin.close()
    helpers[0].join(timeout=5)  # the stderr tail is complete
    if "result" in outcome:
        return TrainingResult(**outcome["result"])
    if "error" in outcome:
        raise JobFailed(outcome["error"])
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    detail = f": {stderr_tail[-1].strip()}" if stderr_tail else ""
    reason = f"the training worker died ({how}){detail}"
    _mark(request, "interrupted", f"{reason}; resume from its last checkpoint")
    raise WorkerDied(reason)


def _drain(stream, tail: deque[str]) -> None:
    for line in stream:
        tail.append(line)


def _relay_stop(process: subprocess.Popen, progress: Progress) -> None:
    """Tell the worker to stop (once) when the job is asked to; ends with the worker."""
    while process.poll() is None:
        if progress.stop_requested:
            with contextlib.suppress(OSError, ValueError):
                process.stdin.write("stop\n")
                process.stdin.flush()
            return
        time.sleep(STOP_POLL_SECONDS)


def run_request(request: dict[str, Any], store: RunStore, progress: Progress) -> TrainingResult:
    """Carry out `request` here, in this process: a training from scratch or a resume."""
    if request["action"] == "train":
        return train(TrainConfig.from_dict(request["config"]), store, request["run_ids"], progress)
    return resume(store, request["group"], progress)


def _mark(request: dict[str, Any], status: str, message: str) -> None:
    """Give the request's runs `status`, saying why (the worker could not)."""
    store = RunStore(request["store"])
    for run_id in request["run_ids"].values():
        with contextlib.suppress(Exception):
            store.set_status(run_id, status, message)


# --------------------------------------------------------------------------- the worker side


class _PipeProgress:
    """The trainer's `Progress` in the worker: reports to stdout, stops on "stop" from stdin."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def report(self, fraction: float, message: str = "", partial: Any = None) -> None:
        try:
            _send({"progress": fraction, "message": message}, self._lock)
        except OSError:  # the pipe broke: the server is gone (a race with `listen` noticing)
            os._exit(3)  # as in `listen`: the runs must not be marked failed or finished

    def listen(self) -> None:
        """Read stdin: "stop" sets the flag; end of input (the server died) exits at once."""
        for line in sys.stdin:
            if line.strip() == "stop":
                self._stop.set()
        os._exit(3)  # the server is gone: no evaluation, no summary, like a kill


def _send(message: dict[str, Any], lock: threading.Lock | None = None) -> None:
    with lock or contextlib.nullcontext():
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def lower_priority() -> None:
    """Put this process below all interactive work on the machine: every thread it has (the
    libraries' pools started at import too, such as OpenBLAS's), and the threads it starts
    later.

    Linux's SCHED_IDLE where there is one: a training then runs only on CPU time no session
    wants, and a session's thread that wakes takes the core at once, where a niced worker may
    keep it for the rest of a scheduler slice (a few ms) at each wake-up, and a slider change
    crosses many wake-ups (browser, server, browser). Elsewhere, niceness `WORKER_NICE`.

    With autogroup scheduling (Linux's default for desktops), the scheduler first shares the
    cores between sessions' groups, and only then between the processes of a group, so either
    class alone yields only to the server: a browser on the same machine, in a session of its
    own, still had to share equally with the trainings (measured with the load test: trainings
    0.8 cores, ten browsers starved). So the worker also starts a session, hence a group, of its
    own and gives the group the lowest weight (autogroup nice 19).
    """
    with contextlib.suppress(OSError):
        os.setsid()  # a new session; the worker still ends with its server (end of stdin)
        Path("/proc/self/autogroup").write_text(f"{WORKER_NICE}\n")  # absent: no autogroups
    threads = _threads()
    with contextlib.suppress(AttributeError, OSError):
        for thread in threads:
            os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
        return
    for thread in threads:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread, WORKER_NICE)


def _threads() -> list[int]:
    """This process's thread ids (Linux's /proc); elsewhere [0], which means the process."""
    try:
        return [int(task.name) for task in Path("/proc/self/task").iterdir()]
    except OSError:
        return [0]


def main() -> int:
    request = json.loads(sys.stdin.readline())
    lower_priority()
    progress = _PipeProgress()
    threading.Thread(target=progress.listen, daemon=True).start()
    try:
        result = run_request(request, RunStore(request["store"]), progress)
    except Exception as error:  # the trainer has marked its runs; the server shows the line
        _send({"error": f"{type(error).__name__}: {error}".splitlines()[0][:500]})
        return 1
    _send({"result": dataclasses.asdict(result)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
