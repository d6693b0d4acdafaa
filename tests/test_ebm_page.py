"""The Boltzmann-machine page headless (Streamlit's AppTest): a tiny training to its results,
the temperature slider, in-painting, exports, Stop, loading a model back and bad input."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from thermolab.ebm.model import random_rbm
from thermolab.ebm.store import load_model, model_bytes
from ui.frames import EXCHANGE

PAGE = Path(__file__).resolve().parents[1] / "pages" / "5_Boltzmann_machine.py"
TINY = {"rbm.hidden": 8, "rbm.epochs": 2, "rbm.batch": 50}


def no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def fresh() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    no_exception(app)
    return app


def train(app: AppTest, **settings) -> None:
    for key, value in {**TINY, **settings}.items():
        app.number_input(key=key).set_value(value)
    app.button(key="rbm.train").click().run()
    no_exception(app)


def finish(app: AppTest) -> None:
    job = app.session_state["rbm.job"]
    assert job.wait(120), "the training job did not end in 120 s"
    app.run()
    no_exception(app)


@pytest.fixture(scope="module")
def trained() -> AppTest:
    app = fresh()
    train(app)
    finish(app)
    return app


def test_first_view_invites_training():
    app = fresh()
    assert "press **Train**" in app.info[0].value


def test_training_reaches_its_results(trained):
    job = trained.session_state["rbm.job"]
    assert job.status == "done", job.error
    table = trained.table[0].value
    quantities = dict(zip(table["quantity"], table["value"], strict=True))
    assert float(quantities["test log-likelihood (nats / example)"]) < 0
    assert quantities["how log Z was obtained"].startswith("exact")
    assert 0 <= float(quantities["classification accuracy (test)"]) <= 1
    assert len(trained.get("plotly_chart")) == 2  # curves and confusion matrix
    assert len(trained.get("image")) >= 3  # filters, fantasy, in-painting (samples: a canvas)


def sample_canvas(app: AppTest) -> dict:
    """The data the live sample canvas was mounted with in the last run."""
    component = next(e for e in app.get("bidi_component") if e.proto.id.endswith("rbm_samples"))
    assert component.proto.component_name == "thermolab.lattice_canvas"
    return json.loads(component.proto.json)


def drawn_bits(spins: str, length: int) -> np.ndarray:
    """The 0/1 pixels (L, L) the canvas draws from a frame's base64 bit-packed spins."""
    bits = np.unpackbits(np.frombuffer(base64.b64decode(spins), dtype=np.uint8))
    return bits[: length**2].reshape(length, length)


def test_samples_stream_on_the_lattice_canvas_at_its_slider_temperature(trained, monkeypatch):
    """8 × 8 chains of 8 × 8 digits are one 64 × 64 canvas on the playground's frame socket;
    the canvas slider's value (sent on that socket) sets the chains' temperature, no rerun of
    the page's own widgets needed."""
    published: list[dict] = []
    publish = EXCHANGE.publish
    monkeypatch.setattr(
        EXCHANGE,
        "publish",
        lambda channel, frame: (published.append(frame), publish(channel, frame))[1],
    )
    mounted = sample_canvas(trained)
    assert (mounted["rows"], mounted["columns"]) == (64, 64)
    assert mounted["caption"].startswith("T = 1.00 · β = 1.000")
    (slider,) = mounted["sliders"]
    assert (slider["name"], slider["minimum"], slider["maximum"]) == ("temperature", 0.25, 4.0)
    chains = trained.session_state["rbm.live_chains"]
    for temperature in (3.5, 0.3):
        EXCHANGE.set_controls(mounted["channel"], {"temperature": temperature})
        trained.run()
        no_exception(trained)
        assert chains.temperature == temperature
        frame = published[-1]
        assert frame["caption"].startswith(f"T = {temperature:.2f} · ")
        assert frame["frame"] == chains.sweeps
        # Tile (i, j) is chain 8 i + j's image, pixel for pixel.
        bits = drawn_bits(frame["spins"], 64)
        for chain in (0, 9, 63):
            i, j = divmod(chain, 8)
            image = chains.visible[chain, :64].reshape(8, 8)
            np.testing.assert_array_equal(bits[8 * i : 8 * i + 8, 8 * j : 8 * j + 8], image)
    EXCHANGE.set_controls(mounted["channel"], {"temperature": 99.0})  # clamped to the slider's
    trained.run()
    assert chains.temperature == 4.0


