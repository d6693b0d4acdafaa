"""The lattice canvas's data: bit-packed spins in the order its JavaScript reads them."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from thermolab.viz.ising import pack_spins
from ui import lattice_canvas
from ui.frames import FrameExchange
from ui.lattice_canvas import LatticeStream, _frame


def js_unpack(packed: bytes, n: int) -> np.ndarray:
    """Spin k as lattice_canvas.js reads it: bit 7 − k mod 8 of byte k // 8, 1 = up."""
    return np.array([1 if (packed[k >> 3] >> (7 - (k & 7))) & 1 else -1 for k in range(n)])


def test_packed_spins_round_trip_in_the_canvas_bit_order():
    spins = np.where(np.random.default_rng(1).random(37) < 0.5, -1, 1).astype(np.int8)
    packed = pack_spins(spins)
    assert len(packed) == 5  # ceil(37 / 8)
    np.testing.assert_array_equal(js_unpack(packed, 37), spins)
    assert pack_spins(np.array([1, -1, -1, -1, -1, -1, -1, 1])) == b"\x81"


def test_a_frame_is_base64_of_the_packed_lattice():
    spins = -np.ones(16 * 16, dtype=np.int8)
    spins[:3] = 1
    frame = _frame(spins, 16, "T = 2.00", 7)
    assert (frame["rows"], frame["columns"], frame["count"]) == (16, 16, 256)
    assert frame["frame"] == 7 and frame["caption"] == "T = 2.00"
    assert base64.b64decode(frame["spins"])[:2] == b"\xe0\x00"
    with pytest.raises(ValueError, match="do not fill"):
        _frame(spins, 15, "", 0)


def test_a_runs_frames_keep_their_size_when_a_superseded_run_mounts_meanwhile(monkeypatch):
    """Streamlit starts a new run (here L = 16) before the one it replaces (L = 32) has stopped;
    the old one may still mount the shared stream once. The new run's next frame is whole."""
    monkeypatch.setattr(lattice_canvas, "EXCHANGE", exchange := FrameExchange())
    stream = LatticeStream(key="live")
    small, large = np.ones(16 * 16, dtype=np.int8), np.ones(32 * 32, dtype=np.int8)
    stream.mount(small, 16, "new run", 0)
    stream.mount(large, 32, "superseded run", 0)
    stream.draw(small, 16, "new run", 1)
    with ThreadPoolExecutor(1) as pool:  # a loop of its own (another test may leave one here)
        frame = pool.submit(asyncio.run, exchange.next(stream.channel, 0, 1.0)).result()
    assert (frame["rows"], frame["columns"]) == (16, 16) and frame["caption"] == "new run"


def test_a_grid_frame_may_leave_the_end_of_its_last_row_empty():
    """A dense graph's n spins on rows × columns cells (`spin_grid_shape`): 499 spins on 22 × 23
    leave 7 cells empty, drawn blank (the JS draws no spin past `count`)."""
    spins = np.ones(499, dtype=np.int8)
    frame = _frame(spins, (22, 23), "", 0)
    assert (frame["rows"], frame["columns"], frame["count"]) == (22, 23, 499)
    assert len(base64.b64decode(frame["spins"])) == 63  # ceil(499 / 8)
    for rows in (21, 23):  # too few cells; a whole row empty
        with pytest.raises(ValueError, match="do not fill"):
            _frame(spins, (rows, 23), "", 0)
