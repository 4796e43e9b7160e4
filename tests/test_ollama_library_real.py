"""The Ollama library parser, the fake library and the catalog on real ollama.com pages, both markups.

Every page here is a capture made by another project (tests/fixtures/real/ollama_com/SOURCES.md); the facts
asserted are the ones each page shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import build, http_served, make_settings
from tests.fakes.ollama_library import CURRENT_PAGES, LEGACY_PAGES, FakeOllamaLibrary, read_capture
from venom_mcp.adapters.ollama_library import (
    OllamaLibraryAdapter,
    parse_library_html,
    parse_model_page,
    snapshot_payload,
)
from venom_mcp.app import App
from venom_mcp.errors import LayoutChanged
from venom_mcp.records import CatalogModel
from venom_mcp.resources import manifests_dir

BASE = "https://ollama.com"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def by_name(models: list[CatalogModel]) -> dict[str, CatalogModel]:
    return {m.display_name: m for m in models}


def facts(model: CatalogModel) -> tuple[int | None, list[str], list[str], datetime | None]:
    return model.downloads, model.capabilities, model.sizes, model.updated_at


# ---- current markup (no x-test-* attributes) ---------------------------------------------------------------


def test_current_library_page_2026_08_27() -> None:
    models = parse_library_html(read_capture("library_2026-08-27.html"), BASE)
    assert [m.display_name for m in models] == [
        "qwen2.5", "gpt-oss", "glm-5.1", "nomic-embed-text", "nomic-embed-text-v2-moe", "llama3.1",
    ]
    rows = by_name(models)
    assert facts(rows["qwen2.5"]) == (
        38_700_000, ["tools"], ["0.5b", "1.5b", "3b", "7b", "14b", "32b", "72b"], utc(2024, 9, 19, 16, 42)
    )
    assert facts(rows["gpt-oss"]) == (
        12_300_000, ["tools", "thinking", "cloud"], ["20b", "120b"], utc(2025, 10, 9, 19, 47)
    )
    assert facts(rows["glm-5.1"]) == (2_300_000, ["tools", "thinking", "cloud"], [], utc(2026, 4, 7, 15, 0))
    assert facts(rows["nomic-embed-text"]) == (83_700_000, ["embedding"], [], utc(2024, 2, 21, 17, 26))
    assert facts(rows["nomic-embed-text-v2-moe"]) == (803_500, ["embedding"], [], utc(2025, 12, 10, 22, 9))
    assert facts(rows["llama3.1"]) == (118_900_000, ["tools"], ["8b", "70b", "405b"], utc(2024, 11, 30, 22, 34))
    qwen = rows["qwen2.5"]
    assert qwen.model_name == "qwen2.5:latest" and qwen.url == "https://ollama.com/library/qwen2.5"
    assert qwen.description and "Alibaba's latest large-scale dataset" in qwen.description  # &#39; decoded
    assert qwen.tags == ["tools", "0.5b", "1.5b", "3b", "7b", "14b", "32b", "72b"]


def test_current_popular_page_2026_10_03() -> None:
    rows = by_name(parse_library_html(read_capture("library_popular_2026-10-03.html"), BASE))
    assert list(rows) == ["qwen3.6", "llava", "nomic-embed-text", "deepseek-v4.1-flash"]
    assert facts(rows["qwen3.6"]) == (
        6_900_000, ["vision", "tools", "thinking"], ["27b", "35b"], utc(2026, 9, 30, 20, 29)
    )
    assert facts(rows["llava"]) == (15_100_000, ["vision"], ["7b", "13b", "34b"], utc(2024, 2, 1, 8, 41))
    assert facts(rows["nomic-embed-text"]) == (87_900_000, ["embedding"], [], utc(2024, 2, 21, 17, 26))
    assert facts(rows["deepseek-v4.1-flash"]) == (
        64_000, ["vision", "tools", "thinking", "cloud"], [], utc(2026, 9, 10, 3, 0)
    )


def test_current_search_page_2026_10_04() -> None:
    models = parse_library_html(read_capture("search_gemma_vision_2026-10-04.html"), BASE, search_page=True)
    assert len(models) == 20  # the "load page 2" <li> is not a card
    assert all(m.downloads is not None and m.updated_at is not None for m in models)
    rows = by_name(models)
    assert facts(rows["gemma4"]) == (
        26_300_000, ["vision", "tools", "thinking", "audio", "cloud"], ["e2b", "e4b", "12b", "26b", "31b"],
        utc(2026, 9, 30, 2, 36),
    )
    assert rows["gemma4"].description and rows["gemma4"].description.startswith("Gemma 4 models")
    assert facts(rows["gemma3"]) == (
        40_900_000, ["vision"], ["270m", "1b", "4b", "12b", "27b"], utc(2025, 8, 15, 8, 15)
    )
    assert facts(rows["glm-5.3-flash"]) == (
        165_200, ["vision", "tools", "thinking", "cloud"], [], utc(2026, 8, 26, 14, 0)
    )
    # Community models live at /<user>/<name>; their counts may carry a thousands separator.
    huihui = rows["huihui_ai/gemma-4-abliterated"]
    assert huihui.model_name == "huihui_ai/gemma-4-abliterated:latest"
    assert huihui.url == "https://ollama.com/huihui_ai/gemma-4-abliterated"
    assert facts(huihui) == (
        1_200_000, ["vision", "tools", "thinking", "audio"], ["e2b", "e4b", "12b", "26b", "31b", "48b"],
        utc(2026, 6, 11, 15, 9),
    )
    assert rows["mo-shakib/gemma4-e4b-uncensored"].downloads == 5_802
    assert rows["satgeze/gemma4-12b-uncensored-1.5m"].downloads == 4_910
    assert rows["masska129/gemma-4-abliterated"].description is None  # its card has an empty description


def test_current_tag_rows_give_the_default_tag_size() -> None:
    html = read_capture("tags_gemma3_2026.html")
    page = parse_model_page(html, "gemma3")
    assert page.tag_sizes == {
        "latest": 3.3, "270m": 0.292, "1b": 0.815, "4b": 3.3, "12b": 8.1, "27b": 17.0,
        "270m-it-qat": 0.241, "270m-it-q8_0": 0.292,
    }
    assert page.default_tag == "latest" and page.size_gb == 3.3
    # Without its `:latest` row the page still says which tag is the default: the one wearing the "latest" pill.
    rows = html.split('<div class="group px-4 py-3">')
    without_latest = '<div class="group px-4 py-3">'.join(r for r in rows if "gemma3:latest" not in r)
    assert parse_model_page(without_latest, "gemma3").default_tag == "4b"


# ---- x-test markup (until 2026-08/09) ------------------------------------------------------------------------


def test_legacy_library_page_2025_08_03() -> None:
    models = parse_library_html(read_capture("library_2025-08-03.html.gz"), BASE)
    assert len(models) == 176
    assert all(m.downloads is not None and m.updated_at is not None for m in models)
    rows = by_name(models)
    assert facts(rows["deepseek-r1"]) == (
        55_700_000, ["tools", "thinking"], ["1.5b", "7b", "8b", "14b", "32b", "70b", "671b"], utc(2025, 7, 2, 6, 9)
    )
    assert facts(rows["gemma3n"]) == (275_500, [], ["e2b", "e4b"], utc(2025, 6, 27, 5, 2))
    assert facts(rows["llama3.1"]) == (99_200_000, ["tools"], ["8b", "70b", "405b"], utc(2024, 11, 30, 22, 34))
    assert facts(rows["nomic-embed-text"]) == (34_500_000, ["embedding"], [], utc(2024, 2, 21, 17, 26))


def test_legacy_search_pages_2025_08_03() -> None:
    rows = by_name(parse_library_html(read_capture("library_search_wizard_2025-08-03.html"), BASE, search_page=True))
    assert list(rows)[:3] == ["wizardlm2", "wizard-vicuna-uncensored", "wizardcoder"] and len(rows) == 7
    assert facts(rows["wizardlm2"]) == (386_800, [], ["7b", "8x22b"], utc(2024, 4, 16, 0, 46))
    assert facts(rows["wizard-math"]) == (109_000, [], ["7b", "13b", "70b"], utc(2023, 12, 19, 16, 2))
    empty = read_capture("library_search_empty_2025-08-03.html")
    assert parse_library_html(empty, BASE, search_page=True) == []  # "No models" is an answer on a search page
    with pytest.raises(LayoutChanged, match="no model cards"):
        parse_library_html(empty, BASE)  # ...but a library page without cards is not


def test_legacy_model_page_2025_08_03() -> None:
    page = parse_model_page(read_capture("model_magistral_2025-08-03.html"), "magistral")
    assert page.downloads == 221_000 and page.updated_at == utc(2025, 6, 16, 20, 46)
    assert page.capabilities == ["tools", "thinking"] and page.sizes == ["24b"]
    assert page.tag_sizes == {"latest": 14.0, "24b": 14.0} and page.size_gb == 14.0


def test_a_page_that_is_not_a_model_page_is_a_layout_change() -> None:
    with pytest.raises(LayoutChanged, match=r"magistral.*layout changed"):
        parse_model_page(read_capture("library_search_empty_2025-08-03.html"), "magistral")


def test_bundled_snapshot_is_the_parsed_2025_08_03_capture() -> None:
    bundled = json.loads((manifests_dir() / "ollama_library.json").read_text(encoding="utf-8"))
    models = parse_library_html(read_capture("library_2025-08-03.html.gz"), BASE)
    fresh = snapshot_payload(models, "2025-08-03", bundled["source"], bundled["note"])
    assert bundled == fresh, "regenerate manifests/ollama_library.json with snapshot_payload (see SOURCES.md)"
    assert bundled["snapshot_date"] == "2025-08-03" and len(bundled["models"]) == 176
    assert bundled["models"][0]["display_name"] == "llama3.1" and bundled["models"][0]["downloads"] == 99_200_000


# ---- the fake serving real pages, and the adapter over it -----------------------------------------------------


@pytest.fixture
async def fake_http() -> AsyncIterator[tuple[FakeOllamaLibrary, httpx.AsyncClient]]:
    fake = FakeOllamaLibrary(pages=CURRENT_PAGES)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as client:
        yield fake, client


async def test_fake_serves_the_real_pages_verbatim(fake_http: tuple[FakeOllamaLibrary, httpx.AsyncClient]) -> None:
    fake, client = fake_http
    for pages in (CURRENT_PAGES, LEGACY_PAGES):
        fake.pages = pages
        for path, name in pages.items():
            response = await client.get(path, params={"q": "anything"})
            assert response.status_code == 200 and response.text == read_capture(name), path
    missing = await client.get("/library/no-such-model")
    assert missing.status_code == 404
    fake.fault = "error"
    assert (await client.get("/library")).status_code == 503  # faults still apply


async def test_adapter_on_the_current_pages(fake_http: tuple[FakeOllamaLibrary, httpx.AsyncClient]) -> None:
    fake, client = fake_http
    adapter = OllamaLibraryAdapter(BASE, client)
    popular = by_name(await adapter.popular())
    assert popular["llama3.1"].downloads == 118_900_000 and popular["gpt-oss"].capabilities[-1] == "cloud"
    # A search naming a model exactly reads that model's page once for its default tag's download size.
    found = by_name(await adapter.search("gemma3"))
    assert found["gemma3"].size_gb == 3.3 and found["gemma3"].downloads == 40_900_000
    assert all(m.size_gb is None for name, m in found.items() if name != "gemma3")
    assert fake.hits["/search"] == 1 and fake.hits["/library/gemma3"] == 1
    # Other searches do not fetch model pages; a model page that fails costs the size, not the search.
    await adapter.search("gemma")
    fake.pages = {"/search": CURRENT_PAGES["/search"]}
    assert by_name(await adapter.search("gemma3"))["gemma3"].size_gb is None
    assert fake.hits["/library/gemma3"] == 2


async def test_adapter_on_the_legacy_pages(fake_http: tuple[FakeOllamaLibrary, httpx.AsyncClient]) -> None:
    fake, client = fake_http
    fake.pages = {"/search": "library_2025-08-03.html.gz", "/library/magistral": "model_magistral_2025-08-03.html"}
    found = by_name(await OllamaLibraryAdapter(BASE, client).search("Magistral"))
    assert found["magistral"].size_gb == 14.0 and found["magistral"].capabilities == ["tools", "thinking"]


async def test_fake_current_markup_matches_x_test_markup(
    fake_http: tuple[FakeOllamaLibrary, httpx.AsyncClient],
) -> None:
    fake, client = fake_http
    fake.pages = None
    pages = {}
    for markup in ("x-test", "current"):
        fake.markup = markup
        pages[markup] = (await client.get("/library")).text
    assert "x-test" not in pages["current"] and "<li  class=" in pages["current"]
    old, new = (parse_library_html(pages[m], BASE) for m in ("x-test", "current"))
    assert [facts(m) for m in new] == [facts(m) for m in old] and len(new) == len(fake.models)
    assert all(m.downloads and m.updated_at for m in new)


# ---- the catalog: a layout change is stale with an error, never fresh rows without facts ---------------------


async def test_layout_change_serves_last_good_answer_as_stale(
    home: Path, hub_url: str, library_url: str, library: FakeOllamaLibrary
) -> None:
    library.pages = CURRENT_PAGES
    app = App(make_settings(home, hub_url, library_url, cache_ttl_seconds=0))
    try:
        good = await app.catalog.trending("ollama", 10)
        assert good.stale is False and good.error is None and good.count == 6
        assert by_name(good.models)["qwen2.5"].downloads == 38_700_000
        library.fault = "bare"  # cards keep links, titles and descriptions; pull counts, chips and dates are gone
        changed = await app.catalog.trending("ollama", 10)
        assert changed.stale is True and changed.error and "layout changed" in changed.error
        assert changed.models == good.models and changed.fetched_at == good.fetched_at
    finally:
        await app.aclose()


async def test_layout_change_without_history_serves_the_dated_snapshot(
    home: Path, hub_url: str, library_url: str, library: FakeOllamaLibrary
) -> None:
    library.fault = "bare"
    app = App(make_settings(home, hub_url, library_url))
    try:
        result = await app.catalog.list_models("ollama", None, 3)
        assert result.stale is True and result.count == 3
        assert result.error and "layout changed" in result.error and "bundled snapshot of 2025-08-03" in result.error
        assert [(m.display_name, m.downloads) for m in result.models] == [
            ("llama3.1", 99_200_000), ("deepseek-r1", 55_700_000), ("nomic-embed-text", 34_500_000),
        ]
        assert result.fetched_at == utc(2025, 8, 3)
    finally:
        await app.aclose()


def test_real_cards_that_lost_their_stats_line_are_a_layout_change() -> None:
    # The 2026-08-27 page with its stats paragraphs (pulls, tags, date) cut out: chips alone do not make it readable.
    html = read_capture("library_2026-08-27.html")
    parts = html.split('<p class="my-4 flex space-x-5 text-[13px] font-medium text-neutral-500">')
    stripped = parts[0] + "".join(part[part.index("</p>") + len("</p>"):] for part in parts[1:])
    assert len(parts) == 7 and "Pulls" not in stripped and "tools" in stripped
    with pytest.raises(LayoutChanged, match=r"6 model cards, but not one shows a pull count: the ollama\.com layout"):
        parse_library_html(stripped, BASE)
    one_card = stripped[: stripped.index("<li", stripped.index("<li") + 1)] + "</ul>"
    assert [m.capabilities for m in parse_library_html(one_card, BASE, search_page=True)] == [["tools"]]


# ---- over MCP and REST: the facts the pages show, and a layout change as the tools report it -------------------


async def test_tools_on_the_real_pages_over_mcp_and_rest(
    runtime_settings: dict[str, Any], library: FakeOllamaLibrary
) -> None:
    library.pages = CURRENT_PAGES
    # TTL 0: every call reads the pages, so the layout change below shows at once.
    with http_served(build(runtime_settings, cache_ttl_seconds=0)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http, streamable_http_client(
            server.url + "/mcp"
        ) as (read, write, _), ClientSession(read, write) as mcp:
            await mcp.initialize()

            async def tool(name: str, **arguments: Any) -> dict[str, Any]:
                result = await mcp.call_tool(name, {"provider": "ollama", **arguments})
                assert not result.isError, result.content
                return result.structuredContent or {}

            trending = await tool("trending_models", limit=10)
            rows = {row["display_name"]: row for row in trending["models"]}
            assert trending["stale"] is False and trending["error"] is None and len(rows) == 6
            assert rows["qwen2.5"]["downloads"] == 38_700_000 and rows["qwen2.5"]["model_name"] == "qwen2.5:latest"
            assert all(row["downloads"] and row["updated_at"] for row in rows.values())

            found = await tool("list_models", query="gemma3")
            gemma3 = next(row for row in found["models"] if row["display_name"] == "gemma3")
            assert gemma3["size_gb"] == 3.3 and gemma3["downloads"] == 40_900_000 and "vision" in gemma3["capabilities"]
            catalog = (await http.get("/api/v1/models/ollama/catalog", params={"query": "gemma3"})).json()
            assert next(r for r in catalog["models"] if r["display_name"] == "gemma3") == gemma3

            library.fault = "bare"  # the next layout: cards without facts
            changed = await tool("trending_models", limit=10, refresh=True)
            assert changed["stale"] is True and "layout changed" in changed["error"]
            assert changed["models"] == trending["models"]  # the last good answer, not rows without facts
            rest = (await http.get("/api/v1/models/trending", params={"provider": "ollama", "limit": 10})).json()
            assert rest["stale"] is True and rest["models"] == trending["models"]
