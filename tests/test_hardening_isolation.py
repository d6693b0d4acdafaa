"""Two sessions side by side (two AppTests, each with its own session id): nothing one person
does on a page is visible to, or changeable by, the other, except finished trainings, which the
run browser shows everyone read-only."""

from __future__ import annotations

import time

import pytest
from hardening_support import (
    assert_no_exception,
    distinct_sessions,
    errors,
    identity_of,
    move_temperature,
    new_app,
    no_job_left_running,
)

import ui.session
from thermolab.jobs import get_manager
from thermolab.runs import RunStore

TINY = {"gpt.batch": 2, "gpt.block": 16, "gpt.eval_batches": 1, "gpt.k": 2, "gpt.sample_chars": 8}


@pytest.fixture(autouse=True)
def owner(monkeypatch, tmp_path):
    """Distinct session ids (returns AppTest → its owner token), one live-view frame per run, a run
    store of the test's own."""
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")
    monkeypatch.setenv("THERMOLAB_RUNS_DIR", str(tmp_path / "runs"))
    with no_job_left_running():
        yield distinct_sessions(monkeypatch)


def buttons(app) -> set[str]:
    return {button.key for button in app.button if button.key}


def test_playground_chains_and_temperatures_are_per_session():
    alice, bob = new_app("playground"), new_app("playground")
    alice.select_slider(key="L").set_value(16).run()
    move_temperature(alice, 1.2)
    assert_no_exception(alice)
    chain = alice.session_state["chain"]
    sweeps = chain.sweeps
    spins = chain.spins.copy()
    for value in (0.5, 5.0, 2.0):  # bob plays with his own slider
        move_temperature(bob, value)
        assert_no_exception(bob)
    assert bob.session_state["chain"] is not chain
    assert bob.session_state["live_stream"].channel != alice.session_state["live_stream"].channel
    assert bob.session_state["thermolab.problem"].n_spins == 128**2
    assert alice.session_state["thermolab.problem"].n_spins == 16**2
    assert chain.sweeps == sweeps and (chain.spins == spins).all()  # untouched by bob
    assert bob.session_state["live_temperature"] == 2.0
    assert alice.session_state["live_temperature"] == 1.2
    assert chain.temperatures[-1] == pytest.approx(1.2)


def test_a_sweep_job_belongs_to_its_session_and_only_it_can_stop_it(owner):
    alice, bob = new_app("playground"), new_app("playground")
    alice.segmented_control(key="mode").set_value("Measure").run()
    alice.multiselect(key="m_L").set_value([16]).run()
    alice.number_input(key="m_sw").set_value(20_000).run()  # long enough to watch it run
    alice.button(key="m_run").click().run()
    assert_no_exception(alice)
    job = alice.session_state["sweep_job"]
    try:
        assert job.owner == owner(alice) != owner(bob)
        bob.segmented_control(key="mode").set_value("Measure").run()
        assert "sweep_job" not in bob.session_state
        assert "m_stop" not in buttons(bob)
        assert job not in get_manager().jobs(owner=owner(bob))
        if not job.finished:
            assert "m_stop" in buttons(alice)
    finally:
        job.stop()
        assert job.wait(60)


def test_attention_input_is_per_session():
    alice, bob = new_app("attention"), new_app("attention")
    alice.text_input(key="sentence").set_value("alpha beta gamma delta").run()
    assert_no_exception(alice)
    bob.run()
    assert bob.text_input(key="sentence").value != "alpha beta gamma delta"
    specs = " ".join(chart.proto.spec for chart in bob.get("plotly_chart"))
    assert "alpha" not in specs and "gamma" not in specs
    assert "alpha" in " ".join(chart.proto.spec for chart in alice.get("plotly_chart"))


def test_qaoa_problem_and_run_are_per_session(owner):
    alice, bob = new_app("qaoa"), new_app("qaoa")
    alice.sidebar.selectbox(key="qaoa.source").set_value("QUBO").run()
    alice.sidebar.text_area(key="qaoa.q").set_value("-1 2 0\n0 -1 2\n0 0 -1").run()
    alice.sidebar.number_input(key="qaoa.steps").set_value(5).run()
    alice.sidebar.number_input(key="qaoa.restarts").set_value(1).run()
    alice.button(key="qaoa.run").click().run()
    assert_no_exception(alice)
    job = alice.session_state["qaoa.job"]
    assert job.owner == owner(alice) != owner(bob)
    bob.run()
    assert bob.sidebar.selectbox(key="qaoa.source").value == "ring"
    assert "qaoa.job" not in bob.session_state and "qaoa.stop" not in buttons(bob)
    assert job.wait(60)
    alice.run()
    assert_no_exception(alice)
    assert alice.session_state["qaoa.result"].instance.n_qubits == 3
    bob.run()
    assert "qaoa.result" not in bob.session_state
    assert job not in get_manager().jobs()  # forgotten once alice took the result


