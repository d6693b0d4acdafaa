"""Training as a job: prepare the runs, hand the loop to the process-wide job manager.

The page calls `start_training` (or `start_resume`) and keeps the returned `Launch`; the job
runs off the Streamlit script thread, queued behind the manager's cap, and writes everything
it produces to the run store, which the page reads back while it runs and after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from thermolab.jobs import Job, JobManager, get_manager
from thermolab.runs import RunStore
from thermolab.training.config import MODES, TrainConfig
from thermolab.training.trainer import prepare, resume, train

__all__ = ["Launch", "start_resume", "start_training"]


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
    group, run_ids = prepare(config, store, modes=modes, owner=owner)
    manager = manager or get_manager()
    job = manager.submit(
        f"TinyGPT {' + '.join(run_ids)} ({config.steps} steps)",
        lambda context: train(config, store, run_ids, context),
        owner=owner,
    )
    return Launch(job, group, run_ids)


def start_resume(
    store: RunStore, group: str, *, owner: str | None = None, manager: JobManager | None = None
) -> Launch:
    """Submit the continuation of an interrupted or stopped training group."""
    run_ids = {record.config["mode"]: record.id for record in store.list_runs(group=group)}
    if not run_ids:
        raise ValueError(f"no runs belong to group {group!r}")
    for run_id in run_ids.values():
        store.set_status(run_id, "queued", "waiting to resume")
    manager = manager or get_manager()
    job = manager.submit(
        f"TinyGPT resume {group}", lambda context: resume(store, group, context), owner=owner
    )
    return Launch(job, group, run_ids)
