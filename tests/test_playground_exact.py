"""The playground's exact references: this L (Kaufman) beside L = ∞ (Onsager), in the live
view's caption and traces and in the Measure tab's temperature-sweep figure."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from hardening_support import start_small_sweep
from streamlit.testing.v1 import AppTest

from thermolab import exact, problems
from thermolab.backends import get_backend
from thermolab.measure import temperature_sweep
from thermolab.viz.ising import sweep_figure, trace_figure
from ui.live_view import reference_caption

PAGE = Path(__file__).resolve().parents[1] / "pages" / "1_Ising_playground.py"


@pytest.fixture(scope="module")
def points():
    backend = get_backend("numpy")
    return temperature_sweep(backend, [4, 6], [2.0, 2.6], sweeps=100, burn_in=0, chains=1)


@pytest.mark.parametrize(
    ("metric", "field"),
    [("energy", "energy_per_spin"), ("heat_capacity", "heat_capacity_per_spin")],
)
def test_sweep_figure_overlays_each_sizes_exact_curve(points, metric, field):
    figure = sweep_figure(points, metric)
    curves = {trace.name: trace for trace in figure.data}
    for length in (4, 6):
        curve = curves[f"exact, L = {length}"]
        expected = getattr(exact.square_lattice_exact(length, np.asarray(curve.x)), field)
        np.testing.assert_allclose(curve.y, expected, rtol=1e-12)
        # Drawn in the colour of that size's measured points.
        assert curve.line.color == curves[f"L = {length}"].line.color
        assert min(curve.x) == 2.0 and max(curve.x) == 2.6
    assert "Onsager, L = ∞ (exact)" in curves


def test_sweep_figure_has_no_finite_curve_where_none_is_exact(points):
    names = [trace.name for trace in sweep_figure(points, "abs_magnetization").data]
    assert not any(name.startswith("exact") for name in names)
    # An antiferromagnet's sweep: neither exact solution applies.
    names = [trace.name for trace in sweep_figure(points, "energy", coupling=-1.0).data]
    assert not any(name.startswith("exact") or name.startswith("Onsager") for name in names)


def test_reference_caption_shows_this_l_beside_onsager():
    temperature = 2.3
    reference = exact.lattice_reference(problems.square_lattice(16), temperature)
    finite = exact.square_lattice_exact(16, temperature)
    onsager_energy, onsager_magnet = exact.onsager_reference(
        problems.square_lattice(16), temperature
    )
    assert reference_caption(reference) == (
        f"Exact, this L = 16: E/n = {float(finite.energy_per_spin):.4f}, "
        f"C/n = {float(finite.heat_capacity_per_spin):.3f} · "
        f"Onsager, L = ∞: E/n = {onsager_energy:.4f}, |m| = {onsager_magnet:.3f}"
    )
    cold = exact.lattice_reference(problems.square_lattice(16), 1 / 301)  # βJ = 301
    assert reference_caption(cold).startswith("Exact: Onsager, L = ∞")


def test_trace_figure_draws_this_ls_energy_dotted():
    figure = trace_figure(np.linspace(-2, 0, 10), np.linspace(0, 1, 10), -1.41, 0.0, -1.45)
    lines = [(shape.yref, shape.y0, shape.line.dash) for shape in figure.layout.shapes]
    assert lines == [("y", -1.41, "dash"), ("y", -1.45, "dot"), ("y2", 0.0, "dash")]
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert "E/n of this L (exact)" in texts


@pytest.fixture
def app(monkeypatch) -> AppTest:
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")  # one frame per run of the live view
    test = AppTest.from_file(str(PAGE), default_timeout=120)
    test.run()
    assert not test.exception, [e.value for e in test.exception]
    return test


def test_live_view_shows_the_exact_values_of_this_lattice(app):
    app.select_slider(key="L").set_value(16).run()
    assert not app.exception, [e.value for e in app.exception]
    temperature = app.session_state["live_temperature"]
    finite = exact.square_lattice_exact(16, temperature)
    captions = [caption.value for caption in app.caption]
    expected = f"Exact, this L = 16: E/n = {float(finite.energy_per_spin):.4f}"
    assert any(caption.startswith(expected) for caption in captions), captions
    assert any("Onsager, L = ∞" in caption for caption in captions)


def test_measure_sweep_figure_shows_the_exact_curves(app):
    job = start_small_sweep(app)
    assert job.wait(60) and job.status == "done", job.error
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    sweep = next(c for c in charts if any(t.get("name") == "L = 8" for t in c["data"]))
    curve = next(t for t in sweep["data"] if t.get("name") == "exact, L = 8")
    x, y = plotted(curve["x"]), plotted(curve["y"])
    assert x.size == y.size > 100
    expected = exact.square_lattice_exact(8, x).energy_per_spin
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def plotted(values) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype": ..., "bdata": base64}."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=np.float64)