def test_qaoa_does_not_offer_another_sessions_playground_problem():
    new_app("playground")  # alice's playground sets her problem in her session only
    bob = new_app("qaoa")
    assert "Ising playground's problem" not in bob.sidebar.selectbox(key="qaoa.source").options


def start_training(app, steps: int, upload: tuple | None = None):
    for key, value in (TINY | {"gpt.steps": steps, "gpt.eval": steps}).items():
        app.number_input(key=key).set_value(value)
    app.selectbox(key="gpt.meter").set_value("none")
    if upload is not None:
        app.selectbox(key="gpt.corpus").set_value("upload")
        app.get("file_uploader")[0].set_value(upload)
    app.button(key="gpt.start").click().run()
    assert_no_exception(app)
    launch = app.session_state.get("gpt.launch")
    assert launch is not None, errors(app)
    return launch


def wait_for_steps(launch, fraction: float) -> None:
    deadline = time.monotonic() + 90
    while launch.job.progress < fraction and not launch.job.finished:
        assert time.monotonic() < deadline, "no progress in 90 s"
        time.sleep(0.05)


def test_training_runs_and_uploads_are_private_until_they_end(owner, tmp_path):
    text = ("Shall I compare thee to a summer's day? " * 40).encode()
    alice, bob = new_app("training"), new_app("training")
    launch = start_training(alice, 2000, ("sonnet.txt", text, "text/plain"))
    assert launch.job.owner == owner(alice) != owner(bob)
    try:
        wait_for_steps(launch, 0.002)
        # Bob does not see Alice's running training, her upload, or any control over it.
        bob.run()
        assert_no_exception(bob)
        views = [box.options for box in bob.selectbox if box.key == "gpt.view"]
        assert not any(launch.group in str(option) for options in views for option in options)
        assert {"gpt.stop", "gpt.resume"}.isdisjoint(buttons(bob))
        assert "gpt.launch" not in bob.session_state
        uploads = tmp_path / "runs" / "uploads"
        folder = identity_of(alice).uploads
        assert [p.parent.name for p in uploads.rglob("*.txt")] == [folder]
        session_id = ui.session._session_of[identity_of(alice)]
        assert session_id.startswith("session-")  # the id distinct_sessions gave alice
        assert len({folder, owner(alice), session_id}) == 3
        assert "gpt.stop" in buttons(alice)
    finally:
        alice.button(key="gpt.stop").click().run()
        assert launch.job.wait(60)
    alice.run()
    # Stopped: Bob now sees it, read-only (Alice's session is still here).
    bob.run()
    bob.selectbox(key="gpt.view").set_value(launch.group).run()
    assert_no_exception(bob)
    assert "gpt.resume" not in buttons(bob) and "gpt.stop" not in buttons(bob)
    assert {r.status for r in RunStore().list_runs(group=launch.group)} == {"stopped"}
    assert "gpt.resume" in buttons(alice)
    # What Bob may download names neither Alice's session nor the server's files.
    store = RunStore()
    for record in store.list_runs(group=launch.group):
        for export in (store.export_json(record.id), store.export_csv(record.id)):
            for secret in (session_id, owner(alice), folder, str(tmp_path), "uploads/"):
                assert secret not in export


def test_a_training_whose_session_is_gone_can_be_adopted(owner, monkeypatch):
    """After a restart (or a closed tab) nobody owns a stopped training: the next session may
    resume it, and it becomes theirs."""
    alice, bob = new_app("training"), new_app("training")
    launch = start_training(alice, 2000)
    wait_for_steps(launch, 0.002)
    alice.button(key="gpt.stop").click().run()
    assert launch.job.wait(60)
    gone = owner(alice)
    monkeypatch.setattr(ui.session, "owner_alive", lambda owner: owner != gone)
    bob.run()
    bob.selectbox(key="gpt.view").set_value(launch.group).run()
    bob.button(key="gpt.resume").click().run()
    assert_no_exception(bob)
    resumed = bob.session_state["gpt.launch"]
    try:
        assert resumed.group == launch.group and resumed.job.owner == owner(bob) != gone
        assert {r.owner for r in RunStore().list_runs(group=launch.group)} == {owner(bob)}
    finally:
        resumed.job.stop()
        assert resumed.job.wait(60)
