"""Injected failures, each handled with a message and no lost data.

Faults injected (see the report): a sampler backend that raises mid-run (registered as a plugin
backend "faulty": in the playground's live view, annealing, parallel tempering, the exact check
and the temperature-sweep job); an energy meter whose reads start failing mid-training (NVML
disappearing); a run store whose disk fills mid-training (a real SQLite "database or disk is
full", from PRAGMA max_page_count); Tiny Shakespeare's download failing (the network is off).
"""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request

import pytest
from hardening_support import (
    assert_no_exception,
    errors,
    faulty_backend_registered,
    move_temperature,
)
from hardening_support import new_app as new_page

import thermolab.runs as runs
import thermolab.training.trainer as trainer
from thermolab.energy.base import EnergyMeter
from thermolab.runs import RunStore, StoreError
from thermolab.training import TrainConfig, prepare, train

FAULT = "simulated sampler fault"
TINY = TrainConfig(
    steps=60,
    eval_every=10,
    checkpoint_every=20,
    batch_size=2,
    block_size=16,
    eval_batches=1,
    predictive_samples=2,
    sample_chars=8,
    warmup_steps=2,
    meter="none",
    threads=1,
    seed=3,
)
PAGE_TINY = {"gpt.batch": 2, "gpt.block": 16, "gpt.eval_batches": 1, "gpt.k": 2}


pytestmark = pytest.mark.usefixtures("quick_pages")  # tests/conftest.py


@pytest.fixture
def faulty(monkeypatch):
    with faulty_backend_registered(monkeypatch) as backend:
        yield backend


def playground(*settings: tuple[str, str, object]):
    app = new_page("playground")
    for kind, key, value in settings:
        getattr(app, kind)(key=key).set_value(value).run()
        assert_no_exception(app)
    return app


# --------------------------------------------------------------------------- (a) a sampler fault


def test_a_sampler_fault_in_the_live_view_pauses_it_with_a_message(faulty):
    app = playground(("select_slider", "L", 16), ("selectbox", "backend", "faulty"))
    assert app.session_state["chain"].sweeps > 0  # it ran on the faulty backend until now
    faulty.arm(0)
    move_temperature(app, 1.5)
    assert_no_exception(app)
    assert any(FAULT in e and "paused" in e for e in errors(app)), errors(app)
    assert app.session_state["paused"]
    # The page still works: another backend, then Run, and the chain moves again.
    app.selectbox(key="backend").set_value("numpy").run()
    app.button(key="pause").click().run()
    assert_no_exception(app)
    assert not errors(app), errors(app)
    assert not app.session_state["paused"] and app.session_state["chain"].sweeps > 0


def test_a_sampler_fault_mid_annealing_stops_it_with_a_message(faulty):
    app = playground(
        ("select_slider", "L", 8),
        ("selectbox", "backend", "faulty"),
        ("segmented_control", "mode", "Annealing"),
        ("number_input", "anneal_sweeps", 50),
    )
    faulty.arm(2)
    app.button(key="anneal_start").click().run()
    for _ in range(5):  # the animation's timer, one frame per run
        if errors(app):
            break
        app.run()
        assert_no_exception(app)
    assert any("annealing stopped" in e and FAULT in e for e in errors(app)), errors(app)
    done = app.session_state["anneal"]["done"]
    app.run()
    assert app.session_state["anneal"]["done"] == done  # stopped, not retried for ever
    app.selectbox(key="backend").set_value("numpy").run()
    app.button(key="anneal_start").click().run()
    assert_no_exception(app)
    assert not errors(app) and app.session_state["anneal"]["done"] > 0


def test_a_sampler_fault_in_parallel_tempering_is_a_message(faulty):
    app = playground(("select_slider", "L", 8), ("selectbox", "backend", "faulty"))
    faulty.arm(0)
    app.segmented_control(key="mode").set_value("Parallel tempering").run()
    assert_no_exception(app)
    assert any("tempering stopped" in e and FAULT in e for e in errors(app)), errors(app)
    faulty.arm(None)
    app.button(key="pt_restart").click().run()
    assert_no_exception(app)
    assert not errors(app) and app.session_state["tempering"].rounds > 0


