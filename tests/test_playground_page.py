"""The playground page under AppTest: every control runs without an exception."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hardening_support import move_temperature, start_small_sweep
from streamlit.testing.v1 import AppTest

from thermolab.viz import ising as viz
from ui import frames
from ui.frames import EXCHANGE

PAGE = Path(__file__).resolve().parents[1] / "pages" / "1_Ising_playground.py"


@pytest.fixture
def app(monkeypatch) -> AppTest:
    # One frame per run of the live view (a browser session keeps drawing for 30 s per run).
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")
    test = AppTest.from_file(str(PAGE), default_timeout=120)
    test.run()
    assert not test.exception, [e.value for e in test.exception]
    return test


def ok(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def lattice_frame(app: AppTest, key: str = "live_lattice") -> dict:
    """The frame the lattice canvas component was mounted with in the last run."""
    component = next(e for e in app.get("bidi_component") if e.proto.id.endswith(key))
    assert component.proto.component_name == "thermolab.lattice_canvas"
    return json.loads(component.proto.json)


def record_published(monkeypatch) -> dict[str, list[dict]]:
    """Every frame the live view publishes for its browser to take, by channel."""
    published: dict[str, list[dict]] = {}
    publish = EXCHANGE.publish

    def recording(channel: str, frame: dict) -> int:
        published.setdefault(channel, []).append(frame)
        return publish(channel, frame)

    monkeypatch.setattr(EXCHANGE, "publish", recording)
    return published


def drawn_spins(spins: str, count: int) -> np.ndarray:
    """The `count` ±1 spins the canvas draws from a frame's base64 bit-packed spins."""
    bits = np.unpackbits(np.frombuffer(base64.b64decode(spins), dtype=np.uint8))
    return 2 * bits[:count].astype(np.int8) - 1


def test_the_canvas_is_mounted_once_per_channel_and_every_frame_is_published(monkeypatch):
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0.1")  # a few frames per run
    published = record_published(monkeypatch)
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    ok(app)
    chain = app.session_state["chain"]
    mounted = lattice_frame(app)
    assert (mounted["rows"], mounted["columns"], mounted["count"]) == (128, 128, 128 * 128)
    assert mounted["caption"].startswith("T = 3.00 · β = 0.333 · ")
    (slider,) = mounted["sliders"]  # the temperature slider is drawn with the canvas
    assert (slider["name"], slider["label"], slider["value"]) == ("temperature", "Temperature T", 3)
    assert not slider["disabled"]
    streamed = published[mounted["channel"]]  # every frame of the run, the first one too
    assert len(streamed) > 1 and streamed[0]["frame"] == mounted["frame"]
    assert mounted["sequence"] == 1
    last = streamed[-1]
    assert last["frame"] == chain.sweeps > mounted["frame"]
    title, numbers = last["caption"].split("\n")
    assert title == f"T = 3.00 · β = 0.333 · sweep {chain.sweeps}"
    assert numbers.startswith(f"E/n = {chain.energy_per_spin:.4f} · |m| = ")
    np.testing.assert_array_equal(drawn_spins(last["spins"], 128 * 128), chain.spins)
    app.button(key="pause").click().run()
    ok(app)
    # Paused: one frame per run. The canvas keeps its channel and its first frame (a re-mount
    # draws nothing: no stale frame can come late); its slider is disabled; it gets the chain's
    # state on the channel.
    paused = lattice_frame(app)
    assert paused["sliders"][0]["disabled"]
    assert {**paused, "sliders": None} == {**mounted, "sliders": None}
    last = published[mounted["channel"]][-1]
    assert last["frame"] == chain.sweeps
    np.testing.assert_array_equal(drawn_spins(last["spins"], 128 * 128), chain.spins)
    # A channel left idle (its browser gone) is closed when another view opens one; the next
    # run then mounts the canvas on a new channel, with the current state.
    monkeypatch.setattr(frames, "IDLE_SECONDS", 0.0)
    EXCHANGE.close(EXCHANGE.open())
    assert not EXCHANGE.renew(mounted["channel"])
    app.run()
    ok(app)
    remounted = lattice_frame(app)
    assert remounted["channel"] != mounted["channel"] and remounted["frame"] == chain.sweeps
    np.testing.assert_array_equal(drawn_spins(remounted["spins"], 128 * 128), chain.spins)


