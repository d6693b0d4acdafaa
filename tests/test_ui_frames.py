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
