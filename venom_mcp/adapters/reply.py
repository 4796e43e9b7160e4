"""One model answer as every runtime reports it: the text, the reasoning beside it, the tool calls, and why it
stopped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

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
    # {"id", "name", "arguments"}: arguments an object when the model wrote JSON, else its raw text
    tool_calls: tuple[dict[str, Any], ...] = ()


def split_thinking(content: str, thinking: str | None) -> tuple[str, str | None]:
    """(answer, reasoning): reasoning the runtime sent apart, or a leading `<think>` block taken out of the text."""
    if thinking:
        return content, thinking
    match = _INLINE_THINKING.match(content)
    if match is None:
        return content, None
    return content[match.end():], match.group("thinking").strip() or None


def tool_call(call_id: object, name: object, arguments: object, index: int) -> dict[str, Any]:
    """One tool call as chat reports it. OpenAI sends the arguments as a JSON string, Ollama as an object; a string
    that is not a JSON object stays as it is. A call without an id (older Ollama) gets `call_<index>`."""
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments)
        except ValueError:
            decoded = None
        arguments = decoded if isinstance(decoded, dict) else arguments
    elif not isinstance(arguments, dict):
        arguments = {} if arguments is None else json.dumps(arguments)
    return {"id": str(call_id) if call_id else f"call_{index}", "name": str(name or ""), "arguments": arguments}
