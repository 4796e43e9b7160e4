"""Run an ASGI application on a real loopback socket in a background thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

_START_DEADLINE_S = 10.0


class LiveServer:
    """A uvicorn server in a daemon thread, bound to ``host:port`` (port 0 picks a free port).

    ``url`` is set by :meth:`start`. :meth:`stop` closes the listening socket, so a later
    connection to ``url`` is refused (simulates "upstream down"). ``start()`` may be called
    again after ``stop()``: it rebinds the same port (simulates "upstream back up").
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, lifespan: str = "off") -> None:
        self.app = app
        self.lifespan = lifespan
        self.host = host
        self.port = port
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LiveServer:
        if self.running:
            raise RuntimeError("LiveServer already running")
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan=self.lifespan,  # type: ignore[arg-type]
            timeout_graceful_shutdown=3,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"LiveServer:{self.host}:{self.port}", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_DEADLINE_S
        while not server.started:
            if not thread.is_alive():
                self._server = self._thread = None
                raise RuntimeError(f"uvicorn failed to start on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"uvicorn did not start within {_START_DEADLINE_S} s")
            time.sleep(0.01)
        sock = server.servers[0].sockets[0]
        self.port = int(sock.getsockname()[1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        if thread.is_alive():
            raise RuntimeError("LiveServer thread did not stop")
        self._server = self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """A loopback port nothing listens on right now (for servers started as child processes)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def have_llamacpp_server() -> bool:
    """Whether llama-cpp-python's server can be started, found without importing it: importing llama_cpp
    opens two files it never closes, and pytest turns the ResourceWarning into a failure."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("llama_cpp", "fastapi", "sse_starlette", "gguf"))
