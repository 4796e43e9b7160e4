"""The web face of `serve --transport http`: the REST API of the original design, its OpenAPI document and the
`/models` dashboard, all over the same tool catalog as the MCP server (its public API: `infos`, `call`). The routes
go into our own Starlette application, beside the MCP app at /mcp (server.py `http_app`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dashboard_routes import PUBLIC_PATHS as DASHBOARD_PUBLIC
from .dashboard_routes import routes as dashboard_routes

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

    from ..tools import ToolCatalog

# What a browser may load without the token: the page shell, its files and the README (they hold no data).
PUBLIC_PATHS = ("/health", *DASHBOARD_PUBLIC)


# A model name in a path: at most three '/'-separated parts (`hf.co/org/repo:Q4_K_M`) of the name characters, and
# never one of the API's own sub-paths, so `DELETE /api/v1/models/{name}` (the original design's alias) does not
# swallow `/api/v1/models/operations/...` or turn an unknown GET path into a 405.
MODEL_IN_PATH = r"(?!operations/|registry/)[A-Za-z0-9_.:-]+(?:/[A-Za-z0-9_.:-]+){0,2}"


def _register_model_convertor() -> None:
    from starlette.convertors import CONVERTOR_TYPES, Convertor, register_url_convertor

    class ModelName(Convertor[str]):
        regex = MODEL_IN_PATH

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    if "model" not in CONVERTOR_TYPES:
        register_url_convertor("model", ModelName())


def routes(catalog: ToolCatalog) -> list[BaseRoute]:
    """/health, the REST routes, /openapi.json and the dashboard, over the catalog."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from .. import __version__
    from .alert_events import PATH as ALERT_EVENTS
    from .alert_events import alert_events
    from .dashboard import Dashboard
    from .openapi import document
    from .rest import ROUTES, Endpoint, RestApi

    api = RestApi(catalog)
    dashboard = Dashboard(api)
    table: list[BaseRoute] = []

    def add(path: str, methods: list[str], name: str, handler: Callable[[Request], Awaitable[Response]]) -> None:
        table.append(Route(path, handler, methods=methods, name=name))

    def bind(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            return await api.handle(endpoint, request)

        return handler

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__, "tools": len(catalog.infos())})

    async def openapi(_: Request) -> Response:
        return JSONResponse(document({tool.name: tool for tool in catalog.infos()}))

    add("/health", ["GET"], "health", health)
    # The `model` convertor lets a model name keep its '/' (sent as %2F, which the server decodes before routing).
    _register_model_convertor()
    for endpoint in ROUTES:
        add(endpoint.path.replace("{model_name}", "{model_name:model}"), [endpoint.method], endpoint.name,
            bind(endpoint))
    add("/api/v1/models", ["GET"], "models", api.models)
    add("/api/v1/models/operations/{operation_id}/events", ["GET"], "operation_events", api.operation_events)
    add(ALERT_EVENTS, ["GET"], "alert_events", alert_events(api))
    add("/openapi.json", ["GET"], "openapi", openapi)
    add("/models", ["GET"], "dashboard", dashboard.page)
    add("/models/static/{name}", ["GET"], "dashboard_static", dashboard.static)
    add("/models/fragments/{section}", ["GET"], "dashboard_fragment", dashboard.fragment)
    for path, methods, name, handler in dashboard_routes(api):  # the live system stream, the README page
        add(path, methods, name, handler)
    return table


def json_errors(asgi: Starlette) -> None:
    """Unknown paths, wrong methods and unexpected failures answer JSON in the API's error shape, like every other
    answer (the Host/Origin checks and the body guard in front of the routes answer JSON too: see guard.py)."""
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response

    from .guard import is_gateway, refusal_body

    # A path with a trailing '/' would get a bodiless 307 to the path without it; it is an unknown path instead.
    asgi.router.redirect_slashes = False

    async def refuse(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # Starlette hands status-code handlers its HTTPException
        allow = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), None)
        where = f"{request.method} {request.url.path}"
        message = (f"{where}: method not allowed; this path takes {allow}" if exc.status_code == 405 and allow else
                   f"no route {where}: /openapi.json lists the REST API, /mcp is the MCP endpoint"
                   + (", /v1/models and /v1/chat/completions the OpenAI-compatible gateway"
                      if is_gateway(request.url.path) else ""))
        return Response(refusal_body(request.url.path, exc.status_code, message), status_code=exc.status_code,
                        headers={"allow": allow} if allow else None, media_type="application/json")

    async def failed(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception with its traceback after this answer; the client gets no trace of it.
        message = f"internal error in {request.method} {request.url.path}; the server log has the details"
        return Response(refusal_body(request.url.path, 500, message), status_code=500, media_type="application/json")

    asgi.add_exception_handler(404, refuse)
    asgi.add_exception_handler(405, refuse)
    asgi.add_exception_handler(500, failed)
