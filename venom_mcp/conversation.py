"""The records of a conversation with a model, as chat takes and returns them: messages, OpenAI function definitions,
tool choice, and the tool calls a model asks for. Shapes follow the OpenAI chat completions API, so a client can pass
what it already has; a tool call comes back as `{id, name, arguments}` and goes back in as it came.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
ToolName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="A function name, as OpenAI allows.")]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ToolCall(_Part):
    """A function the model asked to call."""

    id: str = Field(max_length=200, description="Give it back as tool_call_id with the tool's result.")
    name: ToolName
    arguments: dict[str, Any] | str = Field(
        description="The arguments, parsed into an object when the model wrote JSON; its raw text otherwise.")


class ChatMessage(_Part):
    """One turn: `system`, `user`, `assistant` (with the tool_calls it made, if any) or `tool` (a tool's result)."""

    role: Role
    content: str | None = Field(default=None, max_length=100_000, description="The text (a tool's result for tool).")
    tool_calls: list[ToolCall] | None = Field(
        default=None, max_length=64, description="assistant: the calls it made, as chat returned them.")
    tool_call_id: str | None = Field(default=None, max_length=200, description="tool: the id of the call it answers.")
    name: ToolName | None = Field(
        default=None, description="tool: the function's name (found from tool_call_id when left out).")


class FunctionDefinition(_Part):
    name: ToolName
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] | None = Field(default=None, description="A JSON Schema of the arguments.")


class ToolDefinition(_Part):
    """An OpenAI function definition: {"type": "function", "function": {name, description, parameters}}."""

    type: Literal["function"] = "function"
    function: FunctionDefinition


class FunctionName(_Part):
    name: ToolName


class NamedToolChoice(_Part):
    """Make the model call this function: {"type": "function", "function": {"name": ...}}."""

    type: Literal["function"] = "function"
    function: FunctionName


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


# ---- the chat tool's arguments (SPEC section 4), typed once for every face ----------------------------------------

Prompt = Annotated[str | None, Field(default=None, min_length=1, max_length=100_000,
                                     description="One user message; or give messages instead.")]
Messages = Annotated[list[ChatMessage] | None, Field(
    default=None, min_length=1, max_length=1000,
    description="A conversation instead of prompt: [{role, content}], roles system/user/assistant/tool; an "
                "assistant turn may carry the tool_calls chat returned, a tool turn answers one with tool_call_id.")]
System = Annotated[str | None, Field(default=None, max_length=20_000, description="A system prompt, put first.")]
MaxTokens = Annotated[int, Field(strict=True, ge=1, le=32_768, description="Most tokens to generate.")]
Temperature = Annotated[float | None, Field(default=None, strict=True, ge=0, le=2, description="0..2.")]
TopP = Annotated[float | None, Field(default=None, strict=True, ge=0, le=1, description="Nucleus sampling, 0..1.")]
TopK = Annotated[int | None, Field(default=None, strict=True, ge=0, le=100_000,
                                   description="Sample from the k likeliest tokens (0: no limit).")]
Seed = Annotated[int | None, Field(default=None, strict=True, ge=0, le=2**32 - 1,
                                   description="Same seed, same answer, where the runtime is deterministic.")]
StopText = Annotated[str, Field(min_length=1, max_length=200)]
Stop = Annotated[Annotated[list[StopText], Field(min_length=1, max_length=4)] | StopText | None, Field(
    default=None, description="Stop before any of these strings (one, or a list of up to 4).")]
RepeatPenalty = Annotated[float | None, Field(default=None, strict=True, gt=0, le=2,
                                              description="Penalise repeated tokens; 1 is neutral.")]
NumCtx = Annotated[int | None, Field(default=None, strict=True, ge=256, le=1_048_576,
                                     description="Context window in tokens for this request (Ollama).")]
ResponseFormat = Annotated[dict[str, Any] | Literal["json"] | None, Field(
    default=None, description="\"json\" for a JSON answer, or a JSON Schema it must match (also OpenAI's "
                              "{\"type\": \"json_object\"} / {\"type\": \"json_schema\", ...}); the result's parsed "
                              "holds it.")]
Tools = Annotated[list[ToolDefinition] | None, Field(
    default=None, max_length=128,
    description="OpenAI function definitions [{type: function, function: {name, description, parameters}}].")]
ToolChoiceArg = Annotated[ToolChoice | None, Field(
    default=None, description="auto, none, required, or {type: function, function: {name}}.")]
Think = Annotated[Annotated[bool, Field(strict=True)] | Literal["low", "medium", "high"] | None, Field(
    default=None, description="Reasoning: true/false, or a level low/medium/high (where it applies).")]
Sensitive = Annotated[bool, Field(strict=True, description="The request holds private data: the routing policy "
                                                          "keeps it on this machine (VENOM_ROUTING_MODE).")]
