"""The server as clients meet it: over real stdio, over streamable HTTP (auth, host checks), and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import http_served, make_settings
from venom_mcp.app import App
from venom_mcp.errors import ConfigError
from venom_mcp.server import http_app


def server_env(home: Path, hub_url: str, library_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VENOM_", "HF_", "OLLAMA_"))}
    env.update(VENOM_HOME=str(home), HF_ENDPOINT=hub_url, VENOM_OLLAMA_LIBRARY_URL=library_url)
    return env


async def test_stdio_server_answers_tools_list_and_calls(home: Path, hub_url: str, library_url: str) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "venom_mcp", "serve"], env=server_env(home, hub_url, library_url)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.serverInfo.name == "venom-mcp"
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"list_models", "trending_models", "model_news", "install_model", "model_capabilities"} <= names
        result = await session.call_tool("trending_models", {"provider": "huggingface", "limit": 2})
        assert not result.isError and result.structuredContent is not None
        assert result.structuredContent["count"] == 2


def test_stdio_stdout_carries_only_json_rpc(home: Path, hub_url: str, library_url: str) -> None:
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "trending_models", "arguments": {"provider": "ollama", "limit": 1}}},
    ]
    stdin = "".join(json.dumps(m) + "\n" for m in messages)
    proc = subprocess.Popen(
        [sys.executable, "-m", "venom_mcp", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, env=server_env(home, hub_url, library_url),
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(stdin)
    proc.stdin.flush()
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    proc.stdin.close()  # end of input: the server shuts down
    lines += proc.stdout.read().splitlines()
    proc.stdout.close()
    assert proc.wait(timeout=20) == 0
    parsed = [json.loads(line) for line in lines if line.strip()]
    assert all(m["jsonrpc"] == "2.0" for m in parsed)
    assert [m.get("id") for m in parsed] == [1, 2]
    assert parsed[1]["result"]["structuredContent"]["count"] == 1


@pytest.fixture
async def http_server(home: Path, hub_url: str, library_url: str):  # type: ignore[no-untyped-def]
    app = App(make_settings(home, hub_url, library_url, http_token="s3cret-token-value"))
    with http_served(app) as server:
        yield server.url


async def test_http_requires_the_bearer_token(http_server: str) -> None:
    async with httpx.AsyncClient() as plain:
        health = await plain.get(f"{http_server}/health")
        assert health.status_code == 200 and health.json()["tools"] >= 11
        denied = await plain.post(f"{http_server}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert denied.status_code == 401 and "VENOM_HTTP_TOKEN" in denied.text
        wrong = await plain.post(f"{http_server}/mcp", json={}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    authed = httpx.AsyncClient(headers={"Authorization": "Bearer s3cret-token-value"})
    async with authed, streamable_http_client(f"{http_server}/mcp", http_client=authed) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("trending_models", {"provider": "ollama", "limit": 3})
        assert not result.isError and result.structuredContent is not None
        assert result.structuredContent["count"] == 3


async def test_http_rejects_foreign_host_headers(http_server: str) -> None:
    headers = {"Authorization": "Bearer s3cret-token-value", "Host": "evil.example:80",
               "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    async with httpx.AsyncClient() as plain:
        response = await plain.post(f"{http_server}/mcp", json=body, headers=headers)
    assert response.status_code in (400, 403, 421)


def test_exposed_bind_without_token_is_refused(home: Path, hub_url: str, library_url: str) -> None:
    app = App(make_settings(home, hub_url, library_url))
    with pytest.raises(ConfigError, match="VENOM_HTTP_TOKEN"):
        http_app(app, "0.0.0.0", 8765)
    proc = subprocess.run(
        [sys.executable, "-m", "venom_mcp", "serve", "--transport", "http", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=30, env=server_env(home, hub_url, library_url),
    )
    assert proc.returncode == 2 and "VENOM_HTTP_TOKEN" in proc.stderr and proc.stdout == ""


def test_cli_call_prints_json_and_reports_errors(home: Path, hub_url: str, library_url: str) -> None:
    env = server_env(home, hub_url, library_url)
    ok = subprocess.run(
        [sys.executable, "-m", "venom_mcp", "call", "trending_models", "provider=huggingface", "limit=3"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["provider"] == "huggingface" and result["count"] == 3 and result["stale"] is False
    via_json = subprocess.run(
        [sys.executable, "-m", "venom_mcp", "call", "list_models", "--json", '{"provider": "ollama", "limit": 2}'],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert via_json.returncode == 0 and json.loads(via_json.stdout)["count"] == 2
    bad = subprocess.run(
        [sys.executable, "-m", "venom_mcp", "call", "trending_models", "provider=nope"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert bad.returncode == 1 and "huggingface" in bad.stderr and bad.stdout == ""
    listing = subprocess.run([sys.executable, "-m", "venom_mcp", "tools"], capture_output=True, text=True,
                             timeout=60, env=env)
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) >= 11
    assert all(line.split()[0].isidentifier() for line in listing.stdout.splitlines())


def test_stdio_from_a_file_is_served_too(home: Path, hub_url: str, library_url: str, tmp_path: Path) -> None:
    # A regular file on stdin is not a pipe: our transport reads it in a worker thread, with the same result.
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(m) + "\n" for m in [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
    ]))
    with requests.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "venom_mcp", "serve"], stdin=stdin, capture_output=True,
                              timeout=30, env=server_env(home, hub_url, library_url))
    # (At end of file the SDK transport stops reading, so only the first request is certain to be answered.)
    replies = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0 and [r["id"] for r in replies] == [1]
    assert replies[0]["result"]["serverInfo"]["name"] == "venom-mcp"


async def test_one_mcp_session_ending_does_not_close_the_app(home: Path, hub_url: str, library_url: str,
                                                              ollama_url: str) -> None:
    # FastMCP enters the server lifespan once per streamable-HTTP session; the App must outlive each of them.
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url))
    with http_served(app) as server:
        for query in ("llama", "qwen", "gemma"):  # uncached searches: each one needs the App's HTTP client
            async with streamable_http_client(f"{server.url}/mcp") as (read, write, _), \
                    ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("list_models", {"provider": "ollama", "query": query, "limit": 1})
                assert result.structuredContent is not None
                assert result.structuredContent["error"] is None, result.structuredContent["error"]
                assert result.structuredContent["stale"] is False
    assert app.http.is_closed, "the server's own shutdown closes the App"
