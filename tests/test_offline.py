"""Offline behaviour: upstream down, timing out, answering garbage or errors, and a restart with only the disk cache."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_settings
from tests.fakes.hub import FakeHub
from tests.fakes.ollama_library import FakeOllamaLibrary
from venom_mcp.app import App
from venom_mcp.records import CatalogResult


async def trending(app: App, provider: str = "huggingface", limit: int = 5) -> CatalogResult:
    return await app.catalog.trending(provider, limit)  # type: ignore[arg-type]


async def test_down_without_cache_gives_empty_stale_answer(home: Path, closed_url: str) -> None:
    app = App(make_settings(home, closed_url, closed_url))
    try:
        result = await trending(app)
        assert result.models == [] and result.count == 0
        assert result.stale is True and result.error and "Hub" in result.error
        news = await app.catalog.news("blog", 5, None)
        assert news.items == [] and news.stale is True and news.error
    finally:
        await app.aclose()


async def test_ollama_down_falls_back_to_bundled_snapshot(home: Path, closed_url: str) -> None:
    app = App(make_settings(home, closed_url, closed_url))
    try:
        result = await trending(app, "ollama", 5)
        assert result.count == 5 and result.stale is True
        assert result.error and "unreachable" in result.error and "bundled snapshot" in result.error
        assert all(m.runtime == "ollama" for m in result.models)
    finally:
        await app.aclose()


async def test_changed_layout_falls_back_to_snapshot(home: Path, hub_url: str, library_url: str,
                                                     library: FakeOllamaLibrary) -> None:
    library.fault = "garbage"
    app = App(make_settings(home, hub_url, library_url))
    try:
        result = await trending(app, "ollama", 3)
        assert result.stale is True and result.count == 3
        assert result.error and "layout" in result.error
    finally:
        await app.aclose()


async def test_failures_serve_last_good_answer_and_never_overwrite_it(
    home: Path, hub_url: str, library_url: str, hub: FakeHub
) -> None:
    # ttl 0: every call goes upstream, so each fault is really met.
    app = App(make_settings(home, hub_url, library_url, cache_ttl_seconds=0))
    try:
        good = await trending(app)
        assert good.stale is False
        for fault in ("error", "garbage"):
            hub.fault = fault
            result = await trending(app)
            assert result.stale is True and result.error, fault
            assert [m.model_name for m in result.models] == [m.model_name for m in good.models]
            assert result.fetched_at == good.fetched_at
        hub.fault = None
        again = await trending(app)
        assert again.stale is False and again.error is None
    finally:
        await app.aclose()


async def test_timeout_serves_stale_within_the_deadline(
    home: Path, hub_url: str, library_url: str, hub: FakeHub, library: FakeOllamaLibrary
) -> None:
    app = App(make_settings(home, hub_url, library_url, cache_ttl_seconds=0, http_timeout_seconds=0.5))
    try:
        good = await app.catalog.news("blog", 5, None)
        hub.fault, hub.slow_seconds = "slow", 3
        import time

        started = time.monotonic()
        result = await app.catalog.news("blog", 5, None)
        assert time.monotonic() - started < 2.5
        assert result.stale is True and result.items == good.items
        assert result.error and "in time" in result.error
        hub.hits.clear()
        slow_list = await trending(app)
        assert slow_list.stale is True and slow_list.error and "did not answer within 0.5 s" in slow_list.error
    finally:
        await app.aclose()


async def test_restart_with_only_the_disk_cache(
    home: Path, hub_url: str, library_url: str, closed_url: str, hub: FakeHub
) -> None:
    first = App(make_settings(home, hub_url, library_url))
    try:
        good = await trending(first)
        papers = await first.catalog.news("papers", 5, "2025-12")
    finally:
        await first.aclose()
    assert any((home / "cache").iterdir())
    # Fresh entries on disk are served without asking upstream at all.
    hub.hits.clear()
    second = App(make_settings(home, hub_url, library_url))
    try:
        again = await trending(second)
        assert again.stale is False and again.models == good.models and hub.hits["/api/models"] == 0
    finally:
        await second.aclose()
    # Expired entries with the network gone: the last good answer, marked stale.
    third = App(make_settings(home, closed_url, closed_url, cache_ttl_seconds=0))
    try:
        offline = await trending(third)
        assert offline.stale is True and offline.models == good.models and offline.error
        offline_papers = await third.catalog.news("papers", 5, "2025-12")
        assert offline_papers.stale is True and offline_papers.items == papers.items
    finally:
        await third.aclose()


async def test_unreadable_cache_file_is_ignored(home: Path, hub_url: str, library_url: str) -> None:
    first = App(make_settings(home, hub_url, library_url))
    try:
        await trending(first)
    finally:
        await first.aclose()
    for path in (home / "cache").glob("*.json"):
        path.write_text("{ torn", encoding="utf-8")
    second = App(make_settings(home, hub_url, library_url))
    try:
        result = await trending(second)
        assert result.stale is False and result.count == 5
    finally:
        await second.aclose()


async def test_token_goes_to_hf_endpoint_only_and_never_into_results(
    home: Path, hub_url: str, closed_url: str, hub: FakeHub
) -> None:
    secret = "hf_secretTOKEN1234567890"
    app = App(make_settings(home, hub_url, closed_url, hf_token=secret))
    try:
        await trending(app)
        await app.catalog.news("blog", 5, None)
        ollama = await trending(app, "ollama", 3)
    finally:
        await app.aclose()
    sent = dict(hub.auth_headers)
    assert sent["/api/models"] == f"Bearer {secret}"
    assert sent["/blog/feed.xml"] is None
    assert secret not in ollama.model_dump_json()
    for path in home.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), path
