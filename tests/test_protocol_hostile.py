"""Hostile input on the MCP protocol, over a real stdio server process and over `POST /mcp`: every request gets
exactly one JSON-RPC answer with the documented code (a notification none), ids matched, and the server keeps
serving. The limits (message size, nesting depth) are checked before any JSON is parsed."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from tests.conftest import http_served, make_settings, mcp_session
from tests.test_transports import server_env
from venom_mcp.app import App
from venom_mcp.jsontext import MAX_BYTES, MAX_DEPTH

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, RESOURCE_NOT_FOUND = (
    -32700, -32600, -32601, -32602, -32002)
INIT_PARAMS = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
Expect = tuple[Any, int] | None  # (id, error code) of the one answer, or None: no answer at all


def line(**fields: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", **fields}).encode()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


BIG_INT = "9" * 5000
# One hostile message each, with the one answer it must get. The stdio test sends each as a line.
HOSTILE: list[tuple[str, bytes, Expect]] = [
    ("arguments nested 200 deep", ('{"jsonrpc":"2.0","id":"deep-args","method":"tools/call","params":{"name":'
                                   f'"list_models","arguments":{{"query":{deep(200)}}}}}}}').encode(),
     ("deep-args", PARSE_ERROR)),
    ("the id after the nested params, as the TypeScript SDK writes it",
     f'{{"method":"tools/call","params":{{"arguments":{deep(150)}}},"jsonrpc":"2.0","id":7}}'.encode(),
     (7, PARSE_ERROR)),
    ("a raw line nested 1,000 deep", deep(1000).encode(), (None, PARSE_ERROR)),
    ("a 5,000-digit integer argument", ('{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":'
                                        f'"list_models","arguments":{{"limit":{BIG_INT}}}}}}}').encode(),
     ("big", PARSE_ERROR)),
    ("a 5,000-digit integer id", f'{{"jsonrpc":"2.0","id":{BIG_INT},"method":"ping"}}'.encode(), (None, PARSE_ERROR)),
    ("a lone surrogate escape", b'{"jsonrpc":"2.0","id":"sur","method":"ping","params":{"x":"\\ud800"}}',
     ("sur", PARSE_ERROR)),
    ("a lone surrogate in the id", b'{"jsonrpc":"2.0","id":"\\udc00","method":"ping"}', (None, PARSE_ERROR)),
    ("NaN", b'{"jsonrpc":"2.0","id":"nan","method":"ping","params":{"x":NaN}}', ("nan", PARSE_ERROR)),
    ('"jsonrpc": "1.0"', json.dumps({"jsonrpc": "1.0", "id": 10, "method": "ping"}).encode(), (10, INVALID_REQUEST)),
    ("no jsonrpc member", json.dumps({"id": 11, "method": "ping"}).encode(), (11, INVALID_REQUEST)),
    ("a null id", line(id=None, method="ping"), (None, INVALID_REQUEST)),
    ("an object id", line(id={"a": 1}, method="ping"), (None, INVALID_REQUEST)),
    ("a float id", line(id=1.5, method="ping"), (None, INVALID_REQUEST)),
    ("a boolean id", line(id=True, method="ping"), (None, INVALID_REQUEST)),
    ("invalid JSON", b'{"jsonrpc": "2.0", "id": 12, "method": "ping"', (None, PARSE_ERROR)),
    ("invalid UTF-8", b'{"jsonrpc":"2.0","id":13,"method":"ping","params":{"x":"\xff\xfe"}}', (None, PARSE_ERROR)),
    ("a JSON array batch", b"[" + line(id=14, method="ping") + b"," + line(id=15, method="ping") + b"]",
     (None, INVALID_REQUEST)),
    ("an empty batch", b"[]", (None, INVALID_REQUEST)),
    ("a bare number", b"42", (None, INVALID_REQUEST)),
    ("no method", line(id=16), (16, INVALID_REQUEST)),
    ("a method that is not a string", line(id=17, method=5), (17, INVALID_REQUEST)),
    ("an unknown method", line(id=18, method="nope/nothing"), (18, METHOD_NOT_FOUND)),
    ("a notification of an unknown method", line(method="notifications/nope"), None),
    ("a notification that is not valid", line(method="notifications/cancelled", params=[1]), None),
    ("params that are not an object", line(id=19, method="ping", params=[1, 2]), (19, INVALID_PARAMS)),
    ("a known method with invalid params", line(id=20, method="tools/call"), (20, INVALID_PARAMS)),
    ("an unknown resource", line(id=21, method="resources/read", params={"uri": "venom://nothing"}),
     (21, RESOURCE_NOT_FOUND)),
    ("an unknown prompt", line(id=22, method="prompts/get", params={"name": "nothing"}), (22, INVALID_PARAMS)),
    ("a message over the size limit", line(id=23, method="ping", params={"x": "a" * MAX_BYTES}),
     (None, INVALID_REQUEST)),
]


def _check_answer(answer: dict[str, Any], expected_code: int) -> None:
    assert answer["jsonrpc"] == "2.0" and "result" not in answer, answer
    assert answer["error"]["code"] == expected_code, answer
    message = answer["error"]["message"]
    assert isinstance(message, str) and message and "Traceback" not in message, answer


async def _read_answer(stdout: asyncio.StreamReader) -> dict[str, Any]:
    raw = await stdout.readline()
    assert raw, "the server closed stdout"
    text = raw.decode("utf-8")
    assert "Traceback" not in text
    answer: dict[str, Any] = json.loads(text)
    assert "method" not in answer, f"a notification or request instead of an answer: {answer}"
    return answer


async def test_stdio_answers_every_hostile_line_once_and_keeps_serving(home: Path, hub_url: str, library_url: str,
                                                                       tmp_path: Path) -> None:
    lines = [line(id="init", method="initialize", params=INIT_PARAMS), line(method="notifications/initialized"),
             b"", b"   \r"]  # blank lines are not messages: no answer
    expected: dict[Any, int | None] = {"init": None}  # id -> error code (None: a result)
    nulls: Counter[int] = Counter()  # code -> how many id-null answers
    for number, (_, raw, expect) in enumerate(HOSTILE):
        lines += [raw, line(id=f"ping-{number}", method="ping")]
        expected[f"ping-{number}"] = None
        if expect is not None and expect[0] is None:
            nulls[expect[1]] += 1
        elif expect is not None:
            expected[expect[0]] = expect[1]
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "venom_mcp", "serve", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=stderr, env=server_env(home, hub_url, library_url), limit=16 * 1024 * 1024,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        with anyio.fail_after(60):
            proc.stdin.write(b"\n".join(lines) + b"\n")
            await proc.stdin.drain()
            answers = [await _read_answer(proc.stdout) for _ in range(len(expected) + sum(nulls.values()))]
            proc.stdin.write(line(id="final", method="tools/list") + b"\n")
            await proc.stdin.drain()
            final = await _read_answer(proc.stdout)
            proc.stdin.close()
            rest = await proc.stdout.read()
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stderr.close()
    assert rest == b"", f"answers nobody asked for: {rest[:500]!r}"
    assert final["id"] == "final" and len(final["result"]["tools"]) >= 11
    by_id: dict[Any, dict[str, Any]] = {}
    null_codes: Counter[int] = Counter()
    for answer in answers:
        if answer.get("id") is None:
            assert "id" in answer, answer
            _check_answer(answer, answer["error"]["code"])
            null_codes[answer["error"]["code"]] += 1
            continue
        assert answer["id"] not in by_id, f"two answers for {answer['id']!r}"
        by_id[answer["id"]] = answer
    assert set(by_id) == set(expected)
    for key, code in expected.items():
        if code is None:
            assert "result" in by_id[key], by_id[key]
        else:
            _check_answer(by_id[key], code)
    assert null_codes == nulls
    assert b"Traceback" not in (tmp_path / "stderr.log").read_bytes()


# ---- the same over streamable HTTP -----------------------------------------------------------------------------

JSON_ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def _message(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON-RPC message of an answer: a JSON body, or the data of the one message event of an SSE stream."""
    kind = response.headers.get("content-type", "")
    if response.status_code == 202:
        return None
    if kind.startswith("text/event-stream"):
        data = [row[5:].strip() for row in response.text.splitlines() if row.startswith("data:")]
        found: dict[str, Any] = json.loads(next(d for d in data if d))
        return found
    assert kind.startswith("application/json"), (response.status_code, kind, response.text[:200])
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def mcp_url(home: Path, hub_url: str, library_url: str) -> Iterator[str]:
    with http_served(App(make_settings(home, hub_url, library_url))) as server:
        yield f"{server.url}/mcp"


