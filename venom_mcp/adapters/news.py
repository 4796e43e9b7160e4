"""AI news from the Hub: the blog's RSS feed (feedparser) and daily papers (the Hub papers API)."""

from __future__ import annotations

import calendar
import html as html_lib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ..aio import run_blocking
from ..errors import UpstreamError, UpstreamTimeout
from ..records import NewsItem

if TYPE_CHECKING:
    from huggingface_hub import PaperInfo

    from .huggingface import HubAdapter

SUMMARY_CHARS = 400


def plain_text(markup: str | None) -> str:
    """Feed summaries are HTML: keep the words, drop the tags, collapse whitespace."""
    if not markup:
        return ""
    if "<" in markup:
        from selectolax.lexbor import LexborHTMLParser

        markup = LexborHTMLParser(markup).text(separator=" ")
    return " ".join(html_lib.unescape(markup).split())


def trim(text: str, limit: int = SUMMARY_CHARS) -> str:
    """Cut at the last word boundary before `limit` and mark the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def _struct_time_to_datetime(value: Any) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None


class NewsAdapter:
    def __init__(self, hub: HubAdapter, client: httpx.AsyncClient, timeout: float) -> None:
        self._hub = hub
        self._client = client
        self._timeout = timeout

    @property
    def feed_url(self) -> str:
        return f"{self._hub.endpoint}/blog/feed.xml"

    async def blog(self) -> list[NewsItem]:
        import feedparser

        try:
            response = await self._client.get(self.feed_url)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the Hub blog feed at {self.feed_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the Hub blog feed at {self.feed_url} is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise UpstreamError(f"the Hub blog feed answered HTTP {response.status_code}")
        feed = feedparser.parse(response.content)
        if not feed.entries:
            reason = getattr(feed, "bozo_exception", None) or "no entries"
            raise UpstreamError(f"the Hub blog feed at {self.feed_url} is not a readable feed ({reason})")
        items = []
        for entry in feed.entries:
            title, link = plain_text(entry.get("title")), entry.get("link")
            if not title or not link:
                continue
            authors = [a.get("name", "") for a in entry.get("authors", []) if a.get("name")]
            items.append(
                NewsItem(
                    title=title,
                    url=link,
                    summary=trim(plain_text(entry.get("summary"))),
                    published_at=_struct_time_to_datetime(entry.get("published_parsed")),
                    authors=authors,
                    source="huggingface",
                )
            )
        return items

    async def papers(self, month: str | None, limit: int) -> list[NewsItem]:
        hub = self._hub

        def call() -> list[NewsItem]:
            papers = hub.api.list_daily_papers(month=month, limit=limit)
            return [self._paper(p) for p in papers]

        return await run_blocking(call, deadline=self._timeout, what=f"the Hub papers API at {hub.endpoint}")

    def _paper(self, paper: PaperInfo) -> NewsItem:
        return NewsItem(
            title=" ".join((paper.title or paper.id).split()),
            url=f"{self._hub.endpoint}/papers/{paper.id}",
            summary=trim(plain_text(paper.summary)),
            published_at=paper.published_at,
            authors=[a.name for a in paper.authors or [] if a.name],
            source="huggingface",
        )
