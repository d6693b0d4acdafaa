"""The run store: training runs, their metric and energy series, samples and checkpoints, in SQLite.

One database file, `<runs dir>/thermolab.sqlite3` (runs dir: $THERMOLAB_RUNS_DIR or ./runs),
beside the checkpoint directories `<runs dir>/tinygpt/<run id>/`.

Durability: the database is in WAL mode with synchronous=NORMAL, and every write is one
transaction, so a process killed at any moment (kill -9) loses nothing it committed and leaves
nothing half-written; a power cut may lose the last few commits but never corrupts the file.
A run whose process died is still "running" in the file; `mark_interrupted()` (called by the app
at start-up) finds such runs and marks them "interrupted" so they can be resumed from their
last checkpoint.

Threads: one store may be shared by every thread of a process (Streamlit sessions are threads):
its single connection is guarded by a lock. Other processes (the command line, a second server)
open their own store; SQLite's busy timeout makes their writers wait instead of failing.

Failures of the database itself (disk full, read-only, corrupt, made by a newer version) raise
`StoreError` with what to do; the failed write is rolled back.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from thermolab.energy.ledger import check_kind, check_non_negative

__all__ = [
    "DATABASE_NAME",
    "RUNS_DIR_ENV",
    "STATUSES",
    "RunNotFound",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "StoreError",
    "checkpoint_dir",
    "default_runs_dir",
    "without_paths",
]

RUNS_DIR_ENV = "THERMOLAB_RUNS_DIR"
DATABASE_NAME = "thermolab.sqlite3"
#: Checkpoints live in <runs dir>/<CHECKPOINT_SUBDIR>/<run id>/ (the attention page reads here).
CHECKPOINT_SUBDIR = "tinygpt"
#: The schema this code writes; a file with a higher version was made by a newer ThermoLab.
SCHEMA_VERSION = 1
#: How long a writer waits for another process's transaction before giving up, in ms.
BUSY_TIMEOUT_MS = 10_000

RunStatus = Literal["queued", "running", "finished", "stopped", "failed", "interrupted"]
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
#: Statuses of a run whose process should still be alive.
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("queued", "running")

_RUN_ID = re.compile(r"[0-9a-f]{12}")
#: The fields of a run anyone may see (`RunRecord.public`): not its owner (who started it),
#: pid or hostname (the server), nor its checkpoint's path (the server's file system).
PUBLIC_FIELDS = (
    "id", "kind", "name", "status", "message", "config", "summary", "group", "created_at",
    "updated_at", "checkpoint_step",
)  # fmt: skip
# An absolute path's directories ("/srv/runs/" of "/srv/runs/x.txt"); not "nats/token" or a URL.
_ABSOLUTE_DIRECTORIES = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"]+/)+")
# An uploads folder and what leads to it ("runs/uploads/3f9c.../" of ".../uploads/3f9c.../x.txt").
_UPLOAD_FOLDER = re.compile(r"(?:[\w.-]+/)*uploads/[\w.-]+/")

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    config TEXT NOT NULL,
    summary TEXT NOT NULL,
    run_group TEXT,
    owner TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    checkpoint_path TEXT,
    checkpoint_step INTEGER,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    process_token TEXT NOT NULL
);
CREATE INDEX runs_created ON runs (created_at);
CREATE TABLE metrics (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL
);
CREATE INDEX metrics_run ON metrics (run_id, name, step);
CREATE TABLE energy (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    seconds REAL NOT NULL,
    joules REAL NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX energy_run ON energy (run_id, step);
CREATE TABLE samples (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    label TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX samples_run ON samples (run_id, step);
"""


class StoreError(RuntimeError):
    """The run store cannot be read or written; the message says why and what to do."""


class RunNotFound(KeyError):
    """No run with this id in the store."""

    def __str__(self) -> str:  # KeyError would show the repr of its argument
        return str(self.args[0]) if self.args else "run not found"


