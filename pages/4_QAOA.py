"""QAOA on the same problems the p-bit samplers solve, side by side with them.

Thin page: widgets in, figures out. The engine (thermolab.quantum) runs the experiment (its
own QAOA simulator by default, or a PennyLane device), the fixed-angle baseline and the
classical baselines; long optimisations run as a thermolab.jobs job polled by a fragment.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import streamlit as st

from thermolab import problems
from thermolab.jobs import get_manager
from ui.engine import lazy_engine
from ui.long_work import LongWork
from ui.server import share_cores
from ui.session import attach_session

STATE = st.session_state
PLAYGROUND_KEY = "thermolab.problem"
MAX_NODES_INPUT = 30  # the widget allows a little more than the engine so the refusal shows
GRAPH_SOURCES = tuple(family.label for family in problems.GRAPH_FAMILIES.values())
SOURCES = (*GRAPH_SOURCES, "weighted graph", "QUBO")
DEVICES = ("thermolab", "lightning.qubit", "default.qubit")
PLAYGROUND = "Ising playground's problem"
DEFAULT_EDGES = "0 1 1.0\n1 2 2.0\n2 3 1.0\n3 0 0.5\n0 2 1.5\n3 4 1.0\n4 1 1.0"
DEFAULT_QUBO = "-1 2 0 0\n0 -1 2 0\n0 0 -1 2\n0 0 0 -1"
# Longest text the edge list and QUBO boxes keep: a 20-node QUBO typed with 12-character
# numbers fits; a pasted file of megabytes is cut here instead of held in the session.
MAX_TEXT_CHARS = 20_000

st.set_page_config(page_title="QAOA · ThermoLab", page_icon="⚛️", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores


# thermolab.quantum and its figures, imported on first use (PennyLane loads only when a run
# asks for one of its devices).
engine = lazy_engine(
    "Loading the QAOA engine…", quantum="thermolab.quantum", viz="thermolab.viz.qaoa"
)


def build_instance(quantum):
    """The problem chosen in the sidebar as a QaoaInstance (raises ValueError on bad input)."""
    sources = SOURCES + ((PLAYGROUND,) if STATE.get(PLAYGROUND_KEY) is not None else ())
    source = st.sidebar.selectbox("Problem", sources, key="qaoa.source")
    seed = int(st.sidebar.number_input("Seed", 0, 10_000, 0, key="qaoa.seed"))
    if source in GRAPH_SOURCES:
        family = problems.family_by_label(problems.GRAPH_FAMILIES, source)
        n = int(st.sidebar.number_input("Nodes (qubits)", 2, MAX_NODES_INPUT, 8, key="qaoa.n"))
        quantum.check_qubit_count(n)
        options: dict[str, object] = {"seed": seed}
        if "edge_probability" in family.parameters:
            options["edge_probability"] = st.sidebar.slider(
                "Edge probability", 0.0, 1.0, 0.5, 0.05, key="qaoa.er_p"
            )
        return quantum.QaoaInstance.maxcut(family.build(n, **options))
    if source == "weighted graph":
        text = st.sidebar.text_area(
            "Edges: i j weight", DEFAULT_EDGES, key="qaoa.edges", max_chars=MAX_TEXT_CHARS
        )
        graph = quantum.parse_edge_list(text, MAX_NODES_INPUT)
        quantum.check_qubit_count(graph.n_nodes)
        return quantum.QaoaInstance.maxcut(graph)
    if source == "QUBO":
        text = st.sidebar.text_area(
            "QUBO matrix Q (minimise xᵀQx)", DEFAULT_QUBO, key="qaoa.q", max_chars=MAX_TEXT_CHARS
        )
        matrix = quantum.parse_qubo(text)
        quantum.check_qubit_count(len(matrix))
        return quantum.QaoaInstance.qubo(matrix)
    model = STATE[PLAYGROUND_KEY]
    return quantum.QaoaInstance.ising(model)


def settings_form(quantum):
    st.sidebar.subheader("QAOA")
    sidebar = st.sidebar
    return quantum.QaoaSettings(
        p_max=int(sidebar.slider("Layers p (1 … p)", 1, 6, 2, key="qaoa.p")),
        method=sidebar.selectbox("Optimiser", ("bfgs", "adam"), key="qaoa.method"),
        init=sidebar.selectbox("Initialisation at p > 1", ("interp", "ramp"), key="qaoa.init"),
        restarts=int(sidebar.number_input("Restarts", 1, 10, 2, key="qaoa.restarts")),
        steps=int(sidebar.number_input("Iterations", 1, 500, 60, key="qaoa.steps")),
        learning_rate=float(
            sidebar.number_input("Adam step size", 0.001, 1.0, 0.05, key="qaoa.lr")
        ),
        shots=int(sidebar.number_input("Shots", 1, 100_000, 2000, key="qaoa.shots")),
        device=sidebar.selectbox(
            "Simulator",
            DEVICES,
            key="qaoa.device",
            help="thermolab: the state-vector simulator built for QAOA (one phase per cost "
            "layer, adjoint gradients). The others are PennyLane devices, gate by gate.",
        ),
        backend=sidebar.selectbox(
            "Sampler for the baselines", ("numpy", "jax"), key="qaoa.backend"
        ),
        seed=int(STATE.get("qaoa.seed", 0)),
    )


def submit(quantum, instance, settings) -> None:
    def work(context):
        return quantum.run_experiment(instance, settings, context)

    STATE["qaoa.job"] = get_manager().submit(f"QAOA {instance.name}", work, owner=OWNER)


def collect_finished_job() -> None:
    job = STATE.get("qaoa.job")
    if job is None or not job.finished:
        return
    if job.status == "failed":
        STATE["qaoa.error"] = job.error
    elif job.result is not None:
        STATE["qaoa.result"] = job.result
        STATE.pop("qaoa.error", None)
    STATE["qaoa.last_status"] = job.status
    STATE["qaoa.stop_reason"] = job.stop_reason
    del STATE["qaoa.job"]
    get_manager().forget(job)  # the session holds the (large) result now; one copy is enough


def job_panel() -> None:
    """Progress of the running job (the page's run collects it once it has finished)."""
    job = STATE.get("qaoa.job")
    if job is None or job.finished:
        return
    attach_session()  # a session watching its run is not idle
    where = f" (queued, place {job.queue_position})" if job.status == "queued" else ""
    st.progress(job.progress, text=f"{job.status}{where}: {job.message or 'starting…'}")
    for layer in job.partial or []:
        st.caption(
            f"p = {layer.p}: ratio {layer.ratio:.4f}, P(optimal) {layer.optimal_probability:.3f}"
        )
    if st.button("Stop", key="qaoa.stop"):
        job.stop()


def landscape(quantum, viz, instance, layers) -> None:
    scale = quantum.energy_scale(instance)
    closed = quantum.closed_form_applies(instance)
    if not closed and instance.n_qubits > 14:
        st.info("No closed form for this instance; the simulated landscape is drawn for n ≤ 14.")
        return
    size = 100 if closed else 31
    gammas = np.linspace(-math.pi / 2, math.pi / 2, size) / scale
    betas = np.linspace(-math.pi / 4, math.pi / 4, size)
    energies, method = quantum.p1_landscape(instance, gammas, betas)
    label = f"expected {instance.objective_label()}"
    path = None
    first = next((layer for layer in layers if layer.p == 1), None)
    if first is not None:
        path = first.best_run.path
    st.plotly_chart(
        viz.landscape_figure(gammas, betas, instance.objective(energies), path, label, method),
        key="qaoa.landscape",
    )
    st.caption(
        f"{method}: {size} × {size} grid"
        + (" (Wang–Hadfield–Jiang–Rieffel formula, no simulation)" if closed else "")
        + "; red line: the p = 1 optimiser's path from its best start, white star: where it ended."
    )


def best_found_state(quantum, instance, layers, baselines, shots, seed):
    """The best state any method produced (QAOA's sampled shots included)."""
    candidates = [(base.energy, base.state, base.method) for base in baselines[1:3]]
    if layers:
        states, _ = quantum.sampled_objectives(instance, layers[-1], shots, seed)
        from thermolab import exact

        energies = exact.energy(instance.model, states)
        k = int(np.argmin(energies))
        candidates.insert(0, (float(energies[k]), states[k], f"QAOA p={layers[-1].p} shots"))
    return min(candidates, key=lambda c: c[0])


def results(quantum, viz, result) -> None:
    instance, settings = result.instance, result.settings
    layers, baselines = result.layers, result.baselines
    label = instance.objective_label()
    if not layers:
        st.warning("The run stopped before p = 1 finished; nothing to show.")
        return
    fixed = result.fixed_angles
    rows = quantum.comparison_rows(instance, layers, baselines, fixed)
    st.subheader(f"Comparison on {instance.name}")
    st.dataframe(rows, hide_index=True, key="qaoa.table")
    st.caption(
        "QAOA rows: expectation over the optimised circuit's output (exact state-vector "
        "probabilities). Ratio: "
        + ("cut / maximum cut." if instance.is_maxcut else "(E_max − E) / (E_max − E_min).")
        + " Seconds: wall time of this server, simulated; nothing here ran on quantum hardware."
        + (
            " Fixed-angle rows: the published angles for 3-regular graphs (Wurtz & Lykov, "
            "arXiv:2107.00677) on this graph, with no optimiser."
            if fixed
            else ""
        )
    )
    if fixed:
        deepest = {item.p: item for item in fixed}.get(layers[-1].p)
        if deepest is not None:
            st.caption(
                f"At p = {deepest.p}: optimised ratio {layers[-1].ratio:.4f}, fixed angles "
                f"{deepest.ratio:.4f} (published guarantee {deepest.published_ratio:.4f})."
            )
    left, right = st.columns(2)
    with left:
        energy, state, method = best_found_state(
            quantum, instance, layers, baselines, settings.shots, settings.seed
        )
        edges, couplings = instance.model.edges()
        weights = -couplings if instance.is_maxcut else couplings
        st.plotly_chart(
            viz.graph_figure(
                instance.n_qubits,
                edges,
                weights,
                state,
                f"Best {label} found: {float(instance.objective(energy)):g} ({method})",
            ),
            key="qaoa.graph",
        )
    with right:
        ratios = {base.method: base.ratio for base in baselines}
        published = (
            {p: quantum.fixed_angle_ratio(p) for p in quantum.FIXED_ANGLE_DEPTHS} if fixed else None
        )
        st.plotly_chart(
            viz.ratio_figure(
                [layer.p for layer in layers],
                [layer.ratio for layer in layers],
                ratios,
                {item.p: item.ratio for item in fixed},
                published,
            ),
            key="qaoa.ratio",
        )
    left, right = st.columns(2)
    with left:
        landscape(quantum, viz, instance, layers)
    with right:
        kept = [layer for layer in layers if layer.probabilities is not None]
        p_values = [layer.p for layer in kept]
        chosen = st.selectbox("Histogram of shots at p =", p_values, index=len(p_values) - 1)
        layer = kept[p_values.index(chosen)]
        _, values = quantum.sampled_objectives(instance, layer, settings.shots, settings.seed)
        optimum = (
            instance.max_cut if instance.is_maxcut else instance.ground_energy + instance.constant
        )
        st.plotly_chart(viz.histogram_figure(values, optimum, label), key="qaoa.histogram")
        st.caption(
            f"P(optimal) = {layer.optimal_probability:.4f} exactly; "
            f"{np.mean(np.abs(values - optimum) < 1e-6):.4f} of {settings.shots} shots drawn "
            "from the optimised state vector."
            + ("" if len(kept) == len(layers) else " Above 20 qubits only the deepest p is kept.")
        )
    export = quantum.results_json(instance, layers, baselines, settings.as_dict(), fixed)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    left, right = st.columns(2)
    left.download_button(
        "Download table (CSV)", buffer.getvalue(), "qaoa_comparison.csv", "text/csv"
    )
    right.download_button(
        "Download results (JSON)",
        json.dumps(export, indent=1),
        "qaoa_results.json",
        "application/json",
    )


OWNER = attach_session()  # this browser session: owns the job it starts, seen on every run
st.title("QAOA")
st.caption(
    "The quantum approximate optimisation algorithm on the same Ising model the p-bit samplers "
    "solve: cost Hamiltonian H_C = −Σ J_ij Z_i Z_j + Σ h_i Z_i (every coupling encoded), X mixer, "
    "p layers, simulated by ThermoLab's QAOA simulator (or a PennyLane device) — beside the "
    "published fixed angles (3-regular graphs), exact enumeration, simulated annealing, "
    "parallel tempering and random guessing on the very same instance."
)

try:
    loaded = engine()
    quantum, viz = loaded.quantum, loaded.viz
except Exception as error:  # the engine missing or broken: say so, no traceback
    st.error(f"The QAOA engine could not load: {type(error).__name__}: {error}")
    st.stop()

try:
    instance = build_instance(quantum)
except ValueError as error:
    st.error(f"Cannot build this problem: {error}")
    st.stop()

settings = settings_form(quantum)
st.sidebar.caption(
    f"{instance.n_qubits} qubits (at most {quantum.MAX_QUBITS}): one state vector is "
    f"{quantum.state_vector_bytes(instance.n_qubits) / 2**20:,.2f} MiB; the thermolab "
    f"simulator holds about {quantum.simulator_bytes(instance.n_qubits) / 2**20:,.0f} MiB."
)
# Asked before the job is collected: a job that ends in between is drawn as running, then its
# panel finds it ended and runs the page again (see ui.long_work).
job = STATE.get("qaoa.job")
qaoa_run = LongWork(lambda: job is None or job.finished)
collect_finished_job()
if st.button("Run QAOA", type="primary", disabled=qaoa_run.running, key="qaoa.run"):
    try:
        submit(quantum, instance, settings)
    except ValueError as error:
        st.error(str(error))
    else:
        st.rerun()  # Run shows as disabled, and the job's panel polls
qaoa_run.follow(job_panel, every=1.0)

if STATE.get("qaoa.error"):
    st.error(f"The last run failed: {STATE['qaoa.error']}")
if STATE.get("qaoa.last_status") == "stopped":
    reason = STATE.get("qaoa.stop_reason")
    st.warning(
        f"The last run was {reason or 'stopped'}; the results below hold the layers it finished."
    )
result = STATE.get("qaoa.result")
if result is None:
    st.info("Choose a problem and press **Run QAOA**.")
    edges, couplings = instance.model.edges()
    st.plotly_chart(
        viz.graph_figure(instance.n_qubits, edges, np.abs(couplings), None, instance.name),
        key="qaoa.preview",
    )
else:
    if result.instance is not instance and result.instance.name != instance.name:
        st.caption(f"Results below are for {result.instance.name}; press Run for this problem.")
    results(quantum, viz, result)
