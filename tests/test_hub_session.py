"""huggingface_hub closes its shared client after any connection error; that must not cut another thread's download.

Reproduces what failed the suite at random: one request breaking off mid-body with EBADF because another
request had hit an unreachable Hub, and the client huggingface_hub then dropped leaking its sockets.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx2
import huggingface_hub
import pytest

from venom_mcp.adapters.hub_session import use_shared_pool

BODY = b"x" * 256 * 1024


class _Slow(http.server.BaseHTTPRequestHandler):
    """Sends half the body, waits until the test says so, then sends the rest."""

    release: threading.Event

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        half = len(BODY) // 2
        self.wfile.write(BODY[:half])
        self.wfile.flush()
        self.release.wait(30)
        self.wfile.write(BODY[half:])

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[tuple[str, threading.Event]]:
    release = threading.Event()
    handler = type("Handler", (_Slow,), {"release": release})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/file", release
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def test_closing_the_session_mid_download_does_not_cut_the_download(
    slow_server: tuple[str, threading.Event],
) -> None:
    url, release = slow_server
    use_shared_pool(30)
    received = bytearray()
    with huggingface_hub.get_session().stream("GET", url) as response:
        chunks = response.iter_bytes()
        received += next(chunks)
        # What huggingface_hub does on a ConnectError in any thread.
        huggingface_hub.close_session()
        release.set()
        for chunk in chunks:
            received += chunk
    assert bytes(received) == BODY
    # The next client huggingface_hub makes still has our deadline and our pool.
    assert huggingface_hub.get_session().timeout == httpx2.Timeout(30)


def test_an_unreachable_hub_then_a_reachable_one(slow_server: tuple[str, threading.Event]) -> None:
    url, release = slow_server
    use_shared_pool(30)
    release.set()
    with pytest.raises(httpx2.ConnectError):
        huggingface_hub.get_session().get("http://127.0.0.1:9/unreachable")
    response = huggingface_hub.get_session().get(url)
    assert response.content == BODY
