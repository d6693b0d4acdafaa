"""One call from data and settings to a trained, evaluated RBM with its energy: what the
command line, the page and the benchmark share.

Energy is reported per kind, never added across kinds: "projected" from the training's counted
p-bits (`thermolab.energy.ledger.project_operations`), and "measured" (RAPL) or "estimated"
(CPU-time power model) from the meter that sees the CPU the training ran on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from thermolab.backends import get_backend
from thermolab.ebm.data import BinaryDataset, one_hot
from thermolab.ebm.evaluation import (
    LogPartition,
    log_likelihood,
    log_partition,
    reconstruction_error,
)
from thermolab.ebm.inference import Classification, classify
from thermolab.ebm.model import RBM
from thermolab.ebm.training import RBMConfig, RBMTraining, TrainingProgress, train_rbm
from thermolab.energy.ledger import Energy, OperationEnergy, project_operations
from thermolab.energy.meters import MeterUnavailable, open_meter

__all__ = ["RBMReport", "joint_rows", "run_rbm"]


@dataclass
class RBMReport:
    """A trained model and its evaluation (nats per example; LL of [x, label] with labels).

    training: the run (model, curves, p-bits). log_z: log Z at T = 1 (exact or AIS).
    train_log_likelihood, test_log_likelihood: mean log p(v). reconstruction_error: test set.
    classification: test-set classification (joint RBM only), else None.
    evaluation_pbit_updates: p-bits AIS drew (0 when log Z is exact).
    energy: one Energy per kind the run has (projected always; measured or estimated).
    """

    training: RBMTraining
    log_z: LogPartition
    train_log_likelihood: float
    test_log_likelihood: float
    reconstruction_error: float
    classification: Classification | None
    evaluation_pbit_updates: int
    energy: list[Energy]
    labels: bool

    @property
    def rbm(self) -> RBM:
        return self.training.rbm

    def summary(self) -> dict[str, object]:
        """The command line's JSON keys (a stable contract)."""
        return {
            "train_log_likelihood": self.train_log_likelihood,
            "test_log_likelihood": self.test_log_likelihood,
            "log_likelihood_method": self.log_z.method,
            "log_likelihood_stderr": self.log_z.stderr,
            "log_partition_function": self.log_z.value,
            "ais_temperatures": self.log_z.n_temperatures or None,
            "reconstruction_error": self.reconstruction_error,
            "classification_accuracy": None
            if self.classification is None
            else self.classification.accuracy,
            "pbit_updates": self.training.pbit_updates,
            "evaluation_pbit_updates": self.evaluation_pbit_updates,
            "epochs_completed": len(self.training.history),
            "stopped": self.training.stopped,
            "seconds": self.training.seconds,
            "energy": [energy.to_dict() for energy in self.energy],
        }


def joint_rows(dataset: BinaryDataset, labels: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) visible rows: images, or [image, one-hot label] for a joint RBM."""
    if not labels:
        return dataset.train, dataset.test
    if dataset.train_labels is None or dataset.test_labels is None or dataset.n_classes < 2:
        raise ValueError(f"{dataset.name} has no labels to train a joint (classifying) RBM on")
    return (
        np.hstack([dataset.train, one_hot(dataset.train_labels, dataset.n_classes)]),
        np.hstack([dataset.test, one_hot(dataset.test_labels, dataset.n_classes)]),
    )


def _open_cpu_meter(name: str, scope: str):
    """RAPL (measured) if readable, else the CPU-time estimate; "none" gives None."""
    if name == "none":
        return None
    if name == "auto":
        with contextlib.suppress(MeterUnavailable):
            return open_meter("rapl")
        name = "estimate"
    if name == "estimate":
        return open_meter("estimate", scope=scope)
    return open_meter(name)


def run_rbm(
    dataset: BinaryDataset,
    config: RBMConfig,
    *,
    labels: bool = False,
    initial: RBM | None = None,
    progress: TrainingProgress | None = None,
    meter: str = "auto",
    meter_scope: str = "process",
    op_energy: OperationEnergy | None = None,
    ais_temperatures: int = 2000,
    ais_runs: int = 100,
) -> RBMReport:
    """Train (epochs > 0) or just evaluate `initial`, then measure log Z, LLs, reconstruction,
    classification (with `labels`) and energy. meter: "auto", "rapl", "estimate" or "none";
    meter_scope: "process" or "thread" CPU time for the estimate (see EstimateMeter)."""
    train_rows, test_rows = joint_rows(dataset, labels)
    config.check(train_rows.shape[1])
    cpu_meter = _open_cpu_meter(meter, meter_scope)
    try:
        joules_before = 0.0 if cpu_meter is None else cpu_meter.joules()
        training = train_rbm(
            train_rows, config, test_data=test_rows, progress=progress, initial=initial
        )
        energy = [project_operations({"samples": training.pbit_updates}, op_energy)]
        if cpu_meter is not None:
            spent = cpu_meter.joules() - joules_before
            energy.append(Energy(spent, cpu_meter.kind, cpu_meter.source))
    finally:
        if cpu_meter is not None:
            cpu_meter.close()
    rbm = training.rbm
    backend = get_backend(config.backend, seed=config.seed + 1)
    log_z = log_partition(
        rbm, backend, n_temperatures=ais_temperatures, n_runs=ais_runs, base_data=train_rows
    )
    n_classes = dataset.n_classes
    return RBMReport(
        training=training,
        log_z=log_z,
        train_log_likelihood=log_likelihood(rbm, train_rows, log_z),
        test_log_likelihood=log_likelihood(rbm, test_rows, log_z),
        reconstruction_error=reconstruction_error(rbm, test_rows),
        classification=classify(rbm, dataset.test, dataset.test_labels, n_classes)
        if labels
        else None,
        evaluation_pbit_updates=backend.counter.snapshot()["samples"],
        energy=energy,
        labels=labels,
    )
