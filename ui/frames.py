"""Live-lattice frames that the browser pulls, one at a time: a frame exchange and its route.

Pushed through Streamlit's WebSocket, every frame is a message the page must take in turn
(decode it, re-render React elements, sanitise HTML) before it sees the next one. A browser
that falls behind (a slow laptop, a busy Wi-Fi) then gets a growing queue of stale frames, and
Streamlit disconnects a session once 500 messages wait in its send queue (after the socket's
buffers have filled): at 30 frames per second, 17 s of frames beyond those.

Here a live view publishes each frame to its channel in `EXCHANGE`, which keeps only the
newest, and the canvas asks for it with ``GET /thermolab/frames/{channel}?after=N`` once it has
drawn and painted frame N: the request waits (long poll) until a newer frame is there. The view
waits until its frame was taken before it draws another (`FrameExchange.taken`), so at most one
frame is ever in flight and a slow browser simply gets fewer. A channel is a random 128-bit
name that only the session that drew the canvas knows, so no session can read another's frames.

The way back is the channel's controls: the canvas's own sliders post their values with
``POST /thermolab/frames/{channel}/controls`` (a JSON object of numbers), and the live view
takes them between frames (`take_controls`). Moving such a slider costs no Streamlit rerun: a
rerun re-renders the page's React tree, measured at about 160 ms of a browser's CPU per change,
so ten people changing a value every half second would need more than this machine's two cores
for that alone.

A live view keeps its channel across its runs, so the first frame after a change made through
Streamlit (a button, another widget) is pulled too, instead of riding on the canvas's re-mount
behind the session's queued Streamlit messages. A channel nobody has published to or asked of
for `IDLE_SECONDS` (its session ended, or its view stopped drawing and its browser stopped
asking) is forgotten when the next one opens.

`ROUTES` are mounted by app.py (`st.App`); the pages run without them too (`AppTest`, or a page
started on its own), and the canvas then shows the frame it was mounted with.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["EXCHANGE", "FRAMES_PATH", "ROUTES", "FrameExchange"]

FRAMES_PATH = "/thermolab/frames/"
LONG_POLL_SECONDS = 10.0  # a request with no newer frame by then is answered 204 (ask again)
IDLE_SECONDS = 60.0  # a channel unused this long, with nobody waiting on it, is forgotten
MAX_CONTROLS_BYTES = 1024  # a controls request's body
MAX_CONTROLS = 8  # values in one controls request


@dataclass
class _Channel:
    sequence: int = 0  # of the newest frame published (0: none yet)
    frame: dict[str, Any] | None = None
    taken: int = 0  # sequence of the newest frame a browser has taken
    used: float = field(default_factory=time.monotonic)  # last publish, request or renewal
    controls: dict[str, float] = field(default_factory=dict)  # posted, not yet taken
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = field(default_factory=list)


class FrameExchange:
    """The newest frame of each open channel; the writer is a script thread, the readers are
    requests on the server's event loop. Thread-safe."""

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()

    def open(self) -> str:
        """A new channel (its unguessable name). Channels idle for IDLE_SECONDS are closed."""
        name = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            idle = [
                channel
                for channel, state in self._channels.items()
                if now - state.used >= IDLE_SECONDS and not state.waiters
            ]
            self._channels[name] = _Channel()
        for channel in idle:
            self.close(channel)
        return name

    def renew(self, channel: str) -> bool:
        """Whether `channel` is open; if it is, its idle time starts again (so it stays open for
        at least IDLE_SECONDS more)."""
        with self._lock:
            state = self._channels.get(channel)
            if state is not None:
                state.used = time.monotonic()
            return state is not None

    def close(self, channel: str) -> None:
        """Forget `channel` and its frame; a reader waiting on it is answered 404."""
        with self._lock:
            state = self._channels.pop(channel, None)
        if state is not None:
            self._wake(state)

    def publish(self, channel: str, frame: dict[str, Any]) -> int:
        """Make `frame` (JSON-ready) the channel's newest, replacing one not yet taken; returns
        its sequence number. KeyError if the channel is closed."""
        with self._lock:
            state = self._channels[channel]
            state.used = time.monotonic()
            state.sequence += 1
            state.frame = {**frame, "sequence": state.sequence}
            sequence = state.sequence
        self._wake(state)
        return sequence

    def taken(self, channel: str) -> bool:
        """Whether a browser has taken the channel's newest frame (True for a closed channel,
        so that nobody waits on it)."""
        with self._lock:
            state = self._channels.get(channel)
            return state is None or state.taken >= state.sequence

    async def next(self, channel: str, after: int, timeout: float) -> dict[str, Any] | None:
        """The channel's newest frame once its sequence is above `after` (marking it taken),
        or None after `timeout` seconds without one. KeyError if the channel is (or gets)
        closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._lock:
                state = self._channels[channel]
                state.used = time.monotonic()
                if state.frame is not None and state.sequence > after:
                    state.taken = state.sequence
                    return state.frame
                waiter = loop.create_future()
                state.waiters.append((loop, waiter))
            try:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                return None
            finally:
                with self._lock:
                    if (loop, waiter) in state.waiters:
                        state.waiters.remove((loop, waiter))

    def set_controls(self, channel: str, values: dict[str, float]) -> None:
        """Post control values (name → number) for the channel's live view to take; a value
        not yet taken is replaced. KeyError if the channel is closed; ValueError if more than
        MAX_CONTROLS names would wait."""
        with self._lock:
            state = self._channels[channel]
            if len(state.controls.keys() | values.keys()) > MAX_CONTROLS:
                raise ValueError(f"more than {MAX_CONTROLS} controls")
            state.used = time.monotonic()
            state.controls.update(values)

    def has_controls(self, channel: str) -> bool:
        """Whether control values are waiting to be taken."""
        with self._lock:
            state = self._channels.get(channel)
            return state is not None and bool(state.controls)

    def take_controls(self, channel: str) -> dict[str, float]:
        """The control values posted since the last take (empty if none, or closed)."""
        with self._lock:
            state = self._channels.get(channel)
            if state is None:
                return {}
            values, state.controls = state.controls, {}
            return values

    def _wake(self, state: _Channel) -> None:
        with self._lock:
            waiters, state.waiters = state.waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


EXCHANGE = FrameExchange()


async def _next_frame(request: Request) -> Response:
    """GET /thermolab/frames/{channel}?after=N: the channel's first frame after N (JSON), 204
    if none came within LONG_POLL_SECONDS, 404 for a closed or unknown channel."""
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        return PlainTextResponse("after must be a frame number", status_code=400)
    try:
        frame = await EXCHANGE.next(request.path_params["channel"], after, LONG_POLL_SECONDS)
    except KeyError:
        return PlainTextResponse("no such live view (it has ended)", status_code=404)
    if frame is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return JSONResponse(frame, headers={"Cache-Control": "no-store"})


async def _post_controls(request: Request) -> Response:
    """POST /thermolab/frames/{channel}/controls with a JSON object of finite numbers (at most
    MAX_CONTROLS, MAX_CONTROLS_BYTES): 204 once posted, 400 for another body, 404 for a closed
    or unknown channel. Which names and ranges mean something is the live view's business."""
    body = await request.body()
    if len(body) > MAX_CONTROLS_BYTES:
        return PlainTextResponse("too large for control values", status_code=413)
    try:
        values = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return PlainTextResponse("control values must be a JSON object", status_code=400)
    if (
        not isinstance(values, dict)
        or not 0 < len(values) <= MAX_CONTROLS
        or not all(
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            for value in values.values()
        )
    ):
        return PlainTextResponse(
            f"control values must be 1 to {MAX_CONTROLS} finite numbers by name", status_code=400
        )
    try:
        EXCHANGE.set_controls(request.path_params["channel"], values)
    except KeyError:
        return PlainTextResponse("no such live view (it has ended)", status_code=404)
    except ValueError as error:
        return PlainTextResponse(str(error), status_code=400)
    return Response(status_code=204)


ROUTES = [
    Route(FRAMES_PATH + "{channel}", _next_frame, methods=["GET"]),
    Route(FRAMES_PATH + "{channel}/controls", _post_controls, methods=["POST"]),
]
