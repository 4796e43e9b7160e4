"""Splitting a document for translation: pieces whose concatenation is the input exactly. Only prose pieces
(`translate=True`) go to the model, each bounded by a character budget; code, Markdown markers, URLs and markup
pass through untouched."""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from .translation_placeholders import SPAN_RE, has_prose


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    translate: bool  # False: passes through unchanged (code, URL-only lines, markup, whitespace)


# --- block structure ---------------------------------------------------------------------------------------

_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+")
_FENCE_OPEN_RE = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FENCE_CLOSE_RE = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_INDENTED_RE = re.compile(r"^(?: {4}| {0,3}\t)")
_PREFIX_RE = re.compile(
    r"^(?P<lead>[ \t]*(?:(?:>|[-*+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$))[ \t]*)*)"
    r"(?P<head>\#{1,6}(?:[ \t]+|$))?(?P<task>\[[ xX]\][ \t]+)?"
)
_CLOSING_HASHES_RE = re.compile(r"[ \t]+#+[ \t]*$")
_SETEXT_OR_RULE_RE = re.compile(r"^ {0,3}(?:=+|-+|(?:[-*_][ \t]*){3,})[ \t]*$")
_HTML_BLOCK_RE = re.compile(r"^ {0,3}<(pre|script|style|textarea)(?=[\s>]|$)", re.IGNORECASE)
_COMMENT_OPEN_RE = re.compile(r"^ {0,3}<!--")
_HTML_ONLY_RE = re.compile(r"^\s*(?:(?:<!--.*?-->|</?[A-Za-z][^<>]*>)\s*)+$")
_URL_ONLY_RE = re.compile(r"^\s*(?:<?https?://[^\s<>]+>?\s*)+$")
_LINK_DEF_RE = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S")
_TABLE_DELIM_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_CELL_SEP_RE = re.compile(r"(?<!\\)\|")
_YAML_KEY_RE = re.compile(r"^[A-Za-z_][\w-]*[ \t]*:")


class _Builder:
    """Collects pieces; pass-through text is buffered so neighbouring pass-through pieces become one."""

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self._keep: list[str] = []

    def keep(self, text: str) -> None:
        if text:
            self._keep.append(text)

    def prose(self, text: str) -> None:
        # Surrounding whitespace never goes to the model: models drop or add it at will.
        core = text.strip()
        if not core:
            self.keep(text)
            return
        start = len(text) - len(text.lstrip())
        self.keep(text[:start])
        self._flush()
        self.pieces.append(Piece(core, True))
        self.keep(text[start + len(core) :])

    def finish(self) -> list[Piece]:
        self._flush()
        return self.pieces

    def _flush(self) -> None:
        if self._keep:
            self.pieces.append(Piece("".join(self._keep), False))
            self._keep = []


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _blank(line: str) -> bool:
    return not line.strip()


def _fence_end(lines: list[str], start: int, fence: str) -> int:
    """Index just past the closing fence line; an unclosed fence runs to the end of the text."""
    for index in range(start + 1, len(lines)):
        close = _FENCE_CLOSE_RE.match(_body(lines[index]))
        if close and close.group("fence")[0] == fence[0] and len(close.group("fence")) >= len(fence):
            return index + 1
    return len(lines)


def _open_fence(body: str) -> str | None:
    match = _FENCE_OPEN_RE.match(body)
    if match is None:
        return None
    fence = match.group("fence")
    # "```x```" on one line is inline code, not a fence.
    if fence[0] == "`" and "`" in match.group("info"):
        return None
    return fence


def _until(lines: list[str], start: int, closing: re.Pattern[str]) -> int:
    for index in range(start, len(lines)):
        if closing.search(lines[index]):
            return index + 1
    return len(lines)


def _has_marker(prefix: re.Match[str]) -> bool:
    return bool(prefix.group("lead").strip() or prefix.group("head") or prefix.group("task"))


