"""Reading what ollama.com prints: counts ("38.7M", "5,802"), byte sizes ("3.3GB"), dates and badge chips.

Everything here works on text and document structure, not on the site's `x-test-*` attributes or its
Tailwind classes: those are what changed (2026-08/09) and what will change again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

_COUNT = re.compile(r"^\s*(\d[\d.,]*)\s*([KMB]?)\s*$", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
# Ollama prints download sizes in decimal units ("4.7GB" for 4,661,224,676 bytes).
_BYTES = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB)\b")
_GB_PER_UNIT = {"KB": 1e-6, "MB": 1e-3, "GB": 1.0, "TB": 1e3}
# A parameter-size chip: 8b, 0.5b, 270m, e2b (Gemma's "effective" sizes), 8x7b (mixtures). The site prints these in
# lower case and counts in upper case ("270m" is a size, "38.7M" a pull count), so the match is case-sensitive.
_SIZE_CHIP = re.compile(r"^(?:e?\d+(?:\.\d+)?[kmbt]|\d+x\d+(?:\.\d+)?[mb])$")
# Chip words seen on real pages; one is enough to recognise the row of chips, whose other words are kept too.
KNOWN_CAPABILITIES = frozenset({"tools", "vision", "thinking", "embedding", "cloud", "audio", "insert", "code"})
_DATE_FORMATS = ("%b %d, %Y %I:%M %p UTC", "%b %d, %Y %I:%M %p %Z", "%b %d, %Y")


def parse_count(text: str | None) -> int | None:
    """'108.5M' -> 108500000, '9.8K' -> 9800, '5,802' -> 5802, '512' -> 512; None for anything else."""
    match = _COUNT.match(text or "")
    if not match:
        return None
    try:
        return round(float(match.group(1).replace(",", "")) * _MULTIPLIER[match.group(2).upper()])
    except ValueError:
        return None


def parse_size_gb(text: str | None) -> float | None:
    """The first byte size in a text, in decimal GB: '3.3GB' -> 3.3, '292MB' -> 0.292."""
    match = _BYTES.search(text or "")
    if not match:
        return None
    return round(float(match.group(1)) * _GB_PER_UNIT[match.group(2)], 3)


def parse_page_date(text: str | None) -> datetime | None:
    """The exact date ollama.com puts in a `title` beside "Updated 2 weeks ago": 'Sep 19, 2024 4:42 PM UTC'."""
    value = (text or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def is_size_chip(text: str) -> bool:
    return bool(_SIZE_CHIP.match(text))


def clean(node: LexborNode | None) -> str:
    """A node's text with whitespace (and &nbsp;) collapsed."""
    return " ".join(node.text(deep=True).split()) if node is not None else ""


def previous_element(node: LexborNode) -> LexborNode | None:
    sibling = node.prev
    while sibling is not None and sibling.tag in ("-text", "-comment"):
        sibling = sibling.prev
    return sibling


def labelled_value(scope: LexborNode, labels: frozenset[str]) -> str | None:
    """The text of the element just before a label element: `<span>38.7M</span><span>&nbsp;Pulls</span>`."""
    for node in scope.css("span"):
        if clean(node).lower() in labels and (value := previous_element(node)) is not None:
            text = clean(value)
            if parse_count(text) is not None:
                return text
    return None


def titled_date(scope: LexborNode) -> datetime | None:
    """The first `title` attribute inside scope that holds a date (the "Updated ..." tooltip)."""
    for node in scope.css("[title]"):
        if (when := parse_page_date(node.attributes.get("title"))) is not None:
            return when
    return None


def chips(scope: LexborNode) -> tuple[list[str], list[str]]:
    """(capabilities, parameter sizes) from the row of badge chips.

    The row is found by its content: the parent of any leaf `<span>` that reads as a known capability or a
    size. Every leaf span in that row counts, so a capability ollama.com adds later is still listed.
    """
    leaves = [n for n in scope.css("span") if next(n.iter(), None) is None and clean(n)]
    rows = {n.parent.mem_id for n in leaves if n.parent is not None and _looks_like_chip(clean(n))}
    capabilities: list[str] = []
    sizes: list[str] = []
    for node in leaves:
        if node.parent is None or node.parent.mem_id not in rows:
            continue
        text = clean(node)
        word = text.lower()
        target = sizes if is_size_chip(text) else capabilities
        if word not in target:
            target.append(word)
    return capabilities, sizes


def _looks_like_chip(text: str) -> bool:
    return text.lower() in KNOWN_CAPABILITIES or is_size_chip(text)
