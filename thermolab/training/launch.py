"""Training as a job: prepare the runs, hand the loop to the process-wide job manager.

The page calls `start_training` (or `start_resume`) and keeps the returned `Launch`; the job
runs off the Streamlit script thread, queued behind the manager's cap, and writes everything
it produces to the run store, which the page reads back while it runs and after a restart.
By default the loop itself runs in a worker process (`thermolab.training.worker`, at lower CPU
priority), so training never holds the server's interpreter lock; `THERMOLAB_TRAINING_IN=thread`
runs it on the job's thread instead (tests that patch the trainer in this process use it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from thermolab.jobs import Job, JobContext, JobManager, get_manager
from thermolab.runs import ACTIVE_STATUSES, RunRecord, RunStore
from thermolab.training.config import MODES, TrainConfig
from thermolab.training.trainer import prepare
from thermolab.training.worker import run_in_worker, run_request

__all__ = ["RESUMABLE", "Launch", "may_resume", "start_resume", "start_training", "visible_to"]

#: Statuses a training group can be resumed from (its last checkpoint).
RESUMABLE = frozenset({"interrupted", "stopped"})
WHERE = ("process", "thread")  # where a training job's loop runs


def _where() -> str:
    """Where training jobs run their loop, from `THERMOLAB_TRAINING_IN` (checked before any
    run is created, so a bad value leaves nothing queued)."""
    where = os.environ.get("THERMOLAB_TRAINING_IN", "process")
    if where not in WHERE:
        raise ValueError(f"THERMOLAB_TRAINING_IN must be one of {WHERE}, not {where!r}")
    return where


def _training_work(
    request: dict[str, Any], store: RunStore, where: str
) -> Callable[[JobContext], Any]:
    """The job's work: `request` (see `thermolab.training.worker`) in a worker process, or on
    the job's thread (`where` = "thread")."""
    if where == "process":
        return lambda context: run_in_worker(request, context)
    return lambda context: run_request(request, store, context)


@dataclass(frozen=True)
class Launch:
    """A submitted side-by-side training: its job, its group id and its run ids by mode."""

    job: Job
    group: str
    run_ids: dict[str, str]


def start_training(
    config: TrainConfig,
    store: RunStore,
    *,
    modes: Sequence[str] = MODES,
    owner: str | None = None,
    manager: JobManager | None = None,
) -> Launch:
    """Create the runs (status "queued") and submit their training as one job."""
    where = _where()
    group, run_ids = prepare(config, store, modes=modes, owner=owner)
    manager = manager or get_manager()
    request = {
        "action": "train",
        "store": str(store.path),
        "config": config.to_dict(),
        "run_ids": run_ids,
    }
    job = manager.submit(
        f"TinyGPT {' + '.join(run_ids)} ({config.steps} steps)",
        _training_work(request, store, where),
        owner=owner,
        on_cancel=_mark_cancelled(store, run_ids, "stopped before it started"),
    )
    return Launch(job, group, run_ids)


def _mark_cancelled(store: RunStore, run_ids: dict[str, str], what: str):
    """A job hook: runs whose job was cancelled while queued are "stopped", saying why.

    Without it they would stay "queued" (and look active to everyone) until a restart.
    """

    def on_cancel(job: Job) -> None:
        reason = job.stop_reason or "stopped while waiting in the queue"
        for run_id in run_ids.values():
            store.set_status(run_id, "stopped", f"{what}: {reason}")

    return on_cancel


def visible_to(records: Iterable[RunRecord], owner: str) -> bool:
    """Whether a session may see a training group: its own, or one that no longer trains.

    Another session's queued or running training is private to it; once it has ended
    (finished, stopped, failed or interrupted) it is shown to everyone, read-only.
    """
    records = list(records)
    return any(r.owner == owner for r in records) or not any(
        r.status in ACTIVE_STATUSES for r in records
    )


def may_resume(
    records: Iterable[RunRecord], owner: str, owner_alive: Callable[[str], bool]
) -> bool:
    """Whether `owner` may resume this group: it is stopped or interrupted, and either
    `owner` started it or the session that did is gone (a closed browser, a restarted server),
    in which case resuming adopts it. A group whose owner is still connected stays theirs.
    """
    records = list(records)
    if not records or not any(r.status in RESUMABLE for r in records):
        return False
    if any(r.status in ACTIVE_STATUSES for r in records):
        return False
    owners = {r.owner for r in records} - {None}
    return owner in owners or not any(owner_alive(other) for other in owners)


def start_resume(
    store: RunStore, group: str, *, owner: str | None = None, manager: JobManager | None = None
) -> Launch:
    """Submit the continuation of an interrupted or stopped training group.

    With `owner`, the runs are recorded as that session's from now on (it may have adopted
    them from a session that is gone).
    """
    where = _where()
    run_ids = {record.config["mode"]: record.id for record in store.list_runs(group=group)}
    if not run_ids:
        raise ValueError(f"no runs belong to group {group!r}")
    for run_id in run_ids.values():
        if owner is not None:
            store.set_owner(run_id, owner)
        store.set_status(run_id, "queued", "waiting to resume")
    manager = manager or get_manager()
    request = {"action": "resume", "store": str(store.path), "group": group, "run_ids": run_ids}
    job = manager.submit(
        f"TinyGPT resume {group}",
        _training_work(request, store, where),
        owner=owner,
        on_cancel=_mark_cancelled(store, run_ids, "resume cancelled before it started"),
    )
    return Launch(job, group, run_ids)
