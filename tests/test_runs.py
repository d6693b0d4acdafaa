"""The run store: runs and series round-trip, failures of the disk or file are clear errors with
nothing half-written, a killed process loses nothing it committed, and threads share it."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from thermolab.runs import (
    DATABASE_NAME,
    STATUSES,
    RunNotFound,
    RunStore,
    StoreError,
    checkpoint_dir,
    default_runs_dir,
    without_paths,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path) -> RunStore:
    with RunStore(tmp_path / DATABASE_NAME) as opened:
        yield opened


def raw(store: RunStore) -> sqlite3.Connection:
    """A second connection to the same file, for arranging what another process would."""
    return sqlite3.connect(store.path, isolation_level=None)


def test_create_and_get_a_run(store):
    before = time.time()
    run_id = store.create_run(
        "tinygpt-tsu", {"lr": 3e-4, "layers": 4}, name="TSU", owner="session-1", group="g"
    )
    record = store.get_run(run_id)

    assert len(run_id) == 12 and int(run_id, 16) >= 0
    assert (record.id, record.kind, record.name, record.status) == (
        run_id,
        "tinygpt-tsu",
        "TSU",
        "running",
    )
    assert record.config == {"lr": 3e-4, "layers": 4}
    assert record.summary == {}
    assert (record.owner, record.group) == ("session-1", "g")
    assert record.pid == os.getpid() and record.hostname == socket.gethostname()
    assert before <= record.created_at <= record.updated_at <= time.time()
    assert record.checkpoint_path is None and record.checkpoint_step is None
    assert len({store.create_run("k", {}) for _ in range(50)}) == 50


def test_status_checkpoint_and_summary(store):
    run_id = store.create_run("k", {})
    store.set_checkpoint(run_id, 120, store.checkpoint_dir(run_id) / "step-120.pt")
    store.set_summary(run_id, {"val_loss": 1.93, "tokens_per_second": 4100.0})
    store.set_status(run_id, "finished", "done in 3 min")

    record = store.get_run(run_id)
    assert (record.status, record.message) == ("finished", "done in 3 min")
    assert record.checkpoint_step == 120
    assert record.checkpoint_path.endswith(f"tinygpt/{run_id}/step-120.pt")
    assert record.summary == {"val_loss": 1.93, "tokens_per_second": 4100.0}
    assert STATUSES == ("queued", "running", "finished", "stopped", "failed", "interrupted")
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_status(run_id, "exploded")
    with pytest.raises(ValueError, match="JSON"):
        store.set_summary(run_id, {"model": object()})


def test_unknown_run_is_run_not_found(store):
    with pytest.raises(RunNotFound) as caught:
        store.get_run("0123456789ab")
    assert isinstance(caught.value, KeyError)
    assert "0123456789ab" in str(caught.value)
    for call in (
        lambda: store.set_status("0123456789ab", "failed"),
        lambda: store.log_metrics("0123456789ab", [(0, "loss", 1.0)]),
        lambda: store.metrics("0123456789ab"),
        lambda: store.delete_run("0123456789ab"),
    ):
        with pytest.raises(RunNotFound):
            call()


def test_metric_series_round_trip_with_nan(store):
    run_id = store.create_run("k", {})
    store.log_metrics(run_id, [(0, "train_loss", 4.2), (0, "val_loss", 4.3)])
    store.log_metrics(run_id, [(1, "train_loss", math.nan), (2, "train_loss", 3.1)])

    series = store.metrics(run_id)
    assert series["val_loss"] == ([0], [4.3])
    steps, values = series["train_loss"]
    assert steps == [0, 1, 2]
    assert values[0] == 4.2 and math.isnan(values[1]) and values[2] == 3.1
    assert list(store.metrics(run_id, names=["val_loss"])) == ["val_loss"]


@pytest.mark.parametrize(
    "bad", [(-1, "loss", 1.0), (0, "", 1.0), (0, "loss", "high"), (1.5, "x", 1)]
)
def test_a_bad_metric_row_writes_nothing(store, bad):
    run_id = store.create_run("k", {})

    with pytest.raises(ValueError):
        store.log_metrics(run_id, [(0, "loss", 1.0), bad])
    assert store.metrics(run_id) == {}


def test_energy_series_and_samples(store):
    run_id = store.create_run("k", {})
    store.log_energy(
        run_id,
        [(0, 0.25, 12.5, "measured", "NVML x"), (0, 0.25, 2e-9, "projected", "20 fJ/bit")],
    )
    store.add_sample(run_id, 100, "baseline", "ROMEO:\nO, she doth teach")

    assert store.energy(run_id) == [
        {"step": 0, "seconds": 0.25, "joules": 12.5, "kind": "measured", "source": "NVML x"},
        {"step": 0, "seconds": 0.25, "joules": 2e-9, "kind": "projected", "source": "20 fJ/bit"},
    ]
    [sample] = store.samples(run_id)
    assert (sample["step"], sample["label"], sample["text"]) == (
        100,
        "baseline",
        "ROMEO:\nO, she doth teach",
    )
    for bad in [
        (1, 0.1, 1.0, "guessed", "x"),
        (1, 0.1, -1.0, "measured", "x"),
        (1, 0.1, 1, "measured", ""),
    ]:
        with pytest.raises(ValueError):
            store.log_energy(run_id, [bad])
    assert len(store.energy(run_id)) == 2


def test_a_runs_directory_holds_the_database_and_the_checkpoints(tmp_path):
    store = RunStore(tmp_path)
    assert store.path == tmp_path / DATABASE_NAME
    run_id = store.create_run("k", {})
    assert store.checkpoint_dir(run_id).parent.parent == tmp_path
    assert RunStore(tmp_path / DATABASE_NAME).get_run(run_id).id == run_id


def test_truncate_after_drops_only_later_rows_of_that_run(store):
    run_id, other = store.create_run("k", {}), store.create_run("k", {})
    for target in (run_id, other):
        store.log_metrics(target, [(step, "loss", float(step)) for step in range(1, 7)])
        store.log_energy(target, [(step, 0.1, 1.0, "estimated", "m") for step in range(1, 7)])
        store.add_sample(target, 3, "tsu", "early")
        store.add_sample(target, 6, "tsu", "late")
    store.truncate_after(run_id, 3)
    assert store.metrics(run_id)["loss"][0] == [1, 2, 3]
    assert [row["step"] for row in store.energy(run_id)] == [1, 2, 3]
    assert [sample["text"] for sample in store.samples(run_id)] == ["early"]
    assert store.metrics(other)["loss"][0] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(RunNotFound):
        store.truncate_after("0123456789ab", 1)


def test_list_runs_filters_newest_first(store):
    baseline = store.create_run("tinygpt-baseline", {}, group="g1", owner="alice")
    tsu = store.create_run("tinygpt-tsu", {}, group="g1", owner="alice")
    other = store.create_run("tinygpt-baseline", {}, group="g2", owner="bob")
    store.set_status(other, "finished")

    assert [r.id for r in store.list_runs()] == [other, tsu, baseline]
    assert [r.id for r in store.list_runs(group="g1")] == [tsu, baseline]
    assert [r.id for r in store.list_runs(kind="tinygpt-baseline")] == [other, baseline]
    assert [r.id for r in store.list_runs(status="finished")] == [other]
    assert [r.id for r in store.list_runs(owner="alice", limit=1)] == [tsu]
    with pytest.raises(ValueError):
        store.list_runs(limit=0)


def test_an_export_names_no_session_machine_or_server_path(store, tmp_path):
    folder = "3f9c0a1b2c3d4e5f"  # the uploading session's random folder
    corpus = str(tmp_path / "uploads" / folder / "sonnet-0123456789abcdef.txt")
    train = {"corpus": corpus, "steps": 5}
    run_id = store.create_run(
        "tinygpt", {"mode": "tsu", "train": train}, name=f"tsu · {corpus}", owner="owner-token"
    )
    store.set_checkpoint(run_id, 3, tmp_path / "tinygpt" / run_id / "step3.pt")
    store.set_status(run_id, "failed", f"cannot read {corpus}: gone")
    store.log_metrics(run_id, [(3, "loss", 1.5)])
    store.log_energy(run_id, [(3, 0.5, 2.0, "estimated", "model")])

    exported = store.export_json(run_id) + store.export_csv(run_id)
    for private in ("owner-token", str(tmp_path), folder, "uploads/", socket.gethostname()):
        assert private not in exported
    run = json.loads(store.export_json(run_id))["run"]
    assert not {"owner", "pid", "hostname", "checkpoint_path"} & run.keys()
    assert run["config"] == {
        "mode": "tsu",
        "train": {"corpus": "sonnet-0123456789abcdef.txt", "steps": 5},
    }
    assert (run["name"], run["message"]) == (
        "tsu · sonnet-0123456789abcdef.txt",
        "cannot read sonnet-0123456789abcdef.txt: gone",
    )
    assert (run["id"], run["status"], run["checkpoint_step"]) == (run_id, "failed", 3)
    document = json.loads(store.export_json(run_id))
    assert document["metrics"] == {"loss": {"steps": [3], "values": [1.5]}}
    assert set(document["exported_with"]) == {"thermolab", "run_store_schema", "python"}
    assert store.get_run(run_id).owner == "owner-token"  # the server itself still knows


def test_without_paths_cuts_paths_to_file_names_and_leaves_other_slashes():
    assert without_paths("no file at /srv/runs/uploads/ab12/x-1f.txt: gone") == (
        "no file at x-1f.txt: gone"
    )
    assert without_paths("runs/uploads/Zk-_9/x.txt") == "x.txt"
    assert without_paths("cannot open '/home/ana/t.txt'") == "cannot open 't.txt'"
    for kept in ("2.1 nats/token, 3 J/token", "https://example.org/a/b.txt", "a / b", "x.txt"):
        assert without_paths(kept) == kept


def test_export_json_and_csv(store):
    run_id = store.create_run("k", {"lr": 1e-3}, name="run")
    store.log_metrics(run_id, [(0, "loss", 2.0), (1, "loss", math.nan)])
    store.log_energy(run_id, [(0, 0.5, 3.0, "estimated", "model")])
    store.add_sample(run_id, 1, "tsu", 'a "quoted",\nline')

    document = json.loads(store.export_json(run_id), parse_constant=pytest.fail)
    assert document["run"]["id"] == run_id and document["run"]["config"] == {"lr": 1e-3}
    assert document["metrics"] == {"loss": {"steps": [0, 1], "values": [2.0, None]}}
    assert document["energy"][0]["kind"] == "estimated"
    assert document["samples"][0]["text"] == 'a "quoted",\nline'

    rows = list(csv.DictReader(io.StringIO(store.export_csv(run_id))))
    assert [(r["series"], r["step"], r["name"], r["value"]) for r in rows] == [
        ("metric", "0", "loss", "2.0"),
        ("metric", "1", "loss", "nan"),
        ("energy", "0", "seconds", "0.5"),
        ("energy", "0", "joules", "3.0"),
        ("sample", "1", "tsu", 'a "quoted",\nline'),
    ]
    assert rows[3]["kind"] == "estimated" and rows[3]["source"] == "model"


def test_delete_run_removes_its_rows_and_checkpoints_only(store):
    doomed, kept = store.create_run("k", {}), store.create_run("k", {})
    for run_id in (doomed, kept):
        store.log_metrics(run_id, [(0, "loss", 1.0)])
        store.checkpoint_dir(run_id).mkdir(parents=True)
        (store.checkpoint_dir(run_id) / "step-0.pt").write_bytes(b"weights")

    store.delete_run(doomed)

    with pytest.raises(RunNotFound):
        store.get_run(doomed)
    assert not store.checkpoint_dir(doomed).exists()
    assert store.metrics(kept) == {"loss": ([0], [1.0])}
    assert (store.checkpoint_dir(kept) / "step-0.pt").exists()
    with raw(store) as db:
        assert db.execute(
            "SELECT COUNT(*) FROM metrics WHERE run_id = ?", (doomed,)
        ).fetchone() == (0,)


def test_runs_directory_and_checkpoint_convention(monkeypatch, tmp_path):
    monkeypatch.delenv("THERMOLAB_RUNS_DIR", raising=False)
    assert default_runs_dir() == Path("runs")
    assert checkpoint_dir("0123456789ab") == Path("runs/tinygpt/0123456789ab")  # attention page
    monkeypatch.setenv("THERMOLAB_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert default_runs_dir() == tmp_path / "elsewhere"
    with RunStore() as store:
        assert store.path == tmp_path / "elsewhere" / DATABASE_NAME
        assert store.checkpoint_dir("0123456789ab") == tmp_path / "elsewhere/tinygpt/0123456789ab"
    for bad in ("../../etc", "0123456789AB", ""):
        with pytest.raises(ValueError):
            checkpoint_dir(bad)


def test_wal_mode_and_schema_version(store):
    with raw(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]


# ---- failures of the file or the disk --------------------------------------------------------


def test_a_corrupt_file_is_a_clear_store_error(tmp_path):
    path = tmp_path / DATABASE_NAME
    path.write_bytes(b"this is not sqlite, it is a text file someone put here\n" * 100)

    with pytest.raises(StoreError, match=r"not a database.*move it aside"):
        RunStore(path)


def test_a_store_from_a_newer_version_is_refused(store):
    with raw(store) as db:
        db.execute("UPDATE schema_version SET version = 99")
    store.close()

    with pytest.raises(StoreError, match="newer ThermoLab"):
        RunStore(store.path)


def connect_with_disk_full(path, **kwargs):
    """sqlite3.connect, with the file capped at its current size: the next growth fails as a
    full disk does (SQLITE_FULL, "database or disk is full")."""
    connection = sqlite3.connect(path, **kwargs)
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")
    return connection


def test_disk_full_is_a_store_error_and_nothing_is_half_written(store):
    run_id = store.create_run("k", {})
    store.log_metrics(run_id, [(0, "loss", 1.0)])
    store.close()
    full = RunStore(store.path, connect=connect_with_disk_full)

    rows = [(step, "loss", float(step)) for step in range(1, 20_001)]
    with pytest.raises(StoreError, match=r"full.*free disk space"):
        full.log_metrics(run_id, rows)

    assert full.metrics(run_id) == {"loss": ([0], [1.0])}  # the batch is all or nothing
    assert full.get_run(run_id).status == "running"
    full.close()
    with RunStore(store.path) as again:
        again.log_metrics(run_id, rows[:5])  # space freed: writing works again
        assert len(again.metrics(run_id)["loss"][0]) == 6


def test_a_read_only_store_reads_and_refuses_writes(store):
    run_id = store.create_run("k", {})
    store.log_metrics(run_id, [(0, "loss", 1.0)])

    def read_only(path, **kwargs):
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, **kwargs)

    with RunStore(store.path, connect=read_only) as reader:
        assert reader.metrics(run_id) == {"loss": ([0], [1.0])}
        with pytest.raises(StoreError, match=r"readonly.*writable"):
            reader.log_metrics(run_id, [(1, "loss", 0.5)])
    assert store.metrics(run_id) == {"loss": ([0], [1.0])}


def test_an_unwritable_runs_directory_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the runs directory should be")

    with pytest.raises(StoreError, match="cannot create the runs directory"):
        RunStore(blocker / "runs" / DATABASE_NAME)


def test_a_closed_store_says_so(store):
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_runs()


# ---- crashes and interrupted runs -----------------------------------------------------------

CRASHING_WRITER = """
import sys
from thermolab.runs import RunStore

