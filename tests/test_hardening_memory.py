"""What one session can make the server hold is bounded, with a message where a person hits it.

Caps tested here: live traces (TRACE_LENGTH sweeps per chain and per tempering ladder), a
session's widget and session state over many frames, one sweep job per session, uploads kept
per session (MAX_UPLOADS_PER_OWNER texts), the run browser (MAX_GROUPS_LISTED trainings), and
the job manager's own memory (finished jobs' closures, collected results, owners long gone).
Text boxes (attention 1,000 characters, QAOA 20,000) and the largest lattice are covered by
test_hardening_inputs.py.
"""

from __future__ import annotations

import gc
import threading
import tomllib
import weakref

import numpy as np
import pytest
from hardening_support import (
    ROOT,
    assert_no_exception,
    distinct_sessions,
    errors,
    identity_of,
    move_temperature,
    new_app,
)

from thermolab import data, problems
from thermolab.backends import get_backend
from thermolab.jobs import JobManager
from thermolab.live import TRACE_LENGTH, LiveChain, LiveTempering
from thermolab.runs import DATABASE_NAME, RunStore
from thermolab.training import TrainConfig

TEXT = ("It was the best of times, it was the worst of times. " * 30).encode()


pytestmark = pytest.mark.usefixtures("quick_pages")  # tests/conftest.py


# --------------------------------------------------------------------------- playground


def test_live_traces_keep_at_most_trace_length_sweeps():
    model = problems.square_lattice(8)
    chain = LiveChain(model, get_backend("numpy"), seed=1)
    for _ in range(5):
        chain.advance(2.0, 1000)
    assert chain.sweeps == 5000
    assert len(chain.energies) == len(chain.magnetizations) == TRACE_LENGTH
    ladder = LiveTempering(model, get_backend("numpy"), np.array([1.5, 3.0]), seed=1)
    ladder.advance(TRACE_LENGTH + 50)
    assert len(ladder.energies) == TRACE_LENGTH


def test_a_session_state_does_not_grow_with_frames():
    """200 frames and slider moves later the session holds the same keys (no per-frame
    widget state, figure or trace is kept)."""
    app = new_app("playground")
    app.select_slider(key="L").set_value(8).run()
    state = app._session_state._state

    def size():
        return len(state._old_state) + len(state._new_widget_state) + len(state._new_session_state)

    start = size()
    for frame in range(200):
        if frame % 10 == 0:
            move_temperature(app, 1.0 + frame / 100)
        else:
            app.run()
    assert_no_exception(app)
    assert size() <= start + 2, (start, size())
    assert len(app.session_state["chain"].energies) <= TRACE_LENGTH


def test_one_sweep_job_per_session():
    app = new_app("playground")
    for kind, key, value in (
        ("segmented_control", "mode", "Measure"),
        ("multiselect", "m_L", [32]),
        ("number_input", "m_sw", 50_000),
    ):
        getattr(app, kind)(key=key).set_value(value).run()
    app.button(key="m_run").click().run()
    job = app.session_state["sweep_job"]
    try:
        assert not job.finished  # 2·10⁹ spin updates: seconds of work
        assert app.button(key="m_run").disabled  # no second, orphaned sweep
    finally:
        job.stop()
        assert job.wait(60)
    app.run()
    assert not app.button(key="m_run").disabled


# --------------------------------------------------------------------------- uploads


def test_a_session_keeps_at_most_max_uploads_texts(tmp_path):
    limit = data.MAX_UPLOADS_PER_OWNER
    texts = [TEXT + bytes([65 + i]) for i in range(limit)]
    paths = {data.save_upload(tmp_path, "alice", f"t{i}.txt", text) for i, text in enumerate(texts)}
    assert len(paths) == limit
    assert data.save_upload(tmp_path, "alice", "t0.txt", TEXT + b"A") in paths  # same text: kept
    with pytest.raises(data.CorpusError, match=f"already uploaded {limit} different texts"):
        data.save_upload(tmp_path, "alice", "one-more.txt", TEXT + b"!")
    assert data.save_upload(tmp_path, "bob", "one-more.txt", TEXT + b"!").exists()
    with pytest.raises(ValueError, match="upload folder"):
        data.save_upload(tmp_path, "../../etc", "passwd.txt", TEXT)
    sneaky = data.save_upload(tmp_path, "bob", "../../passwd.txt", TEXT)
    assert sneaky.resolve().is_relative_to((tmp_path / "uploads").resolve())


def test_the_training_page_says_when_a_session_has_uploaded_too_much(monkeypatch, tmp_path):
    distinct_sessions(monkeypatch)
    monkeypatch.setattr(data, "MAX_UPLOADS_PER_OWNER", 2)
    app = new_app("training")
    for i in range(2):
        folder = identity_of(app).uploads
        data.save_upload(tmp_path / "runs", folder, f"old{i}.txt", TEXT + bytes([48 + i]))
    app.selectbox(key="gpt.corpus").set_value("upload")
    app.get("file_uploader")[0].set_value(("new.txt", TEXT + b"new", "text/plain"))
    app.button(key="gpt.start").click().run()
    assert_no_exception(app)
    assert any("already uploaded 2 different texts" in e for e in errors(app)), errors(app)
    assert "gpt.launch" not in app.session_state


