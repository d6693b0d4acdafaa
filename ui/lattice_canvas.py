"""A lattice drawn on a browser canvas from bit-packed spins (an `st.components.v2` component).

Per frame the server sends L² bits (8 KiB at L = 256, base64) instead of encoding a PNG, and
the browser paints them with `putImageData` onto an L × L canvas scaled up without smoothing.

One frame per script (or fragment) run: `lattice_canvas`. Many frames in one run (an animation
loop): `LatticeStream`, which mounts the canvas once and lets the browser pull every later frame
from `ui.frames` (one in flight at a time; that module says why). A loop cannot simply mount the
component again for every frame: Streamlit refuses a key twice in one run, and a component
given a new key is a new element, which the browser re-mounts (measured: about one animation
frame in five blank, the page jumping).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import numpy as np
import streamlit as st

from thermolab.viz.ising import SPIN_COLOURS, pack_spins
from ui.frames import EXCHANGE, FRAMES_PATH

__all__ = ["LatticeStream", "lattice_canvas"]

_HTML = '<canvas></canvas><div class="caption"></div>'
_CSS = """
canvas { display: block; max-width: 100%; image-rendering: pixelated; }
.caption { font-size: 0.875rem; color: var(--st-text-color); opacity: 0.6; padding-top: 0.25rem; }
"""
_MOUNT = st.components.v2.component(
    "thermolab.lattice_canvas",
    html=_HTML,
    css=_CSS,
    js=Path(__file__).with_name("lattice_canvas.js").read_text(encoding="utf-8"),
)


def _frame(
    spins: np.ndarray, length: int, caption: str, frame: int
) -> dict[str, str | int | float]:
    """One frame's fields: spins (L·L,) of ±1 → base64 of their packed bits (see the JS), and
    made_ms, the server's wall-clock time (ms since the epoch) when the frame was made, which a
    browser on the same machine can compare with its own clock (bench/playground.py does)."""
    if np.asarray(spins).size != length * length:
        raise ValueError(
            f"{np.asarray(spins).size} spins do not fill a {length} × {length} lattice"
        )
    packed = base64.b64encode(pack_spins(spins)).decode("ascii")
    return {
        "length": int(length),
        "spins": packed,
        "caption": caption,
        "frame": int(frame),
        "made_ms": time.time() * 1000.0,
    }


def lattice_canvas(
    spins: np.ndarray,
    length: int,
    caption: str,
    *,
    key: str,
    width: int | None = 520,
    frame: int = 0,
    channel: str | None = None,
) -> None:
    """Draw spins (L·L,) of ±1 (row-major) as an L × L canvas, `width` CSS pixels wide (None: as
    wide as its container), with `caption` under it.

    frame: the frame's number, set as the canvas's `data-frame` attribute (what a test or the
    benchmark counts frames by). channel: when set, the canvas then pulls every later frame
    published to that `ui.frames` channel.
    """
    data = {
        **_frame(spins, length, caption, frame),
        "colours": SPIN_COLOURS.tolist(),
        "width": None if width is None else int(width),
        "channel": channel,
        "frames_path": FRAMES_PATH,
    }
    _MOUNT(key=key, data=data, height="content")


class LatticeStream:
    """A lattice canvas that an animation loop redraws many times within one run.

    The constructor mounts the canvas with the first frame and opens a channel of its own; `draw`
    publishes each next frame there, for the browser to take once it has drawn the one before
    (`taken`). `close` (always, when the loop ends) forgets the channel, so a canvas left over
    from an interrupted run stops asking.
    """

    def __init__(
        self,
        spins: np.ndarray,
        length: int,
        caption: str,
        *,
        key: str,
        width: int | None = 520,
        frame: int = 0,
    ) -> None:
        self.length = length
        self.channel = EXCHANGE.open()
        lattice_canvas(
            spins, length, caption, key=key, width=width, frame=frame, channel=self.channel
        )

    def draw(self, spins: np.ndarray, caption: str, frame: int) -> None:
        """Publish the next frame: spins (L·L,) of ±1, its caption and its number."""
        EXCHANGE.publish(self.channel, _frame(spins, self.length, caption, frame))

    def taken(self) -> bool:
        """Whether the browser has taken the last frame `draw` published."""
        return EXCHANGE.taken(self.channel)

    def close(self) -> None:
        EXCHANGE.close(self.channel)
