"""FastMCP wiring: registers the tool catalog; serves stdio or streamable HTTP (auth, host checks, /health)."""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.fastmcp import FastMCP
from mcp.shared.exceptions import McpError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, ErrorData, GetPromptResult, TextContent

from .app import App
from .errors import ConfigError, NotFound
from .records.wire_schema import lean_input
from .sessions import Sessions
from .tools import ToolCatalog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

    from mcp.server.lowlevel import Server
    from mcp.server.lowlevel.helper_types import ReadResourceContents
    from mcp.server.transport_security import TransportSecuritySettings
    from mcp.types import Prompt, Resource, ResourceTemplate, Tool
    from pydantic import AnyUrl
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .mcp_subscriptions import ResourceEvents
    from .mcp_tasks import ToolTasks

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

    It also knows its sessions (alerts, log levels, subscriptions: sessions.py), the resources that come and go,
    and runs a tools/call that carries task metadata as a task (mcp_tasks); build_server wires them.
    """

    def __init__(self, *args: Any, catalog: ToolCatalog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog  # the tools: listed from their infos, run as the catalog's FastMCP Tool objects
        self._listed: list[Tool] | None = None
        self.sessions = Sessions()  # the clients connected, as they call in: alerts go to each of them
        self.events: ResourceEvents | None = None  # resource notifications (build_server sets them up)
        self.tasks: ToolTasks | None = None  # tools/call as a task (build_server sets them up)
        self.more_resources: Callable[[], Awaitable[list[Resource]]] | None = None  # resources that come and go

    @property
    def lowlevel(self) -> Server[Any, Any]:
        """FastMCP's low-level server, reached through its public `session_manager` (made here on first use by
        `streamable_http_app()`, which builds nothing but objects): FastMCP 1.x has no other public path to it.
        The stdio transport and in-memory sessions run this same server."""
        try:
            return self.session_manager.app
        except RuntimeError:
            self.streamable_http_app()
            return self.session_manager.app

    # Every request handler notes its session first (FastMCP's public request context).

    async def list_tools(self) -> list[Tool]:
        self.sessions.remember(self)
        if self._listed is None:
            self._listed = self._tool_list()
        return list(self._listed)

    def _tool_list(self) -> list[Tool]:
        """What tools/list answers, as FastMCP's own list_tools writes it, from the catalog's infos (kept between
        runs: a new process lists its tools without building them). Every LLM reads this on every turn: no titles
        in the input schemas (the names reworded), no `anyOf` for plain nullables."""
        from mcp.types import Tool, ToolExecution

        from .mcp_tasks import TASK_TOOLS

        tools = []
        for info in self.catalog.infos():
            tool = Tool(name=info.name, title=info.title, description=info.description,
                        inputSchema=lean_input(info.input_schema), outputSchema=info.output_schema,
                        annotations=info.annotations)
            if self.tasks is not None and info.name in TASK_TOOLS:  # clients with tasks learn which run as one
                tool.execution = ToolExecution(taskSupport="optional")
            tools.append(tool)
        return tools

    async def list_resources(self) -> list[Resource]:
        self.sessions.remember(self)
        if self.events is not None:
            self.events.watch()  # from now on this client may expect list_changed
        listed = await super().list_resources()
        return listed + await self.more_resources() if self.more_resources is not None else listed

    async def list_resource_templates(self) -> list[ResourceTemplate]:
        self.sessions.remember(self)
        return await super().list_resource_templates()

    async def list_prompts(self) -> list[Prompt]:
        self.sessions.remember(self)
        return await super().list_prompts()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        self.sessions.remember(self)
        ctx = self.get_context()
        if self.tasks is not None and _is_task(ctx):
            return await self.tasks.start(ctx, name, arguments)
        return await self.call_now(name, arguments)

    async def call_now(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """The tool call itself, as a plain tools/call (no task) runs it."""
        from .observability import span, tool_context

        token = tool_context.set(self.sessions.client_log(self.get_context()))  # warnings reach the client
        try:
            with span(f"mcp.tool {name}", **{"mcp.tool": name}):
                result: Any = await self._tool(name).run(arguments, context=self.get_context(), convert_result=True)
        finally:
            tool_context.reset(token)
        if isinstance(result, tuple) and len(result) == 2:  # (content blocks, structured dict)
            return CallToolResult(content=_as_text(list(result[0]), result[1]), structuredContent=result[1],
                                  isError=False)
        return result if isinstance(result, CallToolResult) else CallToolResult(content=list(result), isError=False)

    def _tool(self, name: str) -> Any:
        """The catalog's FastMCP Tool; an unknown name is FastMCP's ToolError (an isError result naming the tools)."""
        from mcp.server.fastmcp.exceptions import ToolError

        try:
            return self.catalog.tool(name)
        except NotFound as exc:
            raise ToolError(str(exc)) from exc

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
            if _caused_by(exc, NotFound) or not await self.knows_resource(str(uri)):
                raise McpError(ErrorData(code=RESOURCE_NOT_FOUND, message=f"resource not found: {str(uri)[:200]}; "
                                         "resources/list and resources/templates/list name them")) from exc
            raise McpError(ErrorData(code=INTERNAL_ERROR, message=f"reading {str(uri)[:200]} failed: {exc}")) from exc

    async def knows_resource(self, uri: str) -> bool:
        """Whether `uri` is one of ours: a listed resource, or one a template matches."""
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


def _is_task(ctx: Any) -> bool:
    """Whether the tools/call being handled carries task metadata (none outside a request)."""
    try:
        return bool(ctx.request_context.experimental.is_task)
    except (ValueError, AttributeError):
        return False


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Is `kind` anywhere in the chain of causes (FastMCP wraps a resource function's error in its own)?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def build_server(app: App, host: str = "127.0.0.1", port: int = 8765, catalog: ToolCatalog | None = None) -> VenomMCP:
    """The MCP server over `catalog` (a new one of `app` when not given: http_app shares its own with the REST API)."""
    # FastMCP enters this once per MCP session (streamable HTTP runs one per client), so it must not close the
    # App: that is done once, when the process's transport ends (serve_stdio, http_app's lifespan, the CLI).
    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[App]:
        yield app

    catalog = catalog or ToolCatalog(app)
    # FastMCP turns on DNS-rebinding protection (Host and Origin checks) when host is a loopback name. The tools are
    # the catalog's own (tools/specs.py): what MCP serves is what the other faces call.
    server = VenomMCP("venom-mcp", instructions=INSTRUCTIONS, host=host, port=port, lifespan=lifespan,
                      log_level="WARNING", catalog=catalog)
    app.alerts.listen(server.sessions.alert)  # each alert, raised or cleared, to every connected client
    from .prompts import register as register_prompts

    register_prompts(server, app)  # the slash commands as MCP prompts, and completions of model names
    from .mcp_resources import register as register_resources

    register_resources(server, app)  # venom://models/installed, venom://runtime/status, operations, capabilities
    from .mcp_features import register as register_features
    from .mcp_resources import installed_resources
    from .mcp_subscriptions import ResourceEvents
    from .mcp_tasks import ToolTasks

    server.more_resources = lambda: installed_resources(app)  # each installed model's capabilities
    server.events = ResourceEvents(app, server.sessions)
    register_features(server, server.events)  # resources/subscribe, logging/setLevel
    server.tasks = ToolTasks(app, server, server.call_now, catalog.finished)
    server.tasks.enable(server.lowlevel)  # install_model and activate_model as tasks
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
    """The ASGI app of `serve --transport http`: our Starlette application with FastMCP's MCP app at /mcp, the REST
    API, /openapi.json, the /models dashboard and the OpenAI-compatible gateway, under one lifespan.

    Refuses an exposed bind without a token. In front of the routes, outermost first: the bearer token, the Host
    and Origin checks, the body guard (Content-Type, size, JSON limits); every refusal is JSON."""
    from contextlib import AsyncExitStack

    from starlette.applications import Starlette
    from starlette.routing import Route

    from .web import PUBLIC_PATHS, json_errors, routes
    from .web.gateway import routes as gateway_routes
    from .web.guard import BodyGuard

    token = app.settings.http_token.get_secret_value() if app.settings.http_token else ""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to serve HTTP on {host} without a token: set VENOM_HTTP_TOKEN to a long random "
            "secret (clients then send 'Authorization: Bearer <token>'), or bind --host 127.0.0.1"
        )
    catalog = ToolCatalog(app)
    server = build_server(app, host, port, catalog)
    # FastMCP's streamable HTTP app, as the SDK mounts it into an existing Starlette app: its session manager runs in
    # our lifespan. It serves exactly /mcp (its own route); a Route rather than a Mount, because a Mount at /mcp
    # answers only /mcp/..., and /mcp itself would get a bodiless redirect or a 404.
    mcp_app = server.streamable_http_app()
    json_errors(mcp_app)  # a failure inside the MCP transport answers JSON too

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(app.aclose)  # last: once the MCP sessions have ended; stops the alerts too
            await stack.enter_async_context(server.session_manager.run())
            app.alerts.start()
            yield

    asgi: Any = Starlette(routes=[Route(server.settings.streamable_http_path, mcp_app, name="mcp"),
                                  *routes(catalog), *gateway_routes(app)], lifespan=lifespan)
    json_errors(asgi)
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


def _as_text(blocks: list[Any], structured: Any) -> list[Any]:
    """The text block as the structured content's compact JSON (what MCP asks the text to be), not FastMCP's
    two-space-indented dump of it: many clients hand the text, not the structured content, to the model, which
    pays a token for each indent (a 12-row catalog: a third of its size)."""
    if len(blocks) != 1 or not isinstance(blocks[0], TextContent):
        return blocks
    return [TextContent(type="text", text=json.dumps(structured, ensure_ascii=False, separators=(",", ":")))]