def last_published(published: dict[str, list[dict]], app: AppTest) -> dict:
    """The last frame the live view published to its canvas's channel."""
    return published[lattice_frame(app)["channel"]][-1]


def test_live_controls_change_the_state(app, monkeypatch):
    published = record_published(monkeypatch)
    chain = app.session_state["chain"]
    start = chain.sweeps
    move_temperature(app, 1.2)  # the canvas's slider: its value reaches the running chain
    ok(app)
    assert app.session_state["chain"] is chain  # the same chain, at the new temperature
    assert app.session_state["live_temperature"] == 1.2
    assert chain.sweeps > start
    assert chain.temperatures[-1] == pytest.approx(1.2)
    frame = last_published(published, app)
    assert frame["caption"].startswith(f"T = 1.20 · β = 0.833 · sweep {chain.sweeps}")
    np.testing.assert_array_equal(drawn_spins(frame["spins"], 128 * 128), chain.spins)
    move_temperature(app, 99.0)  # hand-made requests beyond the slider: the range's ends
    assert chain.temperatures[-1] == pytest.approx(6.0)
    move_temperature(app, -1.0)
    assert chain.temperatures[-1] == pytest.approx(0.05)
    move_temperature(app, 1.2)
    app.select_slider(key="spf").set_value(20).run()
    ok(app)
    assert not app.title and chain.temperatures[-20] == pytest.approx(1.2)
    app.run()
    app.button(key="all_up").click().run()
    ok(app)
    assert "|m| = " in last_published(published, app)["caption"]
    app.button(key="pause").click().run()
    ok(app)
    assert app.session_state["paused"]
    frozen = chain.sweeps
    app.run()
    assert chain.sweeps == frozen  # paused: a rerun draws the same state
    app.button(key="step").click().run()
    assert chain.sweeps == frozen + 20
    app.button(key="randomise").click().run()
    ok(app)
    assert chain.sweeps == frozen + 20 and abs(chain.spins.mean()) < 0.1


def shown_numbers(caption: str) -> tuple[float, float]:
    """E/n and |m| as a live view's caption shows them ("… E/n = -1.2346 · |m| = 0.123 …")."""
    numbers = caption.split("E/n = ", 1)[1]
    energy, rest = numbers.split(" · |m| = ", 1)
    return float(energy), float(rest.split(" ")[0])


def test_randomise_while_paused_shows_the_numbers_of_the_state_on_screen(app, monkeypatch):
    """Randomise and All up clear the traces; the caption then reads the state's own E/n and
    |m| (it read nan), computed here from the spins by hand: −Σ s_i s_j over the bonds."""
    published = record_published(monkeypatch)
    app.select_slider(key="L").set_value(16).run()
    app.button(key="pause").click().run()
    for button, magnet in (("randomise", None), ("all_up", 1.0)):
        app.button(key=button).click().run()
        ok(app)
        chain = app.session_state["chain"]
        assert not chain.energies  # no sweep since the state was set
        frame = last_published(published, app)
        np.testing.assert_array_equal(drawn_spins(frame["spins"], 16 * 16), chain.spins)
        grid = chain.spins.reshape(16, 16).astype(np.int64)
        bonds = grid * np.roll(grid, 1, axis=0) + grid * np.roll(grid, 1, axis=1)
        energy, shown_magnet = shown_numbers(frame["caption"])
        assert energy == pytest.approx(-bonds.sum() / 256, abs=5e-5)  # shown to 4 decimals
        assert shown_magnet == pytest.approx(abs(grid.sum()) / 256, abs=5e-4)
        if magnet is not None:
            assert (energy, shown_magnet) == (-2.0, magnet)
        else:
            assert abs(shown_magnet) < 0.3  # a random state
        assert any("traces start at the next sweep" in c.value for c in app.caption)
        assert not app.get("plotly_chart")  # no empty axes (the lattice is a canvas)
    # A graph's numbers are a Streamlit caption under its figure.
    app.radio(key="kind").set_value("Graph").run()
    app.number_input(key="nodes").set_value(12).run()
    app.button(key="randomise").click().run()
    ok(app)
    chain, model = app.session_state["chain"], app.session_state["thermolab.problem"]
    spins = chain.spins.astype(np.float64)
    ring = -np.sum(spins * np.roll(spins, 1))  # the ring, J = 1, h = 0
    (caption,) = [c.value for c in app.caption if "E/n = " in c.value]
    assert shown_numbers(caption) == pytest.approx(
        (ring / model.n_spins, abs(spins.mean())), abs=5e-4
    )


