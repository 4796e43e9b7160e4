"""Translation through the active runtime: whole texts in chunks that fit the model's context, translated
with bounded concurrency and joined in order; code, URLs and Markdown structure pass through; a cache
keyed by languages, model and text."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..errors import InvalidArgument, UpstreamError
from ..records import ChatResult, NewsResult, TranslateResult
from .translation_text import (
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

if TYPE_CHECKING:
    from .chat import ChatService

log = logging.getLogger(__name__)
CONCURRENCY = 4


def check_language(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise InvalidArgument(f"{what} {value!r} is not supported; use one of: {', '.join(LANGUAGES)}")
    return code


class TranslationService:
    def __init__(self, chat: ChatService, cache: TranslationCache, concurrency: int = CONCURRENCY) -> None:
        self._chat = chat
        self._cache = cache
        self._concurrency = concurrency

    async def translate(self, text: str, target_lang: str, source_lang: str | None = None,
                        use_cache: bool = True) -> TranslateResult:
        target = check_language(target_lang, "target_lang")
        source = check_language(source_lang, "source_lang")
        assert target is not None
        if not text.strip():
            raise InvalidArgument("text is empty; give the text to translate")
        runtime, model = self._chat.active()
        capabilities = await self._chat.capabilities(model)
        pieces = split_for_translation(text, chunk_budget(capabilities.max_context_length))
        chunks = sum(1 for p in pieces if p.translate)
        key = TranslationCache.key(source, target, model, text)
        if use_cache and (hit := self._cache.get(key)) is not None:
            return TranslateResult(translated_text=hit, source_lang=source, target_lang=target,
                                   llm_provider=runtime, llm_model=model, cached=True, chunks=chunks)
        translated: dict[int, str] = {}
        answers: list[ChatResult] = []
        limit = asyncio.Semaphore(self._concurrency)

        async def one(index: int, piece: Piece) -> None:
            async with limit:
                text_out, answer = await self._chunk(piece.text, source, target)
            translated[index] = text_out
            answers.append(answer)

        try:
            async with asyncio.TaskGroup() as group:  # one failed chunk cancels the others: no half translation
                for index, piece in enumerate(pieces):
                    if piece.translate:
                        group.create_task(one(index, piece))
        except* Exception as failures:
            first = failures.exceptions[0]
            raise UpstreamError(f"translation failed, nothing was returned half-done: {first}") from first
        result = join_pieces(pieces, translated)
        if use_cache:
            self._cache.put(key, result)
            await asyncio.to_thread(self._cache.save)
        last = answers[-1] if answers else None
        reasons = [a.finish_reason for a in answers]
        thoughts = [a.thinking for a in answers if a.thinking]
        return TranslateResult(
            translated_text=result, source_lang=source, target_lang=target,
            llm_provider=last.llm_provider if last else runtime,
            llm_model=last.llm_model if last else model, cached=False, chunks=chunks,
            llm_endpoint=last.llm_endpoint if last else None,
            fallback_from=next((a.fallback_from for a in answers if a.fallback_from), None),
            finish_reason="length" if "length" in reasons else (last.finish_reason if last else None),
            thinking="\n\n".join(thoughts) or None,
        )

    async def _chunk(self, text: str, source: str | None, target: str) -> tuple[str, ChatResult]:
        body = text.strip()
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
        protected, mapping = protect(body)
        budget = min(4096, max(64, len(protected) // 2 + 64))
        for attempt in (1, 2):
            answer = await self._chat.complete(translation_messages(protected, source, target), budget, 0.0)
            try:
                return lead + restore(clean_output(answer.text), mapping) + trail, answer
            except ValueError as exc:  # the model dropped a placeholder: ask once more, then give up clearly
                if attempt == 2:
                    raise UpstreamError(f"the model lost protected text ({exc}) twice") from exc
        raise AssertionError("unreachable")

    async def translate_news(self, news: NewsResult, lang: str) -> NewsResult:
        """Titles and summaries in `lang`; a failure keeps the original text and says so in `error`."""
        target = check_language(lang, "lang")
        assert target is not None
        limit = asyncio.Semaphore(self._concurrency)
        errors: list[str] = []

        async def field(value: str) -> tuple[str, tuple[str | None, str | None] | None]:
            """The translated text and who translated it (provider, model); the original and None on failure."""
            if not value.strip():
                return value, None
            async with limit:
                try:
                    done = await self.translate(value, target)
                except Exception as exc:  # keep the original; the news list must not break
                    errors.append(str(exc).splitlines()[0])
                    return value, None
                return done.translated_text, (done.llm_provider, done.llm_model)

        items = []
        for item in news.items:
            (title, by_title), (summary, by_summary) = await asyncio.gather(field(item.title), field(item.summary))
            by = by_title or by_summary
            items.append(item.model_copy(update={"title": title, "summary": summary, "llm_provider": by and by[0],
                                                 "llm_model": by and by[1]}))
        error = news.error
        if errors:
            note = f"translation to {target} failed for {len(errors)} field(s), originals kept: {errors[0]}"
            error = f"{error}; {note}" if error else note
        return news.model_copy(update={"items": items, "error": error})
