"""FastMCP wiring: registers the tool catalog; serves stdio or streamable HTTP (auth, host checks, /health)."""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import re
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.fastmcp import FastMCP
from mcp.shared.exceptions import McpError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, ErrorData, GetPromptResult, ToolAnnotations

from . import __version__
from .app import App
from .errors import ConfigError, NotFound
from .sessions import Sessions
from .tools import ToolCatalog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from mcp.server.lowlevel.helper_types import ReadResourceContents
    from mcp.server.transport_security import TransportSecuritySettings
    from mcp.types import Prompt, Resource, ResourceTemplate, Tool
    from pydantic import AnyUrl
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

INSTRUCTIONS = """\
venom-mcp manages language models on this machine and in the cloud, and answers through the active one.
- Find models: list_models (search the Hugging Face Hub or the Ollama library), trending_models, and AI news with
  model_news (Hub blog posts or papers of a month, optionally translated).
- Install and remove: install_model (returns an operation; wait=true waits and reports progress), operation_status,
  list_operations, cancel_operation, remove_model, installed_models.
- Before installing or activating: check_fit says whether a model fits in the free VRAM/RAM (gpu, gpu_partial, cpu,
  no) from its metadata alone; install_model and activate_model refuse a "no" unless force=true.
- Run: activate_model (start or switch a runtime and load the model), switch_runtime (also to openai or google),
  run_slash_command (/gpt, /gem, /ollama <model>, /status, /models), runtime_status, control_runtime (start, stop,
  restart ollama, vllm or llamacpp), unload_models (free memory), model_capabilities (system role, tools, vision,
  thinking, context length).
- Use the active model: chat (returns text, thinking and finish_reason) and translate (pl, en, de); model_config
  shows a model's generation parameters and stores its own defaults for them (set, reset).
- Watch: resource_usage (CPU, RAM, disk, GPU), provider_metrics (latency, errors, cost), request_history, alerts
  (RAM, VRAM, disk quota, runtime health, failed model calls; each also comes as a log notification).
- Extend: import_mcp_server turns another MCP server's tools into skills; list_imported_mcp_servers,
  remove_imported_mcp_server.
Errors say what was wrong and what to do next; nothing is changed when a call fails.
"""
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code; mcp.types has no name for it


