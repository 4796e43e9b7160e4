"""model_news on real captured Hub answers (tests/fixtures/real/hub/, see SOURCES.md there).

A daily paper's `published_at` is the day the Hub listed it (`paper.submittedOnDailyAt`; the top-level
`publishedAt` in answers of 2024), not its arXiv date, and `month` keeps the papers listed in that month.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from tests.conftest import make_settings, mcp_session
from tests.fakes.hub import REAL_CAPTURES, FakeHub, listing_time
from tests.fakes.live import LiveServer
from venom_mcp.adapters.huggingface import HubAdapter
from venom_mcp.adapters.news import NewsAdapter, listing_date
from venom_mcp.app import App
from venom_mcp.errors import UpstreamError

HUB = "https://huggingface.co"


def capture(name: str) -> Any:
    return json.loads((REAL_CAPTURES / name).read_text(encoding="utf-8"))


JULY = capture("daily_papers_2026-07-31.json")
JUNE = capture("daily_papers_2026-06-12.json")
OCTOBER_2024 = capture("daily_papers_2024-10-25_excerpt.json")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
async def real_app(home: Path, real_server: tuple[FakeHub, LiveServer], closed_url: str) -> AsyncIterator[App]:
    real_server[0].reset()
    app = App(make_settings(home, real_server[1].url, closed_url))
    yield app
    await app.aclose()


def news_adapter(handler: Any) -> NewsAdapter:
    """The adapter against the real Hub's address, answered by `handler` (nothing leaves the machine)."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return NewsAdapter(HubAdapter(HUB, None, 5), client, 5)


# --------------------------------------------------------------------------------------------------
# Which date is which
# --------------------------------------------------------------------------------------------------


def test_the_captures_tell_the_arxiv_date_from_the_listing_date() -> None:
    first = JUNE[0]
    assert first["paper"]["id"] == "2606.00467"
    assert first["paper"]["publishedAt"] == "2026-05-30T00:00:00.000Z"  # arXiv
    assert first["paper"]["submittedOnDailyAt"] == "2026-06-12T00:00:00.000Z"  # listed on the Hub
    assert first["publishedAt"] == "2026-05-29T20:00:00.000Z"  # what huggingface_hub calls `submitted_at`
    for item in [*JULY, *JUNE]:
        assert listing_date(item) == datetime.fromisoformat(item["paper"]["submittedOnDailyAt"].replace("Z", "+00:00"))
    # 2024: no submittedOnDailyAt; the top-level publishedAt was the listing time.
    assert [listing_date(i) for i in OCTOBER_2024] == [
        datetime(2024, 10, 25, 0, 57, 9, 392000, tzinfo=UTC),
        datetime(2024, 10, 25, 3, 32, 14, 953000, tzinfo=UTC),
        datetime(2024, 10, 25, 1, 32, 39, 713000, tzinfo=UTC),
    ]
    assert [listing_time(i) for i in JUNE] == [i["paper"]["submittedOnDailyAt"] for i in JUNE]


# --------------------------------------------------------------------------------------------------
# model_news(kind="papers")
# --------------------------------------------------------------------------------------------------


async def test_latest_papers_carry_their_listing_day(real_app: App, real_server: tuple[FakeHub, LiveServer]) -> None:
    async with mcp_session(real_app) as client:
        result = await client.call_tool("model_news", {"kind": "papers", "limit": 3})
    assert not result.isError and result.structuredContent is not None
    items = result.structuredContent["items"]
    assert [i["title"] for i in items] == [
        "OmniScope: Modality-Decoupled Token Compression for Omnimodal Large Language Models",
        "β-OPSD: Deriving with Policy Optimization, Training with Self-Distillation",
        "Beyond Geometric Complementarity: Coherent Overlap in Sparse Mixture-of-Experts Routing",
    ]
    omniscope = items[0]
    assert omniscope["url"] == f"{real_server[1].url}/papers/2607.23193"
    assert omniscope["published_at"] == "2026-07-31T00:00:00Z"  # listed on 2026-07-31; on arXiv 2026-07-28
    assert omniscope["authors"] == ["Jinsen Su", "Yongdong Luo", "Yuexiao Ma", "Yibo Hu", "Meiguang Jin",
                                    "Xiaowu Zheng"]  # fmt: skip
    assert omniscope["summary"].startswith("Existing token compression methods for omnimodal large language models")
    assert len(omniscope["summary"]) <= 400 and omniscope["summary"].endswith("…")
    assert omniscope["source"] == "huggingface"