def _starts_block(body: str) -> bool:
    """Whether a line ends the paragraph above it instead of continuing it."""
    prefix = _PREFIX_RE.match(body)
    return bool(
        (prefix is not None and _has_marker(prefix))
        or _open_fence(body) is not None
        or body.lstrip().startswith("|")
        or _SETEXT_OR_RULE_RE.match(body)
        or _HTML_BLOCK_RE.match(body)
        or _COMMENT_OPEN_RE.match(body)
        or _HTML_ONLY_RE.match(body)
        or _LINK_DEF_RE.match(body)
    )


def _passes_through(body: str) -> bool:
    return bool(
        _HTML_ONLY_RE.match(body)
        or _URL_ONLY_RE.match(body)
        or _LINK_DEF_RE.match(body)
        or not any(char.isalpha() for char in body)
    )


def _table_row(builder: _Builder, line: str) -> None:
    body = _body(line)
    pos = 0
    for sep in _CELL_SEP_RE.finditer(body):
        builder.prose(body[pos : sep.start()])
        builder.keep("|")
        pos = sep.end()
    builder.prose(body[pos:])
    builder.keep(line[len(body) :])


def _structure(text: str) -> list[Piece]:
    lines = _LINE_RE.findall(text)
    builder = _Builder()
    index = 0
    # YAML front matter: keys and values are data, not prose.
    if lines and _body(lines[0]) == "---" and len(lines) > 1 and _YAML_KEY_RE.match(lines[1]):
        for end in range(1, len(lines)):
            if _body(lines[end]).rstrip() in ("---", "..."):
                builder.keep("".join(lines[: end + 1]))
                index = end + 1
                break
    in_list = False
    while index < len(lines):
        line = lines[index]
        body = _body(line)
        if _blank(line):
            builder.keep(line)
            index += 1
            continue
        indented = body[:1] in (" ", "\t")
        fence = _open_fence(body)
        if fence is not None:
            end = _fence_end(lines, index, fence)
        elif not in_list and _INDENTED_RE.match(body):
            # An indented code block; inside a list the same indentation is the item's continuation.
            end = index + 1
            while end < len(lines) and (_blank(lines[end]) or _INDENTED_RE.match(lines[end])):
                end += 1
        elif html := _HTML_BLOCK_RE.match(body):
            end = _until(lines, index, re.compile(rf"</{html.group(1)}\s*>", re.IGNORECASE))
        elif _COMMENT_OPEN_RE.match(body):
            end = _until(lines, index, re.compile(r"-->"))
        elif _passes_through(body):
            end = index + 1
        else:
            end = -1
        if end >= 0:
            builder.keep("".join(lines[index:end]))
            in_list = in_list and indented
            index = end
            continue
        if body.lstrip().startswith("|") or (
            "|" in body
            and index + 1 < len(lines)
            and "|" in lines[index + 1]
            and _TABLE_DELIM_RE.match(_body(lines[index + 1]))
        ):
            while index < len(lines) and "|" in lines[index] and not _blank(lines[index]):
                _table_row(builder, lines[index])
                index += 1
            in_list = False
            continue
        prefix = _PREFIX_RE.match(body)
        assert prefix is not None  # every group is optional
        builder.keep(body[: prefix.end()])
        lead = prefix.group("lead")
        in_list = any(char in "-*+" or char.isdigit() for char in lead) or (in_list and indented)
        if prefix.group("head"):
            content = body[prefix.end() :]
            closing = _CLOSING_HASHES_RE.search(content)
            cut = closing.start() if closing else len(content)
            builder.prose(content[:cut])
            builder.keep(content[cut:] + line[len(body) :])
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _blank(lines[end]) and not _starts_block(_body(lines[end])):
            end += 1
        builder.prose(line[prefix.end() :] + "".join(lines[index + 1 : end]))
        index = end
    return builder.finish()


# --- chunking ----------------------------------------------------------------------------------------------

