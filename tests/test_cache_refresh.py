"""`refresh`: bypass a fresh cache entry, still one upstream fetch at a time and at most one per key every
10 seconds, still the last good value (stale, with the error) when the source fails.

The cache takes a clock, so time here is a number the test moves; concurrency is ordered with events.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from pydantic import TypeAdapter

from tests.conftest import build, http_served, make_settings
from tests.fakes.hub import FakeHub
from tests.fakes.ollama_library import FakeOllamaLibrary
from venom_mcp.adapters.news import NewsAdapter
from venom_mcp.adapters.ollama_library import OllamaLibraryAdapter
from venom_mcp.app import App
from venom_mcp.cache import MIN_REFRESH_SECONDS, TTLCache
from venom_mcp.records import CatalogModel
from venom_mcp.services.catalog import CatalogService

CODEC = TypeAdapter(list[int])
TTL = 1800.0


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Upstream:
    """A source that counts its fetches and answers [n] for the n-th one, or fails while `error` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: str | None = None

    async def fetch(self) -> list[int]:
        self.calls += 1
        if self.error:
            raise ConnectionError(self.error)
        return [self.calls]


def cache(tmp_path: Path, clock: Clock) -> TTLCache:
    return TTLCache(tmp_path, ttl_seconds=TTL, clock=clock)


