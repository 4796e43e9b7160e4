"""The MCP sessions connected to one server, for messages that answer no request: each alert as a log notification.

A session is known from its first request that reaches the server's handlers (tools/list, tools/call, resources,
prompts: what every client sends after `initialize`), through FastMCP's public request context. Sessions are held
weakly: one that ended is dropped by the garbage collector, or at the first message it cannot take."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP
    from mcp.server.session import ServerSession
    from mcp.types import LoggingLevel

    from .records import Alert

log = logging.getLogger(__name__)

ALERT_LOGGER = "venom-mcp.alerts"
SEND_SECONDS = 5.0  # a client that does not take a message in this time misses it


class Sessions:
    def __init__(self) -> None:
        self._sessions: weakref.WeakSet[ServerSession] = weakref.WeakSet()

    def __len__(self) -> int:
        return len(self._sessions)

    def remember(self, server: FastMCP[Any]) -> None:
        """Keep the session of the request being handled (none outside a request, e.g. the /health route)."""
        try:
            session = server.get_context().session
        except (ValueError, LookupError):
            return
        self._sessions.add(session)

    async def alert(self, event: str, alert: Alert) -> None:
        """An alert to every session: level `warning` when raised or made critical, `info` when cleared or eased."""
        louder = event == "raised" or (event == "changed" and alert.level == "critical")
        level: LoggingLevel = "warning" if louder else "info"
        data = {"event": event, "message": alert.message, "alert": alert.model_dump(mode="json")}
        for session in list(self._sessions):
            try:
                await asyncio.wait_for(session.send_log_message(level, data, logger=ALERT_LOGGER), SEND_SECONDS)
            except Exception as exc:  # closed or stuck: it is not told again
                log.debug("an MCP session missed an alert: %s", exc)
                self._sessions.discard(session)
