"""A ChatRequest written out for one runtime: Ollama's /api/chat fields, or an OpenAI-compatible request (SDK
arguments plus extra_body), with the parameter table's names (adapters/generation.py). What a runtime cannot take
is left out and said in `warnings`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...adapters import generation
from .request import ChatRequest


@dataclass
class Wire:
    messages: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)  # Ollama's `options`
    fields: dict[str, Any] = field(default_factory=dict)  # top-level fields (Ollama) or SDK arguments (OpenAI)
    extra_body: dict[str, Any] = field(default_factory=dict)  # OpenAI-compatible fields outside the SDK's
    warnings: list[str] = field(default_factory=list)


def ollama_wire(request: ChatRequest, messages: list[dict[str, Any]], tuning: dict[str, object]) -> Wire:
    """/api/chat: parameters in `options` (the Ollama profile's num_ctx unless the request sets one), `format`,
    `tools`, `think` (a bool or a level, as Ollama takes it)."""
    asked = {k: v for k, v in request.generation().items() if v is not None}
    wire = Wire([_ollama_message(m) for m in messages])
    found = generation.translate("ollama", {**tuning, **asked})
    wire.options = found.options
    wire.warnings += _dropped("ollama", found.dropped, asked)
    if request.answer_format is not None:
        key, value = generation.json_format("ollama", request.answer_format.schema, request.answer_format.name)
        wire.fields[key] = value
    if request.tools and request.tool_choice != "none":
        wire.fields["tools"] = request.tools
        if request.tool_choice not in (None, "auto"):
            wire.warnings.append(f"tool_choice={_choice(request.tool_choice)} dropped: ollama does not take "
                                 "tool_choice, the model decides whether to call a tool")
    if request.think is not None:
        body, _ = generation.THINKING["ollama"].fields(request.think)
        wire.fields.update(body)
    return wire


def openai_wire(runtime: str, request: ChatRequest, messages: list[dict[str, Any]]) -> Wire:
    """An OpenAI-compatible chat completion: SDK arguments in `fields`, vLLM/llama.cpp extras in `extra_body`."""
    asked = {k: v for k, v in request.generation().items() if v is not None}
    wire = Wire([_openai_message(m) for m in messages])
    found = generation.translate(runtime, asked)
    wire.fields.update(found.body)
    wire.extra_body.update(found.extra_body)
    wire.warnings += _dropped(runtime, found.dropped, asked)
    if request.answer_format is not None:
        key, value = generation.json_format(runtime, request.answer_format.schema, request.answer_format.name)
        wire.fields[key] = value
    if request.tools:
        wire.fields["tools"] = request.tools
        if request.tool_choice is not None:
            wire.fields["tool_choice"] = request.tool_choice
    if request.think is not None:
        thinking = generation.THINKING[runtime]
        body, extra = thinking.fields(request.think)
        wire.fields.update(body)
        wire.extra_body.update(extra)
        if request.think is False and not thinking.can_disable():
            wire.warnings.append(f"think=false: {runtime} cannot turn reasoning off per request, so nothing was sent; "
                                 "a reasoning model still reasons")
    return wire


def _dropped(runtime: str, names: list[str], asked: dict[str, object]) -> list[str]:
    return [f"{name}={asked[name]!r} dropped: {runtime} does not take {name}" for name in names]


def _choice(choice: str | dict[str, Any] | None) -> str:
    return choice if isinstance(choice, str) else json.dumps(choice)


def _ollama_message(message: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
    if message.get("tool_calls"):
        out["tool_calls"] = [{"function": {"name": call["name"], "arguments": _as_object(call["arguments"])}}
                             for call in message["tool_calls"]]
    if message["role"] == "tool":
        out["tool_name"] = message["name"]
    return out


def _openai_message(message: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
    if message.get("tool_calls"):
        out["content"] = message.get("content") or None
        out["tool_calls"] = [{"id": call["id"], "type": "function", "function": {
            "name": call["name"], "arguments": call["arguments"] if isinstance(call["arguments"], str)
            else json.dumps(call["arguments"])}} for call in message["tool_calls"]]
    if message["role"] == "tool":
        out["tool_call_id"] = message["tool_call_id"]
    return out


def _as_object(arguments: dict[str, Any] | str) -> dict[str, Any]:
    """Ollama takes a call's arguments as an object only; text that is not a JSON object becomes {}."""
    if isinstance(arguments, dict):
        return arguments
    try:
        decoded = json.loads(arguments)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
