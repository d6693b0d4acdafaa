"""What a finished (or stopped) run amounts to, and how the TSU run compares with the baseline.

A summary is a plain JSON-able dict, stored with the run. Energy stays split by kind
(measured, estimated, projected) and by source: nothing here adds joules of different kinds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from thermolab.energy.ledger import ENERGY_KINDS, EnergyLedger
from thermolab.training.evaluation import Evaluation

__all__ = ["compare", "steps_to_target", "summarise"]


def steps_to_target(val_history: list[tuple[int, float]], target: float) -> int | None:
    """The first evaluated step count whose validation loss is ≤ target (None if never)."""
    for step, loss in sorted(val_history):
        if loss <= target:
            return step
    return None


def summarise(
    *,
    mode: str,
    status: str,
    steps: int,
    tokens: int,
    train_seconds: float,
    recent_losses: list[float],
    step_seconds: Sequence[float],
    val_history: list[tuple[int, float]],
    last_evaluation: tuple[int, Evaluation] | None,
    ledger: EnergyLedger,
    target_val_loss: float,
    n_parameters: int,
    n_stochastic_parameters: int,
    meter_note: str | None,
    attention: str | None = None,
    optimizer: str | None = None,
) -> dict[str, Any]:
    """One run's summary. Losses in nats/token, times in s, energy in J (by kind and source).

    train_loss: mean of the last (up to 20) steps' training losses.
    step_seconds_mean, step_seconds_sd: mean and sample standard deviation of the `timed_steps`
    step times given (the steps this process trained; a resumed run's earlier ones are not
    among them); the sd is None below two steps.
    energy_to_target: joules spent in the training steps up to the first evaluation at or
    below target_val_loss, one entry per kind (None when the target was not reached).
    attention, optimizer: the run's own (a pair's two runs may differ in either).
    """
    target_steps = steps_to_target(val_history, target_val_loss)
    summary: dict[str, Any] = {
        "mode": mode,
        "status": status,
        "steps": steps,
        "tokens": tokens,
        "train_seconds": train_seconds,
        "tokens_per_second": tokens / train_seconds if train_seconds > 0 else None,
        "train_loss": sum(recent_losses) / len(recent_losses) if recent_losses else None,
        "timed_steps": len(step_seconds),
        "step_seconds_mean": statistics.fmean(step_seconds) if step_seconds else None,
        "step_seconds_sd": statistics.stdev(step_seconds) if len(step_seconds) > 1 else None,
        "n_parameters": n_parameters,
        "n_stochastic_parameters": n_stochastic_parameters,
        "target_val_loss": target_val_loss,
        "steps_to_target": target_steps,
        "energy": [energy.to_dict() for energy in ledger.totals(mode)],
        "joules_per_token": [
            {**energy.to_dict(), "joules": energy.joules / tokens}
            for energy in ledger.totals(mode)
            if tokens > 0
        ],
        "energy_to_target": None
        if target_steps is None
        else [
            energy.to_dict()
            for kind in ENERGY_KINDS
            if (energy := ledger.to_target(mode, kind, target_steps)) is not None
        ],
        "meter_note": meter_note,
        "attention": attention,
        "optimizer": optimizer,
    }
    if last_evaluation is not None:
        evaluated_at, evaluation = last_evaluation
        summary.update(
            evaluated_at=evaluated_at,
            val_loss=evaluation.val_loss,
            val_loss_mean_weights=evaluation.val_loss_mean_weights,
            val_loss_predictive=evaluation.val_loss_predictive,
            ece=evaluation.reliability.ece,
            reliability={
                "bin_edges": evaluation.reliability.bin_edges,
                "confidence": evaluation.reliability.confidence,
                "accuracy": evaluation.reliability.accuracy,
                "counts": evaluation.reliability.counts,
            },
            predictive_entropy=evaluation.predictive_entropy,
            mutual_information=evaluation.mutual_information,
            attention_entropy=evaluation.attention_entropy,
            review=None if evaluation.review is None else evaluation.review.to_dict(),
            flagged_fraction=None
            if evaluation.review is None
            else evaluation.review.flagged_fraction,
            aurc=None if evaluation.review is None else evaluation.review.aurc["entropy"],
        )
    return summary


def _ratio(tsu: float | None, baseline: float | None) -> float | None:
    if tsu is None or baseline is None or baseline == 0 or not math.isfinite(baseline):
        return None
    return tsu / baseline


def _by_kind(entries: list[dict[str, Any]] | None) -> dict[tuple[str, str], float]:
    return {(entry["kind"], entry["source"]): entry["joules"] for entry in entries or []}


def compare(baseline: dict[str, Any], tsu: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of (quantity, unit, baseline, tsu, tsu ÷ baseline) for the result table.

    Energy rows are one per kind and source present in either run; a ratio is given only
    when both runs have that same kind and source, so a projection is never divided by a
    measurement.
    """
    rows = []
    for key, label, unit in (
        ("val_loss", "validation loss", "nats/token"),
        ("train_loss", "training loss (last steps)", "nats/token"),
        ("tokens_per_second", "training throughput", "tokens/s"),
        ("train_seconds", "training time", "s"),
        ("ece", "expected calibration error", ""),
        ("aurc", "risk–coverage area (AURC, by entropy)", ""),
        ("flagged_fraction", "tokens flagged for review", "fraction"),
        ("steps_to_target", "steps to target loss", "steps"),
    ):
        b, t = baseline.get(key), tsu.get(key)
        rows.append(
            {"quantity": label, "unit": unit, "baseline": b, "tsu": t, "ratio": _ratio(t, b)}
        )
    for key, label, unit in (
        ("joules_per_token", "energy per token", "J/token"),
        ("energy_to_target", "energy to target loss", "J"),
    ):
        b, t = _by_kind(baseline.get(key)), _by_kind(tsu.get(key))
        for kind, source in sorted(set(b) | set(t)):
            rows.append(
                {
                    "quantity": f"{label} ({kind})",
                    "unit": unit,
                    "source": source,
                    "baseline": b.get((kind, source)),
                    "tsu": t.get((kind, source)),
                    "ratio": _ratio(t.get((kind, source)), b.get((kind, source))),
                }
            )
    return rows
