"""The runtime parameter table: which generation parameters each runtime takes, under which name, type, range and
default, and how `think` and `response_format` are spelled there. Data, read by chat (to build requests) and by
model_config (to publish the parameters of a model's runtime); the rest of the runtime's facts are in runtimes.py.

A parameter missing from a runtime's row is not supported there: chat drops it and names it in `warnings`.

    >>> [p.name for p in parameters("google")]
    ['max_tokens', 'temperature', 'top_p', 'seed', 'stop']
    >>> translate("vllm", {"top_k": 20, "repeat_penalty": 1.1, "num_ctx": 4096}).extra_body
    {'top_k': 20, 'repetition_penalty': 1.1}

Where each value goes in the request (`Parameter.where`): Ollama's `options`; the body of an OpenAI-compatible
request (the `openai` SDK's own arguments); or `extra_body`, the fields only vLLM and llama.cpp read.

Adding a runtime: one row in PARAMETERS, THINKING and JSON_STYLE (a runtime without a row takes no parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Where = Literal["options", "body", "extra_body"]
JsonType = Literal["integer", "number", "array"]
# Our names, in the order chat and model_config show them.
NAMES: tuple[str, ...] = ("max_tokens", "temperature", "top_p", "top_k", "seed", "stop", "repeat_penalty", "num_ctx")


@dataclass(frozen=True)
class Parameter:
    name: str  # ours: the chat argument
    native: str  # the runtime's own name
    type: JsonType  # a JSON Schema type; `stop` is an array of strings (one string is taken as a list of one)
    minimum: float | None
    maximum: float | None
    default: object  # what the runtime uses when the request leaves it out (None: nothing, or the model's own)
    description: str
    where: Where = "body"

    def as_dict(self) -> dict[str, Any]:
        """The row as model_config shows it: {name, type, minimum, maximum, default, description, native}."""
        return {"name": self.name, "type": self.type, "minimum": self.minimum, "maximum": self.maximum,
                "default": self.default, "description": self.description, "native": self.native}


def _p(name: str, native: str, type_: JsonType, minimum: float | None, maximum: float | None, default: object,
       description: str, where: Where = "body") -> Parameter:
    return Parameter(name, native, type_, minimum, maximum, default, description, where)


_MAX = "Most tokens to generate (the reasoning counts too)."
_TEMPERATURE = "Randomness: 0 always takes the likeliest token, higher values vary more."
_TOP_P = "Nucleus sampling: draw from the likeliest tokens whose probabilities add up to top_p."
_TOP_K = "Draw from the k likeliest tokens only (0: no limit)."
_SEED = "The same seed, prompt and parameters give the same answer (where the runtime is deterministic)."
_STOP = "Stop before any of these strings."
_REPEAT = "Penalise tokens already used: 1 is neutral, higher repeats less."
_NUM_CTX = ("The context window in tokens for this request; venom-mcp otherwise sends the Ollama profile's "
            "(OLLAMA_CONTEXT_LENGTH). Ollama cuts a longer prompt, so chat checks the prompt against it first.")
_OPENAI_STOP = _STOP + " At most 4."

_OLLAMA = (
    _p("max_tokens", "num_predict", "integer", -1, None, -1, _MAX + " -1: no limit.", "options"),
    _p("temperature", "temperature", "number", 0, 2, 0.8, _TEMPERATURE, "options"),
    _p("top_p", "top_p", "number", 0, 1, 0.9, _TOP_P, "options"),
    _p("top_k", "top_k", "integer", 0, None, 40, _TOP_K, "options"),
    _p("seed", "seed", "integer", 0, None, 0, _SEED + " 0: a random seed.", "options"),
    _p("stop", "stop", "array", None, None, None, _STOP + " The model's own stop strings apply too.", "options"),
    _p("repeat_penalty", "repeat_penalty", "number", 0, 2, 1.1, _REPEAT, "options"),
    _p("num_ctx", "num_ctx", "integer", 1, None, 4096, _NUM_CTX, "options"),
)
_OPENAI_COMMON = (
    _p("max_tokens", "max_tokens", "integer", 1, None, None, _MAX + " Unset: as much as the context leaves."),
    _p("temperature", "temperature", "number", 0, 2, 1.0, _TEMPERATURE),
    _p("top_p", "top_p", "number", 0, 1, 1.0, _TOP_P),
    _p("seed", "seed", "integer", None, None, None, _SEED + " Best effort on cloud models."),
    _p("stop", "stop", "array", None, None, None, _OPENAI_STOP),
)
_VLLM = (
    *_OPENAI_COMMON[:3],
    _p("top_k", "top_k", "integer", -1, None, -1, "Draw from the k likeliest tokens only (0 or -1: no limit).",
       "extra_body"),
    *_OPENAI_COMMON[3:],
    _p("repeat_penalty", "repetition_penalty", "number", 0, 2, 1.0, _REPEAT, "extra_body"),
)
_LLAMACPP = (
    _p("max_tokens", "max_tokens", "integer", 1, None, None, _MAX + " Unset: until the context is full."),
    _p("temperature", "temperature", "number", 0, 2, 0.8, _TEMPERATURE),
    _p("top_p", "top_p", "number", 0, 1, 0.95, _TOP_P),
    _p("top_k", "top_k", "integer", 0, None, 40, _TOP_K, "extra_body"),
    _p("seed", "seed", "integer", None, None, -1, _SEED + " -1: a random seed."),
    _p("stop", "stop", "array", None, None, None, _STOP),
    _p("repeat_penalty", "repeat_penalty", "number", 0, 2, 1.0, _REPEAT, "extra_body"),
)

# Runtime -> the parameters it takes. vLLM and llama.cpp set their context when the server starts
# (--max-model-len, --ctx-size): num_ctx is not a request parameter there, nor on the cloud APIs.
PARAMETERS: Mapping[str, tuple[Parameter, ...]] = MappingProxyType({
    "ollama": _OLLAMA,
    "vllm": _VLLM,
    "llamacpp": _LLAMACPP,
    # Ray Serve: vLLM's names (ray.serve.llm), which venom-mcp's llama.cpp deployment also reads (adapters/ray).
    "ray": _VLLM,
    # OpenAI's reasoning models (o-series, gpt-5) refuse max_tokens; max_completion_tokens works on every model.
    "openai": (_p("max_tokens", "max_completion_tokens", "integer", 1, None, None,
                  _MAX + " Unset: as much as the context leaves."), *_OPENAI_COMMON[1:]),
    "google": _OPENAI_COMMON,
})


@dataclass(frozen=True)
class Thinking:
    """How a runtime takes `think` (true/false/"low"/"medium"/"high").

    Ollama takes it as it is (`think`: a bool, or a level for models such as gpt-oss). OpenAI-compatible APIs take a
    level as `reasoning_effort`; `think=true` means "medium", the OpenAI default. `think=false` is `false_value` when
    the API can turn reasoning off (Gemini: "none"), else it is not sent: a reasoning model still reasons, and
    chat says so in `warnings`. vLLM and llama.cpp also pass `chat_template_kwargs.enable_thinking` in extra_body,
    which switches thinking on and off in the templates of Qwen3, DeepSeek-R1 and similar models.
    """

    native: str
    true_value: object
    false_value: object | None = None
    template_switch: bool = False

    def fields(self, think: bool | str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(body fields, extra_body fields) for one value of `think`."""
        body: dict[str, Any] = {}
        if think is True:
            body[self.native] = self.true_value
        elif think is False:
            if self.false_value is not None:
                body[self.native] = self.false_value
        else:
            body[self.native] = think
        extra = {"chat_template_kwargs": {"enable_thinking": think is not False}} if self.template_switch else {}
        return body, extra

    def can_disable(self) -> bool:
        return self.false_value is not None or self.template_switch


