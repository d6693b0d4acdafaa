"""Ising / p-bit playground: watch p-bits order and melt, checked against exact results.

The page holds widgets and figures only; chains, sweeps and checks come from `thermolab`.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from thermolab import exact, problems
from thermolab.backends import (
    ALGORITHMS,
    DEFAULT_BACKEND,
    BackendUnavailable,
    backend_names,
    local_device_count,
    temperature_schedule,
)
from thermolab.jobs import get_manager
from thermolab.live import LiveChain, LiveTempering
from thermolab.measure import check_sweep_request, exact_check, sweep_rows, temperature_sweep
from thermolab.viz import ising as viz
from ui.lattice_canvas import lattice_canvas
from ui.live_view import (
    LiveSettings,
    LiveView,
    draws_on_canvas,
    rerun_live_view,
    sampler_failure,
    show_graph,
    take_graph_temperature,
)
from ui.long_work import LongWork
from ui.server import share_cores
from ui.session import attach_session

st.set_page_config(page_title="Ising playground · ThermoLab", page_icon="🧲", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores

LIVE = LiveSettings.from_environment()  # the live view's limits and pacing
TIMER_SECONDS = 0.05  # annealing and tempering: a fragment on a timer, one frame per run
SWEEP_POLL_SECONDS = 0.5  # a running sweep's progress is redrawn this often
LATTICE_SIZES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)
MAX_GRAPH_NODES = 500
# The graph families offered, by label (a lattice has its own controls).
GRAPH_LABELS = [
    *(family.label for family in problems.GRAPH_FAMILIES.values()),
    problems.MODEL_FAMILIES["sk"].label,
]
MAX_TEMPERING_SPINS = 256 * 256
RESTARTS_CHAIN = "Changing it restarts the live chain from a new random state."
DEVICES_NOTE = (
    "The chains of a run (annealing restarts, tempering replicas, Measure's chains) are split "
    "across these devices, each sweeping its share; a chain's results do not depend on it. "
    "It speeds sampling up only where the devices are separate hardware (GPUs): devices "
    "simulated on one CPU share its cores, so there it changes nothing."
)
STATE = st.session_state


@st.cache_resource(show_spinner="Starting the sampler…")
def load_backend(name: str, devices: int | None = None):
    """One backend instance per name, device count and server process (jax compiles once,
    then is reused); devices None: the backend's default (all it sees)."""
    from thermolab.backends import get_backend

    return get_backend(name) if devices is None else get_backend(name, devices=devices)


@st.cache_resource(show_spinner="Starting the sampler…")
def cached_device_count(name: str) -> int:
    """Devices the backend could split chains across here (1 where it cannot start: the page
    says why when it loads it)."""
    try:
        return local_device_count(name)
    except Exception:
        return 1


@st.cache_resource(ttl=60)
def cached_backend_names() -> list[str]:
    """Registered backend names (an entry-point scan, so not on every frame's rerun)."""
    return backend_names()


def build_problem(settings: dict) -> problems.IsingModel:
    if settings["kind"] == "Square lattice":
        return problems.square_lattice(settings["length"], settings["coupling"], settings["field"])
    family = problems.family_by_label(problems.MODEL_FAMILIES, settings["graph"])
    options = {key: settings[key] for key in family.parameters if key in settings}
    return family.build(settings["nodes"], **options)


def sidebar() -> dict:
    with st.sidebar:
        st.header("Problem")
        kind = st.radio("Model", ["Square lattice", "Graph"], horizontal=True, key="kind")
        settings: dict = {"kind": kind}
        if kind == "Square lattice":
            settings["length"] = st.select_slider("Side L", LATTICE_SIZES, value=128, key="L")
            family = problems.MODEL_FAMILIES["lattice"]
        else:
            settings["graph"] = st.selectbox("Graph", GRAPH_LABELS, key="graph")
            settings["nodes"] = st.number_input(
                "Spins n", 4, MAX_GRAPH_NODES, 64, key="nodes",
                help=f"At most {MAX_GRAPH_NODES} spins. Drawn as a network; past "
                f"{viz.MAX_DRAWN_EDGES:,} couplings as a grid of spins over the coupling matrix.",
            )  # fmt: skip
            family = problems.family_by_label(problems.MODEL_FAMILIES, settings["graph"])
        settings.update(family_options(family.parameters))
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
        devices = cached_device_count(settings["backend"])
        if devices > 1:  # a count of 1 has no choice to offer
            settings["devices"] = st.slider(
                "Devices", 1, devices, devices, key="devices", help=RESTARTS_CHAIN
            )
            st.caption(DEVICES_NOTE)
        settings["seed_chain"] = st.number_input("Chain seed", 0, 1_000_000, 0, key="seed")
    return settings


