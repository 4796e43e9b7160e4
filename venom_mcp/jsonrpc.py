"""The JSON-RPC envelope of a message from an MCP client, checked before the SDK sees it.

The SDK drops what it cannot parse without an answer (or answers a log notification), and answers an unknown
method with -32602. `screen` gives every message one verdict instead: forward it to the SDK, answer it here with
the JSON-RPC error it deserves, or drop it (a notification or a response, which are never answered):

- -32700 parse error: not UTF-8, not JSON, or JSON past the limits of `jsontext` (nesting depth, huge integers,
  NaN, lone surrogates);
- -32600 invalid request: too large, not one JSON object (batches included), `jsonrpc` not "2.0", an `id` that is
  not a string or an integer, no `method`;
- -32601 method not found: a method that is not among the SDK's client requests;
- -32602 invalid params: `params` that is not an object (the SDK answers the other invalid params itself).

The id of the request is named when it can be read, `null` when it cannot (JSON-RPC 2.0, section 5).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

from mcp import types
from pydantic import RootModel, ValidationError

from .jsontext import JsonRefused, decode, loads, too_large, top_level_member

RequestId = str | int


def _methods(union: type[RootModel[Any]]) -> Iterator[str]:
    for model in get_args(union.model_fields["root"].annotation):
        yield from get_args(model.model_fields["method"].annotation)


REQUEST_METHODS = frozenset(_methods(types.ClientRequest))
NOTIFICATION_METHODS = frozenset(_methods(types.ClientNotification))


@dataclass(frozen=True)
class Reply:
    """The JSON-RPC error this layer answers for a message the SDK is not given."""

    id: RequestId | None
    code: int
    message: str

    def body(self) -> bytes:
        error = {"code": self.code, "message": self.message}
        return json.dumps({"jsonrpc": "2.0", "id": self.id, "error": error}).encode()


@dataclass(frozen=True)
class Forward:
    """A message the SDK can take: its validated envelope."""

    message: types.JSONRPCMessage


@dataclass(frozen=True)
class Drop:
    """A notification or a response the SDK could not take; JSON-RPC answers neither."""

    reason: str


Verdict = Forward | Reply | Drop


def oversized(size: int, limit: int) -> Reply:
    return Reply(None, types.INVALID_REQUEST, f"invalid request: {too_large(size, limit)}")


def _readable_id(value: Any) -> RequestId | None:
    return value if isinstance(value, str) or type(value) is int else None


def screen(data: bytes) -> Verdict:
    """The verdict on one message (a line of the stdio transport, the body of a `POST /mcp`)."""
    try:
        value = loads(data)
    except JsonRefused as exc:
        # Refused for its content, not its syntax: the request's id is read from the top level if it can be, so
        # that the client's pending request gets its answer instead of a timeout.
        found = None if exc.opaque else _readable_id(top_level_member(decode(data), "id"))
        return Reply(found, types.PARSE_ERROR, f"parse error: {exc}")
    return check(value)


def check(value: Any) -> Verdict:
    """The verdict on a parsed message."""
    if not isinstance(value, dict):
        what = "a JSON array (a batch)" if isinstance(value, list) else f"a JSON {type(value).__name__}"
        return Reply(None, types.INVALID_REQUEST,
                     f"invalid request: {what} is not a JSON-RPC message; send one object per message, e.g. "
                     '{"jsonrpc": "2.0", "id": 1, "method": "ping"} (batches are not supported)')
    has_id = "id" in value
    request_id = _readable_id(value.get("id"))
    method = value.get("method")
    if value.get("jsonrpc") != "2.0":
        return Reply(request_id, types.INVALID_REQUEST, 'invalid request: the "jsonrpc" member must be "2.0"')
    if "method" not in value:
        if "result" in value or "error" in value:  # a response to one of the server's requests
            return _validated(value, Drop("a response that is not valid JSON-RPC"))
        return Reply(request_id, types.INVALID_REQUEST,
                     'invalid request: a request needs a "method"; a response needs a "result" or an "error"')
    if not isinstance(method, str):
        return Reply(request_id, types.INVALID_REQUEST, 'invalid request: "method" must be a string')
    params = value.get("params")
    if not has_id:  # a notification
        if method not in NOTIFICATION_METHODS:
            return Drop(f"unknown notification {method[:100]!r}")
        return _validated(value, Drop(f"a {method[:100]!r} notification that is not valid"))
    if request_id is None:
        return Reply(None, types.INVALID_REQUEST, 'invalid request: "id" must be a string or an integer')
    if method not in REQUEST_METHODS:
        return Reply(request_id, types.METHOD_NOT_FOUND, f"method not found: {method[:100]!r}")
    if params is not None and not isinstance(params, dict):
        return Reply(request_id, types.INVALID_PARAMS, 'invalid params: "params" must be a JSON object')
    return _validated(value, Reply(request_id, types.INVALID_REQUEST, "invalid request: not a JSON-RPC request"))


def _validated(value: dict[str, Any], otherwise: Reply | Drop) -> Verdict:
    try:
        return Forward(types.JSONRPCMessage.model_validate(value))
    except ValidationError:
        return otherwise
