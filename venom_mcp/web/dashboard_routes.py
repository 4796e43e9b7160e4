"""The dashboard's routes beyond the page, its files and its fragments: the live system stream and the README page.
Kept apart so that the app's route table (web/__init__.py) takes them in one line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .dashboard import PUBLIC_PATHS, Dashboard
from .rest import RestApi
from .system_events import PATH as SYSTEM_EVENTS
from .system_events import system_events

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

Handler = Callable[["Request"], Awaitable["Response"]]
Route = tuple[str, list[str], str, Handler]

__all__ = ["PUBLIC_PATHS", "routes"]


def routes(api: RestApi) -> list[Route]:
    """(path, methods, name, handler) of each route to add."""
    dashboard = Dashboard(api)
    return [
        (SYSTEM_EVENTS, ["GET"], "system_events", system_events(api)),
        ("/models/readme", ["GET"], "dashboard_readme", dashboard.readme),
    ]
