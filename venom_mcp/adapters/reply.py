"""One model answer as every runtime reports it: the text, the reasoning beside it, and why it stopped."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A model whose runtime has no reasoning parser writes its reasoning inline, before the answer; an answer cut by
# max_tokens may never close the tag.
_INLINE_THINKING = re.compile(r"^\s*<think>(?P<thinking>.*?)(?:</think>\s*|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    text: str
    thinking: str | None
    finish_reason: str | None  # "stop", "length", "tool_calls"... as the runtime says; None when it does not
    prompt_tokens: int | None
    completion_tokens: int | None


def split_thinking(content: str, thinking: str | None) -> tuple[str, str | None]:
    """(answer, reasoning): reasoning the runtime sent apart, or a leading `<think>` block taken out of the text."""
    if thinking:
        return content, thinking
    match = _INLINE_THINKING.match(content)
    if match is None:
        return content, None
    return content[match.end():], match.group("thinking").strip() or None