def test_a_sampler_fault_in_the_exact_check_is_a_message(faulty):
    app = playground(
        ("select_slider", "L", 4),
        ("selectbox", "backend", "faulty"),
        ("segmented_control", "mode", "Measure"),
        ("number_input", "x_n", 500),
    )
    faulty.arm(0)
    app.button(key="x_run").click().run()
    assert_no_exception(app)
    assert any("exact check failed" in e and FAULT in e for e in errors(app)), errors(app)


def test_a_sampler_fault_mid_sweep_fails_the_job_in_one_line_and_keeps_its_points(faulty):
    app = playground(
        ("select_slider", "L", 8),
        ("selectbox", "backend", "faulty"),
        ("segmented_control", "mode", "Measure"),
        ("multiselect", "m_L", [8]),
        ("slider", "m_points", 3),
        ("number_input", "m_sw", 100),
        ("number_input", "m_burn", 0),
        ("number_input", "m_chains", 1),
    )
    faulty.arm(1)  # the first temperature is measured, the second call raises
    app.button(key="m_run").click().run()
    job = app.session_state["sweep_job"]
    assert job.wait(60) and job.status == "failed"
    assert FAULT in job.error and "\n" not in job.error
    app.run()
    assert_no_exception(app)
    assert errors(app) == [f"The sweep failed: {job.error}"]
    assert len(job.partial) == 1 and app.get("plotly_chart")  # the finished point is drawn
    # The page still works: the same sweep on another backend completes.
    app.selectbox(key="backend").set_value("numpy").run()
    app.segmented_control(key="mode").set_value("Measure").run()
    app.button(key="m_run").click().run()
    again = app.session_state["sweep_job"]
    assert again is not job and again.wait(60) and again.status == "done", again.error
    app.run()
    assert not errors(app)


# --------------------------------------------------------------------------- (b) NVML disappears


class VanishingMeter(EnergyMeter):
    """A measured meter (as NVML) that reads 0.5 J per read until read `fail_at`, then raises."""

    name, kind, source = "NVML", "measured", "fake NVML counter (test)"

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.reads, self.fail_at = 0, fail_at

    def _read_joules(self) -> float:
        self.reads += 1
        if self.reads >= self.fail_at:
            raise RuntimeError("NVML_ERROR_GPU_IS_LOST")
        return 0.5 * self.reads


def test_nvml_disappearing_mid_training_leaves_a_note_and_no_crash(monkeypatch, tmp_path):
    # Two reads per step and run, baseline then TSU: read 23 is the before-read of TSU's
    # step 6 (reads 21-22 are baseline's step 6).
    monkeypatch.setattr(trainer, "open_meter", lambda name, **options: VanishingMeter(23))
    store = RunStore(tmp_path / "store")
    config = TrainConfig(**{**TINY.to_dict(), "steps": 12, "meter": "estimate"})
    _, run_ids = prepare(config, store)
    result = train(config, store, run_ids)
    assert result.status == "finished"
    for mode, run_id in run_ids.items():
        summary = result.summaries[mode]
        assert summary["steps"] == 12
        note = summary["meter_note"]
        assert "failed during step 6 of the tsu run" in note and "up to step 5" in note, note
        measured = [r["step"] for r in store.energy(run_id) if r["kind"] == "measured"]
        assert measured == list(range(1, 7 if mode == "baseline" else 6)), (mode, measured)
        assert store.get_run(run_id).status == "finished"


def test_the_training_page_shows_the_meter_note(monkeypatch):
    monkeypatch.setenv("THERMOLAB_TRAINING_IN", "thread")  # the patch lives in this process
    monkeypatch.setattr(trainer, "open_meter", lambda name, **options: VanishingMeter(7))
    app = new_page("training")
    for key, value in (PAGE_TINY | {"gpt.steps": 6, "gpt.eval": 3}).items():
        app.number_input(key=key).set_value(value)
    app.selectbox(key="gpt.meter").set_value("estimate")
    app.button(key="gpt.start").click().run()
    launch = app.session_state["gpt.launch"]
    assert launch.job.wait(120) and launch.job.status == "done", launch.job.error
    app.run()
    assert_no_exception(app)
    warnings = [w.value for w in app.warning]
    assert any(w.startswith("Energy meter: the NVML meter failed during step 2") for w in warnings)


