"""Reading stored trainings back: a group's runs, the groups a session may see, progress rows.

What the training page (and anyone browsing a run store) shows is computed here from the run
store alone, so the numbers beside the charts are the same in Python, in tests and in the app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from thermolab.runs import RunRecord, RunStore
from thermolab.training.config import MODES, TrainConfig
from thermolab.training.launch import visible_to

__all__ = ["group_records", "progress_rows", "tokens_per_step", "visible_groups"]


def group_records(store: RunStore, group: str) -> dict[str, RunRecord]:
    """The group's runs by mode, baseline first (a run without a mode under its id)."""
    order = {mode: index for index, mode in enumerate(MODES)}
    records = sorted(
        store.list_runs(group=group),
        key=lambda record: order.get(record.config.get("mode"), len(order)),
    )
    return {record.config.get("mode", record.id): record for record in records}


def visible_groups(
    store: RunStore, owner: str, limit: int
) -> tuple[dict[str, list[RunRecord]], int]:
    """Training groups `owner` may see, newest first, at most `limit`: ({group: its runs}, how
    many it may see in all).

    Its own, and everyone's that no longer train (read-only); another session's queued or
    running training is not listed (`visible_to`).
    """
    by_group: dict[str, list[RunRecord]] = {}
    for record in store.list_runs(kind="tinygpt"):
        by_group.setdefault(record.group or record.id, []).append(record)
    visible = [(group, runs) for group, runs in by_group.items() if visible_to(runs, owner)]
    visible.sort(key=lambda item: max(run.created_at for run in item[1]), reverse=True)
    return dict(visible[:limit]), len(visible)


def tokens_per_step(train: Mapping[str, Any]) -> int | None:
    """Training tokens per step (batch × block) of a stored configuration; None if it no longer
    loads (a run stored by another version)."""
    try:
        config = TrainConfig.from_dict(dict(train))
    except (TypeError, ValueError):
        return None
    return config.tokens_per_step


def _last(series: tuple[Sequence, Sequence] | None) -> tuple[int, float] | None:
    """The last (step, value) of a metric series, or None when it has none yet."""
    if not series or not series[0]:
        return None
    return int(series[0][-1]), float(series[1][-1])


def progress_rows(
    records: Mapping[str, RunRecord], data: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per run: status, steps, last losses, measured tokens/s, energy so far per kind.

    data[mode]: {"metrics": {name: (steps, values)}, "energy": the store's energy rows}. The
    trainer logs a step's rows at the number of steps done, so the last training-loss row's
    step is the step count. Energies of different kinds go in different columns, never summed.
    """
    rows = []
    for mode, record in records.items():
        train = record.config.get("train", {})
        metrics = data[mode]["metrics"]
        loss, val = _last(metrics.get("train_loss")), _last(metrics.get("val_loss"))
        seconds = metrics.get("step_seconds", ([], []))[1]
        per_step = tokens_per_step(train)
        row: dict[str, Any] = {
            "run": mode,
            "status": record.status,
            "step": f"{0 if loss is None else loss[0]} of {train.get('steps', '?')}",
            "train loss": None if loss is None else loss[1],
            "val loss": None if val is None else val[1],
            "val at step": None if val is None else val[0],
            "tokens/s (measured)": len(seconds) * per_step / sum(seconds)
            if seconds and sum(seconds) > 0 and per_step
            else None,
        }
        for energy_row in data[mode]["energy"]:
            column = f"energy so far, J ({energy_row['kind']})"
            row[column] = row.get(column, 0.0) + energy_row["joules"]
        rows.append(row)
    return rows
