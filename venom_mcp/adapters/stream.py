"""A model answer as it streams: the pieces every runtime sends (text, reasoning, tool-call fragments), why it
stopped and what it spent, in one neutral shape; and the inline `<think>` block taken apart as it arrives.

Ollama's `/api/chat` (NDJSON) and the OpenAI-compatible servers (SSE through the `openai` SDK) both end up as a
sequence of Delta; the last ones carry `finish_reason` and the token counts, when the runtime reports them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of one tool call: the first piece of a call carries its id and name, the following ones more of its
    arguments (JSON text, in pieces, as OpenAI streams them; Ollama sends a whole call at once)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Delta:
    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def produced(self) -> bool:
        """Whether it carries something of the answer (not only a role, a finish reason or the usage)."""
        return bool(self.text or self.thinking or self.tool_calls)


class InlineThinking:
    """Takes a leading `<think>...</think>` out of streamed text, as reply.split_thinking does for a whole answer:
    what is inside becomes reasoning, the whitespace after the closing tag is dropped. Text that cannot be a
    leading tag any more passes at once; only a possible tag (or the end of one) is held back, a few characters.
    A runtime that sends its reasoning apart (`thinking`, `reasoning_content`) turns this off."""

    def __init__(self) -> None:
        self._state = "start"  # start -> thinking -> after -> text; or start -> text
        self._held = ""

    def off(self) -> None:
        if self._state == "start":
            self._state = "text"

    def feed(self, text: str) -> tuple[str, str]:
        """(text, thinking) to pass on for this piece."""
        if self._state == "text" or not text:
            return text, ""
        self._held += text
        if self._state == "start":
            lead = self._held.lstrip()
            if len(lead) < len(OPEN_TAG) and OPEN_TAG.startswith(lead):
                return "", ""  # still maybe a tag
            if not lead.startswith(OPEN_TAG):
                self._state, out, self._held = "text", self._held, ""
                return out, ""
            self._state, self._held = "thinking", lead[len(OPEN_TAG):]
        if self._state == "thinking":
            end = self._held.find(CLOSE_TAG)
            if end < 0:
                keep = _partial_suffix(self._held, CLOSE_TAG)
                thought, self._held = self._held[:len(self._held) - keep], self._held[len(self._held) - keep:]
                return "", thought
            thought, rest = self._held[:end], self._held[end + len(CLOSE_TAG):]
            self._state, self._held = "after", ""
            out, _ = self.feed(rest) if rest else ("", "")
            return out, thought
        rest = self._held.lstrip()  # "after": the whitespace between the closing tag and the answer goes
        self._held = ""
        if rest:
            self._state = "text"
        return rest, ""

    def flush(self) -> tuple[str, str]:
        """What is still held at the end: an unclosed block is all reasoning, an unfinished tag is text."""
        held, self._held = self._held, ""
        if self._state == "thinking":
            return "", held
        return ("", "") if self._state == "after" else (held, "")


def _partial_suffix(text: str, tag: str) -> int:
    """How many characters at the end of `text` could be the beginning of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


async def split_inline_thinking(deltas: AsyncIterator[Delta]) -> AsyncIterator[Delta]:
    """The deltas with a leading inline `<think>` block moved from the text to the reasoning; deltas left with
    nothing to say (a role, a held-back piece of a tag) are dropped."""
    splitter = InlineThinking()
    async for delta in deltas:
        if delta.thinking:
            splitter.off()
        text, thought = splitter.feed(delta.text)
        ending = delta.finish_reason is not None or delta.completion_tokens is not None
        if ending:
            rest, more = splitter.flush()
            text, thought = text + rest, thought + more
        found = Delta(text, thought + delta.thinking, delta.tool_calls, delta.finish_reason, delta.prompt_tokens,
                      delta.completion_tokens)
        if found.produced or ending or found.prompt_tokens is not None:
            yield found
    text, thought = splitter.flush()
    if text or thought:
        yield Delta(text, thought)
