"""Results as plain rows and JSON: the comparison table and the export shared by page and CLI."""

from __future__ import annotations

from typing import Any

import numpy as np

from thermolab.quantum.baselines import BaselineResult
from thermolab.quantum.fixed_angles import FixedAngleResult
from thermolab.quantum.instance import QaoaInstance
from thermolab.quantum.qaoa import LayerResult, sample_states

__all__ = ["comparison_rows", "results_json", "sampled_objectives"]


def sampled_objectives(instance: QaoaInstance, layer: LayerResult, shots: int, seed: int = 0):
    """Measure the optimised circuit `shots` times: (spins (shots, n), objective per shot)."""
    if layer.probabilities is None:
        raise ValueError(f"the p = {layer.p} state was not kept (only the deepest layer's is)")
    states = sample_states(layer.probabilities, instance.n_qubits, shots, seed)
    if instance.is_maxcut:
        return states, instance.cuts(states)
    from thermolab import exact

    return states, exact.energy(instance.model, states) + instance.constant


def comparison_rows(
    instance: QaoaInstance,
    layers: list[LayerResult],
    baselines: list[BaselineResult],
    fixed_angles: list[FixedAngleResult] = (),
) -> list[dict[str, Any]]:
    """One row per method: QAOA at each p (mean over the circuit's output), QAOA at the published
    fixed angles at each p (if any), then the baselines."""
    label = instance.objective_label()
    rows: list[dict[str, Any]] = []
    for layer in layers:
        rows.append(
            {
                "method": f"QAOA p={layer.p}",
                f"{label}": layer.expected_objective,
                "approximation ratio": layer.ratio,
                "P(optimal)": layer.optimal_probability,
                "seconds": layer.seconds,
                "note": f"expectation; {layer.evaluations} circuit evaluations on {layer.device}"
                + (
                    f", {layer.gradient_evaluations} gradients at "
                    f"{1e3 * layer.gradient_seconds / layer.gradient_evaluations:.1f} ms each"
                    if layer.gradient_evaluations
                    else ""
                ),
            }
        )
    for fixed in fixed_angles:
        rows.append(
            {
                "method": f"fixed angles p={fixed.p}",
                f"{label}": fixed.expected_cut,
                "approximation ratio": fixed.ratio,
                "P(optimal)": fixed.optimal_probability,
                "seconds": fixed.seconds,
                "note": f"published angles (Wurtz & Lykov 2021), no optimiser; published ratio "
                f"{fixed.published_ratio:.4f}",
            }
        )
    for base in baselines:
        rows.append(
            {
                "method": base.method,
                f"{label}": base.objective,
                "approximation ratio": base.ratio,
                "P(optimal)": np.nan,
                "seconds": base.seconds,
                "note": base.detail,
            }
        )
    return rows


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values).reshape(-1)]


def results_json(
    instance: QaoaInstance,
    layers: list[LayerResult],
    baselines: list[BaselineResult],
    settings: dict[str, Any] | None = None,
    fixed_angles: list[FixedAngleResult] = (),
) -> dict[str, Any]:
    """Everything needed to reproduce or plot a run, JSON-serialisable."""
    edges, couplings = instance.model.edges()
    return {
        "instance": {
            "name": instance.name,
            "n_qubits": instance.n_qubits,
            "edges": edges.tolist(),
            "couplings": _floats(couplings),
            "fields": _floats(instance.model.fields),
            "constant": instance.constant,
            "is_maxcut": instance.is_maxcut,
            "max_cut": instance.max_cut,
            "ground_energy": instance.ground_energy,
        },
        "settings": settings or {},
        "layers": [
            {
                "p": layer.p,
                "gammas": _floats(layer.gammas),
                "betas": _floats(layer.betas),
                "mean_energy": layer.mean_energy,
                "expected_objective": layer.expected_objective,
                "approximation_ratio": layer.ratio,
                "optimal_probability": layer.optimal_probability,
                "seconds": layer.seconds,
                "evaluations": layer.evaluations,
                "gradient_evaluations": layer.gradient_evaluations,
                "gradient_seconds": layer.gradient_seconds,
                "device": layer.device,
                "restart_energies": _floats(layer.restart_energies),
                "path": layer.best_run.path.tolist(),
                "path_energies": _floats(layer.best_run.path_energies),
            }
            for layer in layers
        ],
        "fixed_angles": [
            {
                "p": fixed.p,
                "gammas": _floats(fixed.gammas),
                "betas": _floats(fixed.betas),
                "mean_energy": fixed.mean_energy,
                "expected_objective": fixed.expected_cut,
                "approximation_ratio": fixed.ratio,
                "published_ratio": fixed.published_ratio,
                "optimal_probability": fixed.optimal_probability,
            }
            for fixed in fixed_angles
        ],
        "baselines": [
            {
                "method": base.method,
                "energy": base.energy,
                "objective": base.objective,
                "approximation_ratio": base.ratio,
                "seconds": base.seconds,
                "state": base.state.astype(int).tolist(),
                "detail": base.detail,
            }
            for base in baselines
        ],
    }
