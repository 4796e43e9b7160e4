"""Resend a request once when the kept-alive connection it went out on was already closed by the server.

Servers close idle connections after a few seconds (uvicorn, so vLLM, and llama.cpp's server after 5 s;
the Hub's front ends too). When that close crosses a request sent on the pooled connection, httpcore
reports `RemoteProtocolError: Server disconnected without sending a response` although the server never
answered. Browsers and urllib3 send it again on a new connection; httpx does not. We do, once, and only
for methods that are safe to repeat: a POST (a chat, a pull) is never sent twice behind the caller's back.
"""

from __future__ import annotations

from typing import Any

import httpx

RESENDABLE = frozenset({"GET", "HEAD", "OPTIONS"})

# Our clients let an idle connection go after 4 s, before the 5 s after which uvicorn (so vLLM) and llama.cpp's
# server close it: the crossing then cannot happen on those servers, for a POST either. httpx's default is 5 s.
KEEPALIVE_EXPIRY_S = 4.0
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S)


def may_resend(method: str) -> bool:
    """Whether a request that got no answer may be sent again without asking anyone."""
    return method.upper() in RESENDABLE


class ResendingClient(httpx.AsyncClient):
    """httpx's client, resending an idempotent request once if the server closed the connection under it.

    At the client, not the transport: a client given a transport stops reading HTTP(S)_PROXY. The pool has
    dropped the dead connection by then, so the second try goes out on a live or a new one. A streamed body
    cut short later is the caller's to handle (a resumed download, a failed stream). Its pool lets idle connections
    go after KEEPALIVE_EXPIRY_S unless given other `limits`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("limits", LIMITS)
        super().__init__(**kwargs)

    async def send(self, request: httpx.Request, *args: Any, **kwargs: Any) -> httpx.Response:
        try:
            return await super().send(request, *args, **kwargs)
        except httpx.RemoteProtocolError:
            if not may_resend(request.method):
                raise
            return await super().send(request, *args, **kwargs)
