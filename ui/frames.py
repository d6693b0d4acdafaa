"""Live-lattice frames that the browser takes one at a time: a frame exchange and its socket.

Pushed through Streamlit's WebSocket, every frame is a message the page must take in turn
(decode it, re-render React elements, sanitise HTML) before it sees the next one. A browser
that falls behind (a slow laptop, a busy Wi-Fi) then gets a growing queue of stale frames, and
Streamlit disconnects a session once 500 messages wait in its send queue (after the socket's
buffers have filled): at 30 frames per second, 17 s of frames beyond those.

Here a live view publishes each frame to its channel in `EXCHANGE`, which keeps only the
newest, and the canvas opens a WebSocket of its own, ``/thermolab/frames/{channel}``, on which
it asks ``{"after": N}`` once it has drawn and painted frame N: the server answers with the
first newer frame, as soon as there is one. The view waits until its frame was taken before it
draws another (`FrameExchange.taken`), so at most one frame is ever in flight and a slow browser
simply gets fewer. A channel is a random 128-bit name that only the session that drew the canvas
knows, so no session can read another's frames; a page of another site may not open the socket
at all: its Origin must name the server its Host header names (a reverse proxy in front must
pass Host on).

The way back is the same socket: the canvas's own sliders send ``{"controls": {name: number}}``,
and the live view takes the values between frames (`take_controls`). Moving such a slider costs
no Streamlit rerun: a rerun re-renders the page's React tree, measured at about 160 ms of a
browser's CPU per change, so ten people changing a value every half second would need more than
this machine's two cores for that alone.

Until this socket, the frames came by HTTP long polls, one GET per frame. A bare page drawing
an L = 256 lattice 20 times a second cost headless chromium 12.4 ms of CPU per frame fetched so,
and 7.7 ms per frame taken from an open socket; on the playground, chromium's browser and
network processes and Playwright's driver went from 4.3 to 1.7 ms per frame (the rest is the
page drawing).

A live view keeps its channel across its runs, so the first frame after a change made through
Streamlit (a button, another widget) is taken from the socket too, instead of riding on the
canvas's re-mount behind the session's queued Streamlit messages. A channel nobody has published
to or asked of for `IDLE_SECONDS` (its session ended, or its view stopped drawing and its
browser went away) is forgotten when the next one opens; its socket is closed with code
`CHANNEL_GONE`.

`ROUTES` are mounted by app.py (`st.App`); the pages run without them too (`AppTest`, or a page
started on its own), and the canvas then shows the frame it was mounted with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

__all__ = ["CHANNEL_GONE", "EXCHANGE", "FRAMES_PATH", "ROUTES", "FrameExchange"]

FRAMES_PATH = "/thermolab/frames/"
WAIT_SECONDS = 10.0  # a socket waiting for a frame renews its channel this often
IDLE_SECONDS = 60.0  # a channel unused this long, with nobody waiting on it, is forgotten
MAX_MESSAGE_BYTES = 1024  # of a message from the browser
MAX_CONTROLS = 8  # values in one controls message, and names waiting per channel
CHANNEL_GONE = 4404  # the socket's close code when its channel is (or gets) closed
REFUSED = 1008  # the close code for a message that breaks the protocol, or another site's page


@dataclass
class _Channel:
    sequence: int = 0  # of the newest frame published (0: none yet)
    frame: dict[str, Any] | None = None
    taken: int = 0  # sequence of the newest frame a browser has taken
    used: float = field(default_factory=time.monotonic)  # last publish, request or renewal
    controls: dict[str, float] = field(default_factory=dict)  # sent, not yet taken
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
        """Set control values (name → number) for the channel's live view to take; a value
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
        """The control values set since the last take (empty if none, or closed)."""
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


class _Refused(Exception):
    """The browser broke the socket's protocol: close the socket with REFUSED and this reason."""


def _parse(message: str) -> dict[str, Any]:
    """A browser's message as ``{"after": N}`` (N ≥ 0) or ``{"controls": {name: number}}`` (1 to
    MAX_CONTROLS finite numbers); `_Refused` for anything else."""
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise _Refused(f"a message is at most {MAX_MESSAGE_BYTES} bytes")
    try:
        request = json.loads(message)
    except ValueError:
        raise _Refused("a message is a JSON object") from None
    if not isinstance(request, dict) or len(request) != 1:
        raise _Refused('a message is {"after": N} or {"controls": {...}}')
    after, controls = request.get("after"), request.get("controls")
    if "after" in request:
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise _Refused("after is a frame number")
    elif (
        not isinstance(controls, dict)
        or not 0 < len(controls) <= MAX_CONTROLS
        or not all(
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            for value in controls.values()
        )
    ):
        raise _Refused(f"controls are 1 to {MAX_CONTROLS} finite numbers by name")
    return request