async def test_http_mcp_answers_every_hostile_body_once(mcp_url: str) -> None:
    async with httpx.AsyncClient(timeout=30, headers=JSON_ACCEPT) as client:
        opened = await client.post(mcp_url, content=line(id="init", method="initialize", params=INIT_PARAMS))
        assert opened.status_code == 200, opened.text
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        ready = await client.post(mcp_url, content=line(method="notifications/initialized"), headers=session)
        assert ready.status_code == 202
        for name, raw, expect in [*HOSTILE, ("an empty body", b"", (None, PARSE_ERROR))]:
            response = await client.post(mcp_url, content=raw, headers=session)
            answer = _message(response)
            assert "Traceback" not in response.text, name
            if expect is None:
                assert response.status_code == 202 and answer is None, (name, response.text)
                continue
            assert answer is not None, name
            assert answer.get("id", "missing") == expect[0], (name, answer)
            _check_answer(answer, expect[1])
            status = 413 if raw.__len__() > MAX_BYTES else 400 if expect[0] is None or expect[1] in (
                PARSE_ERROR, INVALID_REQUEST) else 200
            assert response.status_code == status, (name, response.status_code, answer)
            pong = await client.post(mcp_url, content=line(id="ping", method="ping"), headers=session)
            assert _message(pong) == {"jsonrpc": "2.0", "id": "ping", "result": {}}, name