def test_uploads_are_bounded_per_server_whatever_the_sessions(tmp_path):
    """A reload is a new session with a new folder (a fresh per-session quota): the server's
    total still bounds the disk, and a refused text leaves nothing behind."""
    size = len(TEXT) + 1
    for reload in range(3):  # three sessions, one text each, fill the server's 3 texts
        text = TEXT + bytes([65 + reload])
        data.save_upload(tmp_path, f"folder{reload}", "t.txt", text, max_total_bytes=3 * size)
    with pytest.raises(data.CorpusError, match="the server keeps at most"):
        data.save_upload(tmp_path, "folder3", "t.txt", TEXT + b"!", max_total_bytes=3 * size)
    assert len(list((tmp_path / "uploads").glob("*/*"))) == 3
    assert data.save_upload(tmp_path, "folder0", "t.txt", TEXT + b"A").exists()  # kept: no cost


def test_the_server_limit_on_uploads_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(data.UPLOADS_LIMIT_ENV, "2.5")
    assert data.max_upload_bytes() == 2_500_000
    for bad in ("lots", "0", "-1", "nan"):
        monkeypatch.setenv(data.UPLOADS_LIMIT_ENV, bad)
        with pytest.raises(data.CorpusError, match=data.UPLOADS_LIMIT_ENV):
            data.max_upload_bytes()


def test_uploads_of_ended_sessions_that_no_run_uses_are_removed(tmp_path):
    live = data.save_upload(tmp_path, "live", "a.txt", TEXT + b"a")
    used = data.save_upload(tmp_path, "ended", "b.txt", TEXT + b"b")
    unused = data.save_upload(tmp_path, "ended", "c.txt", TEXT + b"c")
    orphan = data.save_upload(tmp_path, "gone", "d.txt", TEXT + b"d")
    removed = data.remove_unused_uploads(tmp_path, {"live"}, {str(used), "default"})
    assert set(removed) == {unused, orphan}
    assert live.exists() and used.exists() and not unused.exists()
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["ended", "live"]


def test_the_upload_limit_and_its_help_say_what_streamlit_enforces():
    """Streamlit refuses a file over server.maxUploadSize MB (10^6 bytes): the engine's limit
    is the same number of bytes, and the page's help says it in the same unit."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    megabytes = config["server"]["maxUploadSize"]
    assert megabytes * 10**6 == data.MAX_CORPUS_BYTES
    app = new_app("training")
    helps = [element.proto.help for element in app.get("file_uploader")]
    assert helps == [f"UTF-8 text, at most {megabytes} MB."]


def test_the_training_page_says_when_the_servers_uploads_are_full(monkeypatch, tmp_path):
    monkeypatch.setenv(data.UPLOADS_LIMIT_ENV, str(2.5 * len(TEXT) / 10**6))
    store = RunStore(tmp_path / "runs" / DATABASE_NAME)
    for reload in range(2):  # earlier sessions' texts, each in its own folder, runs train on
        text = TEXT + bytes([48 + reload])
        kept = data.save_upload(tmp_path / "runs", f"earlier{reload}", "t.txt", text)
        store.create_run("tinygpt", {"mode": "tsu", "train": {"corpus": str(kept)}})
    app = new_app("training")
    app.selectbox(key="gpt.corpus").set_value("upload")
    app.get("file_uploader")[0].set_value(("new.txt", TEXT + b"new", "text/plain"))
    app.button(key="gpt.start").click().run()
    assert_no_exception(app)
    assert any("the server keeps at most" in e for e in errors(app)), errors(app)
    assert "gpt.launch" not in app.session_state
    assert len(list((tmp_path / "runs" / "uploads").glob("*/*"))) == 2  # the runs' texts kept


# --------------------------------------------------------------------------- run browser


def test_the_run_browser_lists_the_newest_groups_and_says_so(tmp_path):
    (tmp_path / "runs").mkdir()
    store = RunStore(tmp_path / "runs" / DATABASE_NAME)
    train = TrainConfig(steps=5).to_dict()
    for index in range(55):
        run_id = store.create_run(
            "tinygpt", {"mode": "baseline", "train": train}, owner="someone", group=f"g{index:03d}"
        )
        store.set_status(run_id, "finished", "finished after 5 of 5 steps")
    app = new_app("training")
    listed = app.selectbox(key="gpt.view").options
    assert len(listed) == 50
    captions = [caption.value for caption in app.caption]
    assert any("Only the newest 50 of the 55 trainings" in c for c in captions), captions


# --------------------------------------------------------------------------- the job manager


def test_a_finished_job_lets_go_of_its_work_and_its_collected_result():
    manager = JobManager(max_running=1)

    class Payload:
        """Stands for a model or a state vector the job's closure holds."""

    payload = Payload()
    alive = weakref.ref(payload)

    def work(context, payload=payload):
        return {"size": 1}

    job = manager.submit("holds a payload", work)
    del payload, work
    assert job.wait(10) and job.status == "done"
    gc.collect()
    assert alive() is None, "the finished job still holds its closure"
    assert job in manager.jobs()
    manager.forget(job)
    assert job not in manager.jobs()


def test_owners_long_gone_are_forgotten():
    now = [0.0]
    manager = JobManager(max_running=1, idle_timeout_s=60, grace_s=10, clock=lambda: now[0])
    release = threading.Event()
    busy = manager.submit("busy", lambda context: release.wait(10), owner="busy")
    for index in range(100):
        manager.touch(f"visitor-{index}")
    now[0] = 7200.0
    manager.touch("busy")
    manager.reap()
    assert set(manager._last_seen) == {"busy"}  # a session with a running job is kept
    release.set()
    assert busy.wait(10)
