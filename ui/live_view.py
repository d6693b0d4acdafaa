"""The live view of a chain: frames drawn in a loop while the chain runs, for one session.

`LiveView` owns what a page should not: the frame stream (`ui.lattice_canvas.LatticeStream`
for a lattice, and for a graph too dense to draw its edges, whose spins stream as a grid over
its coupling matrix drawn once; a Plotly figure per frame for a sparse graph), the server's
frame budget shared by every session (`FrameBudget`), the temperature control polled between
frames, and the loop with its superseded-run protocol. `LiveSettings` holds its limits and
pacing; the page lays out the widgets, makes the chain, and runs `LiveView.run_guarded` in a
fragment.

The path of a lattice's (and a dense graph's) temperature: the canvas's slider in the browser →
the frame socket (`ui.frames`) → `LatticeStream.controls()` → `LiveView._wanted_temperature`
(clamped) → `LiveChain.advance(T, sweeps)` → `Backend.sample_ising` (β = 1/T) → the backend's
kernel. A sparse graph's temperature is a Streamlit slider whose callback stores it and reruns
the fragment.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from thermolab import exact
from thermolab.live import LiveChain
from thermolab.problems import IsingModel
from thermolab.viz import ising as viz
from ui.lattice_canvas import LatticeStream, Slider, lattice_canvas
from ui.pacing import sleep_until_rerun

__all__ = [
    "FrameBudget",
    "LiveSettings",
    "LiveView",
    "draws_on_canvas",
    "rerun_live_view",
    "sampler_failure",
    "shared_budget",
    "show_graph",
    "state_numbers",
    "take_graph_temperature",
    "wait_for_next_frame",
]


@dataclass(frozen=True)
class LiveSettings:
    """Limits and pacing of a live view (seconds, frames per second, temperatures T).

    max_fps: one view draws at most this many frames per second; server_fps: frames per
    second the server draws for all views together (they share it fairly, `FrameBudget`);
    sampling_cores: CPU cores the views' sweeps may keep busy together (half the machine's),
    shared the same way, so a view whose frames cost more (a dense graph's sweeps) draws fewer
    of them while others draw.
    graph_frame_seconds: a sparse graph's view draws a Plotly figure per frame; at the
    lattice's rate each was replaced before the browser had drawn it, and the figure stayed
    blank.
    trace_every_frames, first_trace_frame: the traces and τ_int are redrawn every this many
    frames, first at this frame (never the first after a change: it must be quick).
    stats_seconds: the numbers under the lattice change at most this often (nobody reads 30
    numbers a second). run_seconds: how long one run keeps drawing before it reruns itself
    (0: one frame per run, for tests). take_seconds: how long a frame waits for the browser to
    take the one before (a browser that is gone costs the server a frame this often).
    t_min, t_max, t_step, t_default: the temperature slider. fragment_key: the drawing
    fragment's name, for st.rerun.
    """

    max_fps: float = 30.0
    server_fps: float = 60.0
    sampling_cores: float = max(1.0, (os.cpu_count() or 2) / 2)
    graph_frame_seconds: float = 0.5
    trace_every_frames: int = 30
    first_trace_frame: int = 5
    stats_seconds: float = 0.1
    run_seconds: float = 30.0
    take_seconds: float = 1.0
    t_min: float = 0.05
    t_max: float = 6.0
    t_step: float = 0.01
    t_default: float = 3.0
    fragment_key: str = "live_view"

    @classmethod
    def from_environment(cls) -> LiveSettings:
        """The defaults, with THERMOLAB_SERVER_FPS and THERMOLAB_LIVE_SECONDS where set."""
        return cls(
            server_fps=float(os.environ.get("THERMOLAB_SERVER_FPS", cls.server_fps)),
            run_seconds=float(os.environ.get("THERMOLAB_LIVE_SECONDS", cls.run_seconds)),
        )


class FrameBudget:
    """A server's frame rate, shared among the live views drawing at once.

    Every frame costs the server (sweeps, packing, a message) and the viewer's browser (a
    redraw), so a room of views each drawing at full rate saturates a small server and every
    slider change then waits in the queue. A view asks `interval(view)` before each frame and
    waits that long (seconds) from the frame's start: with n views drawing, each gets
    max(1 / max_fps, n / total_fps), so one view draws at `max_fps` and a room shares
    `total_fps` fairly. Frames differ in cost, so the time a view's last frame spent sampling
    is shared too: at most n × that / `sampling_cores`, so that n views keep at most
    `sampling_cores` cores busy sweeping (a frame of a 500-spin complete graph costs many
    times one of a 64 × 64 lattice). A view counts as drawing from its first `interval` call
    until `release` or until it has not asked for `stale_seconds` (a loop that died without
    releasing).
    Thread-safe: every session's loop runs on its own thread.
    """

    def __init__(
        self,
        total_fps: float = 60.0,
        max_fps: float = 30.0,
        *,
        sampling_cores: float = 1.0,
        stale_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (0 < max_fps <= total_fps < float("inf")):
            raise ValueError(
                f"need 0 < max_fps ≤ total_fps < ∞ frames per second, got max_fps={max_fps}, "
                f"total_fps={total_fps}"
            )
        if not 0 < sampling_cores < float("inf"):
            raise ValueError(f"need 0 < sampling_cores < ∞, got {sampling_cores}")
        self.total_fps, self.max_fps, self.stale_seconds = total_fps, max_fps, stale_seconds
        self.sampling_cores = sampling_cores
        self._clock = clock
        self._last_asked: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def interval(self, view: Hashable, sampling_seconds: float = 0.0) -> float:
        """Seconds from the start of `view`'s frame to its next; counts it as drawing.
        sampling_seconds: how long its last frame's sweeps took (s)."""
        with self._lock:
            now = self._clock()
            self._last_asked[view] = now
            for other, asked in list(self._last_asked.items()):
                if now - asked > self.stale_seconds:
                    del self._last_asked[other]
            drawing = len(self._last_asked)
            return max(
                1.0 / self.max_fps,
                drawing / self.total_fps,
                drawing * sampling_seconds / self.sampling_cores,
            )

    def release(self, view: Hashable) -> None:
        """`view` stopped drawing (its loop ended or was interrupted)."""
        with self._lock:
            self._last_asked.pop(view, None)

    @property
    def drawing(self) -> int:
        """How many views count as drawing now."""
        with self._lock:
            now = self._clock()
            return sum(now - asked <= self.stale_seconds for asked in self._last_asked.values())


