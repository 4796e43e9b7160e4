"""The README as a page of this server (`/models/readme`), so that the dashboard's offline banner can link to the
section on offline use and the link works without the internet. The text is the installed distribution's long
description (the README the package was built from); headings get GitHub's anchors, so
`/models/readme#stale-data-and-offline-use` lands where the same anchor lands on the repository's page. The
Markdown is shown as text (paragraphs, code blocks, headings), not rendered: no Markdown library for one page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

DISTRIBUTION = "venom-mcp"
OFFLINE_ANCHOR = "stale-data-and-offline-use"  # README: "### Stale data and offline use"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "code", "text"]
    text: str
    level: int = 0
    anchor: str = ""


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (but '-' and '_'), spaces to '-'."""
    text = re.sub(r"`|\*\*|__", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def blocks(markdown: str) -> list[Block]:
    """Headings (with unique anchors, as GitHub numbers repeats), fenced code, and paragraphs of text."""
    found: list[Block] = []
    seen: dict[str, int] = {}
    paragraph: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if paragraph:
            found.append(Block("text", "\n".join(paragraph)))
            paragraph.clear()

    for line in markdown.splitlines():
        if code is not None:
            if _FENCE.match(line):
                found.append(Block("code", "\n".join(code)))
                code = None
            else:
                code.append(line)
            continue
        if _FENCE.match(line):
            flush()
            code = []
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            slug = anchor(heading[2])
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.append(Block("heading", heading[2], len(heading[1]), f"{slug}-{count}" if count else slug))
        elif line.strip():
            paragraph.append(line)
        else:
            flush()
    flush()
    if code is not None:
        found.append(Block("code", "\n".join(code)))
    return found


@cache
def installed_readme() -> str | None:
    """The README the installed package was built from (its metadata's description), or None without one."""
    import email
    from importlib import metadata

    try:
        text = metadata.distribution(DISTRIBUTION).read_text("METADATA")
    except metadata.PackageNotFoundError:
        return None
    payload = email.message_from_string(text or "").get_payload()
    return payload if isinstance(payload, str) and payload.strip() else None
