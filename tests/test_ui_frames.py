"""`ui.frames`: the newest frame per channel, taken one at a time, and its WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ui import frames
from ui.frames import FrameExchange

pytestmark = pytest.mark.timeout(60)  # a socket the server wrongly keeps open fails, not hangs


def run(coroutine):
    """Run `coroutine` on an event loop of its own (another test may leave one running here)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def take(exchange: FrameExchange, channel: str, after: int = 0, timeout: float = 1.0):
    return run(exchange.next(channel, after, timeout))


def test_a_published_frame_is_taken_once_and_marked_taken():
    exchange = FrameExchange()
    channel = exchange.open()
    assert exchange.taken(channel)  # nothing published: nothing to wait for
    assert exchange.publish(channel, {"frame": 5}) == 1
    assert not exchange.taken(channel)
    assert take(exchange, channel) == {"frame": 5, "sequence": 1}
    assert exchange.taken(channel)
    assert take(exchange, channel, after=1, timeout=0.05) is None  # nothing newer


def test_an_untaken_frame_is_replaced_by_the_next_one():
    exchange = FrameExchange()
    channel = exchange.open()
    exchange.publish(channel, {"frame": 1})
    exchange.publish(channel, {"frame": 2})
    assert take(exchange, channel) == {"frame": 2, "sequence": 2}


def test_a_waiting_reader_gets_the_frame_a_script_thread_publishes():
    exchange = FrameExchange()
    channel = exchange.open()
    threading.Timer(0.05, exchange.publish, (channel, {"frame": 9})).start()
    assert take(exchange, channel, timeout=5.0) == {"frame": 9, "sequence": 1}


def test_closing_a_channel_ends_its_readers_and_forgets_it():
    exchange = FrameExchange()
    channel = exchange.open()
    threading.Timer(0.05, exchange.close, (channel,)).start()
    with pytest.raises(KeyError):
        take(exchange, channel, timeout=5.0)
    assert exchange.taken(channel)  # a loop never waits on a closed channel
    with pytest.raises(KeyError):
        exchange.publish(channel, {"frame": 1})


def test_channels_are_separate_and_unguessable():
    exchange = FrameExchange()
    first, second = exchange.open(), exchange.open()
    assert first != second and len(first) >= 22  # 128 random bits, URL-safe
    exchange.publish(first, {"frame": 1})
    assert take(exchange, second, timeout=0.05) is None
    with pytest.raises(KeyError):
        take(exchange, "guessed", timeout=0.05)


def test_an_idle_channel_is_closed_when_another_opens_unless_renewed(monkeypatch):
    monkeypatch.setattr(frames, "IDLE_SECONDS", 0.2)
    exchange = FrameExchange()
    idle, renewed, published, waited = (exchange.open() for _ in range(4))
    waiting = ThreadPoolExecutor(1).submit(take, exchange, waited, 0, 5.0)
    while not exchange._channels[waited].waiters:  # a reader waits: its browser is there
        time.sleep(0.001)
    time.sleep(0.3)  # all four are idle now...
    assert exchange.renew(renewed)
    exchange.publish(published, {"frame": 1})
    exchange.open()
    assert not exchange.renew(idle)  # ...and only the one nobody used or waits on is gone
    assert all(exchange.renew(channel) for channel in (renewed, published, waited))
    exchange.publish(waited, {"frame": 2})
    assert waiting.result(5.0) == {"frame": 2, "sequence": 1}


@pytest.fixture
def exchange(monkeypatch) -> FrameExchange:
    """The exchange the socket serves, new for the test."""
    monkeypatch.setattr(frames, "EXCHANGE", exchange := FrameExchange())
    monkeypatch.setattr(frames, "WAIT_SECONDS", 0.05)  # renewals while it waits, often
    return exchange


@pytest.fixture
def client():
    """A client of a server with the frame socket's route (its Host is "testserver")."""
    with TestClient(Starlette(routes=frames.ROUTES)) as client:
        yield client


def connect(client: TestClient, channel: str, origin: str | None = "http://testserver"):
    headers = {} if origin is None else {"origin": origin}
    return client.websocket_connect(frames.FRAMES_PATH + channel, headers=headers)


def closed_with(socket) -> int:
    """The code the server closes `socket` with (it must close it)."""
    with pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_text()
    return closed.value.code


def test_the_socket_sends_each_frame_asked_for_once_there_is_one(exchange, client):
    channel = exchange.open()
    exchange.publish(channel, {"frame": 3, "caption": "T = 2.00"})
    with connect(client, channel) as socket:
        socket.send_json({"after": 0})
        assert socket.receive_json() == {"frame": 3, "caption": "T = 2.00", "sequence": 1}
        assert exchange.taken(channel)
        socket.send_json({"after": 1})  # nothing newer yet: the answer waits for one
        threading.Timer(0.2, exchange.publish, (channel, {"frame": 4})).start()
        assert socket.receive_json() == {"frame": 4, "sequence": 2}


def test_a_second_frame_asked_for_before_the_first_came_closes_the_socket(exchange, client):
    channel = exchange.open()
    with connect(client, channel) as socket:
        socket.send_json({"after": 0})
        socket.send_json({"after": 0})
        assert closed_with(socket) == frames.REFUSED


def test_a_socket_without_a_page_origin_is_served_and_another_sites_is_refused(exchange, client):
    channel = exchange.open()
    exchange.publish(channel, {"frame": 1})
    with connect(client, channel, origin=None) as socket:  # not a browser
        socket.send_json({"after": 0})
        assert socket.receive_json()["frame"] == 1
    with connect(client, channel, origin="http://elsewhere.example") as socket:
        assert closed_with(socket) == frames.REFUSED


