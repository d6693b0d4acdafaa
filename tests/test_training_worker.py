"""Training in a worker process: result, progress, stop, errors, a killed worker, a dead server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thermolab.jobs import JobFailed
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare
from thermolab.training.worker import WORKER_NICE, WorkerDied, run_in_worker

TINY = dict(
    corpus="default",
    block_size=32,
    batch_size=8,
    warmup_steps=2,
    eval_every=5,
    eval_batches=2,
    predictive_samples=2,
    meter="estimate",
    sample_chars=10,
    checkpoint_every=5,
)


class Recorder:
    """A job's progress as the worker relays it; optionally asks to stop, or acts, on a report."""

    def __init__(self, stop_after: int | None = None, on_report=None) -> None:
        self.reports: list[tuple[float, str]] = []
        self.stop_after, self.on_report = stop_after, on_report

    @property
    def stop_requested(self) -> bool:
        return self.stop_after is not None and len(self.reports) >= self.stop_after

    def report(self, fraction: float, message: str = "", partial=None) -> None:
        self.reports.append((fraction, message))
        if self.on_report is not None:
            self.on_report(self)


def request_for(store: RunStore, steps: int, **settings) -> dict:
    config = TrainConfig(steps=steps, **{**TINY, **settings})
    _, run_ids = prepare(config, store, modes=("baseline",))
    return {
        "action": "train",
        "store": str(store.path),
        "config": config.to_dict(),
        "run_ids": run_ids,
    }


def priority_of(pid: int) -> str:
    """ "SCHED_IDLE", or "nice N" for a process in the normal scheduling class; "mixed" if its
    threads differ."""
    priorities = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        thread = int(task.name)
        if hasattr(os, "sched_getscheduler") and os.sched_getscheduler(thread) == os.SCHED_IDLE:
            priorities.add("SCHED_IDLE")
        else:
            priorities.add(f"nice {int((task / 'stat').read_text().rsplit(')', 1)[1].split()[16])}")
    return priorities.pop() if len(priorities) == 1 else "mixed"


def autogroup_of(pid: int) -> str | None:
    """The scheduler group of `pid` and its nice, e.g. "/autogroup-12 nice 0"; None where the
    system has no autogroups (then only the scheduling class matters).

    The kernel shows nothing for the default group (init's, which every process is in until a
    session of its own is made), so that one is named "default nice 0" here.
    """
    enabled = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if not enabled.exists() or enabled.read_text().strip() != "1":
        return None
    return Path(f"/proc/{pid}/autogroup").read_text().strip() or "default nice 0"


def test_a_training_runs_in_a_worker_and_reports_its_progress(tmp_path):
    store = RunStore(tmp_path)
    request = request_for(store, steps=10)
    progress = Recorder()
    result = run_in_worker(request, progress)
    run_id = request["run_ids"]["baseline"]
    assert result.status == "finished" and result.run_ids == {"baseline": run_id}
    assert [fraction for fraction, _ in progress.reports] == [step / 10 for step in range(1, 11)]
    record = store.get_run(run_id)
    assert record.status == "finished" and record.pid != os.getpid()  # trained elsewhere
    assert result.summaries["baseline"] == record.summary


def test_stop_reaches_the_worker_which_keeps_what_it_did(tmp_path):
    store = RunStore(tmp_path)
    request = request_for(store, steps=100_000)
    run_id = request["run_ids"]["baseline"]

    def never_hang(progress: Recorder) -> None:  # a stop that never arrives fails, not hangs
        if len(progress.reports) == 300:
            os.kill(store.get_run(run_id).pid, signal.SIGKILL)

    result = run_in_worker(request, Recorder(stop_after=3, on_report=never_hang))
    record = store.get_run(run_id)
    assert result.status == record.status == "stopped"
    assert record.checkpoint_step is not None and record.summary["steps"] < 100_000


