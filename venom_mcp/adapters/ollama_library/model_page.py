"""A model's own page (/library/<name>, or its /tags page): downloads, updated, chips and the size of each tag.

Each tag is a link to `/library/<name>:<tag>` whose row prints its download size ("3.3GB", "292MB"), either
inside the link (the narrow layout) or in a sibling cell (the wide one). The default tag is `latest`, or the
tag wearing the "latest" pill when the page lists no `:latest` row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ...errors import LayoutChanged
from .text import chips, clean, labelled_value, parse_count, parse_size_gb, titled_date

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

DOWNLOAD_LABELS = frozenset({"downloads", "download", "pulls", "pull"})
_ROW_DEPTH = 3  # link -> cell -> row: how far up a size may sit


@dataclass(frozen=True)
class ModelPage:
    name: str
    downloads: int | None
    updated_at: datetime | None
    capabilities: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    tag_sizes: dict[str, float] = field(default_factory=dict)  # tag -> decimal GB
    default_tag: str | None = None

    @property
    def size_gb(self) -> float | None:
        """Download size of the default tag (what `ollama pull <name>` fetches)."""
        return self.tag_sizes.get(self.default_tag) if self.default_tag else None


def model_path(name: str) -> str:
    """'qwen3' -> '/library/qwen3'; a community model 'user/model' lives at '/user/model'."""
    return f"/{name}" if "/" in name else f"/library/{name}"


def parse_model_page(html: str, name: str) -> ModelPage:
    """Facts of one model page. Raises LayoutChanged when it shows neither a download count nor a tag row."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        raise LayoutChanged(f"the page of {name} is empty: the ollama.com layout changed")
    tag_link = re.compile(rf"^{re.escape(model_path(name))}:([A-Za-z0-9_.-]+)$")
    tag_sizes: dict[str, float] = {}
    pill_tag: str | None = None
    for link in root.css("a[href]"):
        match = tag_link.match(link.attributes.get("href") or "")
        if match is None:
            continue
        tag = match.group(1)
        if tag not in tag_sizes and (size := _row_size(link, tag_link)) is not None:
            tag_sizes[tag] = size
        if pill_tag is None and _wears_latest_pill(link, tag_link):
            pill_tag = tag
    downloads = parse_count(labelled_value(root, DOWNLOAD_LABELS) or clean(root.css_first("[x-test-pull-count]")))
    if downloads is None and not tag_sizes:
        raise LayoutChanged(
            f"the page of {name} shows neither a download count nor a tag with its size: "
            "the ollama.com layout changed"
        )
    capabilities, sizes = chips(root)
    default = "latest" if "latest" in tag_sizes else pill_tag
    return ModelPage(name, downloads, titled_date(root), capabilities, sizes, tag_sizes, default)


def _row_size(link: LexborNode, tag_link: re.Pattern[str]) -> float | None:
    node: LexborNode | None = link
    for _ in range(_ROW_DEPTH + 1):
        if node is None or not _one_row(node, tag_link):
            return None
        if (size := parse_size_gb(clean(node))) is not None:
            return size
        node = node.parent
    return None


def _one_row(node: LexborNode, tag_link: re.Pattern[str]) -> bool:
    # An ancestor holding links to two tags has grown past the row into the table.
    if node.tag == "a":
        return True
    tags = {m.group(1) for a in node.css("a[href]") if (m := tag_link.match(a.attributes.get("href") or ""))}
    return len(tags) <= 1


def _wears_latest_pill(link: LexborNode, tag_link: re.Pattern[str]) -> bool:
    # The pill is a <span>latest</span> inside the narrow row's link, or beside the wide row's link.
    scopes = [link]
    if link.parent is not None and _one_row(link.parent, tag_link):
        scopes.append(link.parent)
    return any(clean(span) == "latest" for scope in scopes for span in scope.css("span"))
