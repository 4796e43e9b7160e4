"""`GET /api/v1/system/events`: the dashboard's live state as Server-Sent Events, so that the page shows the real
state of the machine and the runtimes without polling them itself.

One stream, one task (the response's own generator): every LIVE_SECONDS it reads the `runtime_status` and
`resource_usage` tools and `list_operations`, and sends what changed since the last look:

- `event: runtime`: the runtime_status record (`active`, `servers`, every field a server reports, e.g. the `ray`
  cluster's `replicas` and `nodes`) plus `operations`: the installs and activations still running, so that the page
  can hold a runtime's buttons while one of them works on it;
- `event: usage`: the Usage record (CPU, RAM, VRAM, the models' disk quota).

Both are sent once at the start. Comment lines keep the connection alive; when the client goes, the response
cancels the generator, and the stream ends (OPEN counts the streams in flight)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..records import ACTIVE_STATUSES
from .rest import ApiError, RestApi, failure

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

PATH = "/api/v1/system/events"
LIVE_SECONDS = 2.0  # runtime_status costs ~50 ms of CPU (a probe per server); every 2 s is live enough
OPERATIONS_LOOKED_AT = 50


class _Open:
    """How many streams are in flight: a stream that outlived its client would show here."""

    def __init__(self) -> None:
        self.count = 0


OPEN = _Open()


async def snapshot(api: RestApi) -> tuple[dict[str, Any], dict[str, Any]]:
    """(runtime record, usage) as the stream sends them."""
    status, usage, operations = await asyncio.gather(
        api.call("runtime_status", {}), api.call("resource_usage", {}),
        api.call("list_operations", {"limit": OPERATIONS_LOOKED_AT}))
    running = [op for op in operations["operations"] if op["status"] in ACTIVE_STATUSES]
    return {**status, "operations": running}, usage


def system_events(api: RestApi) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        from sse_starlette import EventSourceResponse

        try:
            first = await snapshot(api)
        except ApiError as exc:
            return failure(exc.status, exc.message)

        async def events() -> AsyncIterator[dict[str, str]]:
            OPEN.count += 1
            try:
                sent: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)
                current = first
                while True:
                    for name, now, before in (("runtime", current[0], sent[0]), ("usage", current[1], sent[1])):
                        if now != before:
                            yield {"event": name, "data": json.dumps(now)}
                    sent = current
                    await asyncio.sleep(LIVE_SECONDS)
                    try:
                        current = await snapshot(api)
                    except ApiError:
                        continue  # a failed look changes nothing on the page; the next one may succeed
            finally:
                OPEN.count -= 1

        return EventSourceResponse(events(), ping=15)

    return handler