@dataclass(frozen=True)
class RunRecord:
    """One run as stored.

    id: 12 hex digits. kind: what was run (e.g. "tinygpt-baseline"). name: a label for people.
    status: one of STATUSES; message: why it has that status (e.g. an error).
    config, summary: JSON objects (summary: final results). group: ties runs trained side by
    side. owner: the session or person that started it. created_at, updated_at: seconds since
    the Unix epoch. checkpoint_path, checkpoint_step: the latest checkpoint, if any.
    pid, hostname: the process that last ran it.
    """

    id: str
    kind: str
    name: str
    status: RunStatus
    message: str
    config: dict[str, Any]
    summary: dict[str, Any]
    group: str | None
    owner: str | None
    created_at: float
    updated_at: float
    checkpoint_path: str | None
    checkpoint_step: int | None
    pid: int
    hostname: str

    def to_dict(self) -> dict[str, Any]:
        """Every field, the private ones included: for this server only (see `public`)."""
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """What of the run anyone may see or download: configuration, results, status and times.

        Nothing that names a session (its owner), the server (pid, hostname) or the server's
        files: the checkpoint's path is left out and every path in the other fields is cut to
        its file name (a corpus `/srv/runs/uploads/<folder>/text-<hash>.txt` is `text-<hash>.txt`).
        """
        return {name: _without_paths_in(getattr(self, name)) for name in PUBLIC_FIELDS}


def default_runs_dir() -> Path:
    """$THERMOLAB_RUNS_DIR, or ./runs."""
    return Path(os.environ.get(RUNS_DIR_ENV) or "runs")


def checkpoint_dir(run_id: str, runs_dir: Path | str | None = None) -> Path:
    """Where a run's checkpoints go: <runs dir>/tinygpt/<run id>/ (not created here)."""
    _check_run_id(run_id)
    return (default_runs_dir() if runs_dir is None else Path(runs_dir)) / CHECKPOINT_SUBDIR / run_id


