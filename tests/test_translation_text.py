"""The text side of translation: splitting that never loses a byte, placeholders, prompts, and the cache."""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
from pathlib import Path

import pytest

from venom_mcp.services.translation_text import (
    LANGUAGES,
    Piece,
    TranslationCache,
    chunk_budget,
    clean_output,
    join_pieces,
    protect,
    restore,
    split_for_translation,
    translation_messages,
)

# --- random Markdown-ish documents ---------------------------------------------------------------------------

WORDS = [
    "zażółć", "gęślą", "jaźń", "źdźbło", "Straße", "über", "Größe", "hello", "world", "naïve", "cafe\u0301",
    "😀", "🚀🔥", "👩\u200d💻", "model", "tekst", "długi", "schön", "data", "x",
]  # fmt: skip
# Inline spans that are never cut, so they are the only prose pieces allowed past the budget.
ATOMS = [
    "`x = 1`", "`a b  c`", "https://example.com/p?q=1&r=(2)", "[the docs](https://ex.com/d)",
    "![a cat](img/cat.png)", "<b>", "</b>", "<br/>", '<a href="https://h.io/x">',
]  # fmt: skip
ABBREVIATIONS = ["np.", "z.B.", "e.g.", "Dr.", "itd.", "m.in.", "i.e."]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 12))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words) + 1), rng.choice(ATOMS))
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words) + 1), rng.choice(ABBREVIATIONS) + " Kowalski")
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + rng.choice([".", "!", "?", "…", ".", ""])


def _paragraph(rng: random.Random, sentences: int) -> str:
    text = " ".join(_sentence(rng) for _ in range(sentences))
    # Hard-wrap some paragraphs the way editors do.
    if rng.random() < 0.3:
        text = re.sub(r" (?=\S)", lambda m: "\n" if rng.random() < 0.15 else " ", text)
    return text


def _document(seed: int) -> tuple[str, set[str]]:
    """A document and the set of code markers that must never reach the model."""
    rng = random.Random(seed)
    blocks: list[str] = []
    codes: set[str] = set()
    for index in range(rng.randint(1, 14)):
        kind = rng.choice(
            ["para", "para", "long", "heading", "list", "olist", "quote", "fence", "tilde", "indented", "table",
             "url", "html", "word"]
        )  # fmt: skip
        marker = f"CODE{seed}X{index}"
        if kind == "para":
            block = _paragraph(rng, rng.randint(1, 3))
        elif kind == "long":
            block = _paragraph(rng, rng.randint(10, 40))
        elif kind == "heading":
            block = "#" * rng.randint(1, 6) + " " + _sentence(rng) + rng.choice(["", " ##"])
        elif kind in ("list", "olist"):
            bullets = ["- ", "* ", "+ ", "- [ ] "] if kind == "list" else ["1. ", "2) ", "10. "]
            block = "\n".join(rng.choice(bullets) + _sentence(rng) for _ in range(rng.randint(1, 4)))
        elif kind == "quote":
            block = "\n".join(rng.choice(["> ", ">", "> > "]) + _sentence(rng) for _ in range(rng.randint(1, 3)))
        elif kind in ("fence", "tilde"):
            fence = "```" if kind == "fence" else "~~~"
            body = f"# {marker} not a heading\n- {marker} not a list\n\n{marker} Prose-like code. Really."
            block = f"{fence}{rng.choice(['', 'python', ' js'])}\n{body}\n{fence}"
            codes.add(marker)
        elif kind == "indented":
            if len(blocks) > 1 and blocks[-2].lstrip()[:2] in ("- ", "* ", "+ ", "1.", "2)", "10"):
                continue  # after a list, indentation continues the item instead
            block = f"    {marker} = 1\n\tprint({marker}). Hello world."
            codes.add(marker)
        elif kind == "table":
            rows = [f"| {_sentence(rng)} | {rng.choice(WORDS)} |" for _ in range(rng.randint(1, 3))]
            block = "\n".join(["| Name | Wert |", "|---|:--:|", *rows])
        elif kind == "url":
            block = "https://example.org/some/path"
        elif kind == "html":
            block = '<div class="note">'
        else:
            block = rng.choice(WORDS) * rng.randint(20, 80)
        blocks.append(block)
        blocks.append(rng.choice(["\n\n", "\n\n", "\n\n\n", "\n  \n", "\n \t\n\n"]) if kind != "long" else "\n\n")
    text = "".join(blocks[:-1]) if blocks else ""
    if rng.random() < 0.3:
        marker = f"CODE{seed}UNCLOSED"
        text += f"\n\n```bash\necho {marker}\n# {marker}"
        codes.add(marker)
    text += rng.choice(["", "\n", "\n\n", "  \n"])
    if rng.random() < 0.3:
        text = text.replace("\n", "\r\n")
    return text, codes