def test_images_that_tile_no_square_draw_an_image_under_a_slider():
    """1 × 10 vectors cannot tile the square canvas: the samples are an image per change of a
    Streamlit slider instead."""
    from thermolab.ebm.data import dataset_from_bytes
    from thermolab.ebm.launch import start_rbm_job
    from thermolab.ebm.training import RBMConfig
    from thermolab.jobs import JobManager

    buffer = io.BytesIO()
    np.savez(buffer, data=np.random.default_rng(0).integers(0, 2, (80, 10)))
    dataset = dataset_from_bytes(buffer.getvalue(), name="bits.npz")
    assert dataset.image_shape == (1, 10)
    job = start_rbm_job(JobManager(1), None, dataset, RBMConfig(n_hidden=3, epochs=1))
    assert job.wait(60) and job.status == "done", job.error
    app = fresh()
    app.session_state["rbm.job"], app.session_state["rbm.dataset"] = job, dataset
    app.run()
    no_exception(app)
    assert not [e for e in app.get("bidi_component") if e.proto.id.endswith("rbm_samples")]
    for temperature in (0.3, 3.5, 1.0):
        app.slider(key="rbm.temperature").set_value(temperature).run()
        no_exception(app)
    assert "T = 1.00" in " ".join(caption.value for caption in app.caption)


def test_inpainting_and_energy_controls(trained):
    trained.selectbox(key="rbm.mask").set_value("left half known").run()
    trained.number_input(key="rbm.image").set_value(5).run()
    no_exception(trained)
    trained.number_input(key="rbm.joules_per_pbit").set_value(1e-12).run()
    no_exception(trained)
    energy = trained.table[1].value
    assert energy["kind"].iloc[0] == "projected"
    assert "user-set" in energy["source"].iloc[0]
    assert len(set(energy["kind"])) == len(energy)  # one row per kind, never summed


def test_exports_hold_the_model(trained):
    buttons = trained.get("download_button")
    assert [b.proto.label for b in buttons] == [
        "Weights (.npz)",
        "Metrics per epoch (CSV)",
        "Summary and metrics (JSON)",
    ]
    report = trained.session_state["rbm.job"].result
    rbm, metadata = load_model(model_bytes(report.rbm, {"data": "digits"}))
    np.testing.assert_array_equal(rbm.weights, report.rbm.weights)
    assert metadata == {"data": "digits"}


def test_stop_ends_a_long_training():
    app = fresh()
    train(app, **{"rbm.epochs": 500})
    job = app.session_state["rbm.job"]
    app.button(key="rbm.stop").click().run()
    assert job.wait(60)
    app.run()
    no_exception(app)
    assert job.status == "stopped"
    assert any("stopped early" in warning.value for warning in app.warning)


def test_bad_settings_are_messages_not_tracebacks():
    app = fresh()
    app.selectbox(key="rbm.data").set_value("upload")  # a form: set, then submit
    app.button(key="rbm.train").click().run()
    no_exception(app)
    assert any("upload" in error.value for error in app.error)


def test_loaded_model_is_evaluated_as_a_job_and_a_wrong_size_refused():
    from thermolab.ebm.data import digits
    from thermolab.ebm.launch import start_rbm_job
    from thermolab.ebm.training import RBMConfig
    from thermolab.jobs import JobManager

    manager = JobManager(1)
    data = digits()
    with pytest.raises(ValueError, match="visible units"):
        start_rbm_job(
            manager, None, data, RBMConfig(n_hidden=3, epochs=0), initial=random_rbm(10, 3)
        )
    assert manager.jobs() == []  # refused before anything was submitted
    model = random_rbm(74, 3, weight_scale=0.1)
    job = start_rbm_job(
        manager, None, data, RBMConfig(n_hidden=3, epochs=0), labels=True, initial=model
    )
    assert job.wait(60) and job.status == "done", job.error
    np.testing.assert_array_equal(job.result.rbm.weights, model.weights)
    assert job.result.classification is not None and job.result.training.pbit_updates == 0
