"""`ui.frames`: the newest frame per channel, taken one at a time, and its HTTP route."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.requests import Request

from ui import frames
from ui.frames import FrameExchange


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


def ask(channel: str, query: str) -> tuple[int, dict | None]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": frames.FRAMES_PATH + channel,
        "path_params": {"channel": channel},
        "query_string": query.encode(),
        "headers": [],
    }
    response = run(frames._next_frame(Request(scope)))
    body = json.loads(response.body) if response.status_code == 200 else None
    return response.status_code, body


def test_the_route_answers_frames_timeouts_and_bad_requests(monkeypatch):
    monkeypatch.setattr(frames, "EXCHANGE", exchange := FrameExchange())
    monkeypatch.setattr(frames, "LONG_POLL_SECONDS", 0.05)
    channel = exchange.open()
    assert ask(channel, "after=0") == (204, None)  # nothing yet: ask again
    exchange.publish(channel, {"frame": 3, "caption": "T = 2.00"})
    assert ask(channel, "after=0") == (200, {"frame": 3, "caption": "T = 2.00", "sequence": 1})
    assert ask(channel, "after=zero")[0] == 400
    exchange.close(channel)
    assert ask(channel, "after=1")[0] == 404


def post(channel: str, body: bytes) -> int:
    scope = {
        "type": "http",
        "method": "POST",
        "path": frames.FRAMES_PATH + channel + "/controls",
        "path_params": {"channel": channel},
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return run(frames._post_controls(Request(scope, receive))).status_code


def test_controls_are_posted_to_a_channel_and_taken_once_the_newest_winning(monkeypatch):
    monkeypatch.setattr(frames, "EXCHANGE", exchange := FrameExchange())
    channel, other = exchange.open(), exchange.open()
    assert not exchange.has_controls(channel) and exchange.take_controls(channel) == {}
    assert post(channel, b'{"temperature": 2.5}') == 204
    assert post(channel, b'{"temperature": 1.25, "sweeps": 5}') == 204
    assert exchange.has_controls(channel) and not exchange.has_controls(other)
    assert exchange.take_controls(channel) == {"temperature": 1.25, "sweeps": 5}
    assert exchange.take_controls(channel) == {} and not exchange.has_controls(channel)
    exchange.close(channel)
    assert post(channel, b'{"temperature": 2.5}') == 404
    assert exchange.take_controls(channel) == {}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[2.5]",
        b"{}",
        b'{"temperature": "hot"}',
        b'{"temperature": true}',
        b'{"temperature": NaN}',
        b'{"temperature": Infinity}',
        b'{"temperature": null}',
        json.dumps({f"c{k}": 1 for k in range(frames.MAX_CONTROLS + 1)}).encode(),
    ],
)
def test_a_bad_controls_request_is_refused_and_changes_nothing(monkeypatch, body):
    monkeypatch.setattr(frames, "EXCHANGE", exchange := FrameExchange())
    channel = exchange.open()
    assert post(channel, body) == 400
    assert not exchange.has_controls(channel)


def test_controls_waiting_are_bounded_in_number(monkeypatch):
    monkeypatch.setattr(frames, "EXCHANGE", exchange := FrameExchange())
    channel = exchange.open()
    for k in range(frames.MAX_CONTROLS):
        assert post(channel, json.dumps({f"c{k}": k}).encode()) == 204
    assert post(channel, b'{"c0": 5}') == 204  # a waiting name is replaced
    assert post(channel, b'{"another": 1}') == 400
    assert len(exchange.take_controls(channel)) == frames.MAX_CONTROLS


def test_an_oversized_controls_request_is_refused(monkeypatch):
    monkeypatch.setattr(frames, "EXCHANGE", exchange := FrameExchange())
    channel = exchange.open()
    padding = " " * frames.MAX_CONTROLS_BYTES
    assert post(channel, f'{{"temperature": 2.5{padding}}}'.encode()) == 413
    assert not exchange.has_controls(channel)
