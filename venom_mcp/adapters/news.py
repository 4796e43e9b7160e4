"""AI news from the Hub: the blog's RSS feed (feedparser) and the daily papers API (plain JSON).

Daily papers are read from the raw `/api/daily_papers` answer rather than through huggingface_hub's
`PaperInfo`, which keeps only the top-level `publishedAt`: in today's answers that is a time taken from the arXiv
date (a few hours before `paper.publishedAt`), while the day a paper was listed on the Hub is
`paper.submittedOnDailyAt`.
Answers from before that field (2024) carried the listing time in the top-level `publishedAt`. `published_at` of
a paper is its listing date, and `month` keeps the papers listed in that month, as the API's own `date`/`week`/
`month` filters do (huggingface/hub-docs#2065). Real answers of both generations are in tests/fixtures/real/hub/.
"""

from __future__ import annotations

import calendar
import html as html_lib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import UpstreamError
from ..records import NewsItem
from .upstream import Upstream

if TYPE_CHECKING:
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


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _paper_of(entry: dict[str, Any]) -> dict[str, Any]:
    paper = entry.get("paper")
    return paper if isinstance(paper, dict) else {}


def listing_date(entry: dict[str, Any]) -> datetime | None:
    """When the Hub listed a daily paper: `paper.submittedOnDailyAt`, else (answers before 2025) `publishedAt`."""
    paper = _paper_of(entry)
    for value in (paper.get("submittedOnDailyAt"), entry.get("submittedOnDailyAt"), entry.get("publishedAt")):
        if (when := _parse_time(value)) is not None:
            return when
    return None


class NewsAdapter:
    def __init__(self, hub: HubAdapter, client: httpx.AsyncClient, timeout: float) -> None:
        self._hub = hub
        self._client = client
        self._timeout = timeout

    @property
    def feed_url(self) -> str:
        return f"{self._hub.endpoint}/blog/feed.xml"

    @property
    def papers_url(self) -> str:
        return f"{self._hub.endpoint}/api/daily_papers"

    async def _get(self, url: str, what: str, params: dict[str, str] | None = None) -> httpx.Response:
        # No token: the feed and the papers API are public, and HF_TOKEN goes through huggingface_hub only.
        upstream = Upstream(f"{what} at {url}", "HF_ENDPOINT")
        try:
            response = await self._client.get(url, params=params, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise upstream.unreachable(exc) from exc
        upstream.check(response)
        return response

    async def blog(self) -> list[NewsItem]:
        import feedparser

        response = await self._get(self.feed_url, "the Hub blog feed")
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
        """The latest daily papers, or those listed on the Hub in `month` (YYYY-MM), in the Hub's order."""
        params = {"limit": str(limit)} | ({"month": month} if month else {})
        response = await self._get(self.papers_url, "the Hub papers API", params)
        try:
            entries = response.json()
        except ValueError as exc:
            raise UpstreamError(f"the Hub papers API at {self.papers_url} did not answer JSON") from exc
        if not isinstance(entries, list):
            raise UpstreamError(f"the Hub papers API at {self.papers_url} did not answer a list of papers")
        items = [item for entry in entries if isinstance(entry, dict) and (item := self._paper(entry))]
        if month:
            # The Hub filters on the listing date too; checking it here keeps a month exact if it ever does not.
            items = [i for i in items if i.published_at is not None and f"{i.published_at:%Y-%m}" == month]
        return items[:limit]

    def _paper(self, entry: dict[str, Any]) -> NewsItem | None:
        paper = _paper_of(entry)
        paper_id = paper.get("id")
        if not isinstance(paper_id, str) or not paper_id:
            return None
        title = entry.get("title") or paper.get("title") or paper_id
        # `hidden` is set on claimed authors too (2606.12575, 2026-06-12 capture): still authors of the paper.
        authors = [
            a["name"] for a in paper.get("authors") or [] if isinstance(a, dict) and isinstance(a.get("name"), str)
        ]
        return NewsItem(
            title=" ".join(str(title).split()),
            url=f"{self._hub.endpoint}/papers/{paper_id}",
            summary=trim(plain_text(paper.get("summary") or entry.get("summary"))),
            published_at=listing_date(entry),
            authors=authors,
            source="huggingface",
        )