@st.cache_resource
def _shared_budget(total_fps: float, max_fps: float, sampling_cores: float) -> FrameBudget:
    """The server's frame rate, shared by every session's live view (one per process)."""
    return FrameBudget(total_fps=total_fps, max_fps=max_fps, sampling_cores=sampling_cores)


def shared_budget(settings: LiveSettings) -> FrameBudget:
    """The server's frame budget that every live view drawing with `settings`' rates shares
    (the playground's lattices and graphs, the Boltzmann machine's samples)."""
    return _shared_budget(
        max(settings.server_fps, settings.max_fps), settings.max_fps, settings.sampling_cores
    )


def wait_for_next_frame(
    settings: LiveSettings, started: float, interval: float, stream: LatticeStream | None
) -> bool:
    """Wait between a live view's frames: at least 1 / max_fps from `started` (its
    time.monotonic()), then (on a canvas, `stream`) until the browser has taken the frame
    (at most take_seconds), then until `interval` from `started` (the frame budget's).
    Returns True when woken early: a rerun is pending (a widget changed, a button was pressed)
    or the canvas's controls moved; the next frame then comes at once, never above max_fps,
    and the caller sends an element so that a pending rerun can stop it."""
    moved: Callable[[], bool] = stream.has_controls if stream is not None else lambda: False
    woken = sleep_until_rerun(1.0 / settings.max_fps - (time.monotonic() - started))
    if not woken and stream is not None:  # the browser takes a frame at a time
        woken = sleep_until_rerun(settings.take_seconds, until=lambda: stream.taken() or moved())
    if not woken:
        woken = sleep_until_rerun(interval - (time.monotonic() - started), until=moved)
    return woken