async def test_month_keeps_the_papers_listed_in_it(real_app: App) -> None:
    june = await real_app.catalog.news("papers", 50, "2026-06")
    assert june.stale is False and june.error is None and june.count == 30
    assert {i.published_at for i in june.items} == {utc(2026, 6, 12)}
    first = june.items[0]
    # On arXiv in May, listed in June: a June paper, dated in June.
    assert first.title == (
        "On the Limits of LLM Adaptability: Impact of Model-Internalized Priors on Annotation Task Performance"
    )
    assert first.url.endswith("/papers/2606.00467") and first.published_at == utc(2026, 6, 12)
    assert first.authors == ["Etienne Casanova", "Rafal Kocielnik", "R. Michael Alvarez"]
    mini = next(i for i in june.items if i.url.endswith("/papers/2606.13392"))
    assert mini.title == "MiniMax Sparse Attention" and len(mini.authors) == 11
    # An author marked `hidden` (a claimed one) is still an author.
    teacher = next(i for i in june.items if i.url.endswith("/papers/2606.12575"))
    assert "Dengyang Jiang" in teacher.authors and len(teacher.authors) == 10
    may = await real_app.catalog.news("papers", 50, "2026-05")
    assert may.count == 0 and may.stale is False and may.error is None  # 2606.00467 was on arXiv, not listed, then


async def test_month_of_a_2024_answer_uses_its_listing_time(real_app: App) -> None:
    october = await real_app.catalog.news("papers", 50, "2024-10")
    assert [(i.title, i.published_at, len(i.authors)) for i in october.items] == [
        ("Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss",
         datetime(2024, 10, 25, 0, 57, 9, 392000, tzinfo=UTC), 9),
        ("Can Knowledge Editing Really Correct Hallucinations?",
         datetime(2024, 10, 25, 3, 32, 14, 953000, tzinfo=UTC), 5),
        ("LOGO -- Long cOntext aliGnment via efficient preference Optimization",
         datetime(2024, 10, 25, 1, 32, 39, 713000, tzinfo=UTC), 5),
    ]  # fmt: skip
    assert october.items[0].summary == ""  # the excerpt kept no abstract


async def test_month_is_checked_even_if_the_hub_ignores_it() -> None:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json=JULY)  # the latest day, whatever was asked

    news = news_adapter(handler)
    assert await news.papers("2026-06", 50) == []
    july = await news.papers("2026-07", 50)
    assert len(july) == 30 and {i.published_at for i in july} == {utc(2026, 7, 31)}
    assert str(asked[0].url).startswith(f"{HUB}/api/daily_papers?")
    assert dict(asked[0].url.params) == {"limit": "50", "month": "2026-06"}
    assert "authorization" not in asked[0].headers  # a public API: HF_TOKEN is not sent


async def test_papers_answer_that_is_not_a_list_is_an_upstream_error() -> None:
    news = news_adapter(lambda request: httpx.Response(200, json={"error": "Invalid rev"}))
    with pytest.raises(UpstreamError, match="list of papers"):
        await news.papers(None, 5)
    garbage = news_adapter(lambda request: httpx.Response(200, content=b"<html>oops"))
    with pytest.raises(UpstreamError, match="JSON"):
        await garbage.papers(None, 5)


# --------------------------------------------------------------------------------------------------
# model_news(kind="blog")
# --------------------------------------------------------------------------------------------------


