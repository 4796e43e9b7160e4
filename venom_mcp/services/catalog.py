"""Catalog, trending and news: cached, shared between concurrent callers, and served stale when a source fails.

Each source is fetched at its largest page (so a different `limit` does not fragment the cache) and the
answer is cut to the caller's limit. `refresh=True` asks the source now instead of the cache (at most once
per source every 10 s; see cache.py). For the Ollama library the order of fallbacks is: live page, the last
good answer, the bundled snapshot (manifests/ollama_library.json, with its capture date in the error). A
page whose layout changed (LayoutChanged) is a failure like any other: stale=true, never fresh-looking rows
without facts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import TypeAdapter

from ..adapters.huggingface import HubAdapter, HubSort
from ..adapters.news import NewsAdapter
from ..adapters.ollama_library import OllamaLibraryAdapter, load_snapshot
from ..cache import Cached, TTLCache
from ..records import CatalogModel, CatalogResult, NewsItem, NewsResult, Provider
from ..resources import manifests_dir

log = logging.getLogger(__name__)

MAX_MODELS = 100
MAX_NEWS = 50
_MODELS = TypeAdapter(list[CatalogModel])
_NEWS = TypeAdapter(list[NewsItem])


class CatalogService:
    def __init__(
        self, cache: TTLCache, hub: HubAdapter, library: OllamaLibraryAdapter, news: NewsAdapter
    ) -> None:
        self._cache = cache
        self._hub = hub
        self._library = library
        self._news = news

    async def list_models(
        self, provider: Provider, query: str | None, limit: int, *, refresh: bool = False
    ) -> CatalogResult:
        query = " ".join((query or "").split()).lower() or None
        if provider == "huggingface":
            sort: HubSort = "trending_score" if query else "downloads"
            fetch = self._hub_fetch(query, sort)
        elif query:
            fetch = lambda: self._library.search(query)  # noqa: E731
        else:
            fetch = self._library.popular
        return await self._models(provider, f"models:{provider}:search:{query or ''}", fetch, limit, refresh)

    async def trending(self, provider: Provider, limit: int, *, refresh: bool = False) -> CatalogResult:
        fetch = self._hub_fetch(None, "trending_score") if provider == "huggingface" else self._library.popular
        return await self._models(provider, f"models:{provider}:trending", fetch, limit, refresh)

    async def news(self, kind: str, limit: int, month: str | None, *, refresh: bool = False) -> NewsResult:
        if kind == "blog":
            cached = await self._cache.get("news:blog", self._news.blog, _NEWS, refresh=refresh)
        else:
            key = f"news:papers:{month or 'latest'}"
            cached = await self._cache.get(key, lambda: self._news.papers(month, MAX_NEWS), _NEWS, refresh=refresh)
        items = (cached.value or [])[:limit]
        return NewsResult(
            kind="papers" if kind == "papers" else "blog",
            items=items,
            count=len(items),
            stale=cached.stale,
            error=cached.error,
            fetched_at=cached.fetched_at,
        )

    def _hub_fetch(self, query: str | None, sort: HubSort) -> Callable[[], Awaitable[list[CatalogModel]]]:
        return lambda: self._hub.list_models(search=query, sort=sort, limit=MAX_MODELS)

    async def _models(
        self,
        provider: Provider,
        key: str,
        fetch: Callable[[], Awaitable[list[CatalogModel]]],
        limit: int,
        refresh: bool,
    ) -> CatalogResult:
        cached = await self._cache.get(key, fetch, _MODELS, refresh=refresh)
        if cached.value is None and provider == "ollama":
            cached = self._snapshot(cached.error)
        models = (cached.value or [])[:limit]
        return CatalogResult(
            provider=provider,
            models=models,
            count=len(models),
            stale=cached.stale,
            error=cached.error,
            fetched_at=cached.fetched_at,
        )

    def _snapshot(self, error: str | None) -> Cached[list[CatalogModel]]:
        try:
            models, taken = load_snapshot(manifests_dir() / "ollama_library.json")
        except (OSError, ValueError) as exc:
            log.error("bundled Ollama library snapshot unreadable: %s", exc)
            return Cached(None, stale=True, error=error, fetched_at=None)
        when = datetime.fromisoformat(taken).replace(tzinfo=UTC)
        note = f"{error}; showing the bundled snapshot of {taken}"
        return Cached(models, stale=True, error=note, fetched_at=when)