class VenomMCP(FastMCP):
    """FastMCP that hands the low-level server a finished CallToolResult.

    The low-level server re-validates structured output with `jsonschema.validate`, which also checks the
    schema against its metaschema on every call: for a 12-row catalog that was ~20 ms of a 25 ms call. Our
    structured output is dumped from the very pydantic model the outputSchema was generated from, so that
    check can never fail, and skipping it is what keeps a cached call within a few ms.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = Sessions()  # the clients connected, as they call in: alerts go to each of them

    # Every request handler notes its session first (FastMCP's public request context).

    async def list_tools(self) -> list[Tool]:
        self.sessions.remember(self)
        return await super().list_tools()

    async def list_resources(self) -> list[Resource]:
        self.sessions.remember(self)
        return await super().list_resources()

    async def list_resource_templates(self) -> list[ResourceTemplate]:
        self.sessions.remember(self)
        return await super().list_resource_templates()

    async def list_prompts(self) -> list[Prompt]:
        self.sessions.remember(self)
        return await super().list_prompts()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        from .observability import span, tool_context

        self.sessions.remember(self)
        token = tool_context.set(self.get_context())  # warnings logged during the call reach its client
        try:
            with span(f"mcp.tool {name}", **{"mcp.tool": name}):
                result: Any = await super().call_tool(name, arguments)
        finally:
            tool_context.reset(token)
        if isinstance(result, tuple) and len(result) == 2:  # (content blocks, structured dict)
            return CallToolResult(content=list(result[0]), structuredContent=result[1], isError=False)
        return result

    # FastMCP raises plain exceptions for an unknown resource or prompt, which the low-level server answers with
    # code 0. These answer the MCP specification's codes instead: -32002 for a resource that does not exist,
    # -32602 for an unknown prompt or a missing argument, -32603 when a known one fails.

    async def read_resource(self, uri: AnyUrl | str) -> Iterable[ReadResourceContents]:
        self.sessions.remember(self)
        try:
            return await super().read_resource(uri)
        except McpError:
            raise
        except Exception as exc:
            if _caused_by(exc, NotFound) or not await self._knows_resource(str(uri)):
                raise McpError(ErrorData(code=RESOURCE_NOT_FOUND, message=f"resource not found: {str(uri)[:200]}; "
                                         "resources/list and resources/templates/list name them")) from exc
            raise McpError(ErrorData(code=INTERNAL_ERROR, message=f"reading {str(uri)[:200]} failed: {exc}")) from exc

    async def _knows_resource(self, uri: str) -> bool:
        if any(str(resource.uri) == uri for resource in await self.list_resources()):
            return True
        for template in await self.list_resource_templates():
            parts = re.split(r"\{[^}]*\}", template.uriTemplate)
            if re.fullmatch("[^/]+".join(re.escape(part) for part in parts), uri):
                return True
        return False

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> GetPromptResult:
        self.sessions.remember(self)
        prompt = next((p for p in await self.list_prompts() if p.name == name), None)
        if prompt is None:
            raise McpError(ErrorData(code=INVALID_PARAMS,
                                     message=f"unknown prompt {name[:100]!r}; prompts/list names them"))
        missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in (arguments or {})]
        if missing:
            raise McpError(ErrorData(code=INVALID_PARAMS,
                                     message=f"prompt {name!r} needs the arguments {', '.join(missing)}"))
        try:
            return await super().get_prompt(name, arguments)
        except McpError:
            raise
        except Exception as exc:
            raise McpError(ErrorData(code=INTERNAL_ERROR, message=str(exc))) from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Is `kind` anywhere in the chain of causes (FastMCP wraps a resource function's error in its own)?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
    app.alerts.listen(server.sessions.alert)  # each alert, raised or cleared, to every connected client
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
    from .prompts import register as register_prompts

    register_prompts(server, app)  # the slash commands as MCP prompts, and completions of model names
    from .mcp_resources import register as register_resources

    register_resources(server, app)  # venom://models/installed, venom://runtime/status, operations, capabilities

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
            from .web.guard import refusal_body

            body = refusal_body(scope.get("path", ""), 401,
                                "unauthorized: send Authorization: Bearer <VENOM_HTTP_TOKEN>")
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
    """The MCP endpoint's DNS-rebinding rules (Host and Origin checks, FastMCP's when bound to a loopback address)
    for every route, answered as JSON: the REST API's error shape, a JSON-RPC error on /mcp (whose transport checks
    them again, with the same settings, but answers in plain text)."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        from mcp.server.transport_security import TransportSecurityMiddleware

        self._app = app
        self._check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from starlette.requests import Request

            from .web.guard import refuse

            request = Request(scope)
            refused = await self._check.validate_request(request)
            if refused is not None:
                if refused.status_code == 421:
                    message = (f"the Host header {request.headers.get('host', '')[:100]!r} is not this server's: "
                               "a loopback bind answers only to its loopback names (DNS-rebinding protection); "
                               "use http://127.0.0.1:<port> or http://localhost:<port>")
                else:
                    message = (f"requests from pages at {request.headers.get('origin', '')[:100]!r} are refused "
                               "(DNS-rebinding and cross-site protection); open the dashboard from this server's "
                               "own address")
                await refuse(scope, send, refused.status_code, message)
                return
        await self._app(scope, receive, send)


def http_app(app: App, host: str, port: int) -> Any:
    """The ASGI app of `serve --transport http`: MCP at /mcp, the REST API, /openapi.json and the /models dashboard.

    Refuses an exposed bind without a token. In front of the routes, outermost first: the bearer token, the Host
    and Origin checks, the body guard (Content-Type, size, JSON limits); every refusal is JSON."""
    from .web import PUBLIC_PATHS, json_errors, mount
    from .web.gateway import mount as mount_gateway
    from .web.guard import BodyGuard

    token = app.settings.http_token.get_secret_value() if app.settings.http_token else ""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to serve HTTP on {host} without a token: set VENOM_HTTP_TOKEN to a long random "
            "secret (clients then send 'Authorization: Bearer <token>'), or bind --host 127.0.0.1"
        )
    server = build_server(app, host, port)
    mount(server)
    mount_gateway(server, app)
    asgi: Any = server.streamable_http_app()
    json_errors(asgi)
    sessions = asgi.router.lifespan_context

    @asynccontextmanager
    async def lifespan(starlette_app: Any) -> AsyncIterator[None]:
        async with sessions(starlette_app):
            app.alerts.start()  # stopped by app.aclose()
            try:
                yield
            finally:
                await app.aclose()

    asgi.router.lifespan_context = lifespan
    asgi = BodyGuard(asgi)
    if server.settings.transport_security is not None:
        asgi = HostGuard(asgi, server.settings.transport_security)
    return BearerAuth(asgi, token, PUBLIC_PATHS) if token else asgi


def serve_stdio(app: App) -> None:
    import anyio

    from .stdio import run_stdio

    async def main() -> None:
        try:
            server = build_server(app)
            app.alerts.start()  # stopped by app.aclose()
            await run_stdio(server)
        finally:
            await app.aclose()

    anyio.run(main)


def serve_http(app: App, host: str, port: int) -> None:
    import uvicorn

    asgi = http_app(app, host, port)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", lifespan="on")