# --------------------------------------------------------------------------- (c) disk full


class FillingStore(RunStore):
    """A run store whose disk "fills" at the `fill_at`-th metrics write: from then on the
    database may not grow (PRAGMA max_page_count), so SQLite itself reports "database or disk
    is full" for any write that needs a new page. `committed` counts the metric rows stored
    when it filled."""

    fill_at = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.metric_writes, self.committed = 0, None

    def log_metrics(self, run_id, rows):
        self.metric_writes += 1
        if self.metric_writes == self.fill_at:
            with self._guard() as db:
                self.committed = db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                db.execute(f"PRAGMA max_page_count = {pages}")
        return super().log_metrics(run_id, rows)


def test_a_full_disk_mid_training_fails_it_in_one_line_and_keeps_every_committed_row(tmp_path):
    store = FillingStore(tmp_path / "store")
    config = TrainConfig(**{**TINY.to_dict(), "steps": 400})
    _, run_ids = prepare(config, store)
    with pytest.raises(StoreError) as raised:
        train(config, store, run_ids)
    message = str(raised.value)
    assert "disk is full" in message and "free disk space" in message and "\n" not in message
    assert store.committed and store.committed > 0
    # A fresh connection (the disk has room again) reads every row committed before.
    fresh = RunStore(tmp_path / "store")
    with fresh._guard() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    assert stored >= store.committed
    for run_id in run_ids.values():
        steps, values = fresh.metrics(run_id, ["train_loss"])["train_loss"]
        assert steps and steps == sorted(steps) and all(v == v for v in values)
        record = fresh.get_run(run_id)
        assert record.status in ("failed", "running")  # failed, unless that write too found no room
        if record.status == "failed":
            assert "disk is full" in record.message


def test_the_training_page_shows_a_full_disk_as_a_message(monkeypatch):
    monkeypatch.setenv("THERMOLAB_TRAINING_IN", "thread")  # the patch lives in this process
    monkeypatch.setattr(runs, "RunStore", FillingStore)  # the page opens its store through it
    app = new_page("training")
    for key, value in (PAGE_TINY | {"gpt.steps": 400, "gpt.eval": 10}).items():
        app.number_input(key=key).set_value(value)
    app.selectbox(key="gpt.meter").set_value("none")
    app.button(key="gpt.start").click().run()
    launch = app.session_state["gpt.launch"]
    assert launch.job.wait(120) and launch.job.status == "failed"
    assert "disk is full" in launch.job.error and "\n" not in launch.job.error
    app.run()
    assert_no_exception(app)
    assert f"The training failed: {launch.job.error}" in errors(app), errors(app)
    # The page keeps working: a new start is refused because the store is full, or (when the
    # runs' rows still fit in the pages already there) starts, and is stopped here.
    app.button(key="gpt.start").click().run()
    assert_no_exception(app)
    again = app.session_state["gpt.launch"]
    if again is launch:
        assert "disk is full" in " ".join(errors(app)), errors(app)
    else:
        again.job.stop()
        assert again.job.wait(60)


# --------------------------------------------------------------------------- (d) download fails


def test_an_offline_tiny_shakespeare_download_offers_the_default_corpus(monkeypatch, tmp_path):
    monkeypatch.delenv("THERMOLAB_TINYSHAKESPEARE", raising=False)
    monkeypatch.setenv("THERMOLAB_CACHE", str(tmp_path / "empty-cache"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    app = new_page("training")
    app.selectbox(key="gpt.corpus").set_value("tinyshakespeare")
    app.button(key="gpt.start").click().run()
    assert_no_exception(app)
    shown = " ".join(errors(app))
    assert "could not download Tiny Shakespeare" in shown and "'default' corpus" in shown, shown
    assert "gpt.launch" not in app.session_state
    app.button(key="gpt.use_default").click().run()
    assert_no_exception(app)
    assert app.selectbox(key="gpt.corpus").value == "default" and not errors(app)


def test_sqlite_reports_a_full_database_as_we_expect():
    """The injector's premise: max_page_count makes SQLite raise "database or disk is full"."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(100):
            db.execute("INSERT INTO t VALUES (zeroblob(4096))")