def test_a_socket_is_closed_when_its_channel_is_or_gets_closed(exchange, client):
    with connect(client, "guessed") as socket:
        assert closed_with(socket) == frames.CHANNEL_GONE
    channel = exchange.open()
    with connect(client, channel) as socket:
        socket.send_json({"after": 0})
        threading.Timer(0.2, exchange.close, (channel,)).start()
        assert closed_with(socket) == frames.CHANNEL_GONE


def test_controls_sent_on_the_socket_are_taken_once_the_newest_winning(exchange, client):
    channel, other = exchange.open(), exchange.open()
    exchange.publish(channel, {"frame": 1})
    assert not exchange.has_controls(channel) and exchange.take_controls(channel) == {}
    with connect(client, channel) as socket:
        socket.send_json({"controls": {"temperature": 2.5}})
        socket.send_json({"controls": {"temperature": 1.25, "sweeps": 5}})
        socket.send_json({"after": 0})
        socket.receive_json()  # the socket reads in order: the controls are set by now
    assert exchange.has_controls(channel) and not exchange.has_controls(other)
    assert exchange.take_controls(channel) == {"temperature": 1.25, "sweeps": 5}
    assert exchange.take_controls(channel) == {} and not exchange.has_controls(channel)


@pytest.mark.parametrize(
    "message",
    [
        "",
        "not json",
        "[2.5]",
        "{}",
        '{"after": -1}',
        '{"after": "0"}',
        '{"after": 1.5}',
        '{"after": 0, "controls": {"temperature": 2.5}}',
        '{"controls": {}}',
        '{"controls": [2.5]}',
        '{"controls": {"temperature": "hot"}}',
        '{"controls": {"temperature": true}}',
        '{"controls": {"temperature": NaN}}',
        '{"controls": {"temperature": Infinity}}',
        '{"controls": {"temperature": null}}',
        json.dumps({"controls": {f"c{k}": 1 for k in range(frames.MAX_CONTROLS + 1)}}),
        '{"controls": {"temperature": 2.5' + " " * frames.MAX_MESSAGE_BYTES + "}}",
        b'{"after": 0}',
    ],
)
def test_a_bad_message_closes_the_socket_and_changes_nothing(exchange, client, message):
    channel = exchange.open()
    exchange.publish(channel, {"frame": 1})
    with connect(client, channel) as socket:
        if isinstance(message, bytes):
            socket.send_bytes(message)
        else:
            socket.send_text(message)
        assert closed_with(socket) == frames.REFUSED
    assert not exchange.has_controls(channel) and not exchange.taken(channel)


def test_controls_waiting_are_bounded_in_number(exchange, client):
    channel = exchange.open()
    with connect(client, channel) as socket:
        for k in range(frames.MAX_CONTROLS):
            socket.send_json({"controls": {f"c{k}": k}})
        socket.send_json({"controls": {"c0": 5}})  # a waiting name is replaced
        socket.send_json({"controls": {"another": 1}})
        assert closed_with(socket) == frames.REFUSED
    assert exchange.take_controls(channel) == {"c0": 5} | {
        f"c{k}": k for k in range(1, frames.MAX_CONTROLS)
    }


def test_the_origin_is_compared_with_the_host_without_case(exchange, client):
    channel = exchange.open()
    exchange.publish(channel, {"frame": 1})
    with connect(client, channel, origin="http://TestServer") as socket:
        socket.send_json({"after": 0})
        assert socket.receive_json()["frame"] == 1
    for elsewhere in ("http://testserver:8502", "http://testserver.example", "null"):
        with connect(client, channel, origin=elsewhere) as socket:
            assert closed_with(socket) == frames.REFUSED


@pytest.fixture
def allowed_hosts():
    """Set Streamlit's server.allowedHosts for the test (restored after it)."""
    from streamlit import config

    before = config.get_option("server.allowedHosts")
    yield lambda hosts: config.set_option("server.allowedHosts", hosts)
    config.set_option("server.allowedHosts", before)


def test_a_host_that_server_allowed_hosts_does_not_list_is_refused(exchange, allowed_hosts):
    channel = exchange.open()
    exchange.publish(channel, {"frame": 1})
    allowed_hosts(["lab.example"])
    path = frames.FRAMES_PATH + channel
    with TestClient(Starlette(routes=frames.ROUTES)) as client:
        listed = {"host": "LAB.example:8501", "origin": "http://lab.example:8501"}
        with client.websocket_connect(path, headers=listed) as socket:
            socket.send_json({"after": 0})
            assert socket.receive_json()["frame"] == 1
        with connect(client, channel) as socket:  # Host "testserver", its own page's Origin
            assert closed_with(socket) == frames.REFUSED
        with connect(client, channel, origin=None) as socket:  # not a browser: still refused
            assert closed_with(socket) == frames.REFUSED


@pytest.fixture
def uvicorn_url(exchange):
    """The frame socket's route served by uvicorn as Streamlit runs it ("websockets-sansio",
    200 MB messages allowed on every socket); yields its ws:// base URL."""
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=frames.ROUTES),
            host="127.0.0.1",
            port=port,
            ws="websockets-sansio",
            ws_max_size=200 * 10**6,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_the_transport_refuses_a_message_over_the_cap_before_the_app_reads_it(
    exchange, uvicorn_url
):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    channel = exchange.open()
    exchange.publish(channel, {"frame": 1})
    url = uvicorn_url + frames.FRAMES_PATH + channel
    with ws_connect(url, max_size=None) as socket:  # a message at the cap is served
        socket.send(json.dumps({"after": 0}).ljust(frames.MAX_MESSAGE_BYTES))
        assert json.loads(socket.recv(timeout=10))["frame"] == 1
    with ws_connect(url, max_size=None) as socket:
        socket.send("x" * (frames.MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    # 1009 "message too big" is the transport's close; the app's own check would close 1008.
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