MARKER_LINE = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d{1,9}[.)]\s|>|\|)")


@pytest.mark.parametrize("seed", range(300))
def test_split_round_trips_and_keeps_structure_out_of_the_prose(seed: int) -> None:
    text, codes = _document(seed)
    max_chars = random.Random(seed).choice([25, 60, 120, 400, 2000])
    pieces = split_for_translation(text, max_chars)
    assert "".join(p.text for p in pieces) == text
    for first, second in itertools.pairwise(pieces):
        assert first.translate or second.translate, "neighbouring pass-through pieces are merged"
    for piece in pieces:
        assert piece.text
        if not piece.translate:
            continue
        assert piece.text == piece.text.strip(), "whitespace around prose stays out of the model's way"
        assert any(char.isalpha() for char in piece.text)
        assert len(piece.text) <= max_chars or piece.text in ATOMS, piece.text
        assert not any(marker in piece.text for marker in codes), piece.text
        for line in piece.text.splitlines():
            assert not MARKER_LINE.match(line), f"markdown marker sent for translation: {line!r}"
    # A translator that changes every prose piece still leaves code and markers exactly where they were.
    shouted = {}
    for index, piece in enumerate(pieces):
        if piece.translate:
            protected, mapping = protect(piece.text)
            shouted[index] = restore(protected.upper(), mapping)
    out = join_pieces(pieces, shouted)
    assert out.count("\n") == text.count("\n")
    for marker in codes:
        assert out.count(marker) == text.count(marker)
    for atom in ATOMS:
        kept = atom.partition("](")[2] or atom  # link labels are prose, their targets are not
        assert out.count(kept) == text.count(kept)


def test_round_trip_edge_texts() -> None:
    for text in ["", "\n", "\r\n\r\n", "   ", "zażółć", "😀\n", "# \n", "-", "```", "> ", "|", "a\rb\r\n", "\t\tx"]:
        for max_chars in (1, 3, 50):
            pieces = split_for_translation(text, max_chars)
            assert "".join(p.text for p in pieces) == text
            assert all(len(p.text) <= max_chars for p in pieces if p.translate)
    with pytest.raises(ValueError):
        split_for_translation("text", 0)


def test_text_ten_times_the_budget_is_chunked_without_losing_or_reordering_words() -> None:
    rng = random.Random(7)
    max_chars = 300
    paragraphs: list[str] = []
    while sum(map(len, paragraphs)) < 10 * max_chars:
        paragraphs.append(_paragraph(random.Random(rng.random()), rng.randint(1, 6)).replace("`", ""))
    paragraphs.append(" ".join(rng.choice(WORDS) for _ in range(300)))  # one long run without sentence ends
    text = "\n\n".join(paragraphs) + "\n"
    assert len(text) > 10 * max_chars
    pieces = split_for_translation(text, max_chars)
    prose = [p.text for p in pieces if p.translate]
    assert len(prose) >= 10
    assert all(len(chunk) <= max_chars for chunk in prose)
    assert " ".join(prose).split() == text.split()
    assert all(p.text.isspace() for p in pieces if not p.translate)


def test_long_paragraph_splits_at_sentence_ends_first() -> None:
    sentences = [f"Sentence number {i} is here and it goes on for a while." for i in range(30)]
    pieces = split_for_translation(" ".join(sentences), 120)
    prose = [p.text for p in pieces if p.translate]
    assert len(prose) == 15
    assert all(chunk.endswith("while.") for chunk in prose)
    assert prose[0] == f"{sentences[0]} {sentences[1]}"


