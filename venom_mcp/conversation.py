"""The records of a conversation with a model, as chat takes and returns them: messages, OpenAI function definitions,
tool choice, and the tool calls a model asks for. Shapes follow the OpenAI chat completions API, so a client can pass
what it already has; a tool call comes back as `{id, name, arguments}` and goes back in as it came.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetCoreSchemaHandler

from .records.wire_schema import compact

Role = Literal["system", "user", "assistant", "tool"]
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _tool_name(value: str) -> str:
    if not _TOOL_NAME.match(value):
        raise ValueError(f"function name {value[:80]!r}: use 1 to 64 letters, digits, '_', '.' or '-' (as OpenAI does)")
    return value


# Checked here rather than as a schema `pattern`, which would be repeated in four places of chat's input schema.
ToolName = Annotated[str, AfterValidator(_tool_name)]


class _Part(BaseModel):
    # These models sit in chat's input schema, which an LLM reads on every turn: no titles, no null defaults.
    model_config = ConfigDict(extra="ignore", json_schema_extra=compact, defer_build=True)


class ToolCall(_Part):  # a function the model asked to call
    id: str = Field(max_length=200)
    name: ToolName
    arguments: dict[str, Any] | str


class ChatMessage(_Part):  # one turn
    role: Role
    content: str | None = Field(default=None, max_length=100_000)
    tool_calls: list[ToolCall] | None = Field(default=None, max_length=64)
    tool_call_id: str | None = Field(default=None, max_length=200)
    name: ToolName | None = None


class FunctionDefinition(_Part):
    name: ToolName
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] | None = None  # a JSON Schema of the arguments


class ToolDefinition(_Part):  # an OpenAI function definition
    type: Literal["function"] = "function"
    function: FunctionDefinition


class FunctionName(_Part):
    name: ToolName


class NamedToolChoice(_Part):  # make the model call this function
    type: Literal["function"] = "function"
    function: FunctionName


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


# ---- the chat tool's arguments (SPEC section 4), typed once for every face ----------------------------------------

Prompt = Annotated[str | None, Field(default=None, min_length=1, max_length=100_000)]
Messages = Annotated[list[ChatMessage] | None, Field(
    default=None, min_length=1, max_length=1000,
    description="An OpenAI-style conversation instead of prompt (tool turns answer chat's tool_calls).")]
System = Annotated[str | None, Field(default=None, max_length=20_000)]
MaxTokens = Annotated[int, Field(strict=True, ge=1, le=32_768)]


class Default(int):
    """An argument's default that the caller left out: an int like any other (the schema shows it as one), but
    chat's build() can tell it from the same number given, so a model's override (model_config) may take its place."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return handler(int)


DEFAULT_MAX_TOKENS = Default(256)

Temperature = Annotated[float | None, Field(default=None, strict=True, ge=0, le=2)]
TopP = Annotated[float | None, Field(default=None, strict=True, ge=0, le=1)]
TopK = Annotated[int | None, Field(default=None, strict=True, ge=0, le=100_000, description="0: no limit.")]
Seed = Annotated[int | None, Field(default=None, strict=True, ge=0, le=2**32 - 1)]
StopText = Annotated[str, Field(min_length=1, max_length=200)]
Stop = Annotated[Annotated[list[StopText], Field(min_length=1, max_length=4)] | StopText | None, Field(default=None)]
RepeatPenalty = Annotated[float | None, Field(default=None, strict=True, gt=0, le=2, description="1 is neutral.")]
NumCtx = Annotated[int | None, Field(default=None, strict=True, ge=256, le=1_048_576,
                                     description="Context window (Ollama).")]
ResponseFormat = Annotated[dict[str, Any] | Literal["json"] | None, Field(
    default=None, description="\"json\" or a JSON Schema; see parsed.")]
Tools = Annotated[list[ToolDefinition] | None, Field(default=None, max_length=128)]
ToolChoiceArg = Annotated[ToolChoice | None, Field(default=None)]
Think = Annotated[Annotated[bool, Field(strict=True)] | Literal["low", "medium", "high"] | None, Field(default=None)]
Sensitive = Annotated[bool, Field(strict=True, description="Private: keep it on this machine (VENOM_ROUTING_MODE).")]
