"""The QAOA page headless (Streamlit's AppTest): every control works, bad input is an error
message and never a traceback, and a run ends in the comparison table and the exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from thermolab import problems

PAGE = Path(__file__).resolve().parents[1] / "pages" / "4_QAOA.py"


def fresh() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    return app


def no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def run_job(app: AppTest) -> None:
    app.button(key="qaoa.run").click().run()
    no_exception(app)
    job = app.session_state["qaoa.job"]
    assert job.wait(60), "the QAOA job did not finish in 60 s"
    app.run()
    no_exception(app)


@pytest.fixture(scope="module")
def small_run() -> AppTest:
    app = fresh()
    app.sidebar.number_input(key="qaoa.n").set_value(6)
    app.sidebar.slider(key="qaoa.p").set_value(2)
    app.sidebar.number_input(key="qaoa.steps").set_value(20)
    app.sidebar.number_input(key="qaoa.restarts").set_value(1)
    app.run()
    run_job(app)
    return app


def test_page_loads_with_a_preview_and_no_error():
    app = fresh()
    no_exception(app)
    assert not app.error
    assert app.title[0].value == "QAOA"
    # The playground's problem is offered only when the playground has set one.
    assert "Ising playground's problem" not in app.sidebar.selectbox(key="qaoa.source").options


def test_a_run_shows_the_comparison_table_and_exports(small_run):
    table = small_run.dataframe[0].value
    assert list(table["method"]) == [
        "QAOA p=1",
        "QAOA p=2",
        "exact",
        "annealing",
        "tempering",
        "random",
    ]
    assert table.loc[table["method"] == "QAOA p=1", "approximation ratio"].iloc[0] == (
        pytest.approx(0.75, abs=1e-4)  # the default problem is a ring
    )
    assert "seconds" in table.columns
    labels = [button.proto.label for button in small_run.get("download_button")]
    assert labels == ["Download table (CSV)", "Download results (JSON)"]
    assert not small_run.error


def test_histogram_layer_choice_and_other_optimiser(small_run):
    chooser = next(s for s in small_run.selectbox if s.label.startswith("Histogram"))
    chooser.set_value(1).run()
    no_exception(small_run)
    small_run.sidebar.selectbox(key="qaoa.method").set_value("adam")
    small_run.sidebar.selectbox(key="qaoa.init").set_value("ramp")
    small_run.run()
    no_exception(small_run)


@pytest.mark.parametrize("source", ["random 3-regular", "Erdős–Rényi", "weighted graph", "QUBO"])
def test_every_problem_source_renders(source):
    app = fresh()
    app.sidebar.selectbox(key="qaoa.source").set_value(source).run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize(
    ("source", "widget", "value", "message"),
    [
        ("ring", "qaoa.n", 25, "too many"),
        ("Erdős–Rényi", "qaoa.er_p", 0.0, "no edges"),
        ("weighted graph", "qaoa.edges", "0 1 nan\n1 2 1", "NaN"),
        ("weighted graph", "qaoa.edges", "0 1 x", "not numbers"),
        ("QUBO", "qaoa.q", "1 2\n3", "square"),
    ],
)
def test_bad_input_is_an_error_message_not_a_traceback(source, widget, value, message):
    app = fresh()
    app.sidebar.selectbox(key="qaoa.source").set_value(source).run()
    element = {
        "qaoa.n": lambda: app.sidebar.number_input(key=widget),
        "qaoa.er_p": lambda: app.sidebar.slider(key=widget),
        "qaoa.edges": lambda: app.sidebar.text_area(key=widget),
        "qaoa.q": lambda: app.sidebar.text_area(key=widget),
    }[widget]()
    element.set_value(value).run()
    no_exception(app)
    assert any(message in e.value for e in app.error), [e.value for e in app.error]


def test_playground_problem_is_offered_and_a_lattice_too_big_is_refused():
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["thermolab.problem"] = problems.random_regular(6, 3, spin_glass=True)
    app.run()
    source = app.sidebar.selectbox(key="qaoa.source")
    assert "Ising playground's problem" in source.options
    source.set_value("Ising playground's problem").run()
    no_exception(app)
    assert not app.error
    app.session_state["thermolab.problem"] = problems.square_lattice(16)
    app.run()
    no_exception(app)
    assert any("256 qubits" in e.value for e in app.error)


def test_a_long_run_can_be_stopped():
    app = fresh()
    app.sidebar.number_input(key="qaoa.n").set_value(10)
    app.sidebar.slider(key="qaoa.p").set_value(6)
    app.sidebar.number_input(key="qaoa.steps").set_value(500)
    app.sidebar.number_input(key="qaoa.restarts").set_value(10)
    app.run()
    app.button(key="qaoa.run").click().run()
    no_exception(app)
    job = app.session_state["qaoa.job"]
    app.button(key="qaoa.stop").click().run()
    assert job.wait(30), "the stopped job did not end"
    assert job.status == "stopped"
    app.run()
    no_exception(app)
    assert any("stopped" in w.value for w in app.warning)


def test_n16_3_regular_run_on_the_simulator_shows_the_fixed_angle_baseline():
    app = fresh()
    assert app.sidebar.selectbox(key="qaoa.device").value == "thermolab"
    app.sidebar.selectbox(key="qaoa.source").set_value("random 3-regular").run()
    app.sidebar.number_input(key="qaoa.n").set_value(16)
    app.sidebar.slider(key="qaoa.p").set_value(2)
    app.sidebar.number_input(key="qaoa.steps").set_value(20)
    app.sidebar.number_input(key="qaoa.restarts").set_value(1)
    app.run()
    run_job(app)
    assert not app.error, [e.value for e in app.error]
    table = app.dataframe[0].value
    assert list(table["method"])[:4] == [
        "QAOA p=1",
        "QAOA p=2",
        "fixed angles p=1",
        "fixed angles p=2",
    ]
    ratios = table.set_index("method")["approximation ratio"]
    assert ratios["fixed angles p=1"] >= 0.69245 and ratios["fixed angles p=2"] >= 0.75590
    assert "thermolab, adjoint" in table.set_index("method").loc["QAOA p=2", "note"]
    charts = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert any("fixed angles, published" in spec for spec in charts)
    assert any("At p = 2: optimised ratio" in c.value for c in app.caption)
