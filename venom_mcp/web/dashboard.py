"""The `/models` dashboard: a server-rendered page whose sections are HTML fragments rendered from the same tool
calls as the REST API, and small scripts (static/*.js, ES modules) that load them, run the actions through the
REST API and follow the live state over event streams: operations, alerts and the system's (system_events.py).
Every visible string comes from the catalogs of i18n/ in the language the page asks for. No front-end build step."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..records import ACTIVE_STATUSES
from .i18n import LANGUAGES, Translate, bundle, language, translator
from .readme import OFFLINE_ANCHOR, blocks, installed_readme
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
_JS = "text/javascript; charset=utf-8"
STATIC = {"dashboard.js": _JS, "net.js": _JS, "i18n.js": _JS, "live.js": _JS, "runtimes.js": _JS, "catalog.js": _JS,
          "dashboard.css": "text/css; charset=utf-8", "i18n.json": "application/json"}
# What a browser may load without the token: the page shell, its files and the README (they hold no data).
PUBLIC_PATHS = ("/models", "/models/readme", *(f"/models/static/{name}" for name in STATIC))
TITLES = {"huggingface": "catalog.hub", "ollama": "catalog.ollama"}
NEWS_TITLES = {"blog": "news.blog", "papers": "news.papers"}
HISTORY_LIMIT = 20


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


def _gb(value: float | None, decimal: str = ".") -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} MB" if value < 1 else f"{value:.1f} GB".replace(".", decimal)


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"


def _count(value: int | None, decimal: str = ".") -> str:
    if value is None:
        return "—"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.1f}".replace(".", decimal) + suffix
    return str(value)


def _size(value: int) -> str:
    for limit, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= limit:
            return f"{value / limit:.1f} {unit}"
    return f"{value} B"


def _numbers(op: dict[str, Any], of: str = "of") -> str:
    text = f"{int(op['progress'])} %"  # floored: 100 only when done
    if op.get("bytes_total"):
        text += f" · {_size(op.get('bytes_done') or 0)} {of} {_size(op['bytes_total'])}"
    return text


# One section of the page: its template, the tool behind it, the tool's arguments and the template's values, from
# the query of the fragment's URL.
View = tuple[str, str, dict[str, Any], dict[str, Any]]


def _view(section: str, query: Mapping[str, str], t: Translate) -> View | None:
    provider = query.get("provider", "huggingface")
    kind = query.get("type", "blog")
    # The Refresh button asks the source again; a plain load reads the cache.
    fresh = {"refresh": True} if query.get("refresh") == "true" else {}
    if section == "runtime":
        return "runtime.html", "runtime_status", {}, {}
    if section == "trending":
        return ("catalog.html", "trending_models", {"provider": provider, "limit": 8, **fresh},
                {"title": t("catalog.trending", source=t(TITLES.get(provider, provider))), "query": None})
    if section == "catalog":
        return ("catalog.html", "list_models",
                {"provider": provider, "query": query.get("query") or None, "limit": 20, **fresh},
                {"title": t(TITLES.get(provider, provider)), "query": query.get("query")})
    if section == "installed":
        return "installed.html", "installed_models", {}, {}
    if section == "operations":
        return "operations.html", "list_operations", {"limit": 10}, {"live": ACTIVE_STATUSES}
    if section == "history":
        return "history.html", "request_history", {"limit": HISTORY_LIMIT}, {}
    if section == "news":
        return ("news.html", "model_news", {"kind": kind, "limit": 6, "lang": query.get("news_lang") or None, **fresh},
                {"title": t(NEWS_TITLES.get(kind, kind))})
    return None


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
        env.filters.update(when=_when, gb=_gb, count=_count, numbers=_numbers, ms=_ms)
        return env

    def _html(self, template: str, lang: str, status: int = 200, **values: Any) -> Response:
        from starlette.responses import HTMLResponse

        t = translator(lang)
        html = self._templates.get_template(template).render(t=t, lang=lang, decimal=t("number.decimal"), **values)
        return HTMLResponse(html, status_code=status, headers={**HEADERS, "Cache-Control": "no-store"})

    async def page(self, request: Request) -> Response:
        lang = language(request.query_params.get("lang"))
        return self._html("page.html", lang, version=__version__, languages=LANGUAGES,
                          offline_help=f"/models/readme#{OFFLINE_ANCHOR}")

    async def readme(self, request: Request) -> Response:
        """The README, for the offline banner's link (readme.py)."""
        lang = language(request.query_params.get("lang"))
        text = installed_readme()
        return self._html("readme.html", lang, 200 if text else 404, blocks=blocks(text or ""))

    async def static(self, request: Request) -> Response:
        from starlette.exceptions import HTTPException
        from starlette.responses import Response

        name = request.path_params["name"]
        if name not in STATIC:
            raise HTTPException(404)  # answered as JSON, like any unknown path
        if name == "i18n.json":
            body = bundle()
        else:
            body = resources.files("venom_mcp.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={**HEADERS, "Cache-Control": "no-cache"})

    async def fragment(self, request: Request) -> Response:
        """One section as HTML; a failure is rendered into the section with the status it deserves."""
        section = request.path_params["section"]
        lang = language(request.query_params.get("lang"))
        view = _view(section, request.query_params, translator(lang))
        if view is None:
            return self._html("runtime.html", lang, 404, error=f"no section {section!r}")
        template, tool, arguments, values = view
        values.setdefault("title", section)
        try:
            result = await self._api.call(tool, arguments)
        except ApiError as exc:
            return self._html(template, lang, exc.status, error=exc.message, result=None, **values)
        if section == "installed":
            values["usage"] = await self._usage(translator(lang))
        return self._html(template, lang, error=None, result=result, **values)

    async def _usage(self, t: Translate) -> str:
        try:
            usage = await self._api.call("resource_usage", {})
        except ApiError:
            return ""
        used, limit, percent = usage["disk_usage_gb"], usage["disk_limit_gb"], usage["disk_usage_percent"]
        decimal = t("number.decimal")
        return t("installed.disk", used=_gb(used, decimal), limit=f"{limit:g}".replace(".", decimal),
                 percent=f"{percent:.1f}".replace(".", decimal))