def test_the_worker_runs_at_lower_priority_and_a_killed_one_leaves_resumable_runs(tmp_path):
    store = RunStore(tmp_path)
    request = request_for(store, steps=100_000)
    run_id = request["run_ids"]["baseline"]
    seen: dict[str, str] = {}

    def kill_after_a_checkpoint(progress: Recorder) -> None:
        record = store.get_run(run_id)
        if record.checkpoint_step and "priority" not in seen:
            seen["priority"] = priority_of(record.pid)
            seen["group"] = autogroup_of(record.pid)
            os.kill(record.pid, signal.SIGKILL)

    with pytest.raises(WorkerDied, match="signal 9"):
        run_in_worker(request, Recorder(on_report=kill_after_a_checkpoint))
    expected = "SCHED_IDLE" if hasattr(os, "SCHED_IDLE") else f"nice {WORKER_NICE}"
    assert seen["priority"] == expected
    if seen["group"] is not None:  # a group of its own, below every other (a browser's too)
        assert seen["group"].endswith(f"nice {WORKER_NICE}")
        assert seen["group"].split()[0] != autogroup_of(os.getpid()).split()[0]
    record = store.get_run(run_id)
    assert record.status == "interrupted" and "resume" in record.message


def test_a_failing_training_is_one_line_naming_the_cause(tmp_path):
    store = RunStore(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    request = request_for(store, steps=5)
    request["config"]["corpus"] = str(empty)
    with pytest.raises(JobFailed, match=r"^CorpusError: .*empty") as raised:
        run_in_worker(request, Recorder())
    assert "\n" not in str(raised.value)
    assert store.get_run(request["run_ids"]["baseline"]).status == "failed"


def training_worker(request: dict) -> subprocess.Popen:
    """`python -m thermolab.training.worker` started on `request`, once it reports progress."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "thermolab.training.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker.stdin.write(json.dumps(request) + "\n")
    worker.stdin.flush()
    assert "progress" in json.loads(worker.stdout.readline())  # it is training
    return worker


def test_the_worker_exits_at_once_when_the_server_is_gone(tmp_path):
    """End of its input is the server dying (`kill -9` closes the pipe): no summary is written,
    the run stays "running" under a dead pid, for the next server to mark it interrupted."""
    store = RunStore(tmp_path)
    request = request_for(store, steps=100_000)
    worker = training_worker(request)
    started = time.monotonic()
    worker.stdin.close()
    assert worker.wait(timeout=30) == 3 and time.monotonic() - started < 30
    worker.stdout.close()
    run_id = request["run_ids"]["baseline"]
    assert store.get_run(run_id).status == "running"
    assert run_id in store.mark_interrupted()


def test_a_bad_training_place_is_refused_before_any_run_is_created(tmp_path, monkeypatch):
    from thermolab.training import start_training

    monkeypatch.setenv("THERMOLAB_TRAINING_IN", "gpu-cluster")
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="THERMOLAB_TRAINING_IN"):
        start_training(TrainConfig(steps=5, **TINY), store)
    assert store.list_runs() == []


def test_a_worker_that_cannot_start_fails_its_runs_with_the_reason(tmp_path, monkeypatch):
    from thermolab.training import worker

    def no_processes(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(worker.subprocess, "Popen", no_processes)
    store = RunStore(tmp_path)
    request = request_for(store, steps=5)
    with pytest.raises(JobFailed, match="could not start: Resource temporarily unavailable"):
        run_in_worker(request, Recorder())
    record = store.get_run(request["run_ids"]["baseline"])
    assert record.status == "failed" and "could not start" in record.message


def test_the_worker_exits_at_once_when_its_progress_pipe_breaks(tmp_path):
    """The other sign of a dead server: writing progress fails. The run must stay "running"
    (for the next server to mark interrupted), never be marked failed by the trainer."""
    store = RunStore(tmp_path)
    request = request_for(store, steps=100_000)
    worker = training_worker(request)
    worker.stdout.close()  # stdin stays open: only the broken pipe tells
    assert worker.wait(timeout=30) == 3
    worker.stdin.close()
    assert store.get_run(request["run_ids"]["baseline"]).status == "running"
