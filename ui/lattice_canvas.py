"""A lattice drawn on a browser canvas from bit-packed spins (an `st.components.v2` component).

Per frame the server sends L² bits (8 KiB at L = 256, base64) instead of encoding a PNG, and
the browser paints them with `putImageData` onto an L × L canvas scaled up without smoothing.
A graph too dense to draw its edges shows its n spins the same way, on a rows × columns grid
(`thermolab.viz.ising.spin_grid_shape`): n bits a frame.

One frame per script (or fragment) run: `lattice_canvas`. Many frames in one run (an animation
loop), and across runs: `LatticeStream`, which mounts the canvas with the same data in every run
and lets the browser take every frame from `ui.frames` on a WebSocket of its own (one in flight
at a time; that module says why). A loop cannot simply mount the component again for every
frame: Streamlit refuses a key twice in one run, and a component given a new key is a new
element, which the browser re-mounts (measured: about one animation frame in five blank, the
page jumping).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from pathlib import Path

import numpy as np
import streamlit as st

from thermolab.viz.ising import SPIN_COLOURS, pack_spins
from ui.frames import EXCHANGE, FRAMES_PATH

__all__ = ["LatticeStream", "Slider", "lattice_canvas"]

_HTML = '<div class="sliders"></div><canvas></canvas><div class="caption"></div>'
_CSS = """
canvas { display: block; max-width: 100%; image-rendering: pixelated; }
.caption { font-size: 0.875rem; color: var(--st-text-color); opacity: 0.7; padding-top: 0.25rem;
  white-space: pre-line; }
.sliders label { display: block; font-size: 0.875rem; color: var(--st-text-color);
  padding-bottom: 0.5rem; }