def test_abbreviations_do_not_end_sentences() -> None:
    sentences = [
        "Wir brauchen z.B. Äpfel und sehr viele Birnen hier.",
        "Kupiłem np. Jabłka i dużo innych owoców dziś rano.",
        "Dr. Smith came and we saw e.g. Many other people.",
        "Było tam dużo ludzi, pieniędzy itd. Naprawdę dużo.",
        "Firmy m.in. Orlen i inne mają dużo pieniędzy teraz.",
        "Am 3. Oktober feiern wir den Tag der Einheit laut.",
        "W 2020 r. Polska miała dużo problemów, naprawdę.",
        "The author J. Doe wrote the book, i.e. That one.",
    ]
    text = " ".join(sentences)
    pieces = split_for_translation(text, 60)
    assert [p.text for p in pieces if p.translate] == sentences
    assert all(p.text == " " for p in pieces if not p.translate)


def test_ellipsis_exclamation_and_cjk_sentence_ends() -> None:
    text = "Czekaj… Co to było? Nie wiem! Dobrze. 今日は晴れです。明日は雨です。"
    prose = [p.text for p in split_for_translation(text, 12) if p.translate]
    assert prose == ["Czekaj…", "Co to było?", "Nie wiem!", "Dobrze.", "今日は晴れです。", "明日は雨です。"]


def test_whitespace_split_then_hard_cut_for_overlong_words() -> None:
    text = "short words " + "ą" * 25 + " end"
    pieces = split_for_translation(text, 10)
    prose = [p.text for p in pieces if p.translate]
    assert prose == ["short", "words", "ą" * 10, "ą" * 10, "ą" * 5, "end"]
    # Accents and emoji sequences are not torn apart by the hard cut.
    combining = "e\u0301" * 8
    cut = [p.text for p in split_for_translation(combining, 5) if p.translate]
    assert "".join(cut) == combining
    assert all(not chunk.startswith("\u0301") for chunk in cut)
    emoji = "👩\u200d💻" * 6
    cut = [p.text for p in split_for_translation(emoji, 4) if p.translate]
    assert all(chunk.startswith("👩") and chunk.endswith("💻") for chunk in cut)


def test_protected_spans_are_never_cut() -> None:
    url = "https://example.com/" + "a" * 80
    text = f"See {url} and `some code with spaces` now please ok"
    pieces = split_for_translation(text, 20)
    assert "".join(p.text for p in pieces) == text
    assert any(url in p.text for p in pieces)
    assert any("`some code with spaces`" in p.text for p in pieces)
    assert [p.text for p in pieces if p.translate] == ["See", "and", "now please ok"]
    # A link whose label is prose is still one atom, however long.
    link = "[a very long label here](https://example.com/x)"
    assert [p.text for p in split_for_translation(f"Go {link} now", 10) if p.translate] == ["Go", link, "now"]


def test_code_fences_and_indented_code_pass_through() -> None:
    text = (
        "Intro text.\n"
        "```python\nx = 1  # Comment. Not prose.\n\n- not a list\n```\n"
        "Middle text.\n\n"
        "~~~\n``` still inside\n# no heading\n~~~\n\n"
        "````md\n```\ninner\n```\n````\n\n"
        "    indented = True\n    more()\n\n"
        "After code.\n"
        "```\nunclosed fence\n\nruns to the end"
    )
    pieces = split_for_translation(text, 1000)
    assert "".join(p.text for p in pieces) == text
    prose = [p.text for p in pieces if p.translate]
    assert prose == ["Intro text.", "Middle text.", "After code."]
    kept = "".join(p.text for p in pieces if not p.translate)
    codes = [
        "x = 1  # Comment. Not prose.\n\n- not a list\n",
        "``` still inside\n# no heading\n",
        "```\ninner\n```\n",
        "    indented = True\n    more()\n",
        "unclosed fence\n\nruns to the end",
    ]
    for code in codes:
        assert code in kept


def test_inline_triple_backticks_are_not_a_fence() -> None:
    prose = [p.text for p in split_for_translation("```x``` is inline code in prose.", 100) if p.translate]
    assert prose == ["```x``` is inline code in prose."]


