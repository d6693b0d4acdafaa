"""`ui.network`: connections accepted on a socket made as Streamlit makes its own get
TCP_NODELAY."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

from ui.network import send_small_writes_at_once


async def accepted_connection_nodelay() -> int:
    listening = socket.socket(family=socket.AF_INET)  # protocol 0, as Streamlit binds it
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    listening.setblocking(False)
    seen: asyncio.Future = asyncio.get_running_loop().create_future()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = writer.get_extra_info("socket")
        seen.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=listening)
    _, writer = await asyncio.open_connection(*listening.getsockname())
    try:
        return await asyncio.wait_for(seen, 10)
    finally:
        writer.close()
        server.close()


def test_accepted_connections_send_small_writes_at_once():
    send_small_writes_at_once()
    with ThreadPoolExecutor(1) as pool:  # a loop of its own: another test may leave one here
        assert pool.submit(asyncio.run, accepted_connection_nodelay()).result() != 0
