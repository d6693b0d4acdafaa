"""An RBM training (or evaluation of a loaded model) as a job of `thermolab.jobs`: under the
same cap, queue and Stop as every long job, reporting what it has so far as it goes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermolab.ebm.data import BinaryDataset
from thermolab.ebm.model import RBM
from thermolab.ebm.run import RBMReport, joint_rows, run_rbm
from thermolab.ebm.training import EpochRecord, RBMConfig
from thermolab.jobs import Job, JobContext, JobManager

__all__ = ["LiveTraining", "start_rbm_job"]


@dataclass(frozen=True)
class LiveTraining:
    """A job's partial result: the curves so far, the current model and its fantasy particles
    (β = 1 negative chains' visible states, (n_chains, n_visible))."""

    history: list[EpochRecord]
    rbm: RBM
    fantasy: np.ndarray


class _JobProgress:
    """TrainingProgress over a JobContext: stop flag in, partial results out."""

    def __init__(self, context: JobContext, epochs: int) -> None:
        self._context = context
        self._epochs = epochs

    @property
    def stop_requested(self) -> bool:
        return self._context.stop_requested

    def update(
        self, fraction: float, history: list[EpochRecord], rbm: RBM, fantasy: np.ndarray
    ) -> None:
        message = f"epoch {len(history)} of {self._epochs} done"
        partial = LiveTraining(list(history), rbm, np.array(fantasy))
        # The last tenth is kept for the evaluation that follows training (AIS, classification).
        self._context.report(0.9 * fraction, message, partial=partial)


def start_rbm_job(
    manager: JobManager,
    owner: str | None,
    dataset: BinaryDataset,
    config: RBMConfig,
    *,
    labels: bool = False,
    initial: RBM | None = None,
) -> Job:
    """Validate, then submit the training as one job whose result is an `RBMReport`.

    Raises ValueError (one line) before submitting anything when the request cannot run.
    """
    train_rows, _ = joint_rows(dataset, labels)
    config.check(train_rows.shape[1])
    if initial is not None and initial.n_visible != train_rows.shape[1]:
        raise ValueError(
            f"the model has {initial.n_visible} visible units, the data {train_rows.shape[1]}"
            + (" (with its label units)" if labels else "")
        )

    def work(context: JobContext) -> RBMReport:
        progress = _JobProgress(context, config.epochs)
        report = run_rbm(
            dataset,
            config,
            labels=labels,
            initial=initial,
            progress=progress,
            meter_scope="thread",  # the job's own thread: other sessions' work is not charged
        )
        context.report(1.0, "evaluated")
        return report

    what = "evaluation" if config.epochs == 0 else "training"
    return manager.submit(f"RBM {what} ({dataset.name}, {config.method})", work, owner=owner)
