"""The SDK's ClientSession over venom-mcp's real transports (`venom-mcp serve` on stdio, streamable HTTP), with what a
client receives outside its requests collected: resource notifications, log messages, progress after a task
started. Shared by the tests of subscriptions, confirmations, tasks and logging."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.session import RequestResponder
from mcp.types import (
    ClientResult,
    LoggingMessageNotification,
    ProgressNotification,
    ResourceListChangedNotification,
    ResourceUpdatedNotification,
    ServerNotification,
    ServerRequest,
)

DEADLINE_S = 60.0  # a generous bound for a busy 2-core machine, not a measurement


@dataclass
class Received:
    """What the server sent that answered no request, in arrival order."""

    updated: list[str] = field(default_factory=list)  # resource URIs
    list_changed: int = 0
    logs: list[tuple[str, Any]] = field(default_factory=list)  # (level, data)
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def handle(self, message: RequestResponder[ServerRequest, ClientResult] | ServerNotification | Exception,
                     ) -> None:
        if not isinstance(message, ServerNotification):
            return
        match message.root:
            case ResourceUpdatedNotification(params=params):
                self.updated.append(str(params.uri))
            case ResourceListChangedNotification():
                self.list_changed += 1
            case LoggingMessageNotification(params=params):
                self.logs.append((params.level, params.data))
            case ProgressNotification(params=params):
                self.progress.append((params.progress, params.total, params.message))


async def until(condition: Callable[[], bool], what: str, seconds: float = DEADLINE_S) -> None:
    """Wait for `condition`, polling; fail with `what` at the deadline."""
    with anyio.move_on_after(seconds):
        while not condition():
            await anyio.sleep(0.02)
        return
    raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def stdio_session(env: dict[str, str], cwd: Path, received: Received | None = None,
                        **options: Any) -> AsyncIterator[ClientSession]:
    """`python -m venom_mcp serve` as an MCP client spawns it, initialized."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "venom_mcp", "serve"], env=env, cwd=cwd)
    handler = received.handle if received is not None else None
    async with stdio_client(params) as (read, write), ClientSession(read, write, message_handler=handler,
                                                                     **options) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(url: str, received: Received | None = None, **options: Any) -> AsyncIterator[ClientSession]:
    """A streamable HTTP session on `url` (…/mcp), initialized."""
    handler = received.handle if received is not None else None
    async with streamable_http_client(url) as (read, write, _), ClientSession(read, write, message_handler=handler,
                                                                              **options) as session:
        await session.initialize()
        yield session