def test_markdown_markers_stay_out_of_the_prose() -> None:
    text = (
        "# Tytuł rozdziału #\n"
        "## Section\n\n"
        "- first item\n"
        "  continues here\n"
        "* second\n"
        "1. numbered\n"
        "- [x] done task\n"
        "> quoted line\n"
        "> > nested quote\n\n"
        "| Name | Opis |\n"
        "|------|:----:|\n"
        "| Jan  | miły człowiek |\n\n"
        "Setext title\n"
        "============\n"
        "https://only.example.com/url\n"
        '<div align="center">\n'
        "[ref]: https://example.com/ref\n"
        "***\n"
    )
    pieces = split_for_translation(text, 9)  # a tiny budget: words are cut apart, markers stay out
    assert "".join(p.text for p in pieces) == text
    prose = [p.text for p in pieces if p.translate]
    assert prose == [
        "Tytuł", "rozdziału", "Section", "first", "item", "continues", "here", "second", "numbered", "done task",
        "quoted", "line", "nested", "quote", "Name", "Opis", "Jan", "miły", "człowiek", "Setext", "title",
    ]  # fmt: skip
    assert [p.text for p in pieces[:3]] == ["# ", "Tytuł", " "]
    assert " #\n## " in [p.text for p in pieces] and "\n- [x] " in [p.text for p in pieces]
    prose = [p.text for p in split_for_translation(text, 1000) if p.translate]
    assert prose[:4] == ["Tytuł rozdziału", "Section", "first item\n  continues here", "second"]
    assert "miły człowiek" in prose and "Setext title" in prose
    assert not any("https" in chunk or "div" in chunk or "ref" in chunk for chunk in prose)


def test_small_paragraphs_are_merged_up_to_the_budget() -> None:
    text = "One.\n\nTwo.\r\n\r\nThree.\n\n\nFour is longer.\n"
    merged = split_for_translation(text, 30)
    assert merged == [
        Piece("One.\n\nTwo.\r\n\r\nThree.", True),
        Piece("\n\n\n", False),
        Piece("Four is longer.", True),
        Piece("\n", False),
    ]
    separate = [p.text for p in split_for_translation(text, 8) if p.translate]
    assert separate == ["One.", "Two.", "Three.", "Four is", "longer."]
    # A line break alone is not a paragraph break, and list items never merge.
    assert [p.text for p in split_for_translation("- a\n- b\n\n- c", 100) if p.translate] == ["a", "b", "c"]


def test_join_pieces_replaces_only_translatable_pieces() -> None:
    pieces = split_for_translation("# Cześć\n\n```\nkod\n```\n- świat\n", 100)
    translations = {i: p.text.replace("Cześć", "Hello").replace("świat", "world") for i, p in enumerate(pieces)}
    translations.update({i: "IGNORED" for i, p in enumerate(pieces) if not p.translate})
    assert join_pieces(pieces, translations) == "# Hello\n\n```\nkod\n```\n- world\n"
    with pytest.raises(ValueError, match="piece"):
        join_pieces(pieces, {})


# --- placeholders ------------------------------------------------------------------------------------------


def test_protect_restore_round_trip() -> None:
    text = (
        'Read [the guide](https://docs.example.com/a_(b) "Title") and ![a diagram](img/d.png), '
        "run `pip install x` or ``a ` b``, visit https://example.com/path?x=1. "
        '<b>Bold</b> <a href="https://h.io">link</a> <!-- note --> <https://auto.link> '
        "[ref link][docs] and ⟦0⟧ literal."
    )
    protected, mapping = protect(text)
    assert restore(protected, mapping) == text
    for hidden in ["https://", "pip install", "img/d.png", "<b>", "</a>", "<!--", "a ` b", "docs]"]:
        assert hidden not in protected, hidden
    # Labels are prose and stay translatable; the link syntax around the placeholder stays visible.
    assert "[the guide](⟦" in protected and "![a diagram](⟦" in protected and "[ref link][⟦" in protected
    assert "Bold" in protected and "link" in protected
    assert protected.endswith("path?x=1. ⟦") is False and "⟧. " in protected  # the sentence dot is not part of the URL
    assert sorted(mapping) == sorted(set(re.findall(r"⟦\d+⟧", protected)))
    assert "⟦0⟧" in mapping.values()


def test_restore_after_translation_and_nested_spans() -> None:
    text = "See [`code` at https://a.io](https://b.io/x) now."
    protected, mapping = protect(text)
    assert protected == "See [⟦0⟧ at ⟦1⟧](⟦2⟧) now."
    translated = protected.replace("See", "Zobacz").replace("at", "pod").replace("now", "teraz")
    assert restore(translated, mapping) == "Zobacz [`code` pod https://a.io](https://b.io/x) teraz."