async def test_http_mcp_refusals_are_json_rpc(mcp_url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        ping = line(id=1, method="ping")
        for headers, status in (({"content-type": "text/plain"}, 415), ({}, 415),
                                ({"content-type": "application/json", "host": "evil.example"}, 421),
                                ({"content-type": "application/json", "origin": "http://evil.example"}, 403)):
            response = await client.post(mcp_url, content=ping,
                                         headers={"accept": "application/json, text/event-stream", **headers})
            assert response.status_code == status, (headers, response.text)
            assert response.headers["content-type"].startswith("application/json"), headers
            answer = response.json()
            assert answer["id"] is None and answer["error"]["code"] == INVALID_REQUEST, answer
        # The size is refused from Content-Length, before the body is read.
        huge = await client.post(mcp_url, content=b"[" * (MAX_BYTES + 1), headers=JSON_ACCEPT)
        assert huge.status_code == 413 and huge.json()["error"]["code"] == INVALID_REQUEST


async def test_unknown_resources_and_prompts_answer_their_codes(app: App) -> None:
    # The low-level server answers any exception of a handler with code 0; these are the MCP specification's codes.
    async with mcp_session(app) as client:
        await client.initialize()
        with pytest.raises(McpError) as resource:
            await client.read_resource(AnyUrl("venom://nothing"))
        assert resource.value.error.code == RESOURCE_NOT_FOUND and "resources/list" in resource.value.error.message
        with pytest.raises(McpError) as prompt:
            await client.get_prompt("nothing")
        assert prompt.value.error.code == INVALID_PARAMS and "prompts/list" in prompt.value.error.message


def test_the_limits_are_sane() -> None:
    assert 32 <= MAX_DEPTH <= 128 and MAX_BYTES >= 1024 * 1024
