"""The MCP features FastMCP 1.x has no public method for: resources/subscribe and unsubscribe, logging/setLevel and
tasks. They are registered on FastMCP's low-level server with its public decorators; the server itself is reached
through `VenomMCP.lowlevel` (FastMCP's public `session_manager`, see there).

The low-level server declares `resources.subscribe: false` whatever handlers it has, and `listChanged` only when
the code that runs it passes NotificationOptions (the stdio transport, the session manager and the SDK's in-memory
client pass none). So its public `get_capabilities` is wrapped, once, to declare both; `logging` and `tasks` it
declares itself once their handlers are registered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.shared.exceptions import McpError
from mcp.types import ErrorData, ResourcesCapability, ServerCapabilities

if TYPE_CHECKING:
    from mcp.server.lowlevel import NotificationOptions, Server
    from mcp.types import LoggingLevel
    from pydantic import AnyUrl

    from .mcp_subscriptions import ResourceEvents
    from .server import VenomMCP

RESOURCE_NOT_FOUND = -32002  # the MCP specification's code; mcp.types has no name for it


def register(server: VenomMCP, events: ResourceEvents) -> None:
    lowlevel = server.lowlevel

    async def subscribe(uri: AnyUrl) -> None:
        if not await server.knows_resource(str(uri)):
            raise McpError(ErrorData(code=RESOURCE_NOT_FOUND, message=f"resource not found: {str(uri)[:200]}; "
                                     "resources/list and resources/templates/list name them"))
        events.watch()
        server.sessions.subscribe(server, str(uri))

    async def unsubscribe(uri: AnyUrl) -> None:
        server.sessions.unsubscribe(server, str(uri))

    async def set_level(level: LoggingLevel) -> None:
        server.sessions.set_level(server, level)

    # The low-level decorators are untyped in the SDK.
    lowlevel.subscribe_resource()(subscribe)  # type: ignore[no-untyped-call]
    lowlevel.unsubscribe_resource()(unsubscribe)  # type: ignore[no-untyped-call]
    lowlevel.set_logging_level()(set_level)  # type: ignore[no-untyped-call]
    _declare_subscriptions(lowlevel)


def _declare_subscriptions(lowlevel: Server[Any, Any]) -> None:
    declared = lowlevel.get_capabilities

    def get_capabilities(options: NotificationOptions, experimental: dict[str, dict[str, Any]]) -> ServerCapabilities:
        capabilities = declared(options, experimental)
        if capabilities.resources is not None:
            capabilities.resources = ResourcesCapability(subscribe=True, listChanged=True)
        return capabilities

    lowlevel.get_capabilities = get_capabilities  # type: ignore[method-assign, assignment]


__all__ = ["RESOURCE_NOT_FOUND", "register"]
