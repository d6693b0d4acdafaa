"""One QAOA experiment: optimise p = 1..p_max; for unweighted 3-regular MaxCut, the published
fixed angles at the same depths (no optimiser); then the classical baselines on the same model.

The page (as a job) and the CLI both call `run_experiment`; neither re-assembles the steps.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from thermolab.quantum.baselines import BaselineResult, run_baselines
from thermolab.quantum.fixed_angles import (
    FIXED_ANGLE_DEPTHS,
    FixedAngleResult,
    fixed_angle_applies,
    run_fixed_angles,
)
from thermolab.quantum.instance import QaoaInstance
from thermolab.quantum.qaoa import DEFAULT_DEVICE, LayerResult, make_circuit, solve

__all__ = ["ExperimentResult", "Progress", "QaoaSettings", "run_experiment"]

#: Share of the progress bar the optimisation fills; the baselines take the rest.
_SOLVE_SHARE = 0.9


class Progress(Protocol):
    """What an experiment needs from its caller: `thermolab.jobs.JobContext` fits."""

    @property
    def stop_requested(self) -> bool: ...

    def report(self, fraction: float, message: str = "", partial: Any = None) -> None: ...


@dataclass(frozen=True)
class QaoaSettings:
    """How to run QAOA on an instance. p_max: deepest circuit (p = 1..p_max are all solved);
    restarts and steps: per p; shots: measurements drawn from the best state; device: the
    simulator ("thermolab" or a PennyLane device name); backend: sampler for the baselines."""

    p_max: int = 2
    method: str = "bfgs"
    init: str = "interp"
    restarts: int = 3
    steps: int = 100
    learning_rate: float = 0.05
    shots: int = 1000
    device: str = DEFAULT_DEVICE
    backend: str = "numpy"
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExperimentResult:
    """Everything one run produced: the optimised layers (one per completed p), the fixed-angle
    results at the same depths (3-regular MaxCut only, else empty), the classical baselines on
    the same model; seconds: wall time of the whole run."""

    instance: QaoaInstance
    settings: QaoaSettings
    layers: list[LayerResult]
    baselines: list[BaselineResult] = field(default_factory=list)
    fixed_angles: list[FixedAngleResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def gradient_evaluations(self) -> int:
        return sum(layer.gradient_evaluations for layer in self.layers)

    @property
    def seconds_per_gradient(self) -> float | None:
        """Mean wall time of one gradient evaluation (None when none ran)."""
        count = self.gradient_evaluations
        return sum(layer.gradient_seconds for layer in self.layers) / count if count else None


class _Silent:
    stop_requested = False

    def report(self, fraction: float, message: str = "", partial: Any = None) -> None:
        return None


def run_experiment(
    instance: QaoaInstance, settings: QaoaSettings, progress: Progress | None = None
) -> ExperimentResult:
    """Solve `instance` at p = 1..settings.p_max, then run the baselines (unless stopped first).

    progress.report(fraction, message, partial=layers so far) is called after every restart;
    progress.stop_requested is polled after every optimiser step.
    """
    progress = progress or _Silent()
    start = time.perf_counter()

    def report(fraction: float, message: str, partial: list[LayerResult]) -> None:
        progress.report(_SOLVE_SHARE * fraction, message, partial=list(partial))

    layers = solve(
        instance,
        settings.p_max,
        method=settings.method,
        init=settings.init,
        restarts=settings.restarts,
        steps=settings.steps,
        learning_rate=settings.learning_rate,
        device=settings.device,
        seed=settings.seed,
        report=report,
        should_stop=lambda: progress.stop_requested,
    )
    fixed: list[FixedAngleResult] = []
    if fixed_angle_applies(instance) and not progress.stop_requested:
        progress.report(_SOLVE_SHARE, "published fixed angles", partial=list(layers))
        depths = [p for p in FIXED_ANGLE_DEPTHS if p <= settings.p_max]
        fixed = run_fixed_angles(
            instance, depths, lambda p: make_circuit(instance, p, settings.device)
        )
    progress.report(0.95, "classical baselines", partial=list(layers))
    baselines = run_baselines(instance, backend=settings.backend, seed=settings.seed)
    return ExperimentResult(
        instance=instance,
        settings=settings,
        layers=layers,
        baselines=baselines,
        fixed_angles=fixed,
        seconds=time.perf_counter() - start,
    )
