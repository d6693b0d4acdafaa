"""`thermolab.training.browse`: stored trainings read back as the training page shows them."""

from __future__ import annotations

import time

import pytest

from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare
from thermolab.training.browse import (
    group_records,
    progress_rows,
    tokens_per_step,
    visible_groups,
)

CONFIG = TrainConfig(corpus="default", steps=40, batch_size=4, block_size=16)


def test_a_groups_runs_come_baseline_first(tmp_path):
    store = RunStore(tmp_path)
    group, run_ids = prepare(CONFIG, store, modes=("tsu", "baseline"))
    records = group_records(store, group)
    assert list(records) == ["baseline", "tsu"]
    assert {mode: record.id for mode, record in records.items()} == run_ids


def test_a_session_sees_its_own_and_finished_groups_newest_first(tmp_path):
    store = RunStore(tmp_path)
    alice_running, _ = prepare(CONFIG, store, owner="alice")
    time.sleep(0.01)
    bob_running, _ = prepare(CONFIG, store, owner="bob")
    time.sleep(0.01)
    bob_done, bob_done_ids = prepare(CONFIG, store, owner="bob")
    for run_id in bob_done_ids.values():
        store.set_status(run_id, "finished")
    shown, total = visible_groups(store, "alice", limit=10)
    assert list(shown) == [bob_done, alice_running] and total == 2  # not bob's queued one
    shown, total = visible_groups(store, "alice", limit=1)
    assert list(shown) == [bob_done] and total == 2
    assert bob_running in visible_groups(store, "bob", limit=10)[0]


def test_progress_rows_count_steps_losses_rate_and_energy_per_kind(tmp_path):
    store = RunStore(tmp_path)
    group, _ = prepare(CONFIG, store, modes=("baseline",))
    records = group_records(store, group)
    data = {
        "baseline": {
            "metrics": {
                "train_loss": ([1, 2, 3], [4.6, 4.1, 3.9]),
                "val_loss": ([2], [4.2]),
                "step_seconds": ([1, 2, 3], [0.5, 0.5, 1.0]),
            },
            "energy": [
                {"kind": "estimated", "joules": 1.5},
                {"kind": "estimated", "joules": 0.5},
                {"kind": "measured", "joules": 3.0},
            ],
        }
    }
    (row,) = progress_rows(records, data)
    assert row["step"] == "3 of 40" and row["train loss"] == 3.9
    assert (row["val loss"], row["val at step"]) == (4.2, 2)
    assert row["tokens/s (measured)"] == pytest.approx(3 * 4 * 16 / 2.0)
    assert row["energy so far, J (estimated)"] == 2.0  # kinds in columns of their own
    assert row["energy so far, J (measured)"] == 3.0


def test_a_run_without_rows_yet_and_a_foreign_configuration(tmp_path):
    store = RunStore(tmp_path)
    group, _ = prepare(CONFIG, store, modes=("baseline",))
    (row,) = progress_rows(group_records(store, group), {"baseline": {"metrics": {}, "energy": []}})
    assert row["step"] == "0 of 40" and row["train loss"] is None
    assert row["tokens/s (measured)"] is None
    assert tokens_per_step({"preset": "no-such-preset"}) is None
    assert tokens_per_step(CONFIG.to_dict()) == 4 * 16
