"""Model cards of the /library and /search pages, in both markups ollama.com has served.

A card is an `<li>` holding a link to a model (`/library/<name>`, or `/<user>/<name>` for community models
on /search) with an `<h2>` title inside the link. Until 2026-08 (library) and 2026-09 (search) the cards also
carried `x-test-*` attributes; the attributes went, the structure stayed, so the facts are read from it:

* pull count: the element just before the "Pulls" label;
* capabilities and sizes: the row of chips (see `text.chips`);
* updated: the exact date in the `title` of the "Updated ..." element.

A page whose cards show none of these (or, from three cards on, not one pull count) has changed layout: that
is LayoutChanged, never a fresh-looking answer without facts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...errors import LayoutChanged
from ...records import CatalogModel
from .text import chips, clean, labelled_value, parse_count, titled_date

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

_LIBRARY_HREF = re.compile(r"^/library/([A-Za-z0-9_.-]+)$")
_USER_HREF = re.compile(r"^/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)$")
# First path segments of the site itself, never a user namespace.
_SITE_SECTIONS = frozenset(
    {"library", "search", "blog", "public", "download", "docs", "signin", "signup", "settings", "pricing", "api"}
)
PULL_LABELS = frozenset({"pulls", "pull"})
_CARDS_THAT_MUST_SHOW_PULLS = 3


def model_name(href: str) -> str | None:
    """'/library/qwen3' -> 'qwen3', '/huihui_ai/gemma-4-abliterated' -> 'huihui_ai/gemma-4-abliterated'."""
    if match := _LIBRARY_HREF.match(href):
        return match.group(1)
    if (match := _USER_HREF.match(href)) and match.group(1) not in _SITE_SECTIONS:
        return f"{match.group(1)}/{match.group(2)}"
    return None


def parse_library_html(html: str, base_url: str, *, search_page: bool = False) -> list[CatalogModel]:
    """Catalog rows from a /library or /search page.

    Raises LayoutChanged when the page holds no model cards (an empty search page is fine: it keeps its
    search form), or holds cards from which no pull count can be read.
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    models: list[CatalogModel] = []
    seen: set[str] = set()
    for card, name, href in _cards(tree):
        if name in seen:
            continue
        seen.add(name)
        capabilities, sizes = chips(card)
        description = clean(card.css_first("p[class*=break-words]") or _first_plain_p(card))
        pulls = labelled_value(card, PULL_LABELS) or clean(card.css_first("[x-test-pull-count]"))
        models.append(
            CatalogModel(
                provider="ollama",
                model_name=name if ":" in name else f"{name}:latest",
                display_name=name,
                runtime="ollama",
                tags=capabilities + sizes,
                downloads=parse_count(pulls),
                description=description or None,
                url=f"{base_url}{href}",
                updated_at=titled_date(card),
                capabilities=capabilities,
                sizes=sizes,
            )
        )
    if not models:
        if search_page and tree.css_first("input[name=q]") is not None:
            return []
        raise LayoutChanged(
            f"{base_url} answered, but the page holds no model cards: the ollama.com layout changed"
        )
    _require_facts(models, base_url)
    return models


def _cards(tree: LexborHTMLParser) -> list[tuple[LexborNode, str, str]]:
    # The old markup marks its cards; the current one is found by structure, which the old one shares.
    candidates = tree.css("li[x-test-model]") or tree.css("li")
    found: list[tuple[LexborNode, str, str]] = []
    for item in candidates:
        if len(item.css("li")) > 1:  # a list around cards is not a card (css() counts the item itself)
            continue
        for link in item.css("a[href]"):
            href = link.attributes.get("href") or ""
            name = model_name(href)
            if name is not None and link.css_first("h2") is not None:
                found.append((item, name, href))
                break
    return found


def _first_plain_p(card: LexborNode) -> LexborNode | None:
    # The description is the paragraph without the stats' <span>s.
    return next((p for p in card.css("p") if p.css_first("span") is None), None)


def _require_facts(models: list[CatalogModel], base_url: str) -> None:
    # Cards without a single fact are a redesign. So is a page of several cards without one pull count (every
    # real card shows it): the stats line is gone even if the chips survived.
    if any(m.downloads is not None for m in models):
        return
    has_other_facts = any(m.capabilities or m.sizes or m.updated_at for m in models)
    if has_other_facts and len(models) < _CARDS_THAT_MUST_SHOW_PULLS:
        return
    missing = "a pull count" if has_other_facts else "a pull count, capability, size or date"
    raise LayoutChanged(
        f"{base_url} answered with {len(models)} model cards, but not one shows {missing}: "
        "the ollama.com layout changed"
    )
