"""Ising / p-bit playground: watch p-bits order and melt, checked against exact results.

The page holds widgets and figures only; chains, sweeps and checks come from `thermolab`.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import time
from collections import deque

import numpy as np
import streamlit as st

from thermolab import exact, problems
from thermolab.backends import ALGORITHMS, DEFAULT_BACKEND, BackendUnavailable, backend_names
from thermolab.jobs import attach_session, get_manager
from thermolab.live import FrameBudget, LiveChain, LiveTempering, ground_energy_bound
from thermolab.measure import check_sweep_request, exact_check, sweep_rows, temperature_sweep
from thermolab.viz import ising as viz
from ui.lattice_canvas import LatticeStream, Slider, lattice_canvas
from ui.long_work import LongWork
from ui.pacing import sleep_until_rerun
from ui.server import share_cores

st.set_page_config(page_title="Ising playground · ThermoLab", page_icon="🧲", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores

MAX_FPS = 30.0  # one live view draws at most this many frames per second
# Frames per second this server draws for all live views together (they share it fairly).
SERVER_FPS = float(os.environ.get("THERMOLAB_SERVER_FPS", "60"))
TIMER_SECONDS = 0.05  # annealing and tempering: a fragment on a timer, one frame per run
SWEEP_POLL_SECONDS = 0.5  # a running sweep's progress is redrawn this often
# A graph's live view draws a Plotly figure per frame; at the lattice's rate each was replaced
# before the browser had drawn it, and the figure stayed blank.
GRAPH_FRAME_SECONDS = 0.5
# The live traces and τ_int: every 30 frames (once a second at full rate, less often while the
# server's frames are shared), first at the 5th frame (never the first after a change: it must
# be quick).
TRACE_EVERY_FRAMES, FIRST_TRACE_FRAME = 30, 5
# The numbers under the lattice (E/n, |m|, frames/s) change at most this often (seconds): nobody
# reads 30 numbers a second.
STATS_SECONDS = 0.1
# How long one run of the live view keeps drawing before it reruns itself; tests set 0 (one
# frame per run) through this environment variable.
LIVE_SECONDS = float(os.environ.get("THERMOLAB_LIVE_SECONDS", "30"))
LIVE_VIEW_KEY = "live_view"  # the drawing fragment's name, for st.rerun
# How long the live view waits for the browser to take a frame before it draws the next anyway
# (a browser that is gone, hidden or very slow then costs the server a frame this often).
TAKE_SECONDS = 1.0
T_MIN, T_MAX, T_STEP, T_DEFAULT = 0.05, 6.0, 0.01, 3.0  # the live view's temperature slider
LATTICE_SIZES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)
MAX_GRAPH_NODES = 500
MAX_TEMPERING_SPINS = 256 * 256
RESTARTS_CHAIN = "Changing it restarts the live chain from a new random state."
STATE = st.session_state


@st.cache_resource(show_spinner="Starting the sampler…")
def load_backend(name: str):
    """One backend instance per name and server process (jax compiles once, then is reused)."""
    from thermolab.backends import get_backend

    return get_backend(name)


@st.cache_resource(ttl=60)
def cached_backend_names() -> list[str]:
    """Registered backend names (an entry-point scan, so not on every frame's rerun)."""
    return backend_names()


def sampler_failure(error: Exception) -> str:
    """A sampler's failure as one line for the page (the traceback stays in the server log)."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


def build_problem(settings: dict) -> problems.IsingModel:
    if settings["kind"] == "Square lattice":
        return problems.square_lattice(settings["length"], settings["coupling"], settings["field"])
    n, seed = settings["nodes"], settings["seed"]
    graph = settings["graph"]
    if graph == "Sherrington–Kirkpatrick":
        return problems.sherrington_kirkpatrick(n, seed=seed, field=settings["field"])
    factories = {
        "ring": lambda: problems.ring_graph(n),
        "random 3-regular": lambda: problems.random_regular_graph(n, 3, seed=seed),
        "Erdős–Rényi": lambda: problems.erdos_renyi_graph(n, settings["edge_probability"], seed),
    }
    return problems.ising_from_graph(
        factories[graph](), settings["coupling"], settings["field"],
        spin_glass=settings["spin_glass"], seed=seed,
    )  # fmt: skip


def sidebar() -> dict:
    with st.sidebar:
        st.header("Problem")
        kind = st.radio("Model", ["Square lattice", "Graph"], horizontal=True, key="kind")
        settings: dict = {"kind": kind}
        if kind == "Square lattice":
            settings["length"] = st.select_slider("Side L", LATTICE_SIZES, value=128, key="L")
        else:
            settings["graph"] = st.selectbox(
                "Graph", ["ring", "random 3-regular", "Erdős–Rényi", "Sherrington–Kirkpatrick"],
                key="graph",
            )  # fmt: skip
            settings["nodes"] = st.number_input(
                "Spins n", 4, MAX_GRAPH_NODES, 64, key="nodes",
                help=f"Drawn as a network; at most {MAX_GRAPH_NODES} spins.",
            )  # fmt: skip
            settings["edge_probability"] = st.slider("Edge probability", 0.01, 1.0, 0.1, key="p")
            settings["spin_glass"] = st.toggle("Random ± couplings (spin glass)", key="glass")
            settings["seed"] = st.number_input("Graph seed", 0, 10_000, 0, key="graph_seed")
        if kind == "Square lattice" or settings["graph"] != "Sherrington–Kirkpatrick":
            settings["coupling"] = st.number_input(
                "Coupling J (> 0 ferromagnet)", -3.0, 3.0, 1.0, 0.1, key="J"
            )
        settings["field"] = st.number_input("Field h", -3.0, 3.0, 0.0, 0.05, key="h")
        st.header("Sampler")
        settings["algorithm"] = st.radio(
            "Algorithm", ALGORITHMS, horizontal=True, key="algorithm",
            format_func=lambda a: {"gibbs": "p-bit Gibbs", "metropolis": "Metropolis"}[a],
            help=RESTARTS_CHAIN,
        )  # fmt: skip
        if settings["algorithm"] == "metropolis":
            st.caption(
                "Metropolis here updates a block of non-neighbouring spins at a time (a "
                "checkerboard half of the lattice) and always accepts a flip that leaves the "
                "energy unchanged (p-bit Gibbs: half the time). "
                "From a random start it therefore orders much faster than Gibbs; both sample the "
                "same equilibrium, so compare their equilibrium values, not how fast they order."
            )
        names = cached_backend_names()
        settings["backend"] = st.selectbox(
            "Backend", names, index=names.index(DEFAULT_BACKEND), key="backend",
            help=RESTARTS_CHAIN,
        )  # fmt: skip
        settings["seed_chain"] = st.number_input("Chain seed", 0, 1_000_000, 0, key="seed")
    return settings


def current_problem(settings: dict):
    """The model for these settings, rebuilt only when they change; None on bad input."""
    key = json.dumps({k: v for k, v in settings.items() if k not in ("algorithm", "backend")})
    if STATE.get("problem_key") != key:
        try:
            model = build_problem(settings)
        except ValueError as error:
            st.error(f"This problem cannot be built: {error}")
            return None
        STATE["problem_key"] = key
        STATE["thermolab.problem"] = model  # other pages (QAOA) can open the same problem
        for stale in ("chain", "anneal", "tempering", "layout", "exact_result"):
            STATE.pop(stale, None)
    return STATE["thermolab.problem"]


def onsager_reference(model: problems.IsingModel, temperature: float):
    """Onsager's exact (L = ∞) energy and |m| when the model is a zero-field ferro lattice."""
    coupling = model.uniform_coupling
    if (
        model.lattice is None or not model.lattice.periodic or coupling is None
        or coupling <= 0 or np.any(model.fields != 0)
    ):  # fmt: skip
        return None, None
    return (
        float(exact.onsager_energy_per_spin(temperature, coupling)),
        float(exact.onsager_magnetization(temperature, coupling)),
    )


def show_graph(model: problems.IsingModel, spins: np.ndarray, caption: str) -> None:
    """A graph problem's spins as a network figure (lattices use the lattice canvas)."""
    if "layout" not in STATE:
        STATE["layout"] = viz.graph_layout(model)
    st.plotly_chart(viz.graph_figure(model, spins, STATE["layout"]), key=f"g{caption}")
    st.caption(caption.replace("\n", "  \n"))  # a line break in markdown


@st.cache_resource
def frame_budget() -> FrameBudget:
    """The server's frame rate, shared by every session's live view (one per process)."""
    return FrameBudget(total_fps=max(SERVER_FPS, MAX_FPS), max_fps=MAX_FPS)


# --------------------------------------------------------------------------- live view


def graph_temperature_changed() -> None:
    """Callback of a graph's temperature slider (a lattice's is drawn with its canvas)."""
    STATE["live_temperature"] = STATE["temperature"]
    rerun_live_view()


def rerun_live_view() -> None:
    """Callback of the live view's sliders: rerun only the drawing fragment, at once.

    Without it a slider change reruns the whole script. With it Streamlit stops the drawing loop
    at its next frame (the chain keeps every sweep it has done) and starts it again at the new
    setting, without running the rest of the page.
    """
    st.rerun(LIVE_VIEW_KEY)


def live_controls(model: problems.IsingModel, backend, settings: dict) -> LiveChain:
    """The live view's widgets and its chain (made once, kept in session state).

    A lattice's temperature slider is drawn with its canvas (`live_view`), and its moves reach
    the running chain without a Streamlit rerun; a graph's is a Streamlit slider.
    """
    temperature = STATE.setdefault("live_temperature", T_DEFAULT)
    columns = st.columns(2)
    if model.lattice is None:
        columns[0].slider(
            "Temperature T", T_MIN, T_MAX, temperature, T_STEP, key="temperature",
            on_change=graph_temperature_changed,
            help="Moving it changes the temperature of the running chain; nothing restarts.",
        )  # fmt: skip
    columns[0 if model.lattice is not None else 1].select_slider(
        "Sweeps per frame", [1, 2, 5, 10, 20, 50], value=5, key="spf", on_change=rerun_live_view
    )
    chain: LiveChain | None = STATE.get("chain")
    if chain is None or chain.backend is not backend or chain.algorithm != settings["algorithm"]:
        chain = LiveChain(model, backend, settings["algorithm"], seed=settings["seed_chain"])
        STATE["chain"] = chain
    columns = st.columns(4)
    paused = STATE.get("paused", False)
    if columns[0].button("Run" if paused else "Pause", key="pause"):
        STATE["paused"] = not paused
        st.rerun()
    if columns[1].button("Step once", key="step", disabled=not paused):
        STATE["step_once"] = True
    if columns[2].button("Randomise", key="randomise"):
        chain.randomise()
    if columns[3].button("All up", key="all_up"):
        chain.set_all(+1)
    return chain


def live_view(model: problems.IsingModel, chain: LiveChain) -> None:
    """Draw frames for up to LIVE_SECONDS, paced by the server's frame budget (one if paused).

    One fragment run sends many frames, each a few sweeps with its numbers (T, E/n, |m|,
    frames/s) in its caption, and the traces every 30 frames. No rerun per frame, and none per
    move of a lattice's temperature slider: the canvas sends its value, which the loop takes
    before its next frame. Streamlit starts a new run before the one it replaces has stopped
    (it stops at its next element), so each run claims the chain, under its lock, and a
    superseded loop ends at once instead of advancing it once more. With many sessions drawing
    at once each gets its share of the server's frames (`FrameBudget`), and a frame waits until
    the browser has taken the one before (`ui.frames`), so slider changes never queue behind
    animation.
    """
    temperature, sweeps = STATE["live_temperature"], STATE["spf"]
    paused = STATE.get("paused", False)
    one_frame = paused or LIVE_SECONDS <= 0
    energy_ref, magnet_ref = onsager_reference(model, temperature)
    left, right = st.columns([3, 2])
    # The canvas goes straight into its column: in an `st.empty` slot, a rerun's first delta
    # (an empty slot) unmounted it whenever the browser rendered that delta on its own.
    graph_slot = left.empty() if model.lattice is None else None  # a figure per frame
    # stop_slot: an element to send when a rerun is pending (frames are not Streamlit elements,
    # and Streamlit stops a run only at one)
    stop_slot, trace_slot = right.empty(), right.empty()
    this_run, view = object(), STATE.setdefault("live_view_id", secrets.token_hex(8))
    stream: LatticeStream = STATE.setdefault("live_stream", LatticeStream(key="live_lattice"))
    moved = stream.has_controls if model.lattice is not None else lambda: False
    with chain.lock:
        STATE["live_view_run"] = this_run
    budget, starts = frame_budget(), deque(maxlen=16)  # starts: for the frame rate
    deadline, numbers, numbers_due = time.monotonic() + LIVE_SECONDS, "", 0.0
    try:
        for frame in itertools.count():
            started = time.monotonic()
            interval = budget.interval(view) if not one_frame else 0.0
            if graph_slot is not None:  # a new figure per frame: give the browser time to draw it
                interval = max(interval, GRAPH_FRAME_SECONDS)
            if model.lattice is not None and stream.channel is not None:
                wanted = stream.controls().get("temperature")  # the canvas's slider moved
                if wanted is not None and not paused:
                    temperature = STATE["live_temperature"] = min(max(wanted, T_MIN), T_MAX)
                    energy_ref, magnet_ref = onsager_reference(model, temperature)
            with chain.lock:
                if STATE.get("live_view_run") is not this_run:
                    return
                if not paused or STATE.pop("step_once", False):
                    chain.advance(temperature, sweeps)
                spins, done = chain.spins, chain.sweeps
                energy, magnetization = chain.energy_per_spin, chain.abs_magnetization
            starts.append(started)
            if started >= numbers_due:  # numbers a person can read: ≤ 10 per second
                numbers_due = started + STATS_SECONDS
                numbers = f"E/n = {energy:.4f} · |m| = {magnetization:.3f}"
                if len(starts) > 1:
                    numbers += f" · {(len(starts) - 1) / (starts[-1] - starts[0]):.0f} frames/s"
                    if (drawing := budget.drawing) > 1:
                        numbers += f" ({drawing} live views share this server's frames)"
            caption = f"T = {temperature:.2f} · β = {1 / temperature:.3f} · sweep {done}\n{numbers}"
            if graph_slot is not None:
                with graph_slot.container():
                    show_graph(model, spins, caption)
            elif frame == 0:
                slider = Slider(
                    "temperature", "Temperature T", T_MIN, T_MAX, T_STEP, temperature, paused
                )
                with left:
                    stream.mount(spins, model.lattice.length, caption, done, (slider,))
            else:
                stream.draw(spins, model.lattice.length, caption, done)
            if one_frame or frame % TRACE_EVERY_FRAMES == FIRST_TRACE_FRAME:
                with trace_slot.container():
                    live_traces(chain, energy_ref, magnet_ref)
            if one_frame or started >= deadline:
                return
            # Woken by a rerun request (a widget changed, a button was pressed), or the canvas's
            # slider moved: then the next frame comes at once, but never above MAX_FPS.
            woken = sleep_until_rerun(1.0 / MAX_FPS - (time.monotonic() - started))
            if not woken and model.lattice is not None:  # the browser takes a frame at a time
                woken = sleep_until_rerun(TAKE_SECONDS, until=lambda: stream.taken() or moved())
            if not woken:
                woken = sleep_until_rerun(interval - (time.monotonic() - started), until=moved)
            if woken:
                stop_slot.empty()
    finally:
        budget.release(view)


def live_traces(chain: LiveChain, energy_ref: float | None, magnet_ref: float | None) -> None:
    """Traces of E/n and |m| with Onsager's values, and τ_int / ESS since T last changed."""
    if energy_ref is not None:
        st.caption(
            f"Onsager (infinite lattice, exact): E/n = {energy_ref:.4f}, |m| = {magnet_ref:.3f}"
        )
    correlation = chain.autocorrelation()
    if correlation is None:
        st.caption("τ_int and ESS appear after 50 sweeps at this temperature.")
    else:
        tau, ess = correlation
        st.caption(f"τ_int(E) ≈ {tau:.1f} sweeps · ESS ≈ {ess:.0f} (since T last changed)")
    _, energies, magnetizations = chain.traces()
    st.plotly_chart(
        viz.trace_figure(energies, magnetizations, energy_ref, magnet_ref),
        key=f"traces-{chain.sweeps}",
    )


def live_exports(model: problems.IsingModel, chain: LiveChain) -> None:
    rows = zip(*chain.traces(), strict=True)
    csv = "temperature,energy_per_spin,magnetization\n" + "".join(
        f"{t:.6g},{e:.8g},{m:.8g}\n" for t, e, m in rows
    )
    columns = st.columns(2)
    columns[0].download_button("Traces (CSV)", csv, "ising_traces.csv", "text/csv")
    if model.lattice is not None:
        columns[1].download_button(
            "Lattice (PNG)", viz.lattice_png(chain.spins, model.lattice.length, scale=2),
            "lattice.png", "image/png",
        )  # fmt: skip


def live_view_guarded(model: problems.IsingModel, chain: LiveChain) -> None:
    """`live_view`, with a sampler that fails mid-run pausing the chain behind a message.

    The message stays while the view is paused; pressing Run tries the sampler again.
    """
    was_running = not STATE.get("paused", False)
    if was_running:
        STATE.pop("live_error", None)
    shown = STATE.get("live_error")
    if shown:
        st.error(shown)
    try:
        live_view(model, chain)
    except Exception as error:
        STATE["paused"] = True
        STATE["live_error"] = (
            f"The live view failed: {sampler_failure(error)}. It is paused: press Run to try "
            "again, or change the problem or the backend."
        )
        if was_running:
            st.rerun(scope="app")  # redraw the controls as paused (once: no rerun loop)
        if STATE["live_error"] != shown:
            st.error(STATE["live_error"])


# --------------------------------------------------------------------------- annealing


def anneal_panel(model: problems.IsingModel, backend, settings: dict) -> None:
    columns = st.columns(5)
    t_start = columns[0].number_input("Start T", 0.01, 20.0, 4.0, key="anneal_t0")
    t_end = columns[1].number_input("End T", 0.01, 20.0, 0.2, key="anneal_t1")
    n_sweeps = columns[2].number_input("Sweeps", 10, 20_000, 1000, 10, key="anneal_sweeps")
    kind = columns[3].selectbox("Schedule", ["geometric", "linear"], key="anneal_kind")
    if t_start < t_end:
        st.warning(
            f"Start T ({t_start:g}) is below end T ({t_end:g}): this schedule heats the system "
            "instead of cooling it. Annealing cools: swap them to look for low-energy states."
        )
    if columns[4].button("Start annealing", type="primary", key="anneal_start"):
        temperatures = (
            np.geomspace(t_start, t_end, n_sweeps)
            if kind == "geometric"
            else np.linspace(t_start, t_end, n_sweeps)
        )
        chain = LiveChain(model, backend, settings["algorithm"], seed=settings["seed_chain"])
        STATE["anneal"] = {"chain": chain, "temperatures": temperatures, "done": 0}
        st.rerun()
    plan = STATE.get("anneal")
    if plan is None:
        st.info("Choose a schedule and start: the lattice cools as an animation.")
        return
    if plan.get("error"):
        st.error(f"The annealing stopped: the sampler failed ({plan['error']}). Start again.")
    schedule = LongWork(
        lambda: plan["done"] >= len(plan["temperatures"]) or bool(plan.get("error"))
    )
    # Each tick draws the next chunk of the schedule: work done by the timer, not waited for.
    schedule.follow(lambda: anneal_frame_guarded(model), every=TIMER_SECONDS, wait_for_end=False)


def anneal_frame_guarded(model: problems.IsingModel) -> None:
    """`anneal_frame`, with a sampler that fails mid-schedule ending the animation (the panel
    shows the message)."""
    try:
        anneal_frame(model)
    except Exception as error:
        STATE["anneal"]["error"] = sampler_failure(error)
        st.error(f"The annealing view failed: {sampler_failure(error)}")


def anneal_frame(model: problems.IsingModel) -> None:
    plan = STATE["anneal"]
    chain: LiveChain = plan["chain"]
    temperatures = plan["temperatures"]
    step = max(1, len(temperatures) // 200)
    if plan["done"] < len(temperatures) and not plan.get("error"):
        chunk = temperatures[plan["done"] : plan["done"] + step]
        chain.advance(chunk, len(chunk))
        plan["done"] += len(chunk)
    ground = None
    if model.n_spins <= exact.MAX_ENUMERATION_SPINS:
        ground = exact.ground_states(model)[0] / model.n_spins
    elif (bound := ground_energy_bound(model)) is not None:
        ground = bound / model.n_spins
    left, right = st.columns([2, 3])
    done, total = plan["done"], len(temperatures)
    temperature = temperatures[done - 1] if done else temperatures[0]
    caption = f"sweep {done} / {total} · T = {temperature:.3g}"
    with left:
        st.progress(done / total, text=f"Sweep {done} of {total} · T = {temperature:.3g}")
        if model.lattice is not None:
            lattice_canvas(
                chain.spins, model.lattice.length, caption, key="anneal_lattice", width=420
            )
        else:
            show_graph(model, chain.spins, caption)
    with right:
        swept, energies, _ = chain.traces()
        st.plotly_chart(viz.anneal_figure(energies, swept, ground), key="anneal_fig")
        best = float(energies.min()) if len(energies) else float("nan")
        text = f"Lowest energy per spin reached: {best:.4f}"
        if ground is not None:
            text += f" · exact ground: {ground:.4f}"
        st.markdown(text)


# --------------------------------------------------------------------------- tempering


def tempering_panel(model: problems.IsingModel, backend, settings: dict) -> None:
    if model.n_spins > MAX_TEMPERING_SPINS:
        st.warning(f"Parallel tempering here runs up to {MAX_TEMPERING_SPINS} spins (L = 256).")
        return
    columns = st.columns(5)
    t_min = columns[0].number_input("Coldest T", 0.05, 20.0, 1.6, key="pt_tmin")
    t_max = columns[1].number_input("Hottest T", 0.05, 20.0, 4.0, key="pt_tmax")
    count = columns[2].slider("Replicas", 2, 8, 6, key="pt_count")
    if t_max <= t_min:
        st.error("The hottest temperature must be above the coldest.")
        return
    wanted = np.geomspace(t_min, t_max, count)
    if columns[3].button("Restart replicas", key="pt_restart") or "tempering" not in STATE:
        STATE.pop("tempering_error", None)
        STATE["tempering"] = LiveTempering(
            model, backend, wanted, settings["algorithm"], seed=settings["seed_chain"]
        )
    tempering: LiveTempering = STATE["tempering"]
    paused = STATE.get("pt_paused", False)
    columns[4].button(
        "Resume" if paused else "Pause",
        key="pt_pause",
        on_click=lambda: STATE.update(pt_paused=not paused),  # before the page redraws
    )
    started = tempering.temperatures
    if started.shape != wanted.shape or not np.allclose(started, wanted):
        st.info(
            f"The replicas still run the settings they started with: {started.size} "
            f"temperatures from {started[0]:.2f} to {started[-1]:.2f}. "
            "Press **Restart replicas** to apply the new ones."
        )
    if STATE.get("tempering_error"):
        st.error(
            f"Parallel tempering stopped: the sampler failed ({STATE['tempering_error']}). "
            "Press Restart replicas to try again, or choose another backend."
        )
        return
    if paused:
        st.caption(f"Paused after round {tempering.rounds}: press Resume to go on.")
    # Runs until paused or failed; each tick draws the next rounds (work done by the timer).
    replicas = LongWork(lambda: paused or bool(STATE.get("tempering_error")))
    replicas.follow(
        lambda: tempering_frame_guarded(model, advance=not paused),
        every=TIMER_SECONDS * 4,
        wait_for_end=False,
    )


def tempering_frame_guarded(model: problems.IsingModel, advance: bool) -> None:
    """`tempering_frame`, with a sampler that fails ending the replicas' animation."""
    try:
        tempering_frame(model, advance)
    except Exception as error:
        STATE["tempering_error"] = sampler_failure(error)


def tempering_frame(model: problems.IsingModel, advance: bool) -> None:
    """The replicas, their energies and swap rates; two more rounds first if `advance`."""
    tempering: LiveTempering = STATE["tempering"]
    if advance:
        tempering.advance(2)
    if model.lattice is not None:
        columns = st.columns(len(tempering.temperatures))
        for k, (column, temperature, spins) in enumerate(
            zip(columns, tempering.temperatures, tempering.states, strict=True)
        ):
            with column:
                lattice_canvas(
                    spins, model.lattice.length, f"T = {temperature:.2f}",
                    key=f"replica_lattice{k}", width=None,
                )  # fmt: skip
    rows = [
        {"pair": f"T{k} ↔ T{k + 1}", "swap acceptance": f"{rate:.2f}"}
        for k, rate in enumerate(tempering.swap_rates)
    ]
    energies = np.asarray(tempering.energies[-1])
    st.markdown(
        f"Round {tempering.rounds} · energy per spin by temperature: "
        + ", ".join(f"{e:.3f}" for e in energies)
    )
    st.table(rows)


# --------------------------------------------------------------------------- measure


def measure_panel(model: problems.IsingModel, backend, settings: dict) -> None:
    st.subheader("Temperature sweep (square lattices, J = 1, h = 0)")
    columns = st.columns(3)
    lengths = columns[0].multiselect("Sizes L", [8, 16, 32, 64, 128], [8, 16, 32], key="m_L")
    t_low, t_high = columns[1].slider("T range", 0.5, 5.0, (1.8, 2.8), key="m_range")
    points = columns[2].slider("Temperatures", 2, 30, 10, key="m_points")
    columns = st.columns(3)
    sweeps = columns[0].number_input("Measured sweeps", 100, 100_000, 2000, 100, key="m_sw")
    burn_in = columns[1].number_input("Burn-in sweeps", 0, 100_000, 500, 100, key="m_burn")
    chains = columns[2].number_input("Chains", 1, 64, 4, key="m_chains")
    job = STATE.get("sweep_job")
    sweep = LongWork(lambda: job is None or job.finished)  # one sweep per session
    if st.button("Run sweep", type="primary", key="m_run", disabled=sweep.running):
        temperatures = list(np.linspace(t_low, t_high, points))
        job_args = dict(sweeps=sweeps, burn_in=burn_in, chains=chains)
        try:
            check_sweep_request(lengths, temperatures, **job_args)
        except ValueError as error:
            st.error(f"This sweep cannot run: {error}")
        else:

            def work(context):
                return temperature_sweep(
                    backend, lengths, temperatures, algorithm=settings["algorithm"],
                    seed=settings["seed_chain"], context=context, **job_args,
                )  # fmt: skip

            STATE["sweep_job"] = get_manager().submit("temperature sweep", work, owner=OWNER)
            st.rerun()  # the button shows as disabled while the sweep runs
    if job is not None:
        sweep.follow(sweep_results, every=SWEEP_POLL_SECONDS)
    st.divider()
    exact_panel(model, backend, settings)


def sweep_results() -> None:
    attach_session()  # a session watching its sweep is not idle
    job = STATE["sweep_job"]
    if not job.finished:
        place = job.queue_position
        label = f"queued, place {place}" if place else job.message or "starting"
        st.progress(job.progress, text=f"Sweep: {label}")
        if st.button("Stop sweep", key="m_stop"):
            job.stop()
    if job.status == "failed":  # the points finished before the failure are still drawn
        st.error(f"The sweep failed: {job.error}")
    if job.status == "stopped" and job.stop_reason:
        st.warning(f"The sweep was {job.stop_reason}; the points below are those it finished.")
    points = job.result if job.finished and job.result is not None else job.partial or []
    if not points:
        return
    metric = st.radio(
        "Observable", ["energy", "abs_magnetization", "susceptibility", "heat_capacity", "binder"],
        horizontal=True, key="m_metric",
    )  # fmt: skip
    st.plotly_chart(viz.sweep_figure(points, metric), key="sweep_fig")
    if metric == "binder":
        st.caption("Curves for different L cross near T_c: finite-size scaling at work.")
    rows = sweep_rows(points)
    lines = [",".join(rows[0])] + [",".join(f"{v}" for v in row.values()) for row in rows]
    csv = "\n".join(lines) + "\n"
    columns = st.columns(2)
    columns[0].download_button("Sweep (CSV)", csv, "temperature_sweep.csv", "text/csv")
    columns[1].download_button(
        "Sweep (JSON)", json.dumps(rows, indent=1), "temperature_sweep.json", "application/json"
    )


def exact_panel(model: problems.IsingModel, backend, settings: dict) -> None:
    st.subheader("Exact check against enumeration (n ≤ 16)")
    if model.n_spins > 16:
        st.info(
            f"The current problem has {model.n_spins} spins: choose L = 4 or a graph with "
            "n ≤ 16 to compare the sampler with all 2ⁿ states."
        )
        return
    columns = st.columns(3)
    temperature = columns[0].number_input("T", 0.05, 20.0, 1.5, key="x_T")
    samples = columns[1].number_input("Independent chains", 500, 20_000, 4000, 500, key="x_n")
    if columns[2].button("Run check", key="x_run"):
        try:
            with st.spinner("Sampling and enumerating…"):
                STATE["exact_result"] = exact_check(
                    backend, model, temperature, sweep_counts=[1, 2, 5, 10, 20, 50, 100],
                    samples=samples, algorithm=settings["algorithm"], seed=settings["seed_chain"],
                )  # fmt: skip
        except Exception as error:
            st.error(f"The exact check failed: {sampler_failure(error)}")
    check = STATE.get("exact_result")
    if check is None:
        return
    left, right = st.columns(2)
    left.plotly_chart(viz.distribution_figure(check), key="x_dist")
    right.plotly_chart(viz.kl_figure(check), key="x_kl")
    arrows = ["".join("↑" if s > 0 else "↓" for s in state) for state in check.ground_states]
    st.markdown(
        f"Exact ground energy {check.ground_energy:.4f}, ground states: {', '.join(arrows)}. "
        f"χ² test of the longest run against exact probabilities: "
        f"p = {check.chi_square_p_value:.3g}."
    )


# --------------------------------------------------------------------------- page


OWNER = attach_session()  # this browser session: owns its sweep job, seen on every run
st.title("Ising / p-bit playground")
st.caption(
    "Each spin is a p-bit: it flips at random with the Boltzmann odds of its neighbours. "
    "Energies are exact for the sampled states."
)
settings = sidebar()
model = current_problem(settings)
if model is None:
    st.stop()
try:
    backend = load_backend(settings["backend"])
except BackendUnavailable as error:
    st.error(str(error))
    st.stop()
except Exception as error:  # a broken plugin: a message, and the other backends still work
    st.error(f"The backend {settings['backend']!r} failed to start: {sampler_failure(error)}")
    st.stop()
reference = (
    "reference curves: Onsager's exact solution (L = ∞)"
    if onsager_reference(model, T_DEFAULT)[0] is not None
    else "no exact reference curve for this model (Measure compares with enumeration, n ≤ 16)"
)
st.caption(
    f"{model.name} · {model.n_spins} spins · backend {backend.name} on {backend.device} · "
    f"{reference}"
)

mode = st.segmented_control(
    "Mode", ["Live", "Annealing", "Parallel tempering", "Measure"], default="Live", key="mode"
)
if mode == "Live" or mode is None:
    chain = live_controls(model, backend, settings)
    running = not STATE.get("paused", False)
    # The timer restarts the drawing loop when it ends, so the chain keeps running.
    restart = LIVE_SECONDS if running and LIVE_SECONDS > 0 else None
    st.fragment(live_view_guarded, key=LIVE_VIEW_KEY, run_every=restart)(model, chain)
    if running:
        st.caption("Pause to export the traces (CSV) and the lattice (PNG).")
    else:
        live_exports(model, chain)
elif mode == "Annealing":
    anneal_panel(model, backend, settings)
elif mode == "Parallel tempering":
    tempering_panel(model, backend, settings)
else:
    measure_panel(model, backend, settings)

st.caption(
    f"p-bit updates counted by this server's {backend.name} backend so far (all sessions): "
    f"{backend.counter.spin_updates:,}"
)
