"""The MCP sessions connected to one server, for messages that answer no request: each alert as a log notification,
`notifications/resources/updated` to the sessions subscribed to a resource, `list_changed` to all; and what each
session asked for (its log level, its subscriptions).

A session is known from its first request that reaches the server's handlers (tools/list, tools/call, resources,
prompts, subscribe, setLevel: what every client sends after `initialize`), through FastMCP's public request
context. Sessions are held weakly, with their level and subscriptions: one that ended is dropped by the garbage
collector, or at the first message it cannot take, and is forgotten with all it asked for."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.fastmcp import Context, FastMCP
    from mcp.server.session import ServerSession
    from mcp.types import LoggingLevel

    from .records import Alert

log = logging.getLogger(__name__)

ALERT_LOGGER = "venom-mcp.alerts"
SEND_SECONDS = 5.0  # a client that does not take a message in this time misses it
# RFC 5424 severities, as MCP's logging/setLevel names them: a session set to one gets it and everything above.
LEVELS: dict[str, int] = {name: rank for rank, name in enumerate(
    ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"))}


class Sessions:
    def __init__(self) -> None:
        self._sessions: weakref.WeakSet[ServerSession] = weakref.WeakSet()
        self._levels: weakref.WeakKeyDictionary[ServerSession, int] = weakref.WeakKeyDictionary()
        self._subscriptions: weakref.WeakKeyDictionary[ServerSession, set[str]] = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        return len(self._sessions)

    def remember(self, server: FastMCP[Any]) -> ServerSession | None:
        """Keep the session of the request being handled (none outside a request, e.g. the /health route)."""
        try:
            session: ServerSession = server.get_context().session
        except (ValueError, LookupError):
            return None
        self._sessions.add(session)
        return session

    # ---- what a session asked for --------------------------------------------------------------------

    def set_level(self, server: FastMCP[Any], level: LoggingLevel) -> None:
        """logging/setLevel: the requesting session gets log messages of `level` and above from now on."""
        if (session := self.remember(server)) is not None:
            self._levels[session] = LEVELS[level]

    def wants(self, session: ServerSession, level: LoggingLevel) -> bool:
        """Whether a log message of `level` goes to `session` (all do until it sets a level)."""
        return LEVELS[level] >= self._levels.get(session, 0)

    def subscribe(self, server: FastMCP[Any], uri: str) -> None:
        if (session := self.remember(server)) is not None:
            self._subscriptions.setdefault(session, set()).add(uri)

    def unsubscribe(self, server: FastMCP[Any], uri: str) -> None:
        if (session := self.remember(server)) is not None:
            self._subscriptions.get(session, set()).discard(uri)

    def watched(self, uri: str) -> bool:
        """Whether any session is subscribed to `uri` (nothing to send otherwise)."""
        return any(uri in uris for uris in list(self._subscriptions.values()))

    def client_log(self, ctx: Context[Any, Any, Any]) -> ClientLog:
        """The log of one tool call's client, at the level its session asked for (observability.tool_context)."""
        return ClientLog(self, ctx)

    # ---- messages that answer no request -------------------------------------------------------------

    async def alert(self, event: str, alert: Alert) -> None:
        """An alert to every session: level `warning` when raised or made critical, `info` when cleared or eased."""
        louder = event == "raised" or (event == "changed" and alert.level == "critical")
        level: LoggingLevel = "warning" if louder else "info"
        data = {"event": event, "message": alert.message, "alert": alert.model_dump(mode="json")}
        for session in list(self._sessions):
            if self.wants(session, level):
                await self._send(session, lambda s: s.send_log_message(level, data, logger=ALERT_LOGGER))

    async def updated(self, uri: str) -> None:
        """notifications/resources/updated to each session subscribed to `uri`."""
        from pydantic import AnyUrl

        url = AnyUrl(uri)
        for session, uris in list(self._subscriptions.items()):
            if uri in uris:
                await self._send(session, lambda s: s.send_resource_updated(url))

    async def list_changed(self) -> None:
        """notifications/resources/list_changed to every session."""
        for session in list(self._sessions):
            await self._send(session, lambda s: s.send_resource_list_changed())

    async def _send(self, session: ServerSession, message: Callable[[ServerSession], Awaitable[None]]) -> None:
        try:
            await asyncio.wait_for(message(session), SEND_SECONDS)
        except Exception as exc:  # closed or stuck: it is forgotten, with its level and subscriptions
            log.debug("an MCP session missed a message and is forgotten: %s", exc)
            self._sessions.discard(session)
            self._levels.pop(session, None)
            self._subscriptions.pop(session, None)


class ClientLog:
    """What observability's ClientLogHandler calls: Context.log, unless the session asked for less."""

    def __init__(self, sessions: Sessions, ctx: Context[Any, Any, Any]) -> None:
        self._sessions = sessions
        self._ctx = ctx

    async def log(self, level: LoggingLevel, message: str, *, logger_name: str | None = None) -> None:
        if self._sessions.wants(self._ctx.session, level):
            await self._ctx.log(level, message, logger_name=logger_name)  # type: ignore[arg-type]
