"""JSON from outside, read within limits: the size and the nesting depth are checked by a linear scan before any
parse, and the parse refuses what is not JSON or what Python would take badly (NaN and infinities, integers past
Python's int-from-string limit, lone UTF-16 surrogates, bytes that are not UTF-8).

Every face that reads a client's JSON goes through `loads`: the stdio MCP transport (one message a line), the HTTP
body guard (`POST /mcp`, the REST API) and the REST handlers themselves.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_BYTES = 4 * 1024 * 1024  # one message or body; the MCP SDK's own HTTP limit (DEFAULT_MAX_REQUEST_BODY_SIZE)
MAX_DEPTH = 64  # nested arrays and objects; a JSON-RPC envelope uses 3 of them
MAX_INT_DIGITS = 4300  # Python's own limit for int("..."), which is quadratic beyond it

# A string token that always matches from a '"', to its closing quote or to the end of the text (an unterminated
# string), so that a scan never retries from every later quote: linear however the text is made.
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)'
_STRINGS = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_TOKENS = re.compile(_STRING + r"|[\[\]{}]|[^\"\[\]{}]++", re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_CHUNK = 32


class JsonRefused(ValueError):
    """Text that `loads` will not turn into data. `opaque` when it was refused unread (too large) or is not JSON
    text at all (not UTF-8, a syntax error): then nothing in it may be taken as meant, a JSON-RPC id included."""

    def __init__(self, message: str, *, opaque: bool) -> None:
        super().__init__(message)
        self.opaque = opaque


def too_large(size: int, limit: int = MAX_BYTES) -> str | None:
    if size <= limit:
        return None
    return f"the message is {size:,} bytes; the limit is {limit:,} ({limit // (1024 * 1024)} MiB): send less"


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit` anywhere in `text` (brackets inside strings do not
    count). A linear scan with no recursion, safe on any input."""
    if text.count("[") + text.count("{") <= limit:  # the common case, e.g. a long text in a shallow envelope
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if len(brackets) <= limit:
        return False
    depth = 0
    for start in range(0, len(brackets), _CHUNK):
        chunk = brackets[start:start + _CHUNK]
        opened = chunk.count("[") + chunk.count("{")
        if depth + opened <= limit:  # this chunk cannot go past the limit: count it as a whole
            depth += 2 * opened - len(chunk)
            continue
        for char in chunk:
            depth += 1 if char in "[{" else -1
            if depth > limit:
                return True
    return False


def _integer(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise JsonRefused(f"an integer of {len(text):,} digits; the limit is {MAX_INT_DIGITS}", opaque=False)
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {text[:40]} is out of range", opaque=False)
    return value


def _constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not JSON", opaque=False)


def _lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonRefused(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", opaque=True) from exc


def loads(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The value of one JSON text, or JsonRefused saying what is wrong with it."""
    if message := too_large(len(data), max_bytes):
        raise JsonRefused(message, opaque=True)
    text = decode(data)
    if too_deep(text, max_depth):
        raise JsonRefused(f"arrays and objects nest more than {max_depth} levels deep", opaque=False)
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except JsonRefused:
        raise
    except ValueError as exc:  # JSONDecodeError
        raise JsonRefused(f"not JSON ({exc})", opaque=True) from exc
    if _SURROGATE_ESCAPE.search(text) and _lone_surrogate(value):
        raise JsonRefused("a string holds a lone UTF-16 surrogate (e.g. \\ud800), which is not text", opaque=False)
    return value


def top_level_member(text: str, name: str, budget: int = 10_000) -> Any:
    """A scalar member of the top-level object, read without parsing the rest (for text that `loads` refused, so
    that a JSON-RPC error can still name the request's id). None when there is none, when it is not a scalar,
    or when it is not found within `budget` tokens."""
    depth, key, expect_key = 0, None, False
    for count, match in enumerate(_TOKENS.finditer(text)):
        if count > budget:
            return None
        piece = match.group()
        if piece in ("[", "{"):
            if depth == 0 and piece == "[":
                return None
            depth += 1
            if depth == 1:
                expect_key = True
            elif depth == 2 and key == name:
                return None  # an array or an object: not a scalar
            continue
        if piece in ("]", "}"):
            depth -= 1
            continue
        if depth != 1:
            continue
        if piece.startswith('"'):
            if expect_key:
                key, expect_key = _scalar(piece), False
            elif key == name:
                return _scalar(piece)
            continue
        # What lies between the strings and brackets at depth 1: ':', a bare value (a number, true, false, null)
        # after it, ','.
        _, colon, after = piece.partition(":")
        bare, comma, _ = after.partition(",") if colon else ("", "," if "," in piece else "", "")
        if colon and key == name and bare.strip():
            return _scalar(bare.strip())
        if comma:
            expect_key = True
    return None


def _scalar(text: str) -> Any:
    if _INTEGER.fullmatch(text):
        return int(text) if len(text) <= MAX_INT_DIGITS else None
    try:
        value = json.loads(text, parse_constant=_constant)
    except ValueError:
        return None
    return None if isinstance(value, str) and _lone_surrogate(value) else value
