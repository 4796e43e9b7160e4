"""`GET /api/v1/alerts/events`: the alerts as Server-Sent Events, for the dashboard.

Like the operation event stream it reads the `alerts` tool (every EVENT_POLL_SECONDS): first `event: alerts` with
`{active, recent, count}`, then for each alert that changes `event: raised`, `changed` (its level) or `cleared`,
with the Alert as JSON. Comment lines keep the connection alive; the stream ends when the client leaves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..services.alerts import HISTORY
from .rest import EVENT_POLL_SECONDS, ApiError, RestApi, failure

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

PATH = "/api/v1/alerts/events"
Alerts = dict[str, dict[str, Any]]  # alert_id -> the Alert as JSON


def _by_id(result: dict[str, Any]) -> Alerts:
    return {a["alert_id"]: a for a in [*result["recent"], *result["active"]]}


def changes(before: Alerts, now: Alerts) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, alert) for each alert that is new, cleared or of another level since `before`, oldest first."""
    for alert_id, alert in sorted(now.items(), key=lambda item: str(item[1]["raised_at"])):
        seen = before.get(alert_id)
        if seen is None:
            yield "raised", alert
            if alert["cleared_at"]:  # raised and cleared between two looks
                yield "cleared", alert
        elif alert["cleared_at"] and not seen["cleared_at"]:
            yield "cleared", alert
        elif not alert["cleared_at"] and alert["level"] != seen["level"]:
            yield "changed", alert


def alert_events(api: RestApi) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        from sse_starlette import EventSourceResponse

        arguments = {"limit": HISTORY}
        try:
            first = await api.call("alerts", arguments)
        except ApiError as exc:
            return failure(exc.status, exc.message)

        async def events() -> AsyncIterator[dict[str, str]]:
            yield {"event": "alerts", "data": json.dumps(first)}
            known = _by_id(first)
            while True:
                await asyncio.sleep(EVENT_POLL_SECONDS)
                try:
                    current = _by_id(await api.call("alerts", arguments))
                except ApiError:
                    return
                for event, alert in changes(known, current):
                    yield {"event": event, "data": json.dumps(alert)}
                known = current

        return EventSourceResponse(events(), ping=15)

    return handler