def family_options(parameters: tuple[str, ...]) -> dict:
    """The widgets of the options a problem family reads (`ProblemFamily.parameters`), and
    their values: each family shows only what it reads (SK has no edge probability, and its
    couplings are random already)."""
    options: dict = {}
    if "edge_probability" in parameters:
        options["edge_probability"] = st.slider("Edge probability", 0.01, 1.0, 0.1, key="p")
    if "spin_glass" in parameters:
        options["spin_glass"] = st.toggle("Random ± couplings (spin glass)", key="glass")
    if "seed" in parameters:
        options["seed"] = st.number_input(
            "Graph seed", 0, 10_000, 0, key="graph_seed",
            help="Seeds the random graph and the random couplings.",
        )  # fmt: skip
    if "coupling" in parameters:
        options["coupling"] = st.number_input(
            "Coupling J (> 0 ferromagnet)", -3.0, 3.0, 1.0, 0.1, key="J"
        )
    if "field" in parameters:
        options["field"] = st.number_input("Field h", -3.0, 3.0, 0.0, 0.05, key="h")
    return options


def current_problem(settings: dict):
    """The model for these settings, rebuilt only when they change; None on bad input."""
    sampler = ("algorithm", "backend", "devices")  # how the model is sampled, not the model
    key = json.dumps({k: v for k, v in settings.items() if k not in sampler})
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


# --------------------------------------------------------------------------- live view


def live_controls(model: problems.IsingModel, backend, settings: dict) -> LiveChain:
    """The live view's widgets and its chain (made once, kept in session state).

    A lattice's or a dense graph's temperature slider is drawn with its canvas (`ui.live_view`),
    and its moves reach the running chain without a Streamlit rerun; a sparse graph's is a
    Streamlit slider.
    """
    temperature = STATE.setdefault("live_temperature", LIVE.t_default)
    on_canvas = draws_on_canvas(model)
    columns = st.columns(2)
    if not on_canvas:
        columns[0].slider(
            "Temperature T", LIVE.t_min, LIVE.t_max, temperature, LIVE.t_step,
            key="temperature", on_change=take_graph_temperature, args=(LIVE.fragment_key,),
            help="Moving it changes the temperature of the running chain; nothing restarts.",
        )  # fmt: skip
    columns[0 if on_canvas else 1].select_slider(
        "Sweeps per frame", [1, 2, 5, 10, 20, 50], value=5, key="spf",
        on_change=rerun_live_view, args=(LIVE.fragment_key,),
    )  # fmt: skip
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
        temperatures = 1.0 / temperature_schedule(t_start, t_end, n_sweeps, kind)
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
    ground = exact.ground_energy_reference(model)
    if ground is not None:
        ground /= model.n_spins
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
    backend = load_backend(settings["backend"], settings.get("devices"))
except BackendUnavailable as error:
    st.error(str(error))
    st.stop()
except Exception as error:  # a broken plugin: a message, and the other backends still work
    st.error(f"The backend {settings['backend']!r} failed to start: {sampler_failure(error)}")
    st.stop()
capabilities = backend.capabilities  # declared by the backend, not guessed here
if settings["algorithm"] not in capabilities.algorithms:
    st.error(
        f"The {backend.name} backend runs {', '.join(capabilities.algorithms)} only: "
        "choose one of those, or another backend."
    )
    st.stop()
reference = (
    "reference curves: Onsager's exact solution (L = ∞) and Kaufman's for this L"
    if exact.onsager_reference(model, 2.0) is not None
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
    restart = LIVE.run_seconds if running and LIVE.run_seconds > 0 else None
    view = LiveView(model, chain, LIVE)
    if running:  # above the view: its first fragment run draws frames inside this page run
        st.caption("Pause to export the traces (CSV) and the lattice (PNG).")
    st.fragment(view.run_guarded, key=LIVE.fragment_key, run_every=restart)()
    if not running:
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