store = RunStore(sys.argv[1])
run_id = store.create_run("crash-test", {})
print(run_id, flush=True)
step = 0
while True:
    store.log_metrics(run_id, [(step, "loss", 1.0 / (step + 1)), (step, "step", float(step))])
    print(step, flush=True)
    step += 1
"""


def test_kill_9_loses_no_committed_row_and_the_run_is_marked_interrupted(tmp_path):
    path = tmp_path / DATABASE_NAME
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        run_id = writer.stdout.readline().strip()
        committed = -1
        deadline = time.monotonic() + 60
        while committed < 300 and time.monotonic() < deadline:
            committed = int(writer.stdout.readline())
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    assert committed >= 300

    with RunStore(path) as store:
        with raw(store) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        series = store.metrics(run_id)
        steps = series["loss"][0]
        assert steps[: committed + 1] == list(range(committed + 1))  # every printed commit
        assert series["step"][0] == steps  # each batch whole: both names or neither
        assert store.get_run(run_id).status == "running"

        assert store.mark_interrupted() == [run_id]
        record = store.get_run(run_id)
        assert record.status == "interrupted"
        assert "has ended" in record.message and str(writer.pid) not in record.message
        assert store.mark_interrupted() == []

        store.set_status(run_id, "running", "resumed")  # a new process takes the run over
        store.log_metrics(run_id, [(steps[-1] + 1, "loss", 0.01)])
        assert store.mark_interrupted() == []
        assert store.get_run(run_id).pid == os.getpid()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_mark_interrupted_tells_live_dead_and_reused_pids_apart(store):
    mine = store.create_run("k", {})
    dead = store.create_run("k", {})
    queued_dead = store.create_run("k", {})
    reused = store.create_run("k", {})
    finished = store.create_run("k", {})
    elsewhere = store.create_run("k", {})
    store.set_checkpoint(dead, 40, "ckpt.pt")
    store.set_status(queued_dead, "queued")
    store.set_status(finished, "finished")
    gone = dead_pid()
    with raw(store) as db:
        db.execute(
            "UPDATE runs SET pid = ? WHERE id IN (?, ?, ?)", (gone, dead, queued_dead, finished)
        )
        # Same pid as this process, but recorded by an earlier process that had it (a restarted
        # container's server often gets the same pid): a different start, so not alive.
        db.execute("UPDATE runs SET process_token = 'an earlier process' WHERE id = ?", (reused,))
        db.execute(
            "UPDATE runs SET hostname = 'another-host', pid = ? WHERE id = ?", (gone, elsewhere)
        )

    marked = store.mark_interrupted()

    assert sorted(marked) == sorted([dead, queued_dead, reused])
    statuses = {run_id: store.get_run(run_id).status for run_id in (mine, finished, elsewhere)}
    assert statuses == {mine: "running", finished: "finished", elsewhere: "running"}
    assert "resume from the checkpoint at step 40" in store.get_run(dead).message
    assert "no checkpoint" in store.get_run(reused).message


# ---- threads ------------------------------------------------------------------------------


def test_threads_log_to_different_runs_at_once_without_lock_errors(store):
    errors: list[BaseException] = []
    run_ids: list[str] = []

    def train(shared: bool) -> None:
        own = None if shared else RunStore(store.path)  # a second connection, as a process has
        target = store if shared else own
        try:
            run_id = target.create_run("k", {"shared": shared})
            run_ids.append(run_id)
            for step in range(60):
                target.log_metrics(run_id, [(step, "loss", 1.0), (step, "val", 2.0)])
                target.log_energy(run_id, [(step, 0.01, 0.5, "measured", "fake")])
                if step % 20 == 0:
                    target.list_runs()
        except BaseException as exc:
            errors.append(exc)
        finally:
            if own is not None:
                own.close()

    threads = [threading.Thread(target=train, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(run_ids) == 6
    for run_id in run_ids:
        assert store.metrics(run_id)["loss"][0] == list(range(60))
        assert len(store.energy(run_id)) == 60