class RunStore:
    """Runs and their series in one SQLite file, shared safely by threads and processes.

    path: the database file, or an existing runs directory to hold it as thermolab.sqlite3
        (default <default_runs_dir()>/thermolab.sqlite3); the file's directory is created if
        missing and holds the checkpoint directories.
    connect: opens the SQLite connection (sqlite3.connect's signature); replaceable, e.g. to
        open the file read-only.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        connect: Callable[..., sqlite3.Connection] = sqlite3.connect,
    ) -> None:
        self.path = Path(path) if path is not None else default_runs_dir() / DATABASE_NAME
        if self.path.is_dir():
            self.path = self.path / DATABASE_NAME
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the runs directory {self.path.parent}: {exc.strerror or exc}; "
                f"set {RUNS_DIR_ENV} to a writable directory"
            ) from exc
        try:
            connection = connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # transactions are explicit (BEGIN IMMEDIATE … COMMIT)
                check_same_thread=False,  # shared by threads, serialised by self._lock
            )
        except sqlite3.Error as exc:
            raise StoreError(self._explain(exc)) from exc
        self._connection = connection
        try:
            self._set_up(connection)
        except BaseException:
            self.close()
            raise

    # ---- connection, transactions, errors -------------------------------------------------

    def _set_up(self, connection: sqlite3.Connection) -> None:
        with self._guard():
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA foreign_keys = ON")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self.path}: SQLite could not switch to WAL mode (got {mode!r}); "
                    "keep the runs directory on a local disk"
                )
            connection.execute("PRAGMA synchronous = NORMAL")
        with self._read() as db:
            version = self._schema_version(db)
        if version is None:
            with self._write() as db:
                if self._schema_version(db) is None:  # another process may have just made it
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                    return
                version = self._schema_version(db)
        if version != SCHEMA_VERSION:
            newer = version is not None and version > SCHEMA_VERSION
            raise StoreError(
                f"{self.path} has run-store schema version {version}; this ThermoLab reads "
                f"version {SCHEMA_VERSION}"
                + ("; the file was made by a newer ThermoLab: upgrade" if newer else "")
                + f", or set {RUNS_DIR_ENV} to another directory"
            )

    @staticmethod
    def _schema_version(db: sqlite3.Connection) -> int | None:
        """The file's schema version, or None for a new (empty) database."""
        if not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone():
            return None
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return -1 if row is None or row[0] is None else int(row[0])

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError(f"the run store {self.path} is closed")
        return self._connection

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with SQLite errors turned into StoreError."""
        with self._lock:
            db = self._db()
            try:
                yield db
            except sqlite3.Error as exc:
                raise StoreError(self._explain(exc)) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or rolled back whole on any error."""
        with self._guard() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot while other processes write."""
        with self._guard() as db:
            if db.in_transaction:  # nested in another read: share its snapshot
                yield db
                return
            db.execute("BEGIN")
            try:
                yield db
            finally:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("COMMIT")

    def _explain(self, exc: sqlite3.Error) -> str:
        text = str(exc)
        lowered = text.lower()
        if "disk is full" in lowered:
            advice = "free disk space, then retry; nothing from the failed write was saved"
        elif "disk i/o" in lowered:
            advice = (
                f"the disk holding {self.path.parent} failed a read or write (full, removed, "
                "or failing); nothing from the failed write was saved"
            )
        elif "readonly" in lowered or "read-only" in lowered:
            advice = (
                f"make {self.path.parent} writable (or set {RUNS_DIR_ENV} to a writable "
                "directory); nothing from the failed write was saved"
            )
        elif "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            advice = (
                "the file is damaged or not a ThermoLab run store; move it aside "
                f"(e.g. rename it to {self.path.name}.corrupt) to start a fresh store"
            )
        elif "locked" in lowered or "busy" in lowered:
            advice = "another process held the database too long; retry"
        elif "unable to open" in lowered:
            advice = f"check that {self.path.parent} exists and is writable"
        else:
            advice = "see the SQLite message"
        return f"run store {self.path}: {text} ({advice})"

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise StoreError."""
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._connection.close()
                self._connection = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- runs ------------------------------------------------------------------------------

    def checkpoint_dir(self, run_id: str) -> Path:
        """<store directory>/tinygpt/<run id>/, where this run's checkpoints go."""
        return checkpoint_dir(run_id, self.path.parent)

    def create_run(
        self,
        kind: str,
        config: dict[str, Any],
        *,
        name: str = "",
        owner: str | None = None,
        group: str | None = None,
    ) -> str:
        """Record a new run, status "running", owned by this process; return its id."""
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError("a run needs a kind, e.g. 'tinygpt-baseline'")
        config_json = _to_json(config, "config")
        now = time.time()
        with self._write() as db:
            while True:
                run_id = secrets.token_hex(6)
                if not db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                    break
            db.execute(
                "INSERT INTO runs (id, kind, name, status, message, config, summary, run_group,"
                " owner, created_at, updated_at, pid, hostname, process_token)"
                " VALUES (?, ?, ?, 'running', '', ?, '{}', ?, ?, ?, ?, ?, ?, ?)",
                (run_id, kind, str(name), config_json, group, owner, now, now, *_this_process()),
            )
        return run_id

    def set_status(self, run_id: str, status: RunStatus, message: str = "") -> None:
        """Set a run's status (one of STATUSES) and why.

        "running" and "queued" also record this process as the run's owner, so a run resumed by
        a new process is not taken for dead.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self._write() as db:
            if status in ACTIVE_STATUSES:
                cursor = db.execute(
                    "UPDATE runs SET status = ?, message = ?, updated_at = ?, pid = ?,"
                    " hostname = ?, process_token = ? WHERE id = ?",
                    (status, str(message), time.time(), *_this_process(), run_id),
                )
            else:
                cursor = db.execute(
                    "UPDATE runs SET status = ?, message = ?, updated_at = ? WHERE id = ?",
                    (status, str(message), time.time(), run_id),
                )
            _require(cursor.rowcount, run_id)

    def set_owner(self, run_id: str, owner: str | None) -> None:
        """Record who controls the run now (a session that resumes a run it adopted)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE runs SET owner = ?, updated_at = ? WHERE id = ?",
                (owner, time.time(), run_id),
            )
            _require(cursor.rowcount, run_id)

    def set_checkpoint(self, run_id: str, step: int, path: Path | str) -> None:
        """Record the run's latest checkpoint: written after `step`, at `path`."""
        step = _check_step(step)
        with self._write() as db:
            cursor = db.execute(
                "UPDATE runs SET checkpoint_path = ?, checkpoint_step = ?, updated_at = ?"
                " WHERE id = ?",
                (str(path), step, time.time(), run_id),
            )
            _require(cursor.rowcount, run_id)

    def set_summary(self, run_id: str, summary: dict[str, Any]) -> None:
        """Replace the run's summary (a JSON object of final results)."""
        summary_json = _to_json(summary, "summary")
        with self._write() as db:
            cursor = db.execute(
                "UPDATE runs SET summary = ?, updated_at = ? WHERE id = ?",
                (summary_json, time.time(), run_id),
            )
            _require(cursor.rowcount, run_id)

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id (RunNotFound if there is none)."""
        with self._read() as db:
            row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"no run {run_id!r} in {self.path}")
        return _record(row)

    def list_runs(
        self,
        *,
        kind: str | None = None,
        group: str | None = None,
        status: RunStatus | None = None,
        owner: str | None = None,
        limit: int = 200,
    ) -> list[RunRecord]:
        """Runs matching every filter given, newest first, at most `limit` (≥ 1)."""
        if int(limit) < 1:
            raise ValueError(f"limit must be ≥ 1, not {limit}")
        filters = {"kind": kind, "run_group": group, "status": status, "owner": owner}
        where = [f"{column} = ?" for column, value in filters.items() if value is not None]
        values = [value for value in filters.values() if value is not None]
        query = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        with self._read() as db:
            rows = db.execute(query, (*values, int(limit))).fetchall()
        return [_record(row) for row in rows]

    def corpora(self) -> set[str]:
        """Every corpus setting (config "train" → "corpus") of the runs in the store: the
        uploaded texts that must be kept for their resume."""
        with self._read() as db:
            rows = db.execute(
                "SELECT DISTINCT json_extract(config, '$.train.corpus') FROM runs"
            ).fetchall()
        return {corpus for (corpus,) in rows if isinstance(corpus, str)}

    def delete_run(self, run_id: str) -> None:
        """Delete the run, its series and samples, and its checkpoint directory.

        Only the conventional directory `checkpoint_dir(run_id)` is removed, never another
        path a run recorded.
        """
        directory = self.checkpoint_dir(run_id)
        with self._write() as db:
            cursor = db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            _require(cursor.rowcount, run_id)
        try:
            shutil.rmtree(directory)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(
                f"run {run_id} was deleted, but its checkpoint directory {directory} could not "
                f"be removed ({exc.strerror or exc}); remove it by hand"
            ) from exc

    def mark_interrupted(self) -> list[str]:
        """Mark "interrupted" every queued or running run whose process is gone; return their ids.

        A process counts as gone when it ran on this host and its pid is no longer alive, or
        the pid now belongs to a different process (pids are reused, e.g. a restarted
        container's server gets the same small pid: each run records a token of its process's
        identity, and a live pid with another token is a different process). This process's
        own runs are alive. Runs recorded on another host are left alone: they cannot be
        checked from here.
        """
        hostname = socket.gethostname()
        with self._write() as db:
            rows = db.execute(
                "SELECT id, pid, process_token, checkpoint_step FROM runs"
                " WHERE hostname = ? AND status IN (?, ?)",
                (hostname, *ACTIVE_STATUSES),
            ).fetchall()
            gone = [row for row in rows if not _process_alive(row[1], row[2])]
            now = time.time()
            for run_id, _, _, checkpoint_step in gone:
                resume = (
                    f"resume from the checkpoint at step {checkpoint_step}"
                    if checkpoint_step is not None
                    else "no checkpoint was saved"
                )
                db.execute(
                    "UPDATE runs SET status = 'interrupted', message = ?, updated_at = ?"
                    " WHERE id = ?",
                    (
                        f"the process that ran it has ended (a stop or crash); {resume}",
                        now,
                        run_id,
                    ),
                )
        return [row[0] for row in gone]

    def truncate_after(self, run_id: str, step: int) -> None:
        """Delete metric, energy and sample rows logged for steps after `step` (one transaction).

        A run resumed from its checkpoint at `step` redoes the later steps; their rows from the
        interrupted attempt would otherwise appear twice.
        """
        step = _check_step(step)
        with self._write() as db:
            self._require_run(db, run_id)
            for table in ("metrics", "energy", "samples"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ? AND step > ?", (run_id, step))
            self._touch(db, run_id)

    # ---- series ----------------------------------------------------------------------------

    def log_metrics(self, run_id: str, rows: Iterable[tuple[int, str, float]]) -> None:
        """Append (step, name, value) rows in one transaction (all or none). NaN is kept."""
        checked = [
            (_check_step(step), _check_name(name), _check_value(value))
            for step, name, value in rows
        ]
        with self._write() as db:
            self._touch(db, run_id)
            db.executemany(
                "INSERT INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)",
                [
                    (run_id, step, name, None if math.isnan(value) else value)
                    for step, name, value in checked
                ],
            )

    def metrics(
        self, run_id: str, names: Iterable[str] | None = None
    ) -> dict[str, tuple[list[int], list[float]]]:
        """{name: (steps, values)} in the order logged; only `names` if given."""
        query = "SELECT name, step, value FROM metrics WHERE run_id = ?"
        values: list[Any] = [run_id]
        if names is not None:
            wanted = list(names)
            query += f" AND name IN ({', '.join('?' * len(wanted))})"
            values += wanted
        with self._read() as db:
            self._require_run(db, run_id)
            rows = db.execute(query + " ORDER BY rowid", values).fetchall()
        series: dict[str, tuple[list[int], list[float]]] = {}
        for name, step, value in rows:
            steps, numbers = series.setdefault(name, ([], []))
            steps.append(step)
            numbers.append(math.nan if value is None else value)
        return series

    def log_energy(self, run_id: str, rows: Iterable[tuple[int, float, float, str, str]]) -> None:
        """Append (step, seconds, joules, kind, source) rows in one transaction.

        seconds: wall time the entry covers, s; joules: J (finite, ≥ 0); kind: measured,
        estimated or projected; source: the meter or model.
        """
        checked = []
        for step, seconds, joules, kind, source in rows:
            if not isinstance(source, str) or not source.strip():
                raise ValueError("an energy row needs a source: which meter or model")
            checked.append(
                (
                    run_id,
                    _check_step(step),
                    check_non_negative(seconds, "seconds"),
                    check_non_negative(joules),
                    check_kind(kind),
                    source,
                )
            )
        with self._write() as db:
            self._touch(db, run_id)
            db.executemany(
                "INSERT INTO energy (run_id, step, seconds, joules, kind, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                checked,
            )

    def energy(self, run_id: str) -> list[dict[str, Any]]:
        """[{"step", "seconds", "joules", "kind", "source"}] in the order logged."""
        with self._read() as db:
            self._require_run(db, run_id)
            rows = db.execute(
                "SELECT step, seconds, joules, kind, source FROM energy WHERE run_id = ?"
                " ORDER BY rowid",
                (run_id,),
            ).fetchall()
        keys = ("step", "seconds", "joules", "kind", "source")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def add_sample(self, run_id: str, step: int, label: str, text: str) -> None:
        """Store generated text (`label`, e.g. "baseline", at `step`)."""
        step = _check_step(step)
        with self._write() as db:
            self._touch(db, run_id)
            db.execute(
                "INSERT INTO samples (run_id, step, label, text, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, step, str(label), str(text), time.time()),
            )

    def samples(self, run_id: str) -> list[dict[str, Any]]:
        """[{"step", "label", "text", "created_at"}] in the order stored."""
        with self._read() as db:
            self._require_run(db, run_id)
            rows = db.execute(
                "SELECT step, label, text, created_at FROM samples WHERE run_id = ? ORDER BY rowid",
                (run_id,),
            ).fetchall()
        keys = ("step", "label", "text", "created_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # ---- export ----------------------------------------------------------------------------

    def export_json(self, run_id: str) -> str:
        """The run's public record (`RunRecord.public`), metric and energy series and samples,
        and the versions that wrote the document, as one JSON document for anyone to download.

        Non-finite numbers (a NaN loss) become null, so any JSON reader accepts it.
        """
        with self._read():  # one snapshot for all four reads (the lock is re-entrant)
            document = {
                "run": self.get_run(run_id).public(),
                "metrics": {
                    name: {"steps": steps, "values": values}
                    for name, (steps, values) in self.metrics(run_id).items()
                },
                "energy": self.energy(run_id),
                "samples": self.samples(run_id),
                "exported_with": _versions(),
            }
        return json.dumps(_finite(document), indent=2, allow_nan=False)

    def export_csv(self, run_id: str) -> str:
        """Long-format CSV: series, step, name, value, kind, source.

        series "metric": one row per logged value. series "energy": rows "seconds" and "joules"
        per entry, with kind and source. series "sample": name is the label, value the text.
        """
        with self._read():
            metrics = self.metrics(run_id)
            energy = self.energy(run_id)
            samples = self.samples(run_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["series", "step", "name", "value", "kind", "source"])
        for name, (steps, values) in metrics.items():
            for step, value in zip(steps, values, strict=True):
                writer.writerow(["metric", step, name, repr(value), "", ""])
        for entry in energy:
            for field in ("seconds", "joules"):
                writer.writerow(
                    [
                        "energy",
                        entry["step"],
                        field,
                        repr(entry[field]),
                        entry["kind"],
                        entry["source"],
                    ]
                )
        for sample in samples:
            writer.writerow(["sample", sample["step"], sample["label"], sample["text"], "", ""])
        return out.getvalue()

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _touch(db: sqlite3.Connection, run_id: str) -> None:
        cursor = db.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (time.time(), run_id))
        _require(cursor.rowcount, run_id)

    @staticmethod
    def _require_run(db: sqlite3.Connection, run_id: str) -> None:
        if not db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
            raise RunNotFound(f"no run {run_id!r}")


_RUN_COLUMNS = (
    "id, kind, name, status, message, config, summary, run_group, owner, created_at,"
    " updated_at, checkpoint_path, checkpoint_step, pid, hostname"
)


def _record(row: tuple[Any, ...]) -> RunRecord:
    values = list(row)
    values[5] = json.loads(values[5])
    values[6] = json.loads(values[6])
    return RunRecord(*values)


def _require(rowcount: int, run_id: str) -> None:
    if rowcount == 0:
        raise RunNotFound(f"no run {run_id!r}")


def _check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"a run id is 12 lowercase hex digits, not {run_id!r}")
    return run_id


def _check_step(step: int) -> int:
    if isinstance(step, bool) or int(step) != step or step < 0:
        raise ValueError(f"step must be a whole number ≥ 0, not {step!r}")
    return int(step)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a metric needs a non-empty name, not {name!r}")
    return name


def _check_value(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a metric value must be a number, not {value!r}")
    return float(value)


def _to_json(value: dict[str, Any], what: str) -> str:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a dict (a JSON object), not {type(value).__name__}")
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{what} must hold only JSON values (str, number, list, dict): {exc}"
        ) from exc


def without_paths(text: str) -> str:
    """`text` with each absolute path, and each path into an uploads folder, cut to its file
    name: a message or label fit to show anyone."""
    return _UPLOAD_FOLDER.sub("", _ABSOLUTE_DIRECTORIES.sub("", text))


def _without_paths_in(value: Any) -> Any:
    """`value` (JSON-like) with `without_paths` applied to every string in it, keys included."""
    if isinstance(value, str):
        return without_paths(value)
    if isinstance(value, dict):
        return {_without_paths_in(key): _without_paths_in(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_paths_in(item) for item in value]
    return value


def _versions() -> dict[str, str]:
    """The software that writes an export: ThermoLab, its run-store schema, Python."""
    from thermolab import __version__

    return {
        "thermolab": __version__,
        "run_store_schema": str(SCHEMA_VERSION),
        "python": platform.python_version(),
    }


def _finite(value: Any) -> Any:
    """`value` with every non-finite float (NaN, ±inf) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


