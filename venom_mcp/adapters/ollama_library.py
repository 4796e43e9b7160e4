"""The public Ollama library (ollama.com): there is no JSON catalog, so its pages are parsed as HTML.

Model cards are `li[x-test-model]` elements; when those markers disappear (a redesign), the cards are
found through their `/library/<name>` links instead, and when nothing parses at all the caller gets
LayoutChanged and falls back to the bundled snapshot.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ..errors import LayoutChanged, UpstreamError, UpstreamTimeout
from ..records import CatalogModel

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

_COUNT = re.compile(r"^\s*([\d.,]+)\s*([KMB]?)\s*$", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_LIBRARY_HREF = re.compile(r"^/library/([A-Za-z0-9_.-]+)$")


def parse_count(text: str | None) -> int | None:
    """'108.5M' -> 108500000, '9.8K' -> 9800, '512' -> 512."""
    match = _COUNT.match(text or "")
    if not match:
        return None
    try:
        return int(float(match.group(1).replace(",", "")) * _MULTIPLIER[match.group(2).upper()])
    except ValueError:
        return None


def _text(node: LexborNode | None) -> str:
    return " ".join(node.text(deep=True).split()) if node is not None else ""


def _updated_at(card: LexborNode) -> datetime | None:
    # The relative "2 weeks ago" carries an exact date in the title of its wrapper.
    updated = card.css_first("[x-test-updated]")
    node = updated.parent if updated is not None else None
    title = node.attributes.get("title") if node is not None else None
    if not title:
        return None
    for fmt in ("%b %d, %Y %I:%M %p UTC", "%b %d, %Y %I:%M %p %Z", "%b %d, %Y"):
        try:
            return datetime.strptime(title.strip(), fmt)
        except ValueError:
            continue
    return None


def parse_library_html(html: str, base_url: str, *, search_page: bool = False) -> list[CatalogModel]:
    """Catalog rows from a /library or /search page. Raises LayoutChanged when the page is not one."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    cards = tree.css("li[x-test-model]")
    if not cards:  # a redesign without the test markers: fall back to the card links
        cards = [a for a in tree.css("a[href]") if _LIBRARY_HREF.match(a.attributes.get("href") or "")]
    models: list[CatalogModel] = []
    seen: set[str] = set()
    for card in cards:
        link = card if card.tag == "a" else card.css_first("a[href]")
        href = (link.attributes.get("href") or "") if link is not None else ""
        name = _text(card.css_first("[x-test-search-response-title]"))
        if not name and (match := _LIBRARY_HREF.match(href)):
            name = match.group(1)
        if not name or name in seen:
            continue
        seen.add(name)
        capabilities = [_text(n).lower() for n in card.css("[x-test-capability]")]
        sizes = [_text(n).lower() for n in card.css("[x-test-size]")]
        description = _text(card.css_first("p"))
        path = href if href.startswith("/") else f"/library/{name}"
        models.append(
            CatalogModel(
                provider="ollama",
                model_name=name if ":" in name else f"{name}:latest",
                display_name=name,
                runtime="ollama",
                tags=capabilities + sizes,
                downloads=parse_count(_text(card.css_first("[x-test-pull-count]"))),
                description=description or None,
                url=f"{base_url}{path}",
                updated_at=_updated_at(card),
                capabilities=capabilities,
                sizes=sizes,
            )
        )
    if not models:
        # An empty search answer is still a search page: it keeps the search form.
        if search_page and tree.css_first("input[name=q]") is not None:
            return []
        raise LayoutChanged(
            f"{base_url} answered, but the page holds no model cards (the site layout may have changed)"
        )
    return models


def load_snapshot(path: Path) -> tuple[list[CatalogModel], str]:
    """The bundled catalog snapshot and the date it was taken."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [CatalogModel.model_validate(m) for m in data["models"]], str(data["snapshot_date"])


class OllamaLibraryAdapter:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client

    async def popular(self) -> list[CatalogModel]:
        return parse_library_html(await self._get("/library", {"sort": "popular"}), self.base_url)

    async def search(self, query: str) -> list[CatalogModel]:
        html = await self._get("/search", {"q": query})
        return parse_library_html(html, self.base_url, search_page=True)

    async def _get(self, path: str, params: dict[str, str]) -> str:
        url = f"{self.base_url}{path}"
        try:
            response = await self._client.get(url, params=params, headers={"Accept": "text/html"})
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the Ollama library at {self.base_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the Ollama library at {self.base_url} is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise UpstreamError(f"the Ollama library answered HTTP {response.status_code} for {path}")
        return response.text
