"""Boltzmann-machine lab: an RBM learns by sampling, live, and is then sampled, asked to
in-paint and to classify.

Thin page: settings in, figures out. `thermolab.ebm` trains and evaluates as one job of
`thermolab.jobs` (`thermolab.ebm.launch`); this page polls the job and draws what it has with
`thermolab.viz.ebm`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

import numpy as np
import streamlit as st

from thermolab.jobs import get_manager
from ui.engine import lazy_engine
from ui.long_work import LongWork
from ui.server import share_cores
from ui.session import attach_session

st.set_page_config(page_title="Boltzmann machine · ThermoLab", page_icon="🔥", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores

STATE = st.session_state
POLL_SECONDS = 1.0  # the live view rereads the job this often while it runs
DATA_LABELS = {
    "digits": "8×8 digits (offline, scikit-learn)",
    "mnist": "MNIST 28×28 (downloaded once, checksum-verified)",
    "fashion-mnist": "Fashion-MNIST 28×28 (downloaded once, checksum-verified)",
    "upload": "Upload .npz / .csv of binary vectors",
}
METHOD_LABELS = {
    "cd": "CD-k (chains restart at the data)",
    "pcd": "PCD (persistent chains)",
    "pt": "PT (persistent chains at 5 temperatures, swaps)",
}
GRID_SAMPLES = 40  # images in the fantasy grid, and the temperature grid drawn as an image
SAMPLE_TEMPERATURES = {"t_min": 0.25, "t_max": 4.0, "t_step": 0.05, "t_default": 1.0}


engine = lazy_engine(
    "Loading the Boltzmann-machine engine…",
    get_backend="thermolab.backends:get_backend",
    data="thermolab.ebm.data",
    inference="thermolab.ebm.inference",
    launch="thermolab.ebm.launch",
    store="thermolab.ebm.store",
    training="thermolab.ebm.training",
    ledger="thermolab.energy.ledger",
    viz="thermolab.viz.ebm",
    live_view="ui.live_view",
    rbm_live="ui.rbm_live",
)


@st.cache_resource(show_spinner="Loading the data set…", max_entries=3)
def named_dataset(choice: str):
    return engine().data.load_dataset(choice)


def fail(message: str) -> None:
    st.error(message)
    st.stop()


# --------------------------------------------------------------------------- settings


def settings_form(eng) -> tuple[dict[str, Any], str, Any, bool]:
    """The sidebar form: (settings, data choice, uploaded file, submitted)."""
    with st.sidebar.form("rbm.settings"):
        st.header("Train an RBM")
        choice = st.selectbox(
            "Data", list(DATA_LABELS), format_func=DATA_LABELS.get, key="rbm.data"
        )
        upload = st.file_uploader("Binary vectors", type=["npz", "csv"], key="rbm.upload")
        values = {
            "n_hidden": st.number_input("Hidden units", 1, 4096, 64, key="rbm.hidden"),
            "method": st.selectbox(
                "Negative phase", list(METHOD_LABELS), 1, METHOD_LABELS.get, key="rbm.method"
            ),
            "k": st.number_input("Gibbs sweeps per update (k)", 1, 100, 1, key="rbm.k"),
            "learning_rate": st.number_input(
                "Learning rate", 1e-5, 1.0, 0.01, format="%.4f", key="rbm.lr"
            ),
            "optimizer": st.selectbox("Optimizer", ["adam", "sgd"], key="rbm.optimizer"),
            "batch_size": st.number_input("Batch size", 1, 10_000, 20, key="rbm.batch"),
            "epochs": st.number_input("Epochs", 1, 1000, 10, key="rbm.epochs"),
            "backend": st.selectbox(
                "Backend (draws the p-bits)", ["numpy", "jax", "torch"], key="rbm.backend"
            ),
            "seed": st.number_input("Seed", 0, 2**31 - 1, 0, key="rbm.seed"),
        }
        labels = st.checkbox(
            "Joint RBM with label units (classify by free energy)", True, key="rbm.labels"
        )
        submitted = st.form_submit_button("Train", type="primary", key="rbm.train")
    values["labels"] = labels
    return values, choice, upload, submitted


def chosen_dataset(eng, choice: str, upload):
    """The data set asked for, or an error shown (None)."""
    try:
        if choice == "upload":
            if upload is None:
                st.error("Choose an .npz or .csv file to upload first.")
                return None
            return eng.data.dataset_from_bytes(upload.getvalue(), name=upload.name)
        return named_dataset(choice)
    except ValueError as error:
        st.error(f"This data cannot be used: {error}")
        return None


def start(eng, dataset, values: dict[str, Any], initial=None) -> None:
    """Validate and submit the job; an error is shown, not raised."""
    config = eng.training.RBMConfig(
        n_hidden=int(values["n_hidden"]),
        method=values["method"],
        k=int(values["k"]),
        learning_rate=float(values["learning_rate"]),
        optimizer=values["optimizer"],
        batch_size=int(values["batch_size"]),
        epochs=int(values["epochs"]),
        lr_schedule="linear",
        backend=values["backend"],
        seed=int(values["seed"]),
    )
    try:
        job = eng.launch.start_rbm_job(
            get_manager(), OWNER, dataset, config, labels=values["labels"], initial=initial
        )
    except ValueError as error:
        st.error(f"This training cannot start: {error}")
        return
    STATE["rbm.job"], STATE["rbm.dataset"] = job, dataset


def load_panel(eng, dataset, values: dict[str, Any]) -> None:
    """Evaluate (and then sample, in-paint, classify with) a model saved from this page."""
    with st.sidebar.expander("Load a saved model"):
        saved = st.file_uploader("Model (.npz)", type=["npz"], key="rbm.load")
        if st.button("Evaluate it on the chosen data", key="rbm.evaluate", disabled=saved is None):
            try:
                rbm, _ = eng.store.load_model(saved.getvalue())
            except ValueError as error:
                st.error(f"This model cannot be loaded: {error}")
                return
            if dataset is None:
                return
            labels = rbm.n_visible == dataset.n_features + dataset.n_classes
            start(
                eng,
                dataset,
                {**values, "n_hidden": rbm.n_hidden, "epochs": 0, "labels": labels},
                initial=rbm,
            )


# --------------------------------------------------------------------------- live view


def live_view(eng) -> None:
    """Progress, Stop and the curves, filters and fantasy particles so far (drawn by the
    fragment `LongWork.follow` keeps while the job runs)."""
    attach_session()  # a session watching its training is not idle
    job, dataset = STATE["rbm.job"], STATE["rbm.dataset"]
    if not job.finished:
        place = job.queue_position
        label = f"queued, place {place}" if place else job.message or "starting"
        st.progress(job.progress, text=f"{job.name}: {label}")
        if st.button("Stop", key="rbm.stop"):
            job.stop("stopped from the page")
    if job.status == "failed":
        st.error(f"The job failed: {job.error}")
    partial = job.partial
    if partial is None:
        return
    history = partial.history
    if history:
        st.plotly_chart(eng.viz.curves_figure(history), key="rbm.curves")
        last = history[-1]
        note = "" if last.tau_int_reliable else " (chains too short for a reliable τ; an estimate)"
        st.caption(
            f"Epoch {last.epoch}: τ_int of the negative chains' energy {last.tau_int:.2f} "
            f"sweeps{note}; {last.pbit_updates:,} p-bit updates so far."
        )
    shape = dataset.image_shape
    columns = st.columns(2)
    columns[0].markdown("**Filters** (weights of the first 64 hidden units)")
    columns[0].image(eng.viz.filter_grid(partial.rbm.weights, shape), clamp=True)
    columns[1].markdown("**Fantasy particles** (the negative chains now)")
    columns[1].image(
        eng.viz.image_grid(partial.fantasy[:GRID_SAMPLES], shape, columns=10), clamp=True
    )


# --------------------------------------------------------------------------- results


def summary_table(report) -> None:
    z = report.log_z
    how = (
        "exact (smaller layer enumerated)"
        if z.method == "exact"
        else f"AIS, {z.n_temperatures} temperatures × {z.n_runs} runs, ± 1 standard error"
    )
    pairs = [
        ("test log-likelihood (nats / example)", f"{report.test_log_likelihood:.3f}"),
        ("train log-likelihood (nats / example)", f"{report.train_log_likelihood:.3f}"),
        ("log Z at T = 1", f"{z.value:.3f} ± {z.stderr:.3f}"),
        ("how log Z was obtained", how),
        ("reconstruction error (test, MSE / unit)", f"{report.reconstruction_error:.4f}"),
        ("p-bit updates in training (counted)", f"{report.training.pbit_updates:,}"),
        ("epochs completed", str(len(report.training.history))),
    ]
    if report.classification is not None:
        pairs.append(("classification accuracy (test)", f"{report.classification.accuracy:.3f}"))
    st.table([{"quantity": name, "value": value} for name, value in pairs])


def temperature_panel(eng, report, dataset) -> None:
    """Samples under a temperature slider: live on the playground's lattice canvas where the
    images are square (chains that keep running at the canvas slider's T), else an image."""
    if not eng.rbm_live.fits_canvas(dataset.image_shape):
        temperature_image(eng, report, dataset)
        return
    settings = eng.live_view.LiveSettings.from_environment()
    settings = dataclasses.replace(settings, **SAMPLE_TEMPERATURES, fragment_key="rbm.samples")
    view = eng.rbm_live.SampleView(
        report.rbm, lambda: eng.get_backend("numpy", seed=0), dataset.image_shape, settings
    )
    # The timer restarts the drawing loop when it ends, so the chains keep running.
    restart = settings.run_seconds if settings.run_seconds > 0 else None
    st.fragment(view.run, key=settings.fragment_key, run_every=restart)()


@st.fragment
def temperature_image(eng, report, dataset) -> None:
    """Free-running samples at the slider's temperature as an image: the same seed at every
    T, so the grid melts and freezes as T moves."""
    temperature = st.slider(
        "Temperature T",
        SAMPLE_TEMPERATURES["t_min"],
        SAMPLE_TEMPERATURES["t_max"],
        SAMPLE_TEMPERATURES["t_default"],
        SAMPLE_TEMPERATURES["t_step"],
        key="rbm.temperature",
    )
    backend = eng.get_backend("numpy", seed=0)
    _, means = eng.inference.sample(
        report.rbm, backend, GRID_SAMPLES, n_sweeps=100, temperature=temperature
    )
    st.image(eng.viz.image_grid(means, dataset.image_shape, columns=10), clamp=True)
    st.caption(
        f"{GRID_SAMPLES} chains from noise, 100 block-Gibbs sweeps at T = {temperature:.2f}; "
        "each image is p(v = 1 | h) of the last sweep."
    )


MASKS = ("top half known", "left half known", "every other pixel known")


@st.fragment
def inpainting_panel(eng, report, dataset) -> None:
    columns = st.columns(2)
    index = columns[0].number_input("Test image", 0, len(dataset.test) - 1, 0, key="rbm.image")
    which = columns[1].selectbox("Known part", MASKS, key="rbm.mask")
    rows, cols = dataset.image_shape
    known_image = np.zeros((rows, cols), dtype=bool)
    if which == MASKS[0]:
        known_image[: rows // 2] = True
    elif which == MASKS[1]:
        known_image[:, : cols // 2] = True
    else:
        known_image.flat[::2] = True
    image = dataset.test[int(index)]
    extra = report.rbm.n_visible - image.size  # label units: unknown, sampled too
    known = np.concatenate([known_image.ravel(), np.zeros(extra, dtype=bool)])
    full = np.concatenate([image, np.zeros(extra)])
    _, means = eng.inference.inpaint(
        report.rbm, eng.get_backend("numpy", seed=1), full, known, n_samples=16
    )
    shown = np.stack([image, np.where(known_image.ravel(), image, 0.5), means[: image.size]])
    st.image(eng.viz.image_grid(shown, dataset.image_shape, columns=3, scale=8), clamp=True)
    st.caption("Original · what the model is given (grey: unknown) · mean of 16 completions.")


def energy_panel(eng, report) -> None:
    ledger = eng.ledger
    joules_per_pbit = st.number_input(
        "Projected energy per p-bit update (J)",
        0.0,
        1e-6,
        ledger.SMTJ_JOULES_PER_BIT,
        format="%.3g",
        key="rbm.joules_per_pbit",
        help="The default is the cited stochastic-MTJ figure; change it to project other hardware.",
    )
    if joules_per_pbit == ledger.SMTJ_JOULES_PER_BIT:
        op_energy = ledger.OperationEnergy()
    else:
        op_energy = ledger.OperationEnergy(
            joules_per_pbit_sample=joules_per_pbit,
            source=f"projection with a user-set {joules_per_pbit:.3g} J per p-bit update",
        )
    projected = ledger.project_operations({"samples": report.training.pbit_updates}, op_energy)
    rows = [projected] + [energy for energy in report.energy if energy.kind != "projected"]
    st.table([{"kind": e.kind, "joules": f"{e.joules:.4g}", "source": e.source} for e in rows])
    st.caption("Each kind on its own row: measured, estimated and projected joules never add.")


def exports(eng, report, dataset) -> None:
    summary = {"data": dataset.name, **report.summary()}
    metadata = {"config": report.training.config_dict(), "data_source": dataset.source, **summary}
    history = eng.viz.metrics_rows(report.training.history)
    buffer = io.StringIO()
    if history:
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    columns = st.columns(3)
    columns[0].download_button(
        "Weights (.npz)",
        eng.store.model_bytes(report.rbm, metadata),
        "rbm.npz",
        "application/octet-stream",
    )
    columns[1].download_button(
        "Metrics per epoch (CSV)", buffer.getvalue(), "rbm_metrics.csv", "text/csv"
    )
    columns[2].download_button(
        "Summary and metrics (JSON)",
        json.dumps({"summary": summary, "epochs": history}, indent=1, default=float),
        "rbm_metrics.json",
        "application/json",
    )


def results(eng, report, dataset) -> None:
    st.header("The trained model")
    if report.training.stopped:
        st.warning("Training was stopped early; the model below is the one it had reached.")
    summary_table(report)
    st.subheader("Samples under a temperature slider")
    # Filled last: the live samples' first fragment run draws frames for run_seconds inside
    # this page run, and whatever came after it would wait that long to appear.
    samples = st.container()
    st.subheader("In-painting")
    inpainting_panel(eng, report, dataset)
    if report.classification is not None:
        st.subheader("Classification by lowest free energy")
        st.plotly_chart(
            eng.viz.confusion_figure(report.classification.confusion), key="rbm.confusion"
        )
    st.subheader("Energy")
    energy_panel(eng, report)
    st.subheader("Export")
    exports(eng, report, dataset)
    with samples:
        temperature_panel(eng, report, dataset)


# --------------------------------------------------------------------------- the page

OWNER = attach_session()  # this browser session: owns the jobs it starts, seen on every run
st.title("Boltzmann machine: learning by sampling")
st.caption(
    "A restricted Boltzmann machine p(v, h) ∝ exp(−E(v, h)/T) learns from binary images. Its "
    "gradient needs samples from the model itself, drawn by block-Gibbs p-bits through the "
    "sampling backend: contrastive divergence (chains restart at the data), persistent chains, "
    "or parallel tempering. Log-likelihoods are exact when a layer is small enough to enumerate "
    "and estimated by annealed importance sampling otherwise, with its standard error."
)

try:
    eng = engine()
except Exception as error:  # a missing engine piece: text, not a traceback
    fail(f"The Boltzmann-machine engine could not be loaded: {type(error).__name__}: {error}")

values, choice, upload, submitted = settings_form(eng)
dataset = chosen_dataset(eng, choice, upload) if submitted or STATE.get("rbm.load") else None
if submitted and dataset is not None:
    start(eng, dataset, values)
load_panel(eng, dataset, values)

if "rbm.job" not in STATE:
    st.info("Choose the settings in the sidebar and press **Train**.")
else:
    job = STATE["rbm.job"]
    training = LongWork(lambda: job.finished)  # one answer per run for the view and its timer
    training.follow(lambda: live_view(eng), every=POLL_SECONDS)
    if not training.running and job.result is not None:
        results(eng, job.result, STATE["rbm.dataset"])