# ---- which process runs a run ------------------------------------------------------------

_FALLBACK_TOKEN = uuid.uuid4().hex  # this process's identity where /proc cannot tell


def _process_token(pid: int) -> str | None:
    """A token that names process `pid` uniquely on this host: boot id + start time.

    From Linux's /proc; None where it is not available (another OS, or no such process).
    """
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Field 2 (comm) may hold spaces and parentheses: split after its closing ")".
        # What follows starts at field 3, so field 22, starttime (ticks since boot), is [19].
        start = stat[stat.rfind(")") + 2 :].split()[19]
    except (OSError, IndexError):
        return None
    return f"{boot_id}/{start}"


def _this_process() -> tuple[int, str, str]:
    """(pid, hostname, process token) of this process."""
    pid = os.getpid()
    return pid, socket.gethostname(), _process_token(pid) or _FALLBACK_TOKEN


def _process_alive(pid: int, token: str) -> bool:
    """Whether the process recorded as (pid, token) on this host is still running."""
    if pid == os.getpid():
        return token == (_process_token(pid) or _FALLBACK_TOKEN)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists but belongs to another user
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: a live pid is all we can know
    if state[state.rfind(")") + 2 :].startswith("Z"):
        return False  # a zombie: dead, not yet reaped
    current = _process_token(pid)
    return current is None or current == token
