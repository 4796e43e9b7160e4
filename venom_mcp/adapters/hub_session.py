"""huggingface_hub's shared HTTP client, made safe for a server that calls the Hub from many threads.

huggingface_hub shares one client between all threads and, after any connection error, closes it
(`close_session`) to start afresh. Closing it closes the sockets that other threads are reading at that
moment: their downloads die with `[Errno 9] Bad file descriptor`, and connections checked out at that
moment are left to the garbage collector (`ResourceWarning: unclosed socket`). Our client factory gives
every client huggingface_hub makes the same connection pool behind a transport whose `close()` does
nothing; the pool lives as long as the process and is closed once, at exit. A closed client then only
drops its handle, and broken connections are still discarded by the pool itself.
"""

from __future__ import annotations

import atexit
import os
import threading

import httpx2

from .stale_connections import KEEPALIVE_EXPIRY_S, may_resend

_lock = threading.Lock()
_pool: httpx2.HTTPTransport | None = None
_timeout: float | None = None
_installed = False
_orphans: list[httpx2.HTTPTransport] = []


class _SharedTransport(httpx2.BaseTransport):
    """Hands requests to the process-wide pool; closing one client must not close the pool.

    A metadata HEAD is not retried by huggingface_hub (it falls back to the cache at once), so a kept-alive
    connection the Hub closed as we reused it would fail an install: an idempotent request is resent once
    (see `stale_connections`)."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return _shared_pool().handle_request(request)
        except httpx2.RemoteProtocolError:
            if not may_resend(request.method):
                raise
            return _shared_pool().handle_request(request)

    def close(self) -> None:
        pass


def _shared_pool() -> httpx2.HTTPTransport:
    global _pool
    with _lock:
        if _pool is None:
            _pool = httpx2.HTTPTransport(limits=httpx2.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S))
        return _pool


def _client() -> httpx2.Client:
    # follow_redirects: file downloads are redirected to their storage; timeout: a silent server must not hang a thread.
    return httpx2.Client(transport=_SharedTransport(), follow_redirects=True, timeout=_timeout)


def use_shared_pool(timeout: float) -> None:
    """Make huggingface_hub's clients use the shared pool, with `timeout` seconds for every request."""
    global _timeout, _installed
    from huggingface_hub import get_session, set_client_factory

    _timeout = timeout
    if not _installed:
        _installed = True
        set_client_factory(_client)  # replaces (and closes) a client made before with huggingface_hub's own pool
    get_session().timeout = httpx2.Timeout(timeout)


def close_pool() -> None:
    """Close the shared pool's connections (at exit; a later request opens a new pool)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def _forget_pool_in_child() -> None:
    # A forked child shares the parent's sockets: it must open its own, and must not close the parent's.
    global _pool
    if _pool is not None:
        _orphans.append(_pool)  # kept, so that the garbage collector does not close them either
    _pool = None


atexit.register(close_pool)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)
