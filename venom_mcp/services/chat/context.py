"""Will the prompt fit? Its tokens, counted or estimated, against the context the model will get, before sending.

A prompt longer than the context is not an answer: Ollama silently keeps only the last num_ctx tokens, and the
OpenAI-compatible servers refuse with a message about their own settings. Chat refuses it first, naming the numbers
and the fix.

Counting: the model's own tokenizer where the runtime offers one (vLLM's and llama.cpp's `/tokenize`), over the text
of every message and the tool definitions; otherwise the estimate `ceil(characters / 4)`. Either way each message
adds MESSAGE_OVERHEAD tokens (its role and the template's markers) and the reply's opening REPLY_OVERHEAD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import InvalidArgument
from ...records import Capabilities

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
REPLY_OVERHEAD = 3
SPECIAL_TOKENS = 4  # what a tokenizer may add to a text besides its pieces (BOS, EOS, a leading-space piece)


@dataclass(frozen=True)
class PromptSize:
    tokens: int
    counted: bool  # by the model's tokenizer; False: estimated


@dataclass(frozen=True)
class Window:
    tokens: int
    source: str  # where the number comes from, as the error names it
    model_max: int | None = None  # the most the model takes, when the window is set lower


def estimate(texts: list[str], messages: int) -> PromptSize:
    """The documented estimate: four characters a token, plus the per-message overhead."""
    characters = sum(len(text) for text in texts)
    return PromptSize(math.ceil(characters / CHARS_PER_TOKEN) + overhead(messages), counted=False)


def most(texts: list[str], messages: int) -> int:
    """The most tokens the prompt can be, whatever the tokenizer: every token holds at least one byte of the text
    (byte-level BPE, SentencePiece with byte fallback), plus what it adds on its own and the per-message overhead.
    When even this fits, counting with the model's tokenizer can change nothing."""
    return sum(len(text.encode()) for text in texts) + len(texts) + SPECIAL_TOKENS + overhead(messages)


def overhead(messages: int) -> int:
    return MESSAGE_OVERHEAD * messages + REPLY_OVERHEAD


def window(runtime: str, caps: Capabilities, num_ctx: int | None, profile_num_ctx: int | None,
           server_max: int | None) -> Window | None:
    """The context this request gets, or None when nothing says (a cloud model, a runtime that does not tell).

    Ollama: num_ctx when given, else the Ollama profile's (sent with every request), never more than the model's
    own. Other runtimes: what the server says (vLLM's max_model_len), else the model's max_context_length.
    """
    model_max = caps.max_context_length
    if runtime == "ollama":
        asked, source = ((num_ctx, f"num_ctx={num_ctx}") if num_ctx else
                         (profile_num_ctx, f"the Ollama profile's num_ctx={profile_num_ctx}, OLLAMA_CONTEXT_LENGTH"))
        if asked is None:
            return Window(model_max, "the model's context length") if model_max else None
        if model_max and model_max < asked:
            return Window(model_max, f"the model's context length (it takes no more than {model_max})")
        return Window(asked, source, model_max if model_max and model_max > asked else None)
    if server_max:
        return Window(server_max, f"what the {runtime} server reports as max_model_len")
    return Window(model_max, "the model's context length") if model_max else None


def check(size: PromptSize, max_tokens: int, room: Window | None, model: str, runtime: str) -> None:
    """InvalidArgument when the prompt plus max_tokens does not fit the window."""
    if room is None or size.tokens + max_tokens <= room.tokens:
        return
    how = "counted by the model's tokenizer" if size.counted else f"estimated at {CHARS_PER_TOKEN} characters a token"
    fixes = ["shorten the prompt or drop earlier messages", f"lower max_tokens to {room.tokens - size.tokens}"
             if size.tokens < room.tokens else None]
    if runtime == "ollama" and room.model_max:
        fixes.append(f"raise num_ctx (up to {room.model_max})")
    elif runtime == "ollama" and room.source.startswith("the Ollama profile"):
        fixes.append("raise num_ctx")
    raise InvalidArgument(
        f"the prompt is {size.tokens} tokens ({how}) and max_tokens={max_tokens} asks for up to {max_tokens} more, "
        f"but {model} on {runtime} gets a context of {room.tokens} tokens ({room.source}); nothing was sent: "
        + ", or ".join(f for f in fixes if f))
