"""What a model call answers: chat and translation results (SPEC section 4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..conversation import ToolCall
from .vocabulary import Record, Runtime


class TokenUsage(Record):
    prompt_tokens: int | None
    completion_tokens: int | None


class ChatResult(Record):
    text: str
    llm_provider: Runtime
    llm_model: str
    llm_endpoint: str
    latency_ms: float
    fallback_from: str | None = Field(default=None, description="The runtime that failed before this one answered.")
    finish_reason: str | None = Field(
        default=None, description="Why the model stopped: 'stop', 'length' (max_tokens reached: the text is cut), "
        "'tool_calls'; null when the runtime does not say.")
    thinking: str | None = Field(default=None, description="The model's reasoning before its answer, when it gave one.")
    usage: TokenUsage | None = Field(default=None, description="Tokens the runtime counted, when it reports them.")
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="The functions the model asked to call (with tools); send each result back "
        "as a tool message with its tool_call_id.")
    parsed: Any = Field(default=None, description="With response_format: the answer parsed as JSON, checked against "
                                                   "the schema when one was given.")
    warnings: list[str] = Field(
        default_factory=list, description="What this runtime could not honour: parameters it does not take (dropped, "
        "not sent) and the like.")
    route_reason: str | None = Field(default=None, description="Why this runtime answered: the active model, the "
                                                               "model asked for, or a fallback after a failure.")


class TranslateResult(Record):
    translated_text: str
    source_lang: str | None
    target_lang: str
    llm_provider: str | None
    llm_model: str | None
    cached: bool
    chunks: int
    llm_endpoint: str | None = None
    fallback_from: str | None = Field(default=None, description="The runtime that failed before this one answered.")
    finish_reason: str | None = Field(
        default=None, description="'length' when any chunk reached its token budget (that part is cut), else the "
        "last chunk's reason; null for a cached answer.")
    thinking: str | None = Field(default=None, description="The model's reasoning, chunk by chunk, when it gave one.")


# ---- per-model generation settings (the model_config tool) ----------------------------------------------------

Value = int | float | list[str]  # an override as stored: numbers, or stop's strings
# The tool's `set`: any JSON scalar or list of strings per name, so that a wrong one gets the service's message
# (which names the range, the valid names, the runtimes that take it) rather than a bare schema error.
Text = Annotated[str, Field(max_length=200)]
Overrides = Annotated[dict[str, int | float | Text | bool | list[Text]] | None, Field(
    default=None, max_length=20,
    description="Overrides to store, e.g. {\"temperature\": 0.2}, merged with the current ones.")]


class ParameterInfo(Record):
    """One generation parameter of a runtime, as the parameter table (adapters/generation.py) has it."""

    name: str = Field(description="Our name: the chat argument and the key in `set`.")
    type: Literal["integer", "number", "array"]
    minimum: int | float | None = Field(description="The least value an override takes (null: no limit).")
    maximum: int | float | None = Field(description="The largest value an override takes (null: no limit).")
    default: int | float | list[str] | None = Field(
        description="What a chat uses when neither the caller nor an override sets it: chat's max_tokens=256, the "
                    "Ollama profile's num_ctx, else the runtime's own default (null: the model's own).")
    description: str
    native: str = Field(description="The runtime's own name for it.")


class ModelConfig(Record):
    model_name: str
    runtime: Runtime
    parameters: list[ParameterInfo] = Field(description="The parameters the model's runtime takes.")
    overrides: dict[str, Value] = Field(
        description="The model's own values; chat (and translate, the gateway) uses them where the request gives "
                    "none.")
