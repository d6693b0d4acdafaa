"""Attention-temperature explorer: one attention head at a temperature T, four ways.

Widgets in, figures out. The computations live in `thermolab.attention_lab` (torch, loaded
once per server process behind st.cache_resource) and the figures in `thermolab.viz.attention`.
"""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from ui.engine import lazy_engine
from ui.server import share_cores

st.set_page_config(page_title="Attention explorer · ThermoLab", page_icon="🌡️", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores

TEMPERATURES = [round(10 ** (-2 + 3 * i / 30), 4) for i in range(31)]  # 0.01 … 10, log-spaced
SAMPLE_COUNTS = [2**i for i in range(11)]  # 1 … 1024
SCALES = [0.25, 0.5, 1.0, 2.0, 4.0]
MODE_LABELS = {
    "softmax": "exact softmax",
    "sampled": "K-sample Boltzmann",
    "gumbel": "Gumbel-softmax",
    "hard": "hard sample",
}
CHECKPOINT_SOURCE = "TinyGPT checkpoint head"
DEFAULT_SENTENCE = "The cat sat on the mat because it was warm."
# The text boxes keep at most this many characters (the browser stops typing there): more
# than the longest sentence the engine shows (MAX_TOKENS words), nothing a paste can blow up.
MAX_TEXT_CHARS = 1000


engine = lazy_engine(
    "Loading the attention engine (PyTorch)…",
    lab="thermolab.attention_lab",
    viz="thermolab.viz.attention",
)


@st.cache_data(show_spinner="Estimating gradients…", max_entries=64)
def estimator_rows(tau: float, seed: int) -> tuple[list[dict], dict[str, int]]:
    """The estimator panel's rows (independent of T and of the input) and what they cost."""
    lab = engine().lab
    backend = lab.new_backend(seed)
    temperatures = [10 ** (-1 + 2 * i / 8) for i in range(9)]
    rows = lab.estimator_study(temperatures, gumbel_temperature=tau, backend=backend, seed=seed)
    return rows, backend.counter.snapshot()


@st.cache_data(show_spinner=False, max_entries=16)
def checkpoint_label(path: str, saved_ns: int) -> str:
    """`lab.checkpoint_label`, read once per checkpoint file and modification time (ns)."""
    return engine().lab.checkpoint_label(Path(path))


def fail(message: str) -> None:
    st.error(message)
    st.stop()


try:
    lab, viz = engine().lab, engine().viz
except Exception as exc:  # a missing engine piece must read as text, not a traceback
    fail(f"The attention engine could not be loaded: {type(exc).__name__}: {exc}")

st.title("Attention-temperature explorer")
st.caption(
    "Row i of an attention matrix is a Boltzmann distribution over keys j with energy "
    "E_ij = −q_i·k_j/√d at temperature T: softmax(q_i·kᵀ/(√d·T)). Compare the exact weights "
    "with K Boltzmann samples, a Gumbel-softmax relaxation and a single hard sample."
)

# ------------------------------------------------------------------ inputs
sources = ["Sentence", "Random queries and keys"]
checkpoints = lab.checkpoint_directory()
newest = lab.newest_checkpoint(checkpoints)
if newest is not None:
    sources.append(CHECKPOINT_SOURCE)

with st.sidebar:
    st.header("Input")
    source = st.radio("Queries and keys from", sources, key="source")
    if newest is None:
        st.caption(
            f"A third source, **{CHECKPOINT_SOURCE}** (the queries and keys of one head of a "
            "trained TinyGPT), appears here once a training on the **TinyGPT training** page "
            "has saved a checkpoint."
        )
    seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed")
    causal = st.checkbox("Causal mask (query i sees keys ≤ i)", value=False, key="causal")
    if source == "Sentence":
        sentence = st.text_input(
            "Sentence", value=DEFAULT_SENTENCE, key="sentence", max_chars=MAX_TEXT_CHARS
        )
        level = st.radio("Tokens", ["word", "char"], horizontal=True, key="level")
    elif source == "Random queries and keys":
        n_tokens = st.slider("Tokens n", 2, lab.MAX_RANDOM_TOKENS, 10, key="n_tokens")
        scale = st.select_slider("Scale of q and k entries", SCALES, value=1.0, key="scale")
    else:
        try:
            label = checkpoint_label(str(newest), newest.stat().st_mtime_ns)
            st.caption(f"Reads the newest checkpoint: {label}.")
        except (ValueError, OSError) as exc:
            fail(f"The newest checkpoint ({newest.name}) cannot be read: {exc}")
        text = st.text_input(
            "Text for the model", value=DEFAULT_SENTENCE, key="ckpt_text", max_chars=MAX_TEXT_CHARS
        )
        layer = st.number_input("Layer", min_value=0, value=0, step=1, key="ckpt_layer")
        head = st.number_input("Head", min_value=0, value=0, step=1, key="ckpt_head")

    st.header("Sampling")
    temperature = st.select_slider(
        "Temperature T (log scale)",
        options=TEMPERATURES,
        value=1.0,
        format_func=lambda t: f"{t:g}",
        key="temperature",
    )
    n_samples = st.select_slider("Samples per row K", SAMPLE_COUNTS, value=16, key="samples")
    tau = st.select_slider(
        "Gumbel relaxation temperature τ", [0.1, 0.25, 0.5, 1.0, 2.0], value=0.5, key="tau"
    )
    mode = st.radio(
        "Mode (row detail and cost)",
        list(MODE_LABELS),
        format_func=MODE_LABELS.get,
        index=1,
        key="mode",
    )

try:
    if source == "Sentence":
        data = lab.sentence_input(sentence, level, seed=int(seed))
    elif source == "Random queries and keys":
        data = lab.random_input(n_tokens, scale=float(scale), seed=int(seed))
    else:
        data = lab.checkpoint_input(checkpoints, text, layer=int(layer), head=int(head))
except ValueError as exc:
    fail(str(exc))

# ------------------------------------------------------------------ heatmaps
backend = lab.new_backend(int(seed))
try:
    weights, costs = lab.panels(
        data,
        temperature,
        n_samples=n_samples,
        gumbel_temperature=tau,
        causal=causal,
        backend=backend,
        seed=int(seed),
    )
except ValueError as exc:
    fail(str(exc))

st.subheader(f"Weights at T = {temperature:g} · {data.source} · n = {data.n_tokens}")
st.plotly_chart(
    viz.heatmaps_figure(weights, MODE_LABELS, data.tokens, temperature),
    width="stretch",
    key="heatmaps",
)

# A slider needs two values; a one-token input (a checkpoint's text) has a single row.
row = st.slider("Row detail: query", 0, data.n_tokens - 1, 0, key="row") if data.n_tokens > 1 else 0
detail = {
    # Zero-padded so the chart's (alphabetical) key order is the token order.
    "key": [f"{j:02d}:{t}" for j, t in enumerate(data.tokens)],
    "exact softmax": weights["softmax"][row],
    MODE_LABELS[mode]: weights[mode][row],
}
st.bar_chart(detail, x="key", y=["exact softmax", MODE_LABELS[mode]], stack=False, height=220)

# ------------------------------------------------------------------ entropy and MC error
left, right = st.columns(2)
curve_temperatures = [10 ** (-2 + 3 * i / 60) for i in range(61)]
entropies = lab.entropy_curve(data, curve_temperatures, causal=causal)
nearest = min(
    range(len(curve_temperatures)), key=lambda i: abs(curve_temperatures[i] - temperature)
)
with left:
    st.subheader("Attention entropy vs T")
    st.plotly_chart(
        viz.entropy_figure(curve_temperatures, entropies, temperature, data.n_tokens, data.tokens),
        width="stretch",
        key="entropy",
    )
    st.caption(
        f"exact · mean entropy at T = {temperature:g}: "
        f"{float(entropies.mean(axis=1)[nearest]):.3f} "
        f"nats (0 = argmax, log n = {math.log(data.n_tokens):.3f} = uniform; rows with fewer "
        "allowed keys under a causal mask top out lower)."
    )
with right:
    st.subheader("Monte-Carlo error vs K")
    mc = lab.mc_error_curve(
        data, temperature, SAMPLE_COUNTS, causal=causal, backend=backend, seed=int(seed)
    )
    st.plotly_chart(viz.mc_error_figure(mc, n_samples), width="stretch", key="mc")
    st.caption(
        "measured over 8 draws per K; the dashed line is the exact expectation "
        "√(mean w(1−w)/K), slope −½ on log-log axes."
    )

# ------------------------------------------------------------------ estimators
st.subheader("Gradient estimators on a toy loss with an exact gradient")
st.caption(
    "One attention row of 6 keys, y ~ softmax(s/T) one-hot, loss (c·y − t)²; exact gradient "
    "by enumeration. Each point is 400 draws; bars are ±2 standard errors, so an unbiased "
    "estimator's bias sits near its error bar, not at 0. Straight-through and Gumbel-softmax "
    f"(τ = {tau:g}) are biased; REINFORCE with a leave-one-out baseline is unbiased."
)
estimators, estimator_cost = estimator_rows(float(tau), int(seed))
st.plotly_chart(viz.estimator_figure(estimators), width="stretch", key="estimators")

# ------------------------------------------------------------------ cost
st.subheader("Cost: counted by the backend's operation counter")
st.caption(
    "Simulated on the torch backend; these are counts of stochastic operations (what a "
    "thermodynamic sampling unit would perform), not energy measurements."
)
st.table(
    [{"mode": MODE_LABELS[name], **counts} for name, counts in costs.items()],
    hide_index=True,
)
total = backend.counter.snapshot()
st.write(
    f"This redraw (heatmaps and MC-error curve): {total['samples']:,} samples, "
    f"{total['random_numbers']:,} random numbers, {total['spin_updates']:,} p-bit spin updates. "
    f"Estimator panel (computed once per τ and seed): {estimator_cost['samples']:,} samples, "
    f"{estimator_cost['random_numbers']:,} random numbers."
)

# ------------------------------------------------------------------ export
st.subheader("Export the figures' data (CSV)")
entropy_rows = [
    {"temperature": t, "row": i, "token": data.tokens[i], "entropy_nats": float(h)}
    for t, values in zip(curve_temperatures, entropies, strict=True)
    for i, h in enumerate(values)
]
mc_rows = [
    {"samples_K": int(k), "rms_error": float(e), "reference": float(r)}
    for k, e, r in zip(mc["samples"], mc["rms_error"], mc["reference"], strict=True)
]
columns = st.columns(4)
exports = (
    ("heatmaps", lab.matrix_rows(weights, data.tokens)),
    ("entropy", entropy_rows),
    ("mc_error", mc_rows),
    ("estimators", estimators),
)
for column, (name, rows) in zip(columns, exports, strict=True):
    column.download_button(
        f"{name}.csv",
        data=lab.rows_to_csv(rows),
        file_name=f"attention_{name}.csv",
        mime="text/csv",
        key=f"download_{name}",
    )
