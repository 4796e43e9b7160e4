"""FastMCP wiring: registers the tool catalog; serves stdio or streamable HTTP (auth, host checks, /health)."""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult, ToolAnnotations

from . import __version__
from .app import App
from .errors import ConfigError
from .tools import ToolCatalog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

INSTRUCTIONS = """\
venom-mcp manages language models on this machine and in the cloud, and answers through the active one.
- Find models: list_models (search the Hugging Face Hub or the Ollama library), trending_models, and AI news with
  model_news (Hub blog posts or papers of a month, optionally translated).
- Install and remove: install_model (returns an operation; wait=true waits and reports progress), operation_status,
  list_operations, cancel_operation, remove_model, installed_models.
- Run: activate_model (start or switch a runtime and load the model), switch_runtime (also to openai or google),
  run_slash_command (/gpt, /gem, /ollama <model>, /status, /models), runtime_status, control_runtime (start, stop,
  restart ollama, vllm or llamacpp), unload_models (free memory), model_capabilities (system role, tools, vision,
  thinking, context length).
- Use the active model: chat (returns text, thinking and finish_reason) and translate (pl, en, de).
- Watch: resource_usage (CPU, RAM, disk, GPU), provider_metrics (latency, errors, cost), request_history.
- Extend: import_mcp_server turns another MCP server's tools into skills; list_imported_mcp_servers,
  remove_imported_mcp_server.
Errors say what was wrong and what to do next; nothing is changed when a call fails.
"""


class VenomMCP(FastMCP):
    """FastMCP that hands the low-level server a finished CallToolResult.

    The low-level server re-validates structured output with `jsonschema.validate`, which also checks the
    schema against its metaschema on every call: for a 12-row catalog that was ~20 ms of a 25 ms call. Our
    structured output is dumped from the very pydantic model the outputSchema was generated from, so that
    check can never fail, and skipping it is what keeps a cached call within a few ms.
    """

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        from .observability import span, tool_context

        token = tool_context.set(self.get_context())  # warnings logged during the call reach its client
        try:
            with span(f"mcp.tool {name}", **{"mcp.tool": name}):
                result: Any = await super().call_tool(name, arguments)
        finally:
            tool_context.reset(token)
        if isinstance(result, tuple) and len(result) == 2:  # (content blocks, structured dict)
            return CallToolResult(content=list(result[0]), structuredContent=result[1], isError=False)
        return result


def build_server(app: App, host: str = "127.0.0.1", port: int = 8765) -> FastMCP:
    # FastMCP enters this once per MCP session (streamable HTTP runs one per client), so it must not close the
    # App: that is done once, when the process's transport ends (serve_stdio, http_app's lifespan, the CLI).
    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[App]:
        yield app

    # FastMCP turns on DNS-rebinding protection (Host and Origin checks) when host is a loopback name.
    server = VenomMCP(
        "venom-mcp", instructions=INSTRUCTIONS, host=host, port=port, lifespan=lifespan, log_level="WARNING"
    )
    for fn, meta in ToolCatalog(app).tools():
        server.add_tool(
            fn,
            title=meta.title,
            # Without this the source indentation of every docstring line goes to the client (tokens, noise).
            description=inspect.cleandoc(fn.__doc__ or ""),
            annotations=ToolAnnotations(
                title=meta.title,
                readOnlyHint=meta.read_only,
                destructiveHint=meta.destructive,
                idempotentHint=meta.idempotent,
                openWorldHint=meta.open_world,
            ),
        )

    @server.custom_route("/health", methods=["GET"])  # type: ignore[untyped-decorator]
    async def health(_: Request) -> Response:
        from starlette.responses import JSONResponse

        tools = await server.list_tools()
        return JSONResponse({"status": "ok", "version": __version__, "tools": len(tools)})

    return server


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """401 for any request without `Authorization: Bearer <VENOM_HTTP_TOKEN>`, except GET of `public` paths."""

    def __init__(self, app: ASGIApp, token: str, public: tuple[str, ...] = ("/health",)) -> None:
        self._app = app
        self._token = token.encode()
        self._public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._is_public(scope) and not self._authorized(scope):
            body = json.dumps({"success": False,
                               "error": "unauthorized: send Authorization: Bearer <VENOM_HTTP_TOKEN>"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="venom-mcp"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)

    def _is_public(self, scope: Scope) -> bool:
        return scope.get("method") in ("GET", "HEAD") and scope.get("path") in self._public

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, credential = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token)
        return False


class HostGuard:
    """The MCP endpoint's DNS-rebinding rules (Host and Origin checks) for every other route too: the REST API
    and the dashboard. FastMCP applies them to /mcp itself, and only when bound to a loopback address."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        from mcp.server.transport_security import TransportSecurityMiddleware

        self._app = app
        self._check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith("/mcp"):
            from starlette.requests import Request

            refused = await self._check.validate_request(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self._app(scope, receive, send)


def http_app(app: App, host: str, port: int) -> Any:
    """The ASGI app of `serve --transport http`: MCP at /mcp, the REST API, /openapi.json and the /models dashboard.

    Refuses an exposed bind without a token."""
    from .web import PUBLIC_PATHS, json_errors, mount

    token = app.settings.http_token.get_secret_value() if app.settings.http_token else ""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to serve HTTP on {host} without a token: set VENOM_HTTP_TOKEN to a long random "
            "secret (clients then send 'Authorization: Bearer <token>'), or bind --host 127.0.0.1"
        )
    server = build_server(app, host, port)
    mount(server)
    asgi: Any = server.streamable_http_app()
    json_errors(asgi)
    sessions = asgi.router.lifespan_context

    @asynccontextmanager
    async def lifespan(starlette_app: Any) -> AsyncIterator[None]:
        async with sessions(starlette_app):
            try:
                yield
            finally:
                await app.aclose()

    asgi.router.lifespan_context = lifespan
    if server.settings.transport_security is not None:
        asgi = HostGuard(asgi, server.settings.transport_security)
    return BearerAuth(asgi, token, PUBLIC_PATHS) if token else asgi


def serve_stdio(app: App) -> None:
    import anyio

    from .stdio import run_stdio

    async def main() -> None:
        try:
            await run_stdio(build_server(app))
        finally:
            await app.aclose()

    anyio.run(main)


def serve_http(app: App, host: str, port: int) -> None:
    import uvicorn

    asgi = http_app(app, host, port)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", lifespan="on")
