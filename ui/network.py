"""Small writes reach the browser at once: Nagle's algorithm off on the server's connections.

Streamlit 1.67 binds its listening socket itself, as `socket.socket(family)`, whose protocol
number is 0. asyncio disables Nagle's algorithm only for sockets whose protocol is
IPPROTO_TCP, so every connection the server accepts keeps it on: a response written in two
parts (uvicorn writes an HTTP response's headers, then its body; a WebSocket message whose
last segment is short) waits for the browser to acknowledge the first part, and a browser
delays that acknowledgement by up to 40 ms. Measured on a kept-alive connection: a live
lattice frame's body arrived 40–45 ms after its headers; with Nagle off, together.

`send_small_writes_at_once` makes asyncio disable it for every TCP stream socket. app.py calls
it when the server loads it, before any browser connects.
"""

from __future__ import annotations

import asyncio.base_events
import socket

__all__ = ["send_small_writes_at_once"]


def _set_nodelay(sock: socket.socket) -> None:
    if sock.family in {socket.AF_INET, socket.AF_INET6} and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def send_small_writes_at_once() -> None:
    """Have asyncio turn Nagle's algorithm off for every TCP connection it opens or accepts
    from now on, whatever protocol number its socket was created with (idempotent)."""
    if hasattr(socket, "TCP_NODELAY"):
        asyncio.base_events._set_nodelay = _set_nodelay