async def test_blog_items_are_the_captured_feed(real_app: App) -> None:
    blog = await real_app.catalog.news("blog", 10, None)
    assert blog.stale is False and blog.count == 3
    assert [(i.title, i.url, i.published_at) for i in blog.items] == [
        ("The Open ASR Leaderboard Adds Its First Global South Language",
         "https://huggingface.co/blog/open-asr-leaderboard-global-south", utc(2026, 8, 28)),
        ("Training and Finetuning Multi-Vector Embedding Models with Sentence Transformers",
         "https://huggingface.co/blog/train-multi-vector-encoder", utc(2026, 8, 26)),
        ("Granite 4.2 LLMs: How They're Built",
         "https://huggingface.co/blog/ibm-granite/granite-4-2", utc(2026, 8, 25, 15, 14, 14)),
    ]  # fmt: skip
    # The captured items have no description and no author: nothing is made up.
    assert all(i.summary == "" and i.authors == [] for i in blog.items)


async def test_blog_feed_of_april_2026() -> None:
    feed = (REAL_CAPTURES / "blog_feed_2026-04-27.xml").read_bytes()
    news = news_adapter(lambda request: httpx.Response(200, content=feed))
    items = await news.blog()
    assert [(i.title, i.url, i.published_at) for i in items] == [
        ("How to build scalable web apps with OpenAI's Privacy Filter",
         "https://huggingface.co/blog/openai-privacy-filter-web-apps", utc(2026, 4, 27)),
        ("DeepSeek-V4: a million-token context that agents can actually use",
         "https://huggingface.co/blog/deepseekv4", utc(2026, 4, 24)),
        ("How to Use Transformers.js in a Chrome Extension",
         "https://huggingface.co/blog/transformersjs-chrome-extension", utc(2026, 4, 23)),
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The fake's papers and feed are shaped like the captures
# --------------------------------------------------------------------------------------------------


def keys_in_all(items: list[dict[str, Any]]) -> set[str]:
    return set.intersection(*(set(i) for i in items))


def keys_in_any(items: list[dict[str, Any]]) -> set[str]:
    return set.union(*(set(i) for i in items))


def test_seed_papers_have_the_real_shape(hub: FakeHub, hub_url: str) -> None:
    real = [*JULY, *JUNE]
    seed = httpx.get(f"{hub_url}/api/daily_papers", params={"limit": 100}).json()
    for part in (lambda i: i, lambda i: i["paper"], lambda i: i["submittedBy"],
                 lambda i: i["paper"]["submittedOnDailyBy"]):  # fmt: skip
        wanted, allowed = keys_in_all([part(i) for i in real]), keys_in_any([part(i) for i in real])
        assert wanted <= keys_in_all([part(i) for i in seed]) and keys_in_any([part(i) for i in seed]) <= allowed
    real_authors = [a for i in real for a in i["paper"]["authors"]]
    seed_authors = [a for i in seed for a in i["paper"]["authors"]]
    assert keys_in_all(real_authors) <= keys_in_all(seed_authors) and keys_in_any(seed_authors) <= keys_in_any(
        real_authors
    )

    def when(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    # The same order of dates as the real ones: top-level publishedAt < arXiv date <= listing.
    for item in [*real, *seed]:
        paper = item["paper"]
        assert when(item["publishedAt"]) < when(paper["publishedAt"]) <= when(paper["submittedOnDailyAt"])
    assert all(i["thumbnail"].startswith(("https://", hub_url)) for i in [*real, *seed])


def test_seed_feed_is_read_like_the_real_one(hub_url: str) -> None:
    real = feedparser.parse((REAL_CAPTURES / "blog_feed_2026-08-28.xml").read_bytes())
    seed = feedparser.parse(httpx.get(f"{hub_url}/blog/feed.xml").content)
    assert real.feed.title == seed.feed.title == "Hugging Face - Blog"
    assert real.version == seed.version == "rss20"
    for entry in [*real.entries, *seed.entries]:
        assert entry.title and entry.link and entry.published_parsed