def _cap_transport(websocket: WebSocket, limit: int) -> bool:
    """Have the server's WebSocket connection refuse any message over `limit` bytes as it reads
    the frame's header (closing with 1009, "message too big"), instead of buffering it whole.

    uvicorn, Streamlit's server, sets one size for every socket: Streamlit's
    server.maxMessageSize, 200 MB by default, for its own. It has no setting per route, so
    this socket's is set on the connection itself, the uvicorn protocol object whose method is
    the ASGI `receive` handed to the app: its websockets `ServerProtocol` (uvicorn's
    "websockets-sansio", which Streamlit picks) reads the limit for each frame. False where the
    server is another (a test client): `_parse` still refuses the message, once received.
    """
    protocol = getattr(websocket._receive, "__self__", None)
    connection = getattr(protocol, "conn", None)
    if connection is None or not isinstance(getattr(connection, "max_message_size", None), int):
        return False
    connection.max_message_size = limit
    return True


def _same_origin(websocket: WebSocket) -> bool:
    """Whether the socket was opened by a page of this server (or by no page: a browser always
    sends its page's Origin, other clients need not): the Origin's host and port are the Host
    header's, host names compared without case, and, where server.allowedHosts lists hosts,
    that host is one of them (as Streamlit checks its own socket)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not _allowed_host(host):
        return False
    return origin is None or _host_and_port(urlsplit(origin).netloc) == _host_and_port(host)


def _host_and_port(netloc: str | None) -> tuple[str, int | None] | None:
    """(host name in lower case, port) of "Host:port", or None if it is not one."""
    if not netloc:
        return None
    try:
        parts = urlsplit(f"//{netloc}")
        return (parts.hostname or "").lower(), parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None


def _allowed_host(host: str | None) -> bool:
    """Whether `host` (a Host header) passes server.allowedHosts, Streamlit's own check."""
    from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

    return is_host_allowed(host)


@dataclass
class _Asked:
    """The frame number a browser has asked for and not yet been answered (None: none)."""

    after: int | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def _take_requests(websocket: WebSocket, channel: str, asked: _Asked) -> None:
    """Read the browser's messages until it leaves: a frame number goes to `asked`, controls
    to the channel. `_Refused` for a bad message, or a frame asked for while one is still to
    come; KeyError once the channel is closed."""
    while (message := await websocket.receive())["type"] == "websocket.receive":
        if message.get("text") is None:
            raise _Refused("a message is text")
        request = _parse(message["text"])
        if "after" in request:
            if asked.after is not None:
                raise _Refused("one frame at a time: the frame asked for is still to come")
            asked.after = request["after"]
            asked.changed.set()
            continue
        try:
            EXCHANGE.set_controls(channel, request["controls"])
        except ValueError as error:
            raise _Refused(str(error)) from None


async def _send_frames(websocket: WebSocket, channel: str, asked: _Asked) -> None:
    """For each frame number asked, send the channel's first newer frame once there is one.
    KeyError once the channel is closed."""
    while True:
        await asked.changed.wait()
        asked.changed.clear()
        while (frame := await EXCHANGE.next(channel, asked.after, WAIT_SECONDS)) is None:
            pass
        asked.after = None  # answered (before the send: the browser may ask again at once)
        await websocket.send_text(json.dumps(frame, separators=(",", ":")))


async def _frame_socket(websocket: WebSocket) -> None:
    """``/thermolab/frames/{channel}``: the channel's frames, one per ``{"after": N}`` asked,
    and its controls the other way (see the module's docstring). Closed with CHANNEL_GONE for a
    closed or unknown channel, with REFUSED for another site's page or a bad message."""
    channel = websocket.path_params["channel"]
    _cap_transport(websocket, MAX_MESSAGE_BYTES)
    await websocket.accept()
    if not _same_origin(websocket):
        await _close(websocket, REFUSED, "another site's page")
        return
    if not EXCHANGE.renew(channel):
        await _close(websocket, CHANNEL_GONE, "no such live view (it has ended)")
        return
    asked = _Asked()
    reading = asyncio.ensure_future(_take_requests(websocket, channel, asked))
    sending = asyncio.ensure_future(_send_frames(websocket, channel, asked))
    try:
        done, _ = await asyncio.wait((reading, sending), return_when=asyncio.FIRST_COMPLETED)
    finally:
        reading.cancel()
        sending.cancel()
    error = next(iter(done)).exception()
    if isinstance(error, KeyError):
        await _close(websocket, CHANNEL_GONE, "no such live view (it has ended)")
    elif isinstance(error, _Refused):
        await _close(websocket, REFUSED, str(error))
    elif error is not None and not isinstance(error, WebSocketDisconnect | OSError):
        raise error  # a bug: Starlette logs it


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close the socket, unless the browser has gone already."""
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        await websocket.close(code, reason)


ROUTES = [WebSocketRoute(FRAMES_PATH + "{channel}", _frame_socket)]