THINKING: Mapping[str, Thinking] = MappingProxyType({
    "ollama": Thinking("think", True, False),
    "vllm": Thinking("reasoning_effort", "medium", template_switch=True),
    "llamacpp": Thinking("reasoning_effort", "medium", template_switch=True),
    "ray": Thinking("reasoning_effort", "medium", template_switch=True),
    "openai": Thinking("reasoning_effort", "medium"),
    "google": Thinking("reasoning_effort", "medium", "none"),
})

# How `response_format` is spelled: Ollama's `format` ("json" or the schema); OpenAI's response_format
# (`json_object`, or `json_schema` with name, schema, and strict when the schema allows it); llama.cpp's
# `json_object` with a `schema` beside it, which both llama-server and llama-cpp-python's server turn into a grammar.
JsonStyle = Literal["ollama", "openai", "llamacpp"]
JSON_STYLE: Mapping[str, JsonStyle] = MappingProxyType({
    "ollama": "ollama", "vllm": "openai", "llamacpp": "llamacpp", "ray": "openai", "openai": "openai",
    "google": "openai",
})


@dataclass
class Translated:
    """Generation parameters renamed for one runtime, sorted by where they go, and the names it does not take."""

    options: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def parameters(runtime: str) -> tuple[Parameter, ...]:
    """The parameters `runtime` takes, in NAMES order (empty for a runtime without a row)."""
    return PARAMETERS.get(runtime, ())