def test_graph_families_show_only_the_options_they_read(app):
    app.radio(key="kind").set_value("Graph").run()
    labels = {}
    for graph in ("Sherrington–Kirkpatrick", "Erdős–Rényi", "ring", "random 3-regular"):
        app.selectbox(key="graph").set_value(graph).run()
        ok(app)
        labels[graph] = {w.label for kind in ("slider", "toggle", "number_input") for w in
                         app.sidebar.get(kind)}  # fmt: skip
    sk, er = labels["Sherrington–Kirkpatrick"], labels["Erdős–Rényi"]
    assert "Edge probability" not in sk and "Edge probability" in er
    assert "Random ± couplings (spin glass)" not in sk  # SK's couplings are random already
    assert "Coupling J (> 0 ferromagnet)" not in sk
    assert {"Random ± couplings (spin glass)", "Graph seed", "Field h"} <= er
    assert all("Edge probability" not in labels[g] for g in ("ring", "random 3-regular"))
    assert "Graph seed" in labels["ring"]  # the spin glass's signs read it


def test_an_edgeless_graph_shows_zero_energy_without_a_sign(app):
    app.radio(key="kind").set_value("Graph").run()
    app.selectbox(key="graph").set_value("Erdős–Rényi").run()
    app.number_input(key="nodes").set_value(4).run()
    app.slider(key="p").set_value(0.01).run()  # with graph seed 0: no edge among 4 nodes
    ok(app)
    assert app.session_state["thermolab.problem"].couplings.nnz == 0
    (caption,) = [c.value for c in app.caption if "E/n = " in c.value]
    assert "E/n = 0.0000" in caption and "-0.0000" not in caption


def test_problem_and_sampler_settings(app):
    app.select_slider(key="L").set_value(16).run()
    ok(app)
    assert app.session_state["thermolab.problem"].n_spins == 256
    app.radio(key="algorithm").set_value("metropolis").run()
    ok(app)
    app.number_input(key="J").set_value(-1.0).run()
    ok(app)
    app.number_input(key="h").set_value(0.5).run()
    ok(app)
    app.selectbox(key="backend").set_value("numpy").run()
    ok(app)
    assert app.session_state["chain"].backend.name == "numpy"
    app.radio(key="kind").set_value("Graph").run()
    ok(app)
    for graph in ("ring", "random 3-regular", "Erdős–Rényi", "Sherrington–Kirkpatrick"):
        app.selectbox(key="graph").set_value(graph).run()
        ok(app)
    app.number_input(key="nodes").set_value(12).run()
    ok(app)
    assert app.session_state["thermolab.problem"].n_spins == 12


