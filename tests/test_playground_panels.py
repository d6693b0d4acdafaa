"""The playground's annealing, tempering and Measure panels under AppTest: settings that do not
apply yet say so, tempering pauses, a heating schedule is called one, a finished sweep frees
its button."""

from __future__ import annotations

from pathlib import Path

import pytest
from hardening_support import start_small_sweep
from streamlit.testing.v1 import AppTest

PAGE = Path(__file__).resolve().parents[1] / "pages" / "1_Ising_playground.py"


@pytest.fixture
def app(monkeypatch) -> AppTest:
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")  # one frame per run of the live view
    test = AppTest.from_file(str(PAGE), default_timeout=120)
    test.run()
    test.select_slider(key="L").set_value(8).run()
    ok(test)
    return test


def ok(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def test_tempering_settings_changed_while_it_runs_say_restart_applies_them(app):
    app.segmented_control(key="mode").set_value("Parallel tempering").run()
    ok(app)
    assert app.session_state["tempering"].temperatures.size == 6
    assert not any("Restart replicas" in text for text in texts(app.info))
    app.slider(key="pt_count").set_value(3).run()
    ok(app)
    assert app.session_state["tempering"].temperatures.size == 6  # not applied yet...
    notes = [text for text in texts(app.info) if "Press **Restart replicas**" in text]
    assert notes and "6 temperatures from 1.60 to 4.00" in notes[0]  # ...and it says so
    app.button(key="pt_restart").click().run()
    ok(app)
    assert app.session_state["tempering"].temperatures.size == 3
    assert not any("Restart replicas" in text for text in texts(app.info))
    app.number_input(key="pt_tmax").set_value(3.0).run()  # the T range counts too
    assert any("Press **Restart replicas**" in text for text in texts(app.info))


def test_tempering_pauses_and_resumes(app):
    app.segmented_control(key="mode").set_value("Parallel tempering").run()
    tempering = app.session_state["tempering"]
    assert tempering.rounds > 0 and app.button(key="pt_pause").label == "Pause"
    app.button(key="pt_pause").click().run()
    ok(app)
    assert app.button(key="pt_pause").label == "Resume"
    frozen = tempering.rounds
    app.run()
    app.run()
    assert tempering.rounds == frozen  # paused: the page's runs draw the same replicas
    assert any(f"Paused after round {frozen}" in text for text in texts(app.caption))
    app.button(key="pt_pause").click().run()
    ok(app)
    assert app.button(key="pt_pause").label == "Pause" and tempering.rounds > frozen


def test_a_schedule_that_heats_is_called_heating(app):
    app.segmented_control(key="mode").set_value("Annealing").run()
    assert not app.warning
    app.number_input(key="anneal_t0").set_value(0.5).run()
    app.number_input(key="anneal_t1").set_value(3.0).run()
    ok(app)
    assert any("below end T" in text and "heats" in text for text in texts(app.warning))
    app.number_input(key="anneal_t1").set_value(0.2).run()
    assert not app.warning


def test_annealing_shows_its_progress_as_a_bar(app):
    app.segmented_control(key="mode").set_value("Annealing").run()
    app.number_input(key="anneal_sweeps").set_value(50).run()
    app.button(key="anneal_start").click().run()
    ok(app)
    bars = app.get("progress")
    assert bars, "no progress bar"
    done = app.session_state["anneal"]["done"]
    assert bars[0].proto.text.startswith(f"Sweep {done} of 50")
    assert bars[0].proto.value == round(100 * done / 50)


def test_a_finished_sweep_frees_its_button(app):
    job = start_small_sweep(app)
    assert job.wait(120) and job.status == "done", job.error
    app.run()
    ok(app)
    assert not app.button(key="m_run").disabled
    assert not [button for button in app.button if button.key == "m_stop"]


def test_the_sampler_controls_say_what_changing_them_does(app):
    assert "restarts the live chain" in app.radio(key="algorithm").help
    assert "restarts the live chain" in app.selectbox(key="backend").help
    assert not any("checkerboard" in text for text in texts(app.sidebar.caption))
    app.radio(key="algorithm").set_value("metropolis").run()
    ok(app)
    notes = [text for text in texts(app.sidebar.caption) if "checkerboard" in text]
    assert notes and "same equilibrium" in notes[0]


def test_only_a_lattice_with_an_exact_solution_claims_onsager(app):
    captions = " ".join(texts(app.caption))
    assert "reference curves: Onsager's exact solution" in captions
    app.radio(key="kind").set_value("Graph").run()
    ok(app)
    captions = " ".join(texts(app.caption))
    assert "Onsager" not in captions and "no exact reference curve" in captions