# Lower-case, with the trailing dot. Not splitting is always safe, so the list errs on the long side.
_ABBREVIATION_WORDS = """
    e.g. i.e. etc. vs. mr. mrs. ms. dr. prof. st. jr. sr. no. nos. fig. figs. approx. cf. al. inc. ltd. co.
    corp. jan. feb. mar. apr. jun. jul. aug. sep. sept. oct. nov. dec. vol. pp. ed. eq. ca. resp. dept. est.
    z.b. u.a. d.h. bzw. usw. nr. evtl. ggf. vgl. bspw. inkl. exkl. sog. u.u. z.t. abs. str. hr. fr. tel.
    mio. mrd. jh. geb. allg. bzgl. ggü. zzgl. u.ä. o.ä. s.o. s.u.
    np. itd. itp. tzn. tj. m.in. inż. mgr. hab. ok. godz. ul. tys. mln. mld. zł. wg. ds. tzw. jw. pt. nt.
    por. ww. wyd. oprac. red. przyp. cdn. gr. pkt. poz. rys. tab. zob. pl. św. im. sp. ang. niem. łac.
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_SENTENCE_END_RE = re.compile(r"(?:(?P<term>[.!?…]+)[\"'”’»«)\]*_]*(?P<gap>\s+)|[。！？]+[\"'”’»«)\]*_]*(?P<cjk>\s*))")
_WHITESPACE_RE = re.compile(r"\s+")
_MULTI_DOT_ABBREVIATION_RE = re.compile(r"(?:\w{1,3}\.){2,}")
_SHORT_TOKEN_RE = re.compile(r"\w\.|\d{1,2}\.")  # initials ("J."), Polish "r."/"w.", ordinals ("3. Oktober")
_GLUE = frozenset("\u200d\ufe0e\ufe0f")


class _Chunker:
    """Cuts one long prose run into spans of at most `max_chars`, at sentences, then words, then anywhere."""

    def __init__(self, text: str, max_chars: int) -> None:
        self.text = text
        self.max = max_chars
        zones = [(m.start(), m.end()) for m in SPAN_RE.finditer(text)]
        self._starts = [start for start, _ in zones]
        self._ends = [end for _, end in zones]

    def pieces(self) -> list[Piece]:
        out: list[Piece] = []
        pos = 0
        for start, end in self._pack(0, len(self.text), 0):
            if start > pos:
                out.append(Piece(self.text[pos:start], False))
            out.append(Piece(self.text[start:end], True))
            pos = end
        return out

    def _in_zone(self, start: int, end: int) -> tuple[int, int] | None:
        """The protected span (code, link, URL...) that overlaps start..end, if any; those are never cut."""
        # For an empty span (a cut position) only a zone strictly around it counts.
        index = bisect.bisect_left(self._starts, end) - 1
        if index >= 0 and self._ends[index] > start:
            return self._starts[index], self._ends[index]
        return None

    def _gaps(self, lo: int, hi: int, level: int) -> list[tuple[int, int]]:
        gaps: list[tuple[int, int]] = []
        if level == 0:
            for match in _SENTENCE_END_RE.finditer(self.text, lo, hi):
                gap = self._sentence_gap(match, lo, hi)
                if gap is not None:
                    gaps.append(gap)
        else:
            gaps = [m.span() for m in _WHITESPACE_RE.finditer(self.text, lo, hi)]
        return [(start, end) for start, end in gaps if lo < start and end < hi and not self._in_zone(start, end)]

    def _sentence_gap(self, match: re.Match[str], lo: int, hi: int) -> tuple[int, int] | None:
        if match.group("cjk") is not None:
            return match.span("cjk")
        gap_start, gap_end = match.span("gap")
        following = self.text[gap_end] if gap_end < hi else ""
        if following.islower():
            return None  # "approx. five", "Wait... what": not a new sentence
        term_end = match.end("term")
        if match.group("term") == "." and term_end == gap_start:
            token_start = match.start()
            while token_start > lo and not self.text[token_start - 1].isspace():
                token_start -= 1
            token = self.text[token_start:term_end].lstrip("([{\"'„“«*_").lower()
            if (
                token in _ABBREVIATIONS
                or _SHORT_TOKEN_RE.fullmatch(token)
                or _MULTI_DOT_ABBREVIATION_RE.fullmatch(token)
            ):
                return None
        return gap_start, gap_end

    def _pack(self, lo: int, hi: int, level: int) -> list[tuple[int, int]]:
        if hi - lo <= self.max:
            return [(lo, hi)]
        if level == 2:
            return self._hard_cut(lo, hi)
        gaps = self._gaps(lo, hi, level)
        bounds = [lo, *(edge for gap in gaps for edge in gap), hi]
        items = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2) if bounds[i] < bounds[i + 1]]
        chunks: list[tuple[int, int]] = []
        current: tuple[int, int] | None = None
        for start, end in items:
            if end - start > self.max:
                if current:
                    chunks.append(current)
                    current = None
                chunks.extend(self._pack(start, end, level + 1))
            elif current and end - current[0] <= self.max:
                current = (current[0], end)
            else:
                if current:
                    chunks.append(current)
                current = (start, end)
        if current:
            chunks.append(current)
        return chunks

    def _hard_cut(self, lo: int, hi: int) -> list[tuple[int, int]]:
        chunks: list[tuple[int, int]] = []
        pos = lo
        while hi - pos > self.max:
            cut = pos + self.max
            zone = self._in_zone(cut, cut)
            if zone:
                # A protected span (say a data: URI) is kept whole even when it alone exceeds the budget.
                cut = zone[0] if zone[0] > pos else zone[1]
            else:
                while cut > pos + 1 and (
                    unicodedata.combining(self.text[cut]) or self.text[cut] in _GLUE or self.text[cut - 1] == "\u200d"
                ):
                    cut -= 1  # do not split a character from its accents or an emoji sequence
            if cut >= hi:
                break
            chunks.append((pos, cut))
            pos = cut
        chunks.append((pos, hi))
        return chunks


def _is_paragraph_gap(piece: Piece) -> bool:
    return not piece.translate and piece.text.isspace() and piece.text.count("\n") >= 2


def split_for_translation(text: str, max_chars: int) -> list[Piece]:
    """Cut `text` into pieces whose concatenation is `text` exactly; translate only the `translate=True` ones.

    Prose pieces carry no surrounding whitespace and are at most `max_chars` long, except for a protected
    span (a URL, code span or link) that alone exceeds the budget. Paragraphs split first, then sentences,
    then words; small neighbouring paragraphs are merged (blank lines included) to save model calls.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    chunked: list[Piece] = []
    for piece in _structure(text):
        if piece.translate and len(piece.text) > max_chars:
            chunked.extend(_Chunker(piece.text, max_chars).pieces())
        else:
            chunked.append(piece)
    pieces: list[Piece] = []
    for piece in chunked:
        # Prose with nothing to translate (numbers, emoji, a lone code span) is not worth a model call.
        if not piece.translate or not has_prose(piece.text):
            if pieces and not pieces[-1].translate:
                pieces[-1] = Piece(pieces[-1].text + piece.text, False)
            else:
                pieces.append(Piece(piece.text, False))
        else:
            pieces.append(piece)
    merged: list[Piece] = []
    for piece in pieces:
        if (
            piece.translate
            and len(merged) >= 2
            and _is_paragraph_gap(merged[-1])
            and merged[-2].translate
            and len(merged[-2].text) + len(merged[-1].text) + len(piece.text) <= max_chars
        ):
            merged[-2:] = [Piece(merged[-2].text + merged[-1].text + piece.text, True)]
        else:
            merged.append(piece)
    return merged


def join_pieces(pieces: list[Piece], translated: dict[int, str]) -> str:
    """Reassemble: `translated[i]` replaces each translatable piece i, the rest is copied verbatim.

    A translatable piece without a translation raises ValueError rather than leaving a silent hole.
    """
    missing = [index for index, piece in enumerate(pieces) if piece.translate and index not in translated]
    if missing:
        raise ValueError(f"no translation for piece(s) {', '.join(map(str, missing))}")
    return "".join(translated[i] if piece.translate else piece.text for i, piece in enumerate(pieces))