def reference_caption(reference: exact.LatticeReference) -> str:
    """The exact values of the live lattice at its temperature: this L (Kaufman, where the
    formulas reach) beside L = ∞ (Onsager)."""
    onsager = (
        f"Onsager, L = ∞: E/n = {float(reference.onsager_energy_per_spin):.4f}, "
        f"|m| = {float(reference.onsager_abs_magnetization):.3f}"
    )
    if not np.isfinite(reference.exact_energy_per_spin):
        return f"Exact: {onsager}"
    return (
        f"Exact, this L = {reference.length}: E/n = {float(reference.exact_energy_per_spin):.4f}, "
        f"C/n = {float(reference.exact_heat_capacity):.3f} · {onsager}"
    )


def state_numbers(energy_per_spin: float, abs_magnetization: float) -> str:
    """The caption's numbers of a state: E/n to 4 decimals, |m| to 3. A value that rounds to
    zero shows as 0.0000, never -0.0000 (an edgeless graph's E/n is −0.0 in floating point)."""
    return f"E/n = {energy_per_spin:z.4f} · |m| = {abs_magnetization:z.3f}"


def sampler_failure(error: Exception) -> str:
    """A sampler's failure as one line for the page (the traceback stays in the server log)."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


COUPLING_IMAGE_PIXELS = 480  # about the width of a dense graph's coupling matrix on the page


def draws_on_canvas(model: IsingModel) -> bool:
    """Whether the live view draws `model`'s spins on the lattice canvas, with its temperature
    slider: a lattice, or a graph too dense to draw its edges (`viz.is_dense`)."""
    return model.lattice is not None or viz.is_dense(model)


def spin_grid_caption(model: IsingModel) -> str:
    """How a dense graph's canvas lays out its spins."""
    rows, columns = viz.spin_grid_shape(model.n_spins)
    return (
        f"The {model.n_spins} spins on a {rows} × {columns} grid, read like text: spin k is at "
        f"row k // {columns}, column k % {columns} (orange +1, blue −1)."
    )