async def test_refresh_fetches_a_fresh_entry_again_but_once_per_ten_seconds(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    store = cache(tmp_path, clock)
    assert (await store.get("k", upstream.fetch, CODEC)).value == [1]
    clock.now += 1
    assert (await store.get("k", upstream.fetch, CODEC)).value == [1] and upstream.calls == 1  # fresh: cached
    clock.now += MIN_REFRESH_SECONDS  # 11 s after the fetch, far inside the TTL
    refreshed = await store.get("k", upstream.fetch, CODEC, refresh=True)
    assert refreshed.value == [2] and not refreshed.stale and upstream.calls == 2
    assert refreshed.fetched_at is not None and refreshed.fetched_at.timestamp() == clock.now
    clock.now += MIN_REFRESH_SECONDS - 0.5  # a refresh sooner than 10 s after the last fetch gets that fetch
    again = await store.get("k", upstream.fetch, CODEC, refresh=True)
    assert again.value == [2] and not again.stale and again.error is None and upstream.calls == 2
    clock.now += 0.5  # exactly 10 s after it: upstream again
    assert (await store.get("k", upstream.fetch, CODEC, refresh=True)).value == [3] and upstream.calls == 3


async def test_a_plain_get_right_after_a_refresh_serves_the_refreshed_entry(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    store = cache(tmp_path, clock)
    await store.get("k", upstream.fetch, CODEC, refresh=True)  # refresh of a key never fetched: fetches
    clock.now += 100
    assert (await store.get("k", upstream.fetch, CODEC)).value == [1] and upstream.calls == 1
    assert (await store.get("other", upstream.fetch, CODEC, refresh=True)).value == [2]  # the limit is per key


async def test_concurrent_refreshes_share_one_fetch(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    store = cache(tmp_path, clock)
    await store.get("k", upstream.fetch, CODEC)
    clock.now += 60
    started, release = asyncio.Event(), asyncio.Event()

    async def gated() -> list[int]:
        started.set()
        await release.wait()
        return await upstream.fetch()

    refreshes = [asyncio.create_task(store.get("k", gated, CODEC, refresh=True)) for _ in range(5)]
    await started.wait()  # one refresh is upstream; the other four joined it while it waits
    plain = asyncio.create_task(store.get("k", gated, CODEC))  # a plain get of the fresh entry does not wait
    release.set()
    results = await asyncio.gather(*refreshes)
    assert upstream.calls == 2  # the first fill, then one fetch for five refreshing callers
    assert all(r.value == [2] and not r.stale for r in results)
    assert (await plain).value == [1]


async def test_expired_entries_without_refresh_are_not_held_back(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    store = TTLCache(tmp_path, ttl_seconds=0, clock=clock)
    assert [(await store.get("k", upstream.fetch, CODEC)).value for _ in range(3)] == [[1], [2], [3]]


async def test_refresh_is_never_throttled_harder_than_the_ttl(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    store = TTLCache(tmp_path, ttl_seconds=0, clock=clock)  # caching off: every refresh asks upstream too
    assert [(await store.get("k", upstream.fetch, CODEC, refresh=True)).value for _ in range(3)] == [[1], [2], [3]]


async def test_a_failed_refresh_serves_the_last_good_value_and_is_not_retried_for_ten_seconds(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    store = cache(tmp_path, clock)
    good = await store.get("k", upstream.fetch, CODEC)
    clock.now += 30
    upstream.error = "the library is down"
    failed = await store.get("k", upstream.fetch, CODEC, refresh=True)
    assert failed.value == [1] and failed.stale and failed.error == "the library is down"
    assert failed.fetched_at == good.fetched_at and upstream.calls == 2
    clock.now += 5  # within 10 s of the failed fetch: the same answer, no new upstream call
    upstream.error = None
    held = await store.get("k", upstream.fetch, CODEC, refresh=True)
    assert (held.value, held.stale, held.error, upstream.calls) == ([1], True, "the library is down", 2)
    assert (await store.get("k", upstream.fetch, CODEC)).stale is False  # a plain get still sees the fresh entry
    clock.now += 5  # 10 s after the failure
    recovered = await store.get("k", upstream.fetch, CODEC, refresh=True)
    assert (recovered.value, recovered.stale, recovered.error, upstream.calls) == ([3], False, None, 3)


async def test_a_failed_refresh_with_nothing_cached_reports_the_error(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    upstream.error = "refused"
    result = await cache(tmp_path, clock).get("k", upstream.fetch, CODEC, refresh=True)
    assert result.value is None and result.stale and result.error == "refused" and result.fetched_at is None


async def test_the_ten_second_limit_holds_across_a_restart(tmp_path: Path) -> None:
    clock, upstream = Clock(), Upstream()
    await cache(tmp_path, clock).get("k", upstream.fetch, CODEC)
    clock.now += 3
    restarted = cache(tmp_path, clock)  # only the disk entry is left
    assert (await restarted.get("k", upstream.fetch, CODEC, refresh=True)).value == [1] and upstream.calls == 1
    clock.now += MIN_REFRESH_SECONDS
    assert (await restarted.get("k", upstream.fetch, CODEC, refresh=True)).value == [2]


async def test_catalog_service_passes_refresh_to_every_source(
    home: Path, hub_url: str, library_url: str, hub: FakeHub, library: FakeOllamaLibrary
) -> None:
    clock = Clock()
    app = App(make_settings(home, hub_url, library_url))
    try:
        news = NewsAdapter(app.hub, app.http, app.settings.http_timeout_seconds)
        catalog = CatalogService(
            TTLCache(home / "cache", TTL, clock), app.hub, OllamaLibraryAdapter(library_url, app.http), news
        )
        calls: list[Callable[..., Awaitable[object]]] = [
            lambda **kw: catalog.trending("ollama", 3, **kw),
            lambda **kw: catalog.list_models("ollama", "qwen", 3, **kw),
            lambda **kw: catalog.list_models("huggingface", None, 3, **kw),
            lambda **kw: catalog.news("blog", 3, None, **kw),
        ]
        paths = ["/library", "/search", "/api/models", "/blog/feed.xml"]
        for call in calls:
            await call()
            await call()
        assert [library.hits[p] for p in paths[:2]] + [hub.hits[p] for p in paths[2:]] == [1, 1, 1, 1]
        clock.now += MIN_REFRESH_SECONDS
        for call in calls:
            await call(refresh=True)
            await call(refresh=True)  # the second is inside the 10 s window: served from the first
        assert [library.hits[p] for p in paths[:2]] + [hub.hits[p] for p in paths[2:]] == [2, 2, 2, 2]
        library.fault = "bare"
        clock.now += MIN_REFRESH_SECONDS
        stale = await catalog.trending("ollama", 3, refresh=True)
        assert stale.stale and stale.error and "layout changed" in stale.error and stale.count == 3
    finally:
        await app.aclose()


async def test_refresh_reaches_the_source_over_mcp_rest_and_the_dashboard(
    runtime_settings: dict[str, Any], hub: FakeHub
) -> None:
    """A cache entry a minute old (fresh for the 30-minute TTL, older than the 10 s refresh limit) answers a plain
    read; `refresh=true` goes to the Hub once and replaces it; a second refresh within 10 s is served from that.
    Each face gets a server (and a cache) of its own."""
    for face in ("mcp", "rest", "dashboard"):
        await _refresh_through(face, {**runtime_settings, "home": runtime_settings["home"] / face}, hub)


async def _refresh_through(face: str, values: dict[str, Any], hub: FakeHub) -> None:
    home: Path = values["home"]
    seeded = CatalogModel(provider="huggingface", model_name="seeded/old-row", display_name="old-row", runtime="vllm")

    async def seed() -> list[CatalogModel]:
        return [seeded]

    await TTLCache(home / "cache", TTL, clock=lambda: time.time() - 60).get(
        "models:huggingface:trending", seed, TypeAdapter(list[CatalogModel])
    )
    with http_served(build(values)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http, streamable_http_client(
            server.url + "/mcp"
        ) as (read, write, _), ClientSession(read, write) as mcp:
            await mcp.initialize()

            async def trending(refresh: bool) -> list[str]:
                if face == "mcp":
                    result = await mcp.call_tool("trending_models", {"provider": "huggingface", "refresh": refresh})
                    assert not result.isError, result.content
                    return [row["model_name"] for row in (result.structuredContent or {})["models"]]
                path = "/api/v1/models/trending" if face == "rest" else "/models/fragments/trending"
                params = {"provider": "huggingface", **({"refresh": "true"} if refresh else {})}
                response = await http.get(path, params=params)
                assert response.status_code == 200, response.text
                if face == "rest":
                    return [row["model_name"] for row in response.json()["models"]]
                return re.findall(r'data-model="([^"]+)"', response.text)

            before = hub.hits["/api/models"]
            assert await trending(refresh=False) == ["seeded/old-row"] and hub.hits["/api/models"] == before, face
            live = await trending(refresh=True)
            assert "seeded/old-row" not in live and len(live) > 1 and hub.hits["/api/models"] == before + 1, face
            assert await trending(refresh=True) == live and hub.hits["/api/models"] == before + 1, face
