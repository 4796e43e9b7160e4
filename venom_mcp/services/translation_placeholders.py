"""Inline spans that must survive translation (code, URLs, link targets, HTML tags), held behind placeholders
`⟦n⟧` that models keep, and put back afterwards."""

from __future__ import annotations

import re

# --- inline spans that must survive translation ------------------------------------------------------------

SPAN_RE = re.compile(
    r"""
      (?P<code>(?P<ticks>`+)(?!`)(?:[^\n]|\n(?![ \t]*\r?\n))*?(?<!`)(?P=ticks)(?!`))
    | (?P<placeholder>⟦\s*\d+\s*⟧)
    | (?P<link>(?P<bang>!?)\[(?P<label>(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*)\]
        (?: \((?P<target>[ \t]*(?:<[^<>\n]*>|(?:[^\s()]|\([^\s()]*\))*)(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'))?[ \t]*)\)
          | \[(?P<ref>[^\[\]\n]*)\] ))
    | (?P<autolink><(?:https?|ftp|mailto):[^\s<>]*>)
    | (?P<comment><!--.*?-->)
    | (?P<tag></?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:@][\w:.@-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?>)
    | (?P<url>https?://(?:[^\s<>()\[\]{}"'`]|\([^\s<>()]*\))*(?:[^\s<>()\[\]{}"'`.,;:!?*_~…”’»]|\([^\s<>()]*\)))
    """,
    re.VERBOSE | re.DOTALL,
)
_PLACEHOLDER_RE = re.compile(r"⟦\s*(\d+)\s*⟧")


def protect(text: str) -> tuple[str, dict[str, str]]:
    """Swap inline code, URLs, link/image targets and HTML tags for placeholders `⟦n⟧` that models keep.

    Link and image labels stay visible (they are prose); only what is between the parentheses or the
    reference brackets is hidden. Placeholder-like text already in the input is itself protected, so
    `restore(*protect(text)) == text` always holds.
    """
    mapping: dict[str, str] = {}
    return _protect(text, mapping), mapping


def _protect(text: str, mapping: dict[str, str]) -> str:
    out: list[str] = []
    pos = 0
    for match in SPAN_RE.finditer(text):
        out.append(text[pos : match.start()])
        if match.group("link") is not None:
            label = _protect(match.group("label"), mapping)
            target = match.group("target")
            if target is not None:
                out.append(f"{match.group('bang')}[{label}]({_hold(target, mapping)})")
            else:
                out.append(f"{match.group('bang')}[{label}][{_hold(match.group('ref'), mapping)}]")
        else:
            out.append(_hold(match.group(0), mapping))
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _hold(span: str, mapping: dict[str, str]) -> str:
    if not span:
        return span
    key = f"⟦{len(mapping)}⟧"
    mapping[key] = span
    return key


def restore(text: str, mapping: dict[str, str]) -> str:
    """Put the protected spans back. Tolerates placeholders the model spaced out (`⟦ 0 ⟧`).

    Raises ValueError naming the placeholders the model dropped, so the caller can retry or fail clearly
    instead of returning a translation with a missing URL or code span.
    """
    found: set[str] = set()

    def swap(match: re.Match[str]) -> str:
        key = f"⟦{int(match.group(1))}⟧"
        if key not in mapping:
            return match.group(0)
        found.add(key)
        return mapping[key]

    # One pass, so restored spans that themselves look like placeholders are not substituted again.
    result = _PLACEHOLDER_RE.sub(swap, text)
    missing = [key for key in mapping if key not in found]
    if missing:
        raise ValueError(f"the translation lost placeholder(s) {', '.join(missing)}")
    return result


def has_prose(text: str) -> bool:
    protected, _ = protect(text)
    return any(char.isalpha() for char in _PLACEHOLDER_RE.sub("", protected))