def show_coupling_matrix(model: IsingModel) -> None:
    """A dense graph's coupling matrix, drawn once per run (not per frame): its PNG, each
    coupling an integer number of pixels wide so that the browser need not smooth it, is made
    once per problem and kept in session state."""
    state = st.session_state
    made = state.get("coupling_png")
    if made is None or made[0] is not model:
        scale = max(1, COUPLING_IMAGE_PIXELS // model.n_spins)
        made = state["coupling_png"] = (model, viz.coupling_matrix_png(model, scale))
    st.image(made[1])
    st.caption(
        f"The {viz.coupling_count(model):,} couplings J_ij, row i and column j for spins i and "
        "j (numbered as in the grid): red J < 0 (antiferromagnetic), grey J > 0 "
        "(ferromagnetic), white none."
    )


def show_graph(
    model: IsingModel, spins: Any, caption: str, *, canvas_key: str = "graph_canvas"
) -> None:
    """One frame of a graph problem's spins (the live view draws its own frames): a sparse
    graph as a network figure, its layout computed once per problem and kept in session state;
    a dense one (`viz.is_dense`) on the lattice canvas as a grid of spins, with its coupling
    matrix. `canvas_key`: the canvas's widget key."""
    if viz.is_dense(model):
        lattice_canvas(spins, viz.spin_grid_shape(model.n_spins), caption, key=canvas_key)
        st.caption(spin_grid_caption(model))
        show_coupling_matrix(model)
        return
    state = st.session_state
    if "layout" not in state:
        state["layout"] = viz.graph_layout(model)
    st.plotly_chart(viz.graph_figure(model, spins, state["layout"]), key=f"g{caption}")
    st.caption(caption.replace("\n", "  \n"))  # a line break in markdown


def rerun_live_view(fragment_key: str) -> None:
    """Callback of the live view's widgets: rerun only the drawing fragment, at once.

    Without it a change reruns the whole script. With it Streamlit stops the drawing loop at
    its next frame (the chain keeps every sweep it has done) and starts it again at the new
    setting, without running the rest of the page.
    """
    st.rerun(fragment_key)


def take_graph_temperature(fragment_key: str, widget_key: str = "temperature") -> None:
    """Callback of a sparse graph's temperature slider (a lattice's or a dense graph's is drawn
    with its canvas): the view's temperature becomes the slider's, and the drawing fragment
    reruns."""
    st.session_state["live_temperature"] = st.session_state[widget_key]
    rerun_live_view(fragment_key)


class LiveView:
    """One session's live view of `chain` on `model` (see the module docstring).

    Session state it keeps: live_temperature (T now), spf (sweeps per frame, the page's
    widget), paused / step_once (the page's buttons), live_view_id (this view's name in the
    frame budget), live_stream (the lattice's frame stream), live_view_run (the run that owns
    the chain: a superseded run ends at once), live_error (a sampler failure shown while
    paused).
    """

    def __init__(
        self,
        model: IsingModel,
        chain: LiveChain,
        settings: LiveSettings,
        state: MutableMapping[str, Any] | None = None,
    ) -> None:
        self.model, self.chain, self.settings = model, chain, settings
        self.on_canvas = draws_on_canvas(model)
        self.state = st.session_state if state is None else state
        self.state.setdefault("live_temperature", settings.t_default)

    @property
    def budget(self) -> FrameBudget:
        return shared_budget(self.settings)

    # ------------------------------------------------------------------ controls

    def _wanted_temperature(self, stream: LatticeStream, current: float) -> float:
        """The temperature asked for now, clamped to the slider's range: the canvas's slider
        (its value arrives on the frame socket, no rerun), else the one in session state (a
        sparse graph's Streamlit slider stores it there). Unchanged while paused."""
        if self.state.get("paused", False):
            return current
        if self.on_canvas:
            wanted = stream.controls().get("temperature") if stream.channel is not None else None
        else:
            wanted = self.state.get("live_temperature")
        if wanted is None:
            return current
        return min(max(float(wanted), self.settings.t_min), self.settings.t_max)

    # ------------------------------------------------------------------ the loop

    def run_guarded(self) -> None:
        """`run`, with a sampler that fails mid-run pausing the chain behind a message.

        The message stays while the view is paused; pressing Run tries the sampler again.
        """
        state = self.state
        was_running = not state.get("paused", False)
        if was_running:
            state.pop("live_error", None)
        shown = state.get("live_error")
        if shown:
            st.error(shown)
        try:
            self.run()
        except Exception as error:
            state["paused"] = True
            state["live_error"] = (
                f"The live view failed: {sampler_failure(error)}. It is paused: press Run to "
                "try again, or change the problem or the backend."
            )
            if was_running:
                st.rerun(scope="app")  # redraw the controls as paused (once: no rerun loop)
            if state["live_error"] != shown:
                st.error(state["live_error"])

    def run(self) -> None:
        """Draw frames for up to `run_seconds`, paced by the server's frame budget (one frame
        if paused).

        One fragment run sends many frames, each a few sweeps with its numbers (T, E/n, |m|,
        frames/s) in its caption, and the traces every `trace_every_frames`. No rerun per
        frame, and none per move of a lattice's temperature slider: the canvas sends its
        value, which the loop takes before its next frame. Streamlit starts a new run before
        the one it replaces has stopped (it stops at its next element), so each run claims the
        chain, under its lock, and a superseded loop ends at once instead of advancing it once
        more. With many sessions drawing at once each gets its share of the server's frames,
        and a frame waits until the browser has taken the one before (`ui.frames`), so slider
        changes never queue behind animation.
        """
        model, chain, settings, state = self.model, self.chain, self.settings, self.state
        lattice, on_canvas = model.lattice, self.on_canvas
        # the canvas's cells: a lattice's side, or a dense graph's grid of spins
        shape = lattice.length if lattice is not None else viz.spin_grid_shape(model.n_spins)
        temperature, sweeps = state["live_temperature"], state["spf"]
        paused = state.get("paused", False)
        one_frame = paused or settings.run_seconds <= 0
        reference = exact.lattice_reference(model, temperature)
        left, right = st.columns([3, 2])
        # The canvas goes straight into its column: in an `st.empty` slot, a rerun's first
        # delta (an empty slot) unmounted it whenever the browser rendered that delta alone.
        graph_slot = None if on_canvas else left.empty()  # a figure per frame
        # stop_slot: an element to send when a rerun is pending (frames are not Streamlit
        # elements, and Streamlit stops a run only at one)
        stop_slot, trace_slot = right.empty(), right.empty()
        this_run, view = object(), state.setdefault("live_view_id", secrets.token_hex(8))
        stream: LatticeStream = state.setdefault("live_stream", LatticeStream(key="live_lattice"))
        with chain.lock:
            state["live_view_run"] = this_run
        budget, starts = self.budget, deque(maxlen=16)  # starts: for the frame rate
        deadline, numbers, numbers_due = time.monotonic() + settings.run_seconds, "", 0.0
        sampling_seconds = 0.0  # the last frame's sweeps (wall clock: jax sweeps on threads)
        try:
            for frame in itertools.count():
                started = time.monotonic()
                interval = budget.interval(view, sampling_seconds) if not one_frame else 0.0
                if graph_slot is not None:  # a new figure per frame: time to draw it
                    interval = max(interval, settings.graph_frame_seconds)
                wanted = self._wanted_temperature(stream, temperature)
                if wanted != temperature:
                    temperature = state["live_temperature"] = wanted
                    reference = exact.lattice_reference(model, temperature)
                with chain.lock:
                    if state.get("live_view_run") is not this_run:
                        return
                    if not paused or state.pop("step_once", False):
                        sweeping = time.perf_counter()
                        chain.advance(temperature, sweeps)
                        sampling_seconds = time.perf_counter() - sweeping
                    spins, done = chain.spins, chain.sweeps
                    energy, magnetization = chain.energy_per_spin, chain.abs_magnetization
                starts.append(started)
                if started >= numbers_due:  # numbers a person can read: ≤ 10 per second
                    numbers_due = started + settings.stats_seconds
                    numbers = state_numbers(energy, magnetization)
                    if len(starts) > 1:
                        rate = (len(starts) - 1) / (starts[-1] - starts[0])
                        numbers += f" · {rate:.0f} frames/s"
                        if (drawing := budget.drawing) > 1:
                            numbers += f" ({drawing} live views share this server's frames)"
                caption = (
                    f"T = {temperature:.2f} · β = {1 / temperature:.3f} · sweep {done}\n{numbers}"
                )
                if graph_slot is not None:
                    with graph_slot.container():
                        show_graph(model, spins, caption)
                elif frame == 0:
                    slider = Slider(
                        "temperature", "Temperature T", settings.t_min, settings.t_max,
                        settings.t_step, temperature, paused,
                    )  # fmt: skip
                    with left:
                        stream.mount(spins, shape, caption, done, (slider,))
                        if lattice is None:  # a dense graph: what its frames do not change
                            st.caption(spin_grid_caption(model))
                            show_coupling_matrix(model)
                else:
                    stream.draw(spins, shape, caption, done)
                if one_frame or frame % settings.trace_every_frames == settings.first_trace_frame:
                    with trace_slot.container():
                        self.traces(reference)
                if one_frame or started >= deadline:
                    return
                if wait_for_next_frame(settings, started, interval, stream if on_canvas else None):
                    stop_slot.empty()
        finally:
            budget.release(view)

    def traces(self, reference: exact.LatticeReference | None) -> None:
        """Traces of E/n and |m| with the exact values (this L and L = ∞), and τ_int / ESS
        since T last changed."""
        chain = self.chain
        onsager_energy = onsager_magnet = finite_energy = None
        if reference is not None:
            st.caption(reference_caption(reference))
            onsager_energy = float(reference.onsager_energy_per_spin)
            onsager_magnet = float(reference.onsager_abs_magnetization)
            finite_energy = float(reference.exact_energy_per_spin)
        correlation = chain.autocorrelation()
        if correlation is None:
            st.caption("τ_int and ESS appear after 50 sweeps at this temperature.")
        else:
            tau, ess = correlation
            st.caption(f"τ_int(E) ≈ {tau:.1f} sweeps · ESS ≈ {ess:.0f} (since T last changed)")
        _, energies, magnetizations = chain.traces()
        if not energies.size:  # axes with the reference lines alone: a degenerate scale
            st.caption("The traces start at the next sweep (Run, or Step once while paused).")
            return
        st.plotly_chart(
            viz.trace_figure(
                energies, magnetizations, onsager_energy, onsager_magnet, finite_energy
            ),
            key=f"traces-{chain.sweeps}",
        )