def test_restore_tolerates_spacing_and_names_dropped_placeholders() -> None:
    protected, mapping = protect("Use `a` and `b` and `c`.")
    assert protected == "Use ⟦0⟧ and ⟦1⟧ and ⟦2⟧."
    assert restore("Użyj ⟦ 0 ⟧ i ⟦1 ⟧ i ⟦  2⟧.", mapping) == "Użyj `a` i `b` i `c`."
    with pytest.raises(ValueError, match="⟦1⟧") as info:
        restore("Użyj ⟦0⟧ i ⟦2⟧.", mapping)
    assert "⟦0⟧" not in str(info.value)
    # A placeholder the model invented is left alone rather than guessed at.
    assert restore("⟦0⟧⟦1⟧⟦2⟧ ⟦9⟧", mapping) == "`a``b``c` ⟦9⟧"


def test_urls_end_before_trailing_punctuation() -> None:
    for tail in [".", ",", "…", "!", ")", "”", "**"]:
        _, mapping = protect(f"(see https://example.com/a_(b)/c{tail} now")
        assert list(mapping.values()) == ["https://example.com/a_(b)/c"], tail


def test_protect_without_spans_is_identity() -> None:
    assert protect("Zwykły tekst, bez kodu.") == ("Zwykły tekst, bez kodu.", {})
    assert restore("Plain text.", {}) == "Plain text."


# --- budget and prompt -------------------------------------------------------------------------------------


def test_chunk_budget_bounds() -> None:
    assert chunk_budget(None) == 2000
    assert chunk_budget(0) == 2000
    assert chunk_budget(256) == 200
    assert chunk_budget(1_000_000) == 8000
    assert chunk_budget(8192) == int((8192 * 0.6 / 2 - 200) * 3)
    assert chunk_budget(4096) < chunk_budget(8192) < chunk_budget(16384)
    assert chunk_budget(8192, reserve_ratio=0.6) < chunk_budget(8192)
    assert all(200 <= chunk_budget(n) <= 8000 for n in range(1, 100_000, 997))
    with pytest.raises(ValueError):
        chunk_budget(4096, reserve_ratio=1.0)


def test_translation_messages() -> None:
    assert LANGUAGES == {"pl": "Polish", "en": "English", "de": "German"}
    messages = translation_messages("Cześć ⟦0⟧\n\n- świat", "pl", "de")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == "Cześć ⟦0⟧\n\n- świat"
    system = messages[0]["content"]
    assert "from Polish to German" in system
    assert "⟦0⟧" in system and "placeholder" in system
    assert "Markdown" in system and "line breaks" in system
    assert "only the translation" in system
    auto = translation_messages("x", None, "en")[0]["content"]
    assert "from the detected language to English" in auto
    assert "to fr" in translation_messages("x", "en", "fr")[0]["content"]
    with pytest.raises(ValueError):
        translation_messages("x", "en", " ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cześć świecie.", "Cześć świecie."),
        ("\n  Hallo Welt.\n", "Hallo Welt."),
        ("```\nHallo\n  Welt\n```", "Hallo\n  Welt"),
        ("```markdown\n# Titel\n\n- Punkt\n```\n", "# Titel\n\n- Punkt"),
        ("~~~\nText\n~~~", "Text"),
        ('"Hallo Welt."', "Hallo Welt."),
        ("„Witaj świecie.”", "Witaj świecie."),
        ("Translation: Hallo Welt.", "Hallo Welt."),
        ("Tłumaczenie:\nWitaj.", "Witaj."),
        ("**Translation:** Hallo.", "Hallo."),
        ("Here is the translation into Polish:\n\n```\nWitaj.\n```", "Witaj."),
        ('Sure! Here\'s the German translation:\n"Hallo."', "Hallo."),
        ('"Ja" und "Nein"', '"Ja" und "Nein"'),
        ("```a```\ntext\n```b```", "```a```\ntext\n```b```"),
        ("```\none\n```\nmiddle\n```\ntwo\n```", "```\none\n```\nmiddle\n```\ntwo\n```"),
        ("Translations are hard: ok", "Translations are hard: ok"),
        ("Zeile  \n  mit ⟦0⟧ und `x`", "Zeile  \n  mit ⟦0⟧ und `x`"),
    ],
)
def test_clean_output(raw: str, expected: str) -> None:
    assert clean_output(raw) == expected


