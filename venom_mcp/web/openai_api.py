"""The OpenAI chat completions API as the gateway speaks it: a request read into the chat service's ChatRequest, a
ChatResult written as a `chat.completion`, streamed deltas as `chat.completion.chunk` events, and every error in
OpenAI's shape `{"error": {"message", "type", "param", "code"}}` with its status.

Request fields the chat service has no use for (`n` of 1, `user`, `logprobs`, penalties...) are ignored and named in
the `x-venom-ignored-params` header. Beside OpenAI's fields the gateway takes venom-mcp's own, as a client's
`extra_body` sends them: `top_k`, `repeat_penalty` (or vLLM's `repetition_penalty`), `num_ctx`, `think`, `sensitive`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import conversation as chat_args
from ..adapters.stream import Delta
from ..errors import ConfigError, Conflict, InvalidArgument, NotFound, QuotaExceeded, Unreachable, UpstreamError
from ..records import ChatResult
from ..services.chat import ChatFailed, ChatRequest, build

log = logging.getLogger(__name__)

# reasoning_effort -> the chat tool's think
EFFORTS: dict[str, Literal["low", "medium", "high"] | bool] = {
    "none": False, "minimal": "low", "low": "low", "medium": "medium", "high": "high"}
OURS = frozenset({"top_k", "repeat_penalty", "repetition_penalty", "num_ctx", "think", "sensitive"})
FORMATS = ("text", "json_object", "json_schema")


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def as_openai_error(exc: BaseException) -> OpenAIError:
    """The status and OpenAI error of a failure: 400 a bad request, 404 an unknown model, 409 a model its server
    does not serve now, 429 every runtime refused by a rate limit or budget, 503 no runtime (or source needed first)
    could be reached or is configured, 502 one answered badly (an error, an answer that breaks the schema)."""
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        param = _param(error["loc"])
        return OpenAIError(400, f"invalid request: {param or 'body'}: {error['msg']}", param=param)
    message = str(exc)
    if isinstance(exc, InvalidArgument):
        code = "context_length_exceeded" if "gets a context of" in message else None
        return OpenAIError(400, message, code=code)
    if isinstance(exc, NotFound):
        return OpenAIError(404, message, param="model", code="model_not_found")
    if isinstance(exc, Conflict | QuotaExceeded):
        return OpenAIError(409, message, code="conflict")
    if isinstance(exc, ChatFailed) and exc.refused:
        budget = "BUDGET_EXCEEDED" in exc.reasons
        kind = "insufficient_quota" if budget else "rate_limit_exceeded"
        return OpenAIError(429, message, "insufficient_quota" if budget else "requests", code=kind)
    if (isinstance(exc, ChatFailed) and exc.unreachable) or isinstance(exc, Unreachable | ConfigError):
        return OpenAIError(503, message, "api_error", code="upstream_unavailable")
    if isinstance(exc, UpstreamError):
        return OpenAIError(502, message, "api_error", code="upstream_error")
    log.error("the gateway failed", exc_info=exc)
    return OpenAIError(500, "internal error in the gateway; the server log has the details", "server_error")


def _param(loc: tuple[int | str, ...]) -> str | None:
    """A pydantic location as OpenAI names a parameter: messages[0].content."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "literal[", "str", "list[", "dict[")) and part != "NamedToolChoice":
            out += f".{part}" if out else part
    return out or None


# ---- the request --------------------------------------------------------------------------------------------------


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Loose):
    type: Literal["text"]
    text: str


class OtherPart(_Loose):
    type: str


class FunctionCall(_Loose):
    name: chat_args.ToolName
    arguments: str = ""


class ToolCallIn(_Loose):
    id: str = Field(max_length=200)
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Loose):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart | OtherPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class StreamOptions(_Loose):
    include_usage: bool = False


class CompletionRequest(BaseModel):
    """POST /v1/chat/completions, with the chat tool's limits on each value."""

    model_config = ConfigDict(extra="allow")

    model: Annotated[str | None, Field(default=None, max_length=200)] = None
    messages: Annotated[list[Message], Field(min_length=1, max_length=1000)]
    max_tokens: chat_args.MaxTokens | None = None
    max_completion_tokens: chat_args.MaxTokens | None = None
    temperature: chat_args.Temperature = None
    top_p: chat_args.TopP = None
    seed: chat_args.Seed = None
    stop: chat_args.Stop = None
    tools: chat_args.Tools = None
    tool_choice: chat_args.ToolChoiceArg = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Annotated[int, Field(ge=1, le=1)] = 1
    # venom-mcp's own (a client's extra_body)
    top_k: chat_args.TopK = None
    repeat_penalty: chat_args.RepeatPenalty = None
    repetition_penalty: chat_args.RepeatPenalty = None
    num_ctx: chat_args.NumCtx = None
    think: chat_args.Think = None
    sensitive: bool = False


def read_request(body: Any) -> tuple[ChatRequest, CompletionRequest]:
    """The chat request an OpenAI request asks for; ValidationError, InvalidArgument or OpenAIError (400)."""
    if not isinstance(body, dict):
        raise OpenAIError(400, "send a JSON object: {\"model\": ..., \"messages\": [...]}")
    asked = CompletionRequest.model_validate(body)
    think = asked.think
    if asked.reasoning_effort is not None:
        if asked.reasoning_effort not in EFFORTS:
            raise OpenAIError(400, f"reasoning_effort must be one of {', '.join(EFFORTS)} (got "
                                   f"{asked.reasoning_effort!r})", param="reasoning_effort", code="invalid_value")
        think = EFFORTS[asked.reasoning_effort]
    response_format: dict[str, Any] | None = asked.response_format
    if response_format is not None:
        if response_format.get("type") not in FORMATS:
            raise OpenAIError(400, f"response_format.type must be one of {', '.join(FORMATS)}",
                              param="response_format.type", code="invalid_value")
        response_format = None if response_format["type"] == "text" else response_format
    arguments: dict[str, Any] = dict(
        messages=[_message(m, i) for i, m in enumerate(asked.messages)], model=_model(asked.model),
        temperature=asked.temperature, top_p=asked.top_p, top_k=asked.top_k, seed=asked.seed, stop=asked.stop,
        repeat_penalty=asked.repeat_penalty or asked.repetition_penalty, num_ctx=asked.num_ctx,
        response_format=response_format, tools=asked.tools, tool_choice=asked.tool_choice, think=think,
        sensitive=asked.sensitive)
    limit = asked.max_completion_tokens or asked.max_tokens
    if limit is not None:  # left out: the chat tool's default, or the model's own (model_config)
        arguments["max_tokens"] = limit
    request = build(**arguments)
    return request, asked


def ignored(asked: CompletionRequest) -> list[str]:
    """The request's fields the gateway did not use."""
    return sorted(asked.model_extra or {})


def _model(name: str | None) -> str | None:
    return None if name in (None, "", "default") else name


def _message(message: Message, index: int) -> chat_args.ChatMessage:
    content = message.content
    if isinstance(content, list):
        for number, part in enumerate(content):
            if not isinstance(part, TextPart):
                raise OpenAIError(400, f"messages[{index}].content[{number}]: the gateway takes text parts only "
                                       f"(got {part.type!r})", param=f"messages[{index}].content[{number}]")
        content = "".join(part.text for part in content if isinstance(part, TextPart))
    calls = [chat_args.ToolCall(id=call.id, name=call.function.name, arguments=_arguments(call.function.arguments))
             for call in message.tool_calls or []] or None
    role = "system" if message.role == "developer" else message.role
    return chat_args.ChatMessage(role=role, content=content, tool_calls=calls, tool_call_id=message.tool_call_id,
                                 name=message.name if role == "tool" else None)


def _arguments(text: str) -> dict[str, Any] | str:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


# ---- answers ------------------------------------------------------------------------------------------------------


def new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def finish_reason(reason: str | None, called: bool) -> str:
    """OpenAI's finish reason: a stop that made tool calls is `tool_calls` (Ollama says `stop`)."""
    reason = reason or "stop"
    return "tool_calls" if called and reason == "stop" else reason


def completion(result: ChatResult, completion_id: str) -> dict[str, Any]:
    """A ChatResult as a `chat.completion` object. A JSON answer (response_format) is its JSON, without the code
    fence some models put around it."""
    message: dict[str, Any] = {"role": "assistant", "content": result.text if result.text or not result.tool_calls
                               else None, "refusal": None}
    if result.parsed is not None and not _is_json(result.text):
        message["content"] = json.dumps(result.parsed)
    if result.tool_calls:
        message["tool_calls"] = [{"id": call.id, "type": "function", "function": {
            "name": call.name, "arguments": call.arguments if isinstance(call.arguments, str)
            else json.dumps(call.arguments)}} for call in result.tool_calls]
    if result.thinking:
        message["reasoning_content"] = result.thinking
    usage = result.usage
    tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (None, None)
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": result.llm_model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish_reason(result.finish_reason, bool(result.tool_calls))}],
            "usage": None if tokens == (None, None) else usage_body(tokens[0] or 0, tokens[1] or 0),
            "system_fingerprint": None}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def usage_body(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


DONE = b"data: [DONE]\n\n"


class Chunks:
    """The `chat.completion.chunk` events of one streamed answer, as SSE `data:` lines."""

    def __init__(self, completion_id: str, model: str, include_usage: bool) -> None:
        self._head = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": model, "system_fingerprint": None}
        if include_usage:
            self._head["usage"] = None  # as OpenAI: every chunk has it, null but in the last one
        self.called = False
        self._opened = False

    def _event(self, delta: dict[str, Any], reason: str | None = None) -> bytes:
        if not self._opened:
            # The role comes with the first piece rather than in an event of its own (as OpenAI sends it): a client
            # parses one chunk less before it has the first token.
            self._opened = True
            delta = {"role": "assistant", **({"content": ""} if not delta else {}), **delta}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return _data({**self._head, "choices": [choice]})

    def delta(self, delta: Delta) -> bytes | None:
        """The event of one delta; None when it carries nothing to pass on (the finish reason comes at the end)."""
        out: dict[str, Any] = {}
        if delta.thinking:
            out["reasoning_content"] = delta.thinking
        if delta.text:
            out["content"] = delta.text
        if delta.tool_calls:
            self.called = True
            calls = []
            for call in delta.tool_calls:
                piece: dict[str, Any] = {"index": call.index}
                if call.id is not None:
                    piece.update(id=call.id, type="function")
                function = {"name": call.name} if call.name is not None else {}
                piece["function"] = {**function, "arguments": call.arguments}
                calls.append(piece)
            out["tool_calls"] = calls
        return self._event(out) if out else None

    def finish(self, reason: str | None) -> bytes:
        return self._event({}, finish_reason(reason, self.called))

    def usage(self, prompt: int, completion: int) -> bytes:
        return _data({**self._head, "choices": [], "usage": usage_body(prompt, completion)})


def error_event(error: OpenAIError) -> bytes:
    """A failure after the stream began: OpenAI's `data: {"error": ...}` (the `openai` SDK raises APIError on it)."""
    return _data(error.body())


def _data(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
