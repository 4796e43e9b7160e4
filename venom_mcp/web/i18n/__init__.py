"""The dashboard's interface languages: Polish, English and German (the original design's three).

One catalog per language (`en.json`, `pl.json`, `de.json`: key -> text with `{name}` placeholders) serves both the
server-rendered fragments (`translator`) and the page's script (`bundle`, sent as /models/static/i18n.json), so the
two cannot disagree. A key missing from a catalog falls back to English; `missing` lists such gaps for the tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("pl", "en", "de")
DEFAULT = "en"
Translate = Callable[..., str]


def language(value: str | None) -> str:
    """A supported language code, or the default for anything else."""
    code = (value or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT


@cache
def catalog(lang: str) -> Mapping[str, str]:
    text = resources.files(__name__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    loaded: dict[str, str] = json.loads(text)
    return loaded


def translator(lang: str) -> Translate:
    """t(key, **values): the text in `lang` (English where it lacks one) with the values filled in."""
    own, fallback = catalog(language(lang)), catalog(DEFAULT)

    def t(key: str, /, **values: Any) -> str:
        text = own.get(key) or fallback.get(key) or key
        return text.format_map(values) if values else text

    return t


@cache
def bundle() -> bytes:
    """Every catalog as one JSON document, for the page's script."""
    return json.dumps({lang: catalog(lang) for lang in LANGUAGES}, ensure_ascii=False, sort_keys=True).encode()


def missing() -> dict[str, list[str]]:
    """Per language, the English keys it has no text for (and keys English lacks, under 'en')."""
    english = set(catalog(DEFAULT))
    gaps = {lang: sorted(english - set(catalog(lang))) for lang in LANGUAGES if lang != DEFAULT}
    gaps[DEFAULT] = sorted(set().union(*(catalog(lang) for lang in LANGUAGES)) - english)
    return gaps
