"""A trained RBM's samples, live on the lattice canvas, at the temperature of the canvas's slider.

`per_side`² free-running chains keep sampling while the page shows them: each frame is
`SampleView.sweeps_per_frame` block-Gibbs sweeps of every chain at β = 1/T, and their binary
visible states tiled into one square lattice of spins (`thermolab.viz.ebm.sample_tiles`: 8 × 8
digits of 8 × 8 pixels are a 64 × 64 lattice). Frames go out as the playground's do: through
`ui.lattice_canvas.LatticeStream` on the frame socket of `ui.frames` (a channel only this
session knows, the Origin check, one frame in flight, so a slow browser gets fewer), paced by the
server's frame budget that every live view shares (`ui.live_view.shared_budget`). The slider is
drawn with the canvas and its value comes back on that socket between frames: dragging T costs
no Streamlit rerun, and the same chains melt and freeze as it moves.

It fits images that are square (rows = cols); the page draws others as an image per slider
change.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from thermolab.backends import Backend
from thermolab.ebm.model import RBM
from thermolab.ebm.sampling import draw, gibbs
from thermolab.viz.ebm import sample_tiles
from ui.lattice_canvas import LatticeStream, Slider
from ui.live_view import LiveSettings, shared_budget, wait_for_next_frame

__all__ = ["SampleChains", "SampleView", "fits_canvas"]


def fits_canvas(image_shape: tuple[int, int]) -> bool:
    """Whether images of `image_shape` (rows, cols) tile the canvas's square lattice."""
    return image_shape[0] == image_shape[1]


@dataclass
class SampleChains:
    """Free-running chains of one model: visible (n_chains, n_visible) of 0/1 after `sweeps`
    sweeps at `temperature`. `run` is the fragment run that owns them (a superseded run ends
    at once, under `lock`, instead of sweeping them once more)."""

    rbm: RBM
    backend: Backend
    visible: np.ndarray
    temperature: float
    sweeps: int = 0
    run: object | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, rbm: RBM, backend: Backend, n_chains: int, temperature: float) -> SampleChains:
        """Chains from uniform noise (each visible unit 1 with probability ½)."""
        noise = draw(backend, np.full((n_chains, rbm.n_visible), 0.5))
        return cls(rbm, backend, noise, temperature)

    def advance(self, n_sweeps: int) -> None:
        """`n_sweeps` block-Gibbs sweeps of every chain at β = 1 / temperature."""
        self.visible, _ = gibbs(
            self.rbm, self.backend, self.visible, n_sweeps, beta=1 / self.temperature
        )
        self.sweeps += n_sweeps


class SampleView:
    """One session's live sample grid of `rbm` (see the module docstring).

    Session state it keeps: rbm.live_chains (`SampleChains`, started again for another
    model), rbm.live_stream (the canvas's frame stream), rbm.live_view_id (this view's name in
    the frame budget).
    """

    def __init__(
        self,
        rbm: RBM,
        new_backend: Callable[[], Backend],
        image_shape: tuple[int, int],
        settings: LiveSettings,
        *,
        per_side: int = 8,
        sweeps_per_frame: int = 1,
        state: MutableMapping[str, Any] | None = None,
    ) -> None:
        if not fits_canvas(image_shape):
            raise ValueError(f"{image_shape[0]} × {image_shape[1]} images do not tile the canvas")
        self.image_shape, self.settings = image_shape, settings
        self.per_side, self.sweeps_per_frame = per_side, sweeps_per_frame
        self.state = st.session_state if state is None else state
        chains = self.state.get("rbm.live_chains")
        if chains is None or chains.rbm is not rbm:
            chains = SampleChains.start(rbm, new_backend(), per_side**2, settings.t_default)
            self.state["rbm.live_chains"] = chains
        self.chains: SampleChains = chains

    def _wanted_temperature(self, stream: LatticeStream, current: float) -> float:
        """The canvas slider's value sent since the last frame (clamped to its range), else
        `current`."""
        wanted = stream.controls().get("temperature") if stream.channel is not None else None
        if wanted is None:
            return current
        return min(max(float(wanted), self.settings.t_min), self.settings.t_max)

    def caption(self) -> str:
        chains = self.chains
        return (
            f"T = {chains.temperature:.2f} · β = {1 / chains.temperature:.3f} · sweep "
            f"{chains.sweeps}\n{len(chains.visible)} chains from noise, block Gibbs at this T; "
            "each tile is one chain's visible state v now"
        )

    def run(self) -> None:
        """Draw frames for up to `run_seconds` (one where it is 0), each `sweeps_per_frame`
        sweeps at the canvas slider's temperature, paced like the playground's live view: at
        most max_fps, the server's shared budget, and never a frame before the browser took
        the one before (up to take_seconds)."""
        settings, state, chains = self.settings, self.state, self.chains
        one_frame = settings.run_seconds <= 0
        stop_slot = st.empty()  # an element to send when a rerun is pending
        stream: LatticeStream = state.setdefault(
            "rbm.live_stream", LatticeStream(key="rbm_samples")
        )
        view = state.setdefault("rbm.live_view_id", secrets.token_hex(8))
        this_run = object()
        with chains.lock:
            chains.run = this_run
        budget = shared_budget(settings)
        deadline = time.monotonic() + settings.run_seconds
        side = self.per_side * self.image_shape[0]
        sampling_seconds = 0.0  # the last frame's sweeps, shared like the playground's
        try:
            for frame in itertools.count():
                started = time.monotonic()
                interval = budget.interval(view, sampling_seconds) if not one_frame else 0.0
                with chains.lock:
                    if chains.run is not this_run:
                        return
                    chains.temperature = self._wanted_temperature(stream, chains.temperature)
                    sweeping = time.perf_counter()
                    chains.advance(self.sweeps_per_frame)
                    sampling_seconds = time.perf_counter() - sweeping
                    spins = sample_tiles(chains.visible, self.image_shape, self.per_side)
                    caption, done = self.caption(), chains.sweeps
                if frame == 0:
                    slider = Slider(
                        "temperature", "Temperature T", settings.t_min, settings.t_max,
                        settings.t_step, chains.temperature,
                    )  # fmt: skip
                    stream.mount(spins, side, caption, done, (slider,))
                else:
                    stream.draw(spins, side, caption, done)
                if one_frame or started >= deadline:
                    return
                if wait_for_next_frame(settings, started, interval, stream):
                    stop_slot.empty()
        finally:
            budget.release(view)
