"""A kept-alive connection the server closes as a request goes out on it: idempotent requests are sent again.

The server here makes the race certain: it answers the first request of each connection and, when a
second one comes on the same connection, reads it and closes without answering, which is what a client
sees when an idle-timeout close (uvicorn's 5 s, llama.cpp's 5 s) crosses its request."""

from __future__ import annotations

import asyncio
import socketserver
import threading
from collections.abc import Iterator
from typing import BinaryIO

import httpx
import httpx2
import pytest

from venom_mcp.adapters import hub_session
from venom_mcp.adapters.openai_compat import OpenAIClients
from venom_mcp.adapters.stale_connections import KEEPALIVE_EXPIRY_S, ResendingClient

BODY = b'{"object": "list", "data": []}'


def _read_request(stream: BinaryIO) -> str | None:
    """The method of the next request on the connection (its body read too), None at end of stream."""
    line = stream.readline()
    if not line:
        return None
    method = line.split(b" ", 1)[0].decode()
    length = 0
    while (header := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    stream.read(length)
    return method


class ClosingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.answered: list[str] = []
        self.dropped: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/x"


class _Handler(socketserver.StreamRequestHandler):
    server: ClosingServer

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        method = _read_request(self.rfile)
        if method is None:
            return
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
        self.wfile.write(head.encode() + (b"" if method == "HEAD" else BODY))
        self.wfile.flush()
        with self.server.lock:
            self.server.answered.append(method)
        again = _read_request(self.rfile)
        if again is not None:
            with self.server.lock:
                self.server.dropped.append(again)
        # Returning closes the connection with no answer to `again`.


@pytest.fixture
def server() -> Iterator[ClosingServer]:
    srv = ClosingServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


async def test_plain_httpx_fails_on_the_closed_connection(server: ClosingServer) -> None:
    # The race is real for httpx as it comes: this is what ResendingClient is for.
    async with httpx.AsyncClient() as client:
        assert (await client.get(server.url)).content == BODY
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.get(server.url)
    assert server.dropped == ["GET"]


async def test_get_and_head_are_sent_again_on_a_new_connection(server: ClosingServer) -> None:
    async with ResendingClient() as client:
        for _ in range(3):
            response = await client.get(server.url)
            assert (response.status_code, response.content) == (200, BODY)
        assert (await client.head(server.url)).status_code == 200
    assert server.answered == ["GET", "GET", "GET", "HEAD"]
    assert server.dropped == ["GET", "GET", "HEAD"]
    assert server.connections == 4


async def test_a_post_is_never_sent_twice(server: ClosingServer) -> None:
    async with ResendingClient() as client:
        assert (await client.post(server.url, json={"model": "m"})).content == BODY
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url, json={"model": "m"})
    assert server.answered == ["POST"]
    assert server.dropped == ["POST"]
    assert server.connections == 1


def test_huggingface_hub_requests_are_sent_again(server: ClosingServer) -> None:
    # The client huggingface_hub makes once our pool is installed (its metadata HEAD is not retried by it).
    from huggingface_hub import get_session

    hub_session.use_shared_pool(30.0)
    hub_session.close_pool()  # a pool of its own for this server's connections
    try:
        session = get_session()
        assert session.get(server.url).content == BODY
        assert session.head(server.url).status_code == 200
        assert session.get(server.url).content == BODY
        with pytest.raises(httpx2.RemoteProtocolError):
            session.post(server.url, content=b"{}")
    finally:
        hub_session.close_pool()
    assert server.answered == ["GET", "HEAD", "GET"]
    assert server.dropped == ["HEAD", "GET", "POST"]


async def test_our_clients_let_an_idle_connection_go_before_a_server_would(server: ClosingServer) -> None:
    # After KEEPALIVE_EXPIRY_S idle (the servers' close comes at 5 s), every client of ours opens a new connection,
    # so the server, which drops any second request on a connection, drops none: a POST is safe from the crossing.
    from huggingface_hub import get_session

    clients = OpenAIClients(30.0)
    openai = clients.get(server.url.removesuffix("/x"), None)
    hub_session.use_shared_pool(30.0)
    hub_session.close_pool()
    try:
        async with ResendingClient() as http:
            for _ in range(2):
                assert (await http.post(server.url, json={})).content == BODY
                assert (await openai.models.list()).data == []
                assert get_session().post(server.url, content=b"{}").content == BODY
                await asyncio.sleep(KEEPALIVE_EXPIRY_S + 0.5)
    finally:
        await clients.aclose()
        hub_session.close_pool()
    assert server.dropped == []
    assert server.answered == ["POST", "GET", "POST"] * 2
    assert server.connections == 6
