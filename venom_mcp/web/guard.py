"""The HTTP face's guard on request bodies, in front of every route: a write (POST, PUT, PATCH, DELETE) that
carries a body must say `Content-Type: application/json` (415 otherwise: this also refuses the "simple" requests a
page on another site can send without asking), the body is read once and at most `MAX_BYTES` of it (413), and it
must be JSON within the limits of `jsontext` (400) before any handler parses it.

The answers are JSON: `{"success": false, "error": ...}` on the REST face, OpenAI's `{"error": {...}}` on the
gateway (`/v1/`), a JSON-RPC error on `/mcp`, where the envelope is also screened (`jsonrpc.screen`) so that the
SDK only ever sees a message it can take.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mcp import types

from ..jsonrpc import Drop, Reply, oversized, screen
from ..jsontext import MAX_BYTES, JsonRefused, loads

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DRAIN_FACTOR = 4  # an oversized body is read (and dropped) up to this many times the limit before the 413


def is_mcp(path: str) -> bool:
    return path == "/mcp" or path.startswith("/mcp/")


def is_gateway(path: str) -> bool:
    """The OpenAI-compatible gateway (web/gateway.py), whose errors are OpenAI-shaped."""
    return path.startswith("/v1/")


# The `code` of the gateway's refusals, as OpenAI's API names them where it has a name.
_OPENAI_CODES = {401: "invalid_api_key", 403: "forbidden", 404: "unknown_url", 405: "method_not_allowed",
                 413: "request_too_large", 415: "unsupported_media_type", 421: "misdirected_request"}


def refusal_body(path: str, status: int, message: str) -> bytes:
    """A refusal outside /mcp: OpenAI's error shape on the gateway, the REST API's everywhere else."""
    if is_gateway(path):
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return json.dumps({"error": {"message": message, "type": kind, "param": None,
                                     "code": _OPENAI_CODES.get(status)}}).encode()
    return json.dumps({"success": False, "error": message}).encode()


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def respond(send: Send, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def refuse(scope: Scope, send: Send, status: int, message: str, reply: Reply | None = None) -> None:
    """An error answer in the shape of the face that was asked: JSON-RPC on /mcp, OpenAI's on the gateway (/v1/),
    the REST API's elsewhere."""
    if is_mcp(scope.get("path", "")):
        body = (reply or Reply(None, types.INVALID_REQUEST, message)).body()
    else:
        body = refusal_body(scope.get("path", ""), status, message)
    await respond(send, status, body)


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BYTES) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self._app(scope, receive, send)
            return
        where = f"{scope['method']} {scope['path']}"
        kind = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), None)
        if kind is not None and not is_json(kind):
            await refuse(scope, send, 415, f"{where} takes JSON: send the body with Content-Type: application/json "
                                           f"(this request said {kind[:100]!r})")
            return
        body = await self._read(scope, receive, send)
        if body is None:
            return
        message_expected = bool(body) or (is_mcp(scope["path"]) and scope["method"] == "POST")
        if message_expected and kind is None:
            await refuse(scope, send, 415, f"{where} takes JSON: send the body with Content-Type: application/json "
                                           "(this request said none)")
            return
        if message_expected and not await self._parsed(scope, send, body):
            return
        await self._app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once the request has been answered (413) or the client has gone."""
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        size = int(declared) if declared.isdigit() else 0
        chunks: list[bytes] = []
        received = 0
        # Past the limit the rest is read and dropped (so that the client reads the 413 on a clean connection),
        # up to DRAIN_FACTOR times the limit; a larger declared size is answered at once.
        more = size <= self._max * DRAIN_FACTOR
        while more and received <= self._max * DRAIN_FACTOR:
            message = await receive()
            if message["type"] != "http.request":
                return None  # http.disconnect
            chunk = message.get("body", b"")
            received += len(chunk)
            if received <= self._max:
                chunks.append(chunk)
            more = message.get("more_body", False)
        size = max(size, received)
        if size > self._max:
            reply = oversized(size, self._max)
            await refuse(scope, send, 413, reply.message.removeprefix("invalid request: "), reply)
            return None
        return b"".join(chunks)

    async def _parsed(self, scope: Scope, send: Send, body: bytes) -> bool:
        """Whether the body may go on to the route; if not, it has been answered."""
        if not is_mcp(scope["path"]):
            try:
                loads(body, max_bytes=self._max)
            except JsonRefused as exc:
                await refuse(scope, send, 400, f"the body is refused: {exc}; send a JSON object")
                return False
            return True
        verdict = screen(body)
        if isinstance(verdict, Reply):
            # Unreadable or invalid: 400, as the SDK answers them; a request it could read (an unknown method,
            # params that are not an object) gets its JSON-RPC error as a normal answer.
            status = 400 if verdict.id is None or verdict.code in (types.PARSE_ERROR, types.INVALID_REQUEST) else 200
            await respond(send, status, verdict.body())
            return False
        if isinstance(verdict, Drop):  # a notification or a response: accepted, never answered
            await respond(send, 202, b"", content_type=b"text/plain")
            return False
        return True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # what comes after the body: http.disconnect

    return replay