def test_the_densest_graph_streams_its_spins_and_draws_its_couplings_once(monkeypatch):
    """SK at the largest n has 124,750 couplings: drawn as lines its figure was 9.5 MiB of JSON
    per frame, then as a Plotly figure with the coupling matrix about 107 kB. Now each frame is
    its n spins on the canvas's channel, as a lattice's; the matrix is made once per problem."""
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0.3")  # several frames per run
    published = record_published(monkeypatch)
    made = []
    make_png = viz.coupling_matrix_png
    monkeypatch.setattr(
        viz,
        "coupling_matrix_png",
        lambda model, *scale: made.append(model) or make_png(model, *scale),
    )
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    app.radio(key="kind").set_value("Graph").run()
    app.selectbox(key="graph").set_value("Sherrington–Kirkpatrick").run()
    app.number_input(key="nodes").set_value(n := 500).run()
    ok(app)
    chain, model = app.session_state["chain"], app.session_state["thermolab.problem"]
    assert chain.spins.size == n == model.n_spins
    assert not any("scattergl" in chart.proto.spec for chart in app.get("plotly_chart"))
    assert not [s for s in app.slider if s.key == "temperature"]  # it is the canvas's slider
    channel = app.session_state["live_stream"].channel
    frames_sent = [f for f in published[channel] if f.get("count") == n]
    assert len(frames_sent) >= 2  # (no browser takes them here: about one a second)
    last = frames_sent[-1]
    assert (last["rows"], last["columns"]) == (20, 25)  # 20 × 25 = n: no empty cell
    assert last["caption"].startswith(f"T = 3.00 · β = 0.333 · sweep {chain.sweeps}")
    np.testing.assert_array_equal(drawn_spins(last["spins"], n), chain.spins)
    # A frame: n bits in base64 (4 characters per 3 bytes), its caption, and a few numbers.
    bound = 4 * math.ceil(math.ceil(n / 8) / 3) + len(last["caption"].encode()) + 200
    assert max(len(json.dumps(f).encode()) for f in frames_sent) <= bound < 600
    assert made.count(model) == 1  # one coupling image for all those frames...
    assert len(app.get("image")) == 1
    assert "124,750 couplings" in " ".join(c.value for c in app.caption)
    app.button(key="pause").click().run()
    app.button(key="step").click().run()
    ok(app)
    assert made.count(model) == 1 and app.get("image")  # ...and for every later run
    app.button(key="pause").click().run()  # Run again
    move_temperature(app, 1.5)  # the canvas's slider reaches the running chain, as a lattice's
    ok(app)
    assert app.session_state["chain"] is chain and chain.temperatures[-1] == pytest.approx(1.5)
    app.number_input(key="graph_seed").set_value(1).run()  # another problem: another matrix
    ok(app)
    assert made[-1] is app.session_state["thermolab.problem"] is not model
    app.segmented_control(key="mode").set_value("Annealing").run()  # drawn the same way
    app.number_input(key="anneal_sweeps").set_value(20).run()
    app.button(key="anneal_start").click().run()
    ok(app)
    annealed = lattice_frame(app, "graph_canvas")
    assert (annealed["rows"], annealed["columns"], annealed["count"]) == (20, 25, n)
    np.testing.assert_array_equal(
        drawn_spins(annealed["spins"], n), app.session_state["anneal"]["chain"].spins
    )
    assert len(app.get("image")) == 1 and made[-1] is app.session_state["thermolab.problem"]


def test_an_impossible_graph_is_explained_not_raised(app):
    app.radio(key="kind").set_value("Graph").run()
    app.selectbox(key="graph").set_value("random 3-regular").run()
    app.number_input(key="nodes").set_value(7).run()  # 3 × 7 is odd
    ok(app)
    assert any("cannot be built" in e.value for e in app.error)


def test_annealing_tempering_and_measure_modes(app):
    app.select_slider(key="L").set_value(8).run()
    app.segmented_control(key="mode").set_value("Annealing").run()
    ok(app)
    app.number_input(key="anneal_sweeps").set_value(50).run()
    app.button(key="anneal_start").click().run()
    ok(app)
    assert app.session_state["anneal"]["done"] > 0
    app.segmented_control(key="mode").set_value("Parallel tempering").run()
    ok(app)
    assert app.session_state["tempering"].rounds > 0
    app.number_input(key="pt_tmax").set_value(1.0).run()  # below the coldest
    assert any("hottest" in e.value for e in app.error)
    app.segmented_control(key="mode").set_value("Measure").run()
    ok(app)


def test_exact_check_on_a_small_lattice(app):
    app.select_slider(key="L").set_value(4).run()
    app.segmented_control(key="mode").set_value("Measure").run()
    app.number_input(key="x_n").set_value(1000).run()
    app.button(key="x_run").click().run()
    ok(app)
    check = app.session_state["exact_result"]
    assert check.probabilities.size == 2**16
    assert check.kl[-1] < check.kl[0]


def test_temperature_sweep_job_shows_results(app):
    job = start_small_sweep(app)
    assert job.wait(60) and job.status == "done", job.error
    app.run()
    ok(app)
    assert len(job.result) == 2
    app.radio(key="m_metric").set_value("binder").run()
    ok(app)