def parameter(runtime: str, name: str) -> Parameter | None:
    return next((p for p in parameters(runtime) if p.name == name), None)


def supported(runtime: str) -> frozenset[str]:
    return frozenset(p.name for p in parameters(runtime))


def native_names(runtime: str) -> dict[str, str]:
    """Our name -> the runtime's name, for the parameters it takes."""
    return {p.name: p.native for p in parameters(runtime)}


def translate(runtime: str, values: Mapping[str, object]) -> Translated:
    """Rename the set values (None means unset) for `runtime`; `stop` given as one string becomes a list of one."""
    out = Translated()
    for name, value in values.items():
        if value is None:
            continue
        found = parameter(runtime, name)
        if found is None:
            out.dropped.append(name)
            continue
        if found.type == "array" and isinstance(value, str):
            value = [value]
        {"options": out.options, "body": out.body, "extra_body": out.extra_body}[found.where][found.native] = value
    return out


def json_format(runtime: str, schema: Mapping[str, Any] | None, name: str = "answer") -> tuple[str, object]:
    """(field, value) that asks `runtime` for a JSON answer, constrained by `schema` when given."""
    style = JSON_STYLE.get(runtime, "openai")
    if style == "ollama":
        return "format", dict(schema) if schema is not None else "json"
    if schema is None:
        return "response_format", {"type": "json_object"}
    if style == "llamacpp":
        return "response_format", {"type": "json_object", "schema": dict(schema)}
    return "response_format", {"type": "json_schema",
                               "json_schema": {"name": name, "schema": dict(schema), "strict": strict_ready(schema)}}


def strict_ready(schema: object) -> bool:
    """Whether OpenAI's strict mode takes the schema: every object sets `additionalProperties: false` and lists every
    property in `required`. Strict is asked for only then (OpenAI refuses any other schema in strict mode); chat
    checks the answer against the schema either way."""
    if not isinstance(schema, Mapping):
        return True
    properties = schema.get("properties") or {}
    loose = schema.get("additionalProperties") is not False or set(properties) - set(schema.get("required") or [])
    if (schema.get("type") == "object" or properties) and loose:
        return False
    subschemas = [*properties.values(), schema.get("items"), *(schema.get("anyOf") or []),
                  *(schema.get("$defs") or {}).values()]
    return all(strict_ready(sub) for sub in subschemas if sub is not None)
