"""The `/models` dashboard: a server-rendered page whose sections are HTML fragments rendered from the same tool
calls as the REST API, and a small script (static/dashboard.js) that loads them, runs the actions through the
REST API and follows operations over its event stream. No front-end build step."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..records import ACTIVE_STATUSES
from .rest import ApiError, RestApi

if TYPE_CHECKING:
    import jinja2
    from starlette.requests import Request
    from starlette.responses import Response

# The page loads nothing from elsewhere and runs no inline script: what the CSP below enforces.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
STATIC = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
TITLES = {"huggingface": "Hugging Face Hub", "ollama": "Ollama library"}
NEWS_TITLES = {"blog": "Hugging Face blog", "papers": "Daily papers"}


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.hour == moment.minute == moment.second == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.utcoffset() is not None else "")


def _gb(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} MB" if value < 1 else f"{value:.1f} GB"


def _count(value: int | None) -> str:
    if value is None:
        return "—"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return str(value)


def _size(value: int) -> str:
    for limit, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= limit:
            return f"{value / limit:.1f} {unit}"
    return f"{value} B"


def _numbers(op: dict[str, Any]) -> str:
    text = f"{int(op['progress'])} %"  # floored: 100 only when done
    if op.get("bytes_total"):
        text += f" · {_size(op.get('bytes_done') or 0)} of {_size(op['bytes_total'])}"
    return text


class Dashboard:
    def __init__(self, api: RestApi) -> None:
        self._api = api

    @cached_property
    def _templates(self) -> jinja2.Environment:
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.PackageLoader("venom_mcp.web", "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
        )
        env.filters.update(when=_when, gb=_gb, count=_count, numbers=_numbers)
        return env

    def _html(self, template: str, status: int = 200, **values: Any) -> Response:
        from starlette.responses import HTMLResponse

        html = self._templates.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status, headers={**HEADERS, "Cache-Control": "no-store"})

    async def page(self, _: Request) -> Response:
        return self._html("page.html", version=__version__)

    async def static(self, request: Request) -> Response:
        from starlette.exceptions import HTTPException
        from starlette.responses import Response

        name = request.path_params["name"]
        if name not in STATIC:
            raise HTTPException(404)  # answered as JSON, like any unknown path
        body = resources.files("venom_mcp.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={**HEADERS, "Cache-Control": "no-cache"})

    async def fragment(self, request: Request) -> Response:
        """One section as HTML; a failure is rendered into the section with the status it deserves."""
        section = request.path_params["section"]
        query = request.query_params
        provider = query.get("provider", "huggingface")
        kind = query.get("type", "blog")
        # The Refresh button asks the source again; a plain load (or the periodic one) reads the cache.
        fresh = {"refresh": True} if query.get("refresh") == "true" else {}
        views: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
            "runtime": ("runtime.html", "runtime_status", {}, {}),
            "trending": ("catalog.html", "trending_models", {"provider": provider, "limit": 8, **fresh},
                         {"title": f"{TITLES.get(provider, provider)} trending", "query": None}),
            "catalog": ("catalog.html", "list_models",
                        {"provider": provider, "query": query.get("query") or None, "limit": 20, **fresh},
                        {"title": TITLES.get(provider, provider), "query": query.get("query")}),
            "installed": ("installed.html", "installed_models", {}, {}),
            "operations": ("operations.html", "list_operations", {"limit": 10}, {"live": ACTIVE_STATUSES}),
            "news": ("news.html", "model_news",
                     {"kind": kind, "limit": 6, "lang": query.get("lang") or None, **fresh},
                     {"title": NEWS_TITLES.get(kind, kind)}),
        }
        if section not in views:
            return self._html("runtime.html", 404, error=f"no section {section!r}")
        template, tool, arguments, values = views[section]
        values.setdefault("title", section)
        try:
            result = await self._api.call(tool, arguments)
        except ApiError as exc:
            return self._html(template, exc.status, error=exc.message, result=None, **values)
        if section == "installed":
            values["usage"] = await self._usage()
        return self._html(template, error=None, result=result, **values)

    async def _usage(self) -> str:
        try:
            usage = await self._api.call("resource_usage", {})
        except ApiError:
            return ""
        used, limit, percent = usage["disk_usage_gb"], usage["disk_limit_gb"], usage["disk_usage_percent"]
        return f"disk {_gb(used)} of {limit:g} GB ({percent:.1f} %)"