.sliders input { display: block; width: 100%; accent-color: var(--st-primary-color); }
"""
_MOUNT = st.components.v2.component(
    "thermolab.lattice_canvas",
    html=_HTML,
    css=_CSS,
    js=Path(__file__).with_name("lattice_canvas.js").read_text(encoding="utf-8"),
)


def _grid(shape: int | tuple[int, int]) -> tuple[int, int]:
    """(rows, columns) of a side L (a square L × L lattice) or of (rows, columns)."""
    return (int(shape), int(shape)) if np.ndim(shape) == 0 else (int(shape[0]), int(shape[1]))


def _frame(
    spins: np.ndarray, shape: int | tuple[int, int], caption: str, frame: int
) -> dict[str, str | int | float]:
    """One frame's fields: spins (n,) of ±1 → base64 of their packed bits (see the JS), laid
    out row-major on `shape`, a side L (L × L, n = L²) or (rows, columns) whose last row they
    may fill in part (`count`: n; the cells after it are drawn empty); and made_ms, the
    server's wall-clock time (ms since the epoch) when the frame was made, which a browser on
    the same machine can compare with its own clock (bench/playground.py does)."""
    rows, columns = _grid(shape)
    count = np.asarray(spins).size
    if not (rows - 1) * columns < count <= rows * columns:
        raise ValueError(f"{count} spins do not fill a {rows} × {columns} grid")
    packed = base64.b64encode(pack_spins(spins)).decode("ascii")
    return {
        "rows": rows,
        "columns": columns,
        "count": int(count),
        "spins": packed,
        "caption": caption,
        "frame": int(frame),
        "made_ms": time.time() * 1000.0,
    }


def _data(fields: dict, width: int | None, channel: str | None = None, sequence: int = 0) -> dict:
    """The component's data: a frame's fields, the colours, the width (CSS pixels, None: the
    container's), and the channel it takes later frames from, if any (with this frame's
    sequence number there)."""
    return {
        **fields,
        "sequence": sequence,
        "colours": SPIN_COLOURS.tolist(),
        "width": None if width is None else int(width),
        "channel": channel,
        "frames_path": FRAMES_PATH,
    }


def lattice_canvas(
    spins: np.ndarray,
    shape: int | tuple[int, int],
    caption: str,
    *,
    key: str,
    width: int | None = 520,
    frame: int = 0,
) -> None:
    """Draw spins (n,) of ±1 (row-major) on a canvas of `shape` cells (a side L, or (rows,
    columns): see `_frame`), `width` CSS pixels wide (None: as wide as its container), with
    `caption` under it.

    frame: the frame's number, set as the canvas's `data-frame` attribute (what a test or the
    benchmark counts frames by).
    """
    _MOUNT(key=key, data=_data(_frame(spins, shape, caption, frame), width), height="content")


@dataclasses.dataclass(frozen=True)
class Slider:
    """A slider drawn with the canvas, whose value goes straight to the live view (`ui.frames`
    controls), not through a Streamlit rerun: `name` is its control's name, `label` what the
    page shows (and its accessible name), `value` where it starts, `disabled` whether it can
    be moved now."""

    name: str
    label: str
    minimum: float
    maximum: float
    step: float
    value: float
    disabled: bool = False


class LatticeStream:
    """A lattice canvas that a live view redraws many times, within a run and across its runs;
    keep one per view in session state.

    Each run calls `mount` once, with its first frame, then `draw` for every next one. Every
    frame goes to the view's channel in `ui.frames`, and the browser takes it from there once it
    has drawn the one before (`taken`). The component's data stays the same from run to run
    while the channel lives (and its sliders do not change), so a re-mount redraws nothing: the
    first frame after a change does not wait behind the session's Streamlit messages, and a
    re-mount that arrives late cannot draw an older frame over a newer one (the canvas also draws
    no frame older than the one it shows: frames carry their sequence numbers). The sliders'
    values come back through `controls`.
    """

    def __init__(self, *, key: str, width: int | None = 520) -> None:
        self.key, self.width = key, width
        self.channel: str | None = None
        self._data: dict | None = None  # what the component is mounted with on this channel

    def mount(
        self,
        spins: np.ndarray,
        shape: int | tuple[int, int],
        caption: str,
        frame: int,
        sliders: tuple[Slider, ...] = (),
    ) -> None:
        """Show the canvas in this run, with its first frame (spins (n,) of ±1 on `shape`, a
        side L or (rows, columns) as in `_frame`; its caption and its number) and `sliders`.
        A channel that has closed (idle for `ui.frames.IDLE_SECONDS`) is replaced by a new one,
        and the canvas is mounted with new data. A slider's `value` counts only where the
        browser has no such slider yet."""
        if self.channel is None or not EXCHANGE.renew(self.channel):
            self.channel, self._data = EXCHANGE.open(), None
        fields = _frame(spins, shape, caption, frame)
        sequence = EXCHANGE.publish(self.channel, fields)
        if self._data is None:  # shown at once, and where no route serves the frames
            self._data = _data(fields, self.width, self.channel, sequence)
        specs = [dataclasses.asdict(slider) for slider in sliders]
        if self._data.get("sliders") != specs:
            self._data = {**self._data, "sliders": specs}
        _MOUNT(key=self.key, data=self._data, height="content")

    def draw(
        self, spins: np.ndarray, shape: int | tuple[int, int], caption: str, frame: int
    ) -> None:
        """Publish the next frame of this run: spins (n,) of ±1, their `shape` (as `mount`'s),
        its caption and its number. The shape comes with every frame: a run that Streamlit has
        superseded may still mount the stream once, with its own lattice, before it notices."""
        EXCHANGE.publish(self.channel, _frame(spins, shape, caption, frame))

    def taken(self) -> bool:
        """Whether the browser has taken the last frame published."""
        return EXCHANGE.taken(self.channel)

    def has_controls(self) -> bool:
        """Whether slider values are waiting to be taken."""
        return EXCHANGE.has_controls(self.channel)

    def controls(self) -> dict[str, float]:
        """The sliders' values sent since the last call (name → value; only those moved)."""
        return EXCHANGE.take_controls(self.channel)
