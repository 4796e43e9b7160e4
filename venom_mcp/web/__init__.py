"""The web face of `serve --transport http`: the REST API of the original design, its OpenAPI document and the
`/models` dashboard, all over the same tool catalog as the MCP server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from mcp.server.fastmcp import FastMCP
    from starlette.applications import Starlette

# What a browser may load without the token: the page shell and its two files (they hold no data).
PUBLIC_PATHS = ("/health", "/models", "/models/static/dashboard.js", "/models/static/dashboard.css")


def mount(server: FastMCP) -> None:
    """Add the REST routes, /openapi.json and the dashboard to the server's HTTP app."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    from .dashboard import Dashboard
    from .openapi import document
    from .rest import ROUTES, Endpoint, RestApi

    api = RestApi(server)
    dashboard = Dashboard(api)

    def bind(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            return await api.handle(endpoint, request)

        return handler

    # The path convertor lets a model name keep its '/' (sent as %2F, which the server decodes before routing).
    for endpoint in ROUTES:
        path = endpoint.path.replace("{model_name}", "{model_name:path}")
        server.custom_route(path, [endpoint.method], name=endpoint.name)(bind(endpoint))
    server.custom_route("/api/v1/models", ["GET"], name="models")(api.models)
    server.custom_route("/api/v1/models/operations/{operation_id}/events", ["GET"],
                        name="operation_events")(api.operation_events)

    async def openapi(_: Request) -> Response:
        return JSONResponse(document({tool.name: tool for tool in server._tool_manager.list_tools()}))

    server.custom_route("/openapi.json", ["GET"], name="openapi")(openapi)
    server.custom_route("/models", ["GET"], name="dashboard")(dashboard.page)
    server.custom_route("/models/static/{name}", ["GET"], name="dashboard_static")(dashboard.static)
    server.custom_route("/models/fragments/{section}", ["GET"], name="dashboard_fragment")(dashboard.fragment)


def json_errors(asgi: Starlette) -> None:
    """Unknown paths and wrong methods answer JSON in the API's error shape, like every other answer."""
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    async def refuse(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # Starlette hands status-code handlers its HTTPException
        allow = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), None)
        where = f"{request.method} {request.url.path}"
        message = (f"{where}: method not allowed; this path takes {allow}" if exc.status_code == 405 and allow else
                   f"no route {where}: /openapi.json lists the REST API, /mcp is the MCP endpoint")
        return JSONResponse({"success": False, "error": message}, status_code=exc.status_code,
                            headers={"allow": allow} if allow else None)

    asgi.add_exception_handler(404, refuse)
    asgi.add_exception_handler(405, refuse)
