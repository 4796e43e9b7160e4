"""Request ids in log lines, warnings and errors of a tool call relayed to the MCP client as log
notifications, and OpenTelemetry spans where an OpenTelemetry SDK is configured (a no-op otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str] = ContextVar("venom_request_id", default="-")
tool_context: ContextVar[Any] = ContextVar("venom_tool_context", default=None)
_pending: set[asyncio.Task[None]] = set()


class RequestIdFilter(logging.Filter):
    """Puts the current LLM request id (or '-') on every record, for the `[%(request_id)s]` field."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class ClientLogHandler(logging.Handler):
    """Sends warnings and errors logged during a tool call to that call's MCP client."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        ctx = tool_context.get()
        if ctx is None or record.name.startswith("mcp"):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        level = "error" if record.levelno >= logging.ERROR else "warning"
        task = loop.create_task(_send(ctx, level, self.format(record)))
        _pending.add(task)  # keep a reference until it is sent
        task.add_done_callback(_pending.discard)


async def _send(ctx: Any, level: str, message: str) -> None:
    with contextlib.suppress(Exception):  # a client that left cannot be told; the log file still has it
        await ctx.log(level, message, logger_name="venom-mcp")


@contextlib.contextmanager
def span(name: str, **attributes: str | int | float | None) -> Iterator[None]:
    """An OpenTelemetry span; without a configured SDK the API's tracer does nothing, cheaply."""
    from opentelemetry import trace

    tracer = trace.get_tracer("venom_mcp")
    with tracer.start_as_current_span(name) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)
        yield
