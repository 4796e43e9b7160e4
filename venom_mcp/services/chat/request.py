"""One chat request, checked once before anything is sent: the conversation (from `prompt` or `messages`, with
`system` in front), the generation parameters, JSON output, tools and thinking."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...adapters.generation import NAMES
from ...conversation import DEFAULT_MAX_TOKENS, ChatMessage, Default, NamedToolChoice, ToolChoice, ToolDefinition
from ...errors import InvalidArgument
from .structured import JsonAnswer, json_answer

Think = bool | str  # True, False, "low", "medium", "high"
THINK_LEVELS = ("low", "medium", "high")



@dataclass(frozen=True)
class ChatRequest:
    """What one chat asks for. `messages` are plain dicts in a neutral shape: {role, content} plus, on an assistant
    turn, `tool_calls` [{id, name, arguments}], and on a tool turn `tool_call_id` and `name`; wire.py writes them
    out for each runtime."""

    messages: list[dict[str, Any]]
    max_tokens: int = 256
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    repeat_penalty: float | None = None
    num_ctx: int | None = None
    model: str | None = None
    answer_format: JsonAnswer | None = None  # response_format
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI function definitions
    tool_choice: str | dict[str, Any] | None = None
    think: Think | None = None
    sensitive: bool = False
    # The generation values the caller gave (build() knows); a request made directly gives every value it sets.
    given: frozenset[str] = frozenset(NAMES)

    def with_overrides(self, overrides: Mapping[str, object]) -> ChatRequest:
        """This request with a model's overrides (model_config) in place of the values the caller did not give:
        an explicit argument > the model's override > the default."""
        explicit = {name for name, value in self.generation().items() if name in self.given and value is not None}
        taken: dict[str, Any] = {k: v for k, v in overrides.items() if k in NAMES and k not in explicit}
        return replace(self, **taken) if taken else self

    def generation(self) -> dict[str, object]:
        """The generation parameters by our names (generation.NAMES); None: not set."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "top_p": self.top_p,
                "top_k": self.top_k, "seed": self.seed, "stop": self.stop, "repeat_penalty": self.repeat_penalty,
                "num_ctx": self.num_ctx}

    def texts(self) -> list[str]:
        return prompt_texts(self.messages, self.tools)


def prompt_texts(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]) -> list[str]:
    """Everything the model reads, as text: each message (tool calls as JSON) and the tool definitions."""
    found = [str(m.get("content") or "") + (json.dumps(m["tool_calls"]) if m.get("tool_calls") else "")
             for m in messages]
    return found + ([json.dumps(list(tools))] if tools else [])


def conversation(prompt: str | None, messages: Sequence[ChatMessage] | None,
                 system: str | None) -> list[dict[str, Any]]:
    """The messages to send: exactly one of `prompt` (one user turn) and `messages`, with `system` in front."""
    if (prompt is None) == (messages is None):
        raise InvalidArgument("give either prompt (one user message) or messages (a conversation: "
                              "[{role, content}, ...]), " + ("not both" if prompt is not None else "one of them"))
    turns = [{"role": "user", "content": prompt}] if prompt is not None else _turns(messages or [])
    return ([{"role": "system", "content": system}] if system else []) + turns


def _turns(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    if not messages:
        raise InvalidArgument("messages is empty: give at least one message, e.g. [{\"role\": \"user\", ...}]")
    names: dict[str, str] = {}  # tool call id -> function name, for tool turns that leave out `name`
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}] ({message.role})"
        turn: dict[str, Any] = {"role": message.role, "content": message.content or ""}
        if message.tool_calls:
            if message.role != "assistant":
                raise InvalidArgument(f"{where}: only an assistant turn carries tool_calls")
            turn["tool_calls"] = [call.model_dump() for call in message.tool_calls]
            names.update({call.id: call.name for call in message.tool_calls})
        elif message.role == "tool":
            if not message.tool_call_id:
                raise InvalidArgument(f"{where}: a tool result needs tool_call_id, the id of the call it answers")
            name = message.name or names.get(message.tool_call_id)
            if name is None:
                raise InvalidArgument(f"{where}: tool_call_id {message.tool_call_id!r} answers no earlier assistant "
                                      "tool call; give the assistant turn with its tool_calls, or the tool's name")
            turn.update(tool_call_id=message.tool_call_id, name=name)
        elif message.content is None:
            raise InvalidArgument(f"{where}: content is missing")
        turns.append(turn)
    return turns


def tool_setup(tools: Sequence[ToolDefinition] | None,
               tool_choice: ToolChoice | None) -> tuple[list[dict[str, Any]], str | dict[str, Any] | None]:
    """The function definitions as dicts and the tool choice, checked against each other."""
    definitions = [t.model_dump(exclude_none=True) for t in tools or []]
    names = [d["function"]["name"] for d in definitions]
    if len(set(names)) < len(names):
        raise InvalidArgument(f"tools: each function needs its own name (got {', '.join(names)})")
    if tool_choice is None:
        return definitions, None
    if not definitions:
        raise InvalidArgument("tool_choice needs tools: give the function definitions too")
    if isinstance(tool_choice, NamedToolChoice):
        if tool_choice.function.name not in names:
            raise InvalidArgument(f"tool_choice names {tool_choice.function.name!r}, which is not among tools "
                                  f"({', '.join(names)})")
        return definitions, tool_choice.model_dump()
    return definitions, tool_choice


def build(*, prompt: str | None = None, messages: Sequence[ChatMessage] | None = None, system: str | None = None,
          model: str | None = None, max_tokens: int = DEFAULT_MAX_TOKENS, temperature: float | None = None,
          top_p: float | None = None, top_k: int | None = None, seed: int | None = None,
          stop: str | list[str] | None = None, repeat_penalty: float | None = None, num_ctx: int | None = None,
          response_format: str | dict[str, Any] | None = None, tools: Sequence[ToolDefinition] | None = None,
          tool_choice: ToolChoice | None = None, think: Think | None = None, sensitive: bool = False) -> ChatRequest:
    """A checked ChatRequest from the chat tool's arguments; InvalidArgument names what is wrong."""
    if isinstance(think, str) and think not in THINK_LEVELS:
        raise InvalidArgument(f"think must be true, false, or one of {', '.join(THINK_LEVELS)} (got {think!r})")
    if num_ctx is not None and max_tokens >= num_ctx:
        raise InvalidArgument(f"max_tokens={max_tokens} does not fit in num_ctx={num_ctx}: the context holds the "
                              "prompt and the answer; raise num_ctx or lower max_tokens")
    definitions, choice = tool_setup(tools, tool_choice)
    values = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k, "seed": seed,
              "stop": stop, "repeat_penalty": repeat_penalty, "num_ctx": num_ctx}
    given = frozenset(name for name, value in values.items() if value is not None and not isinstance(value, Default))
    return ChatRequest(
        messages=conversation(prompt, messages, system), max_tokens=int(max_tokens), temperature=temperature,
        top_p=top_p, top_k=top_k, seed=seed, stop=stop, repeat_penalty=repeat_penalty, num_ctx=num_ctx, model=model,
        answer_format=json_answer(response_format), tools=definitions, tool_choice=choice, think=think,
        sensitive=sensitive, given=given)