def test_clean_output_keeps_wrappers_the_source_had() -> None:
    assert clean_output('"Hallo Welt."', source='"Hello world."') == '"Hallo Welt."'
    assert clean_output('"Hallo Welt."', source="Hello world.") == "Hallo Welt."
    assert clean_output("Übersetzung: gut", source="Translation: good") == "Übersetzung: gut"


# --- cache -------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cache_hit_miss_and_keys_hide_the_text(tmp_path: Path) -> None:
    cache = TranslationCache(tmp_path / "t.json")
    key = TranslationCache.key("pl", "en", "qwen3:8b", "Tajny tekst źródłowy")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert "Tajny" not in key
    assert key == TranslationCache.key("pl", "en", "qwen3:8b", "Tajny tekst źródłowy")
    others = {
        TranslationCache.key(None, "en", "qwen3:8b", "Tajny tekst źródłowy"),
        TranslationCache.key("pl", "de", "qwen3:8b", "Tajny tekst źródłowy"),
        TranslationCache.key("pl", "en", "llama3", "Tajny tekst źródłowy"),
        TranslationCache.key("pl", "en", "qwen3:8b", "Tajny tekst źródłowy."),
        TranslationCache.key("pl", "en", "qwen3:8", "bTajny tekst źródłowy"),
    }
    assert key not in others and len(others) == 5
    assert cache.get(key) is None
    cache.put(key, "Secret source text")
    assert cache.get(key) == "Secret source text"
    cache.save()
    stored = (tmp_path / "t.json").read_text(encoding="utf-8")
    assert "Tajny" not in stored and key in stored


def test_cache_ttl_expiry_with_injected_clock(tmp_path: Path) -> None:
    clock = Clock()
    cache = TranslationCache(tmp_path / "t.json", ttl_seconds=100, clock=clock)
    cache.put("k", "v")
    clock.now += 99
    assert cache.get("k") == "v"
    clock.now += 1
    assert cache.get("k") is None
    assert len(cache) == 0


def test_cache_lru_eviction_order(tmp_path: Path) -> None:
    cache = TranslationCache(tmp_path / "t.json", max_entries=3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("d", "D")
    assert cache.get("b") is None
    assert [cache.get(key) for key in "acd"] == ["A", "C", "D"]
    cache.put("e", "E")  # order is a, c, d after the reads above; a goes
    assert cache.get("a") is None and cache.get("c") == "C"
    cache.put("c", "C2")  # overwriting refreshes too
    cache.put("f", "F")
    assert cache.get("d") is None and cache.get("c") == "C2" and len(cache) == 3


def test_cache_persists_across_instances_in_lru_order(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "translations.json"
    clock = Clock()
    first = TranslationCache(path, max_entries=2, ttl_seconds=50, clock=clock)
    first.put("old", "1")
    first.put("new", "2")
    first.get("old")
    first.save()
    assert json.loads(path.read_text(encoding="utf-8"))["entries"][-1][0] == "old"
    second = TranslationCache(path, max_entries=2, ttl_seconds=50, clock=clock)
    second.put("third", "3")  # "new" is the least recently used one loaded from disk
    assert second.get("old") == "1" and second.get("new") is None
    clock.now += 60
    assert TranslationCache(path, ttl_seconds=50, clock=clock).get("old") is None


def test_cache_loads_lazily_and_save_keeps_other_entries(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    writer = TranslationCache(path)
    writer.put("a", "A")
    writer.save()
    lazy = TranslationCache(path)
    path.write_text(json.dumps({"format": 1, "entries": [["b", 2e9, "B"]]}), encoding="utf-8")
    assert lazy.get("b") == "B", "the file is read on first use, not in the constructor"
    lazy.put("c", "C")
    lazy.save()
    assert TranslationCache(path).get("b") == "B"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00", b"[]", b'{"entries": {"a": "b"}}', b'{"format": 1, "entries": [["a", "x", "b"]]}'],
)
def test_cache_ignores_corrupt_or_foreign_files(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    cache = TranslationCache(path)
    with caplog.at_level(logging.WARNING):
        assert cache.get("a") is None
    assert "translation cache" in caplog.text
    cache.put("a", "A")
    cache.save()
    assert TranslationCache(path).get("a") == "A"


def test_cache_directory_in_place_of_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.mkdir()
    assert TranslationCache(path).get("a") is None
