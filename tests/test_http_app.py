"""`serve --transport http` as our own Starlette application: FastMCP's MCP app at exactly /mcp beside the REST API,
the dashboard and the gateway, and one lifespan that runs the MCP session manager, the alert watcher and, at the
end, closes the App."""

from __future__ import annotations

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import http_served
from venom_mcp.app import App
from venom_mcp.tools import ToolCatalog

JSON_RPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


async def test_one_lifespan_runs_mcp_and_the_alerts_then_closes_the_app(app: App) -> None:
    with http_served(app) as server:
        assert app.alerts.running, "the lifespan starts the alert watcher"
        async with streamable_http_client(f"{server.url}/mcp") as (read, write, _), \
                ClientSession(read, write) as session:  # the session manager runs: MCP answers at /mcp
            await session.initialize()
            listed = (await session.list_tools()).tools
        async with httpx.AsyncClient(base_url=server.url) as plain:
            health = (await plain.get("/health")).json()
            assert health["tools"] == len(listed) == len(ToolCatalog(app).infos())
            models = await plain.get("/api/v1/models")  # the REST API beside it, over the same catalog
            assert models.status_code == 200 and models.json()["success"] is True
    assert not app.alerts.running and app.http.is_closed, "the end of the lifespan closes the App"


async def test_mcp_is_served_at_exactly_mcp_and_never_redirects(app: App) -> None:
    with http_served(app) as server, httpx.Client(base_url=server.url, follow_redirects=False) as plain:
        for method in ("GET", "POST", "DELETE"):
            # A trailing '/' is an unknown path, answered in JSON: no bodiless 307 that a client would have to follow
            # (and that would drop a POST's body on the way).
            response = plain.request(method, "/mcp/", json=PING if method == "POST" else None, headers=JSON_RPC)
            assert response.status_code == 404 and response.json()["success"] is False, (method, response.text)
            assert "/mcp is the MCP endpoint" in response.json()["error"]
        answered = plain.post("/mcp", json=PING, headers=JSON_RPC)  # MCP's own answer: a session is needed first
        assert answered.status_code == 400 and answered.json()["error"]["message"] == "Bad Request: Missing session ID"
