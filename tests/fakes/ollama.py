"""A fake local Ollama server (Starlette app) that speaks the real Ollama REST API.

Shapes follow https://github.com/ollama/ollama/blob/main/docs/api.md and what ``ollama serve`` 0.16 answers,
so that the official ``ollama`` Python client works against it:

* ``GET|HEAD /``            ``Ollama is running``
* ``GET /api/version``      ``{"version": "0.16.1"}``
* ``GET /api/tags``         installed models, newest first
* ``GET /api/ps``           loaded models, latest expiry first (expired ones are dropped)
* ``POST /api/show``        license, modelfile, parameters, template, details, model_info, capabilities...
* ``POST /api/pull``        NDJSON progress (``pulling manifest``, per-layer ``pulling <digest12>`` lines,
                            ``verifying sha256 digest``, ``writing manifest``, ``success``) or one JSON answer
* ``DELETE /api/delete``    200 with an empty body; also unloads the model
* ``POST /api/copy``        200 with an empty body
* ``POST /api/generate``    no prompt: load (``done_reason: "load"``) or, with ``keep_alive: 0``, unload;
                            with a prompt: deterministic ``You said: <prompt>``, streamed or not
* ``POST /api/chat``        deterministic ``echo: <last user message>``; a tool call when tools are offered
                            and the last message is a user message mentioning "weather"
* ``format`` (chat, generate): ``"json"`` answers ``{"answer": <text>}``, a JSON schema a value matching it (what
                            Ollama's grammar enforces); anything else is an error, as is a ``think`` other than a
                            bool or ``"high"``/``"medium"``/``"low"``
* ``POST /api/embed``, ``POST /api/embeddings``   deterministic unit vectors

Model names are resolved like Ollama does: ``llama3.2`` means ``llama3.2:latest`` (a different tag from
``llama3.2:1b``), ``registry.ollama.ai/library/`` and ``library/`` prefixes are dropped, and matching ignores case.

Fault injection: set ``fake.fault`` (see :data:`FAULTS` and :class:`FakeOllama`).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import math
import random
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.fakes.schema_example import example

Fault = Literal["down_mid_pull", "pull_error", "error", "stream_error"]
FAULTS: tuple[str, ...] = ("down_mid_pull", "pull_error", "error", "stream_error")

VERSION = "0.16.1"
NDJSON = "application/x-ndjson"
PULL_ERROR = "max retries exceeded: unexpected EOF"
# What Ollama writes when the model runner dies in the middle of an answer (llama runner process has terminated).
STREAM_ERROR = "an error was encountered while running the model: unexpected EOF"
MANIFEST_NOT_FOUND = "pull model manifest: file does not exist"
# Ollama reports ``expires_at`` of a model kept "forever" (negative keep_alive) as now + math.MaxInt64 ns.
FOREVER = timedelta(microseconds=(2**63 - 1) // 1000)
DEFAULT_KEEP_ALIVE = timedelta(minutes=5)
# The fake's "local time zone" for modified_at / expires_at (created_at is UTC, like Ollama's).
DEFAULT_TZ: tzinfo = timezone(timedelta(hours=-7))
BLOBS_DIR = "/root/.ollama/models/blobs"

MEDIA_MODEL = "application/vnd.ollama.image.model"
MEDIA_TEMPLATE = "application/vnd.ollama.image.template"
MEDIA_LICENSE = "application/vnd.ollama.image.license"
MEDIA_PARAMS = "application/vnd.ollama.image.params"
MEDIA_SYSTEM = "application/vnd.ollama.image.system"
MEDIA_PROJECTOR = "application/vnd.ollama.image.projector"

_BIG_LAYER = 1_000_000  # "big" layer for the down_mid_pull / pull_error faults

_NAME_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,79}")
_HOST_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9]+)?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}  # fmt: skip
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-z\u00b5\u03bc]+)")


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def go_time(dt: datetime) -> str:
    """``time.Time`` as Go marshals it (RFC 3339 with nanoseconds, trailing zeros trimmed, ``Z`` for UTC).

    Python keeps microseconds; three constant nanosecond digits are appended so that clients meet the
    9-digit fractions real Ollama sends.
    """
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    frac = f"{dt.microsecond * 1000 + 417:09d}".rstrip("0")
    offset = dt.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        zone = "Z"
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + zone


def parse_go_duration(text: str) -> float:
    """Seconds of a Go duration string (``"5m"``, ``"1h30m"``, ``"-1s"``, ``"0"``); ValueError like Go's."""
    s = text
    sign = 1.0
    if s[:1] in ("-", "+"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"time: invalid duration {json.dumps(text)}")
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None or m[1] in ("", "."):
            if re.fullmatch(r"[0-9.]+", s[pos:]):
                raise ValueError(f"time: missing unit in duration {json.dumps(text)}")
            raise ValueError(f"time: invalid duration {json.dumps(text)}")
        if m[2] not in _DURATION_UNITS:
            raise ValueError(f"time: unknown unit {json.dumps(m[2])} in duration {json.dumps(text)}")
        total += float(m[1]) * _DURATION_UNITS[m[2]]
        pos = m.end()
    return sign * total


def parse_keep_alive(value: Any) -> timedelta | None:
    """Ollama's ``api.Duration``: seconds as a number, or a Go duration string; negative means forever.

    Returns None for "not given". Raises ValueError with Go's message for bad strings.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("Unsupported type: 'bool'")
    if isinstance(value, int | float):
        seconds = float(value) if value < 0 else float(int(value))  # Go: int(t) * time.Second
    elif isinstance(value, str):
        seconds = parse_go_duration(value)
    else:
        go_type = "[]interface {}" if isinstance(value, list) else "map[string]interface {}"
        raise ValueError(f"Unsupported type: '{go_type}'")
    if seconds < 0:
        return FOREVER
    return timedelta(seconds=seconds)


def canonical_name(name: str) -> str:
    """``llama3.2`` -> ``llama3.2:latest``; drops ``registry.ollama.ai/library/`` and ``library/``."""
    name = name.strip()
    for prefix in ("registry.ollama.ai/library/", "registry.ollama.ai/", "library/"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
            break
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    return name


def valid_name(name: str) -> bool:
    """Ollama's model-name rules: ``[host/][namespace/]model:tag`` with restricted characters."""
    if not name or name != name.strip():
        return False
    path, _, tag = canonical_name(name).rpartition(":")
    parts = path.split("/")
    if not _TAG.fullmatch(tag) or len(parts) > 3:
        return False
    if len(parts) == 3 and not _HOST_PART.fullmatch(parts.pop(0)):
        return False
    return all(_NAME_PART.fullmatch(part) for part in parts)


def full_name(name: str) -> str:
    """The fully qualified name Ollama prints in capability errors (``registry.ollama.ai/library/x:tag``)."""
    parts = name.split("/")
    if len(parts) >= 3 or (len(parts) == 2 and "." in parts[0]):
        return name
    if len(parts) == 2:
        return f"registry.ollama.ai/{name}"
    return f"registry.ollama.ai/library/{name}"


def _tokens(text: str) -> list[str]:
    """Split text the way a tokenizer streams it: words with their leading whitespace."""
    return re.findall(r"\s*\S+", text)


def _token_ids(text: str) -> list[int]:
    return [int(hashlib.sha256(tok.encode()).hexdigest()[:8], 16) % 128_000 for tok in _tokens(text)]


def _params_text(*pairs: tuple[str, str | int | float]) -> str:
    """The ``parameters`` text of ``/api/show``: the name padded to 30 columns, strings quoted."""
    lines = []
    for key, value in pairs:
        shown = json.dumps(value) if isinstance(value, str) else str(value)
        lines.append(f"{key:<30} {shown}")
    return "\n".join(lines)


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(obj: Any) -> bytes:
    """JSON as Go's ``encoding/json`` writes it: compact, UTF-8, with ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    # These characters can only occur inside JSON strings, so escaping them everywhere is safe.
    return re.sub("[<>&\u2028\u2029]", lambda m: _GO_ESCAPES[m[0]], text).encode()


class GoJSONResponse(JSONResponse):
    """What Gin's ``c.JSON`` answers."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return go_json(content)


def _json_error(message: str, status: int) -> JSONResponse:
    return GoJSONResponse({"error": message}, status_code=status)


def _ndjson_line(obj: Mapping[str, Any]) -> bytes:
    return go_json(obj) + b"\n"


class _AbortConnection(Exception):
    """Raised inside a response body to cut the connection without finishing the HTTP message."""


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------


@dataclass
class FakeModel:
    """One pullable model (a manifest). Layer digests are derived from ``name`` and the layer index."""

    name: str
    layers: list[tuple[str, int]]
    details: dict[str, Any]
    template: str = ""
    capabilities: list[str] = field(default_factory=lambda: ["completion"])
    reports_capabilities: bool = True  # False: /api/show omits the field, as older Ollama releases did
    model_info: dict[str, Any] = field(default_factory=dict)
    parameters: str = ""
    system: str | None = None
    license: str = ""
    projector_info: dict[str, Any] | None = None

    def layer_digest(self, index: int) -> str:
        return "sha256:" + hashlib.sha256(f"{self.name}{index}".encode()).hexdigest()

    @property
    def digests(self) -> list[str]:
        return [self.layer_digest(i) for i in range(len(self.layers))]

    @property
    def size(self) -> int:
        return sum(size for _, size in self.layers)

    @property
    def manifest(self) -> dict[str, Any]:
        config = hashlib.sha256(f"{self.name}:config".encode()).hexdigest()
        return {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": f"sha256:{config}", "size": 485},
            "layers": [{"mediaType": media, "digest": self.layer_digest(i), "size": size}
                       for i, (media, size) in enumerate(self.layers)],
        }  # fmt: skip

    @property
    def digest(self) -> str:
        """Manifest digest, hex without ``sha256:`` (what ``/api/tags`` and ``/api/ps`` show)."""
        return hashlib.sha256(json.dumps(self.manifest, separators=(",", ":")).encode()).hexdigest()

    @property
    def architecture(self) -> str:
        return str(self.model_info.get("general.architecture", self.details.get("family", "")))

    @property
    def context_length(self) -> int:
        return int(self.model_info.get(f"{self.architecture}.context_length", 2048))

    @property
    def embedding_length(self) -> int:
        return int(self.model_info.get(f"{self.architecture}.embedding_length", 768))

    def layer_of(self, media_type: str) -> tuple[str, int] | None:
        for i, (media, size) in enumerate(self.layers):
            if media == media_type:
                return self.layer_digest(i), size
        return None

    def modelfile(self, shown_name: str) -> str:
        lines = [
            '# Modelfile generated by "ollama show"',
            "# To build a new Modelfile based on this, replace FROM with:",
            f"# FROM {shown_name}",
            "",
        ]
        for media in (MEDIA_MODEL, MEDIA_PROJECTOR):
            if (layer := self.layer_of(media)) is not None:
                lines.append(f"FROM {BLOBS_DIR}/{layer[0].replace(':', '-')}")
        if self.template:
            lines.append(f'TEMPLATE """{self.template}"""')
        if self.system:
            lines.append(f'SYSTEM """{self.system}"""')
        for line in self.parameters.splitlines():
            key, _, value = line.strip().partition(" ")
            value = value.strip()
            if value.startswith('"') and value.endswith('"'):
                value = json.loads(value)
            lines.append(f"PARAMETER {key} {value}")
        if self.license:
            lines.append(f'LICENSE """{self.license}"""')
        return "\n".join(lines) + "\n"


@dataclass
class InstalledModel:
    model: FakeModel
    modified_at: datetime


_LLAMA32_TEMPLATE = """<|start_header_id|>system<|end_header_id|>

Cutting Knowledge Date: December 2023

{{ if .System }}{{ .System }}
{{- end }}
{{- if .Tools }}When you receive a tool call response, use the output to format an answer to the orginal user question.

You are a helpful assistant with tool calling capabilities.
{{- end }}<|eot_id|>
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>
{{- if and $.Tools $last }}

Given the following functions, please respond with a JSON for a function call
with its proper arguments that best answers the given prompt.

{{ range $.Tools }}
{{- . }}
{{ end }}
{{ .Content }}<|eot_id|>
{{- else }}

{{ .Content }}<|eot_id|>
{{- end }}{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>
{{- if .ToolCalls }}
{{ range .ToolCalls }}
{"name": "{{ .Function.Name }}", "parameters": {{ .Function.Arguments }}}{{ end }}
{{- else }}

{{ .Content }}
{{- end }}{{ if not $last }}<|eot_id|>{{ end }}
{{- else if eq .Role "tool" }}<|start_header_id|>ipython<|end_header_id|>

{{ .Content }}<|eot_id|>{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- end }}
{{- end }}"""

# Gemma's template has no .System: system messages are rendered as user turns.
_GEMMA2_TEMPLATE = """{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}"""

_CHATML_TOOLS_TEMPLATE = """{{- if .Messages }}
{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Content }}{{ .Content }}
{{- else if .ToolCalls }}<tool_call>
{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
{{ end }}</tool_call>
{{- end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}"""

_LLAVA_TEMPLATE = "[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]"

_LLAMA32_LICENSE = (
    "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: September 25, 2024\n\n"
    "\u201cAgreement\u201d means the terms and conditions for use, reproduction, distribution and "
    "modification of the Llama Materials set forth herein."
)
_GEMMA_LICENSE = (
    "Gemma Terms of Use\n\nLast modified: February 21, 2024\n\nBy using, reproducing, modifying, "
    "distributing, performing or displaying any portion or element of Gemma, Model Derivatives including "
    "via any Hosted Service, you agree to be bound by this Agreement."
)
_APACHE_LICENSE = (
    "                                 Apache License\n                           Version 2.0, January 2004\n"
    "                        http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE, "
    "REPRODUCTION, AND DISTRIBUTION"
)


def _details(family: str, parameter_size: str, quantization: str, families: list[str] | None = None) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": families if families is not None else [family],
        "parameter_size": parameter_size,
        "quantization_level": quantization,
    }


def seed_library() -> dict[str, FakeModel]:
    """Pullable models keyed by canonical name. ``llama3.2:latest`` shares the ``llama3.2:1b`` manifest."""
    llama = FakeModel(
        name="llama3.2:1b",
        layers=[(MEDIA_MODEL, 1_321_082_688), (MEDIA_TEMPLATE, 1_429), (MEDIA_LICENSE, 7_711), (MEDIA_PARAMS, 96)],
        details=_details("llama", "1.2B", "Q8_0"),
        template=_LLAMA32_TEMPLATE,
        capabilities=["completion", "tools"],
        model_info={
            "general.architecture": "llama", "general.basename": "Llama-3.2", "general.file_type": 7,
            "general.finetune": "Instruct", "general.languages": ["en", "de", "fr", "it", "pt", "hi", "es", "th"],
            "general.parameter_count": 1_235_814_432, "general.quantization_version": 2, "general.size_label": "1B",
            "general.type": "model", "llama.attention.head_count": 32, "llama.attention.head_count_kv": 8,
            "llama.attention.key_length": 64, "llama.attention.layer_norm_rms_epsilon": 0.00001,
            "llama.attention.value_length": 64, "llama.block_count": 16, "llama.context_length": 131_072,
            "llama.embedding_length": 2048, "llama.feed_forward_length": 8192, "llama.rope.dimension_count": 64,
            "llama.rope.freq_base": 500_000, "llama.vocab_size": 128_256, "tokenizer.ggml.bos_token_id": 128_000,
            "tokenizer.ggml.eos_token_id": 128_009, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
        },
        parameters=_params_text(("stop", "<|start_header_id|>"), ("stop", "<|end_header_id|>"), ("stop", "<|eot_id|>")),
        license=_LLAMA32_LICENSE,
    )  # fmt: skip
    gemma = FakeModel(
        name="gemma2:2b",
        layers=[(MEDIA_MODEL, 1_629_509_152), (MEDIA_LICENSE, 8_433), (MEDIA_TEMPLATE, 358), (MEDIA_PARAMS, 65)],
        details=_details("gemma2", "2.6B", "Q4_0"),
        template=_GEMMA2_TEMPLATE,
        capabilities=["completion"],
        model_info={
            "general.architecture": "gemma2", "general.file_type": 2, "general.parameter_count": 2_614_341_888,
            "general.quantization_version": 2, "gemma2.attention.head_count": 8,
            "gemma2.attention.head_count_kv": 4, "gemma2.attention.key_length": 256,
            "gemma2.attention.sliding_window": 4096, "gemma2.attention.value_length": 256,
            "gemma2.block_count": 26, "gemma2.context_length": 8192, "gemma2.embedding_length": 2304,
            "gemma2.feed_forward_length": 9216, "tokenizer.ggml.bos_token_id": 2, "tokenizer.ggml.eos_token_id": 1,
            "tokenizer.ggml.model": "llama", "tokenizer.ggml.pre": "default",
        },
        parameters=_params_text(("stop", "<start_of_turn>"), ("stop", "<end_of_turn>")),
        license=_GEMMA_LICENSE,
    )  # fmt: skip
    qwen = FakeModel(
        name="qwen2.5:0.5b",
        layers=[(MEDIA_MODEL, 397_807_936), (MEDIA_SYSTEM, 68), (MEDIA_TEMPLATE, 1_482), (MEDIA_LICENSE, 11_343)],
        details=_details("qwen2", "494.03M", "Q4_K_M"),
        template=_CHATML_TOOLS_TEMPLATE,
        capabilities=["completion", "tools"],
        model_info={
            "general.architecture": "qwen2", "general.basename": "Qwen2.5", "general.file_type": 15,
            "general.parameter_count": 494_032_768, "general.quantization_version": 2,
            "qwen2.attention.head_count": 14, "qwen2.attention.head_count_kv": 2, "qwen2.block_count": 24,
            "qwen2.context_length": 32_768, "qwen2.embedding_length": 896, "qwen2.feed_forward_length": 4864,
            "qwen2.rope.freq_base": 1_000_000, "tokenizer.ggml.bos_token_id": 151_643,
            "tokenizer.ggml.eos_token_id": 151_645, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2",
        },
        system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        license=_APACHE_LICENSE,
    )  # fmt: skip
    qwen3 = FakeModel(
        name="qwen3:0.6b",
        layers=[(MEDIA_MODEL, 522_643_936), (MEDIA_LICENSE, 11_338), (MEDIA_TEMPLATE, 1_723), (MEDIA_PARAMS, 148)],
        details=_details("qwen3", "751.63M", "Q4_K_M"),
        template=_CHATML_TOOLS_TEMPLATE,
        capabilities=["completion", "tools", "thinking"],
        model_info={
            "general.architecture": "qwen3", "general.file_type": 15, "general.parameter_count": 751_632_384,
            "general.quantization_version": 2, "qwen3.attention.head_count": 16,
            "qwen3.attention.head_count_kv": 8, "qwen3.block_count": 28, "qwen3.context_length": 40_960,
            "qwen3.embedding_length": 1024, "qwen3.feed_forward_length": 3072, "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.pre": "qwen2",
        },
        parameters=_params_text(("repeat_penalty", 1), ("stop", "<|im_start|>"), ("stop", "<|im_end|>"),
                                ("temperature", 0.6), ("top_k", 20), ("top_p", 0.95)),
        license=_APACHE_LICENSE,
    )  # fmt: skip
    nomic = FakeModel(
        name="nomic-embed-text:latest",
        layers=[(MEDIA_MODEL, 274_290_656), (MEDIA_LICENSE, 11_357), (MEDIA_PARAMS, 17)],
        details=_details("nomic-bert", "137M", "F16"),
        capabilities=["embedding"],
        model_info={
            "general.architecture": "nomic-bert", "general.file_type": 1, "general.parameter_count": 136_727_040,
            "general.quantization_version": 2, "nomic-bert.attention.causal": False,
            "nomic-bert.attention.head_count": 12, "nomic-bert.block_count": 12,
            "nomic-bert.context_length": 2048, "nomic-bert.embedding_length": 768,
            "nomic-bert.feed_forward_length": 3072, "nomic-bert.pooling_type": 1,
            "tokenizer.ggml.model": "bert",
        },
        parameters=_params_text(("num_ctx", 8192)),
        license=_APACHE_LICENSE,
    )  # fmt: skip
    llava = FakeModel(
        name="llava:7b",
        layers=[(MEDIA_MODEL, 4_113_289_696), (MEDIA_PROJECTOR, 624_434_368), (MEDIA_LICENSE, 11_356),
                (MEDIA_TEMPLATE, 67), (MEDIA_PARAMS, 30)],
        details=_details("llama", "7B", "Q4_0", families=["llama", "clip"]),
        template=_LLAVA_TEMPLATE,
        capabilities=["completion", "vision"],
        model_info={
            "general.architecture": "llama", "general.file_type": 2, "general.parameter_count": 7_241_732_096,
            "general.quantization_version": 2, "llama.attention.head_count": 32,
            "llama.attention.head_count_kv": 8, "llama.block_count": 32, "llama.context_length": 32_768,
            "llama.embedding_length": 4096, "llama.feed_forward_length": 14_336, "tokenizer.ggml.model": "llama",
        },
        parameters=_params_text(("stop", "[INST]"), ("stop", "[/INST]")),
        license=_APACHE_LICENSE,
        projector_info={
            "clip.has_text_encoder": False, "clip.has_vision_encoder": True, "clip.projector_type": "mlp",
            "clip.vision.attention.head_count": 16, "clip.vision.block_count": 23,
            "clip.vision.embedding_length": 1024, "clip.vision.image_size": 336, "clip.vision.patch_size": 14,
            "general.architecture": "clip",
        },
    )  # fmt: skip
    return {
        "llama3.2:1b": llama,
        "llama3.2:latest": llama,  # same manifest, as on registry.ollama.ai
        "gemma2:2b": gemma,
        "qwen2.5:0.5b": qwen,
        "qwen3:0.6b": qwen3,
        "nomic-embed-text:latest": nomic,
        "llava:7b": llava,
    }


# --------------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------------


class _Instrument:
    """ASGI wrapper: counts hits, records JSON bodies, injects the ``error`` fault, cuts aborted streams."""

    def __init__(self, app: ASGIApp, fake: FakeOllama) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away before sending the body
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        body: dict[str, Any]
        try:
            parsed = json.loads(raw) if raw.strip() else {}
            body = parsed if isinstance(parsed, dict) else {"_json": parsed}
        except ValueError:
            body = {"_invalid_json": raw.decode("utf-8", "replace")}
        self.fake.hits[path] += 1
        self.fake.requests.append((path, body))

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        fault = self.fake.fault
        if fault == "error":
            await _json_error("boom", 500)(scope, replay, send)
            return
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        try:
            await self.app(scope, replay, send)
        except* _AbortConnection:
            # Returning without finishing the response makes uvicorn close the socket mid-body:
            # the client sees an incomplete chunked read (httpx.RemoteProtocolError).
            pass


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("404 page not found", status_code=404)  # what Gin answers


class FakeOllama:
    """State + Starlette app of a fake ``ollama serve``.

    Constructor: ``FakeOllama(library=None, installed=(), *, pull_chunks=5, pull_delay=0.0, token_delay=0.0,
    tz=DEFAULT_TZ, version="0.16.1")``. ``reset()`` restores that initial state.

    Attributes (all mutable from tests):
      library:        dict canonical name -> FakeModel, what ``/api/pull`` can fetch
      installed:      dict canonical name -> InstalledModel(model, modified_at), what ``/api/tags`` lists
      loaded:         dict canonical name -> expires_at (aware datetime), what ``/api/ps`` lists
      loaded_num_ctx: dict canonical name -> context length the model was loaded with
      blobs:          dict layer digest -> bytes on disk (partial pulls resume from there)
      fault:          None | "down_mid_pull" | "pull_error" | "error" | "stream_error"
                      down_mid_pull: the pull answer is cut off (no final chunk) half-way through the first big
                                     layer it downloads; the client gets httpx.RemoteProtocolError
                      pull_error:    half-way through that layer the stream carries
                                     ``{"error": "max retries exceeded: unexpected EOF"}`` and ends cleanly
                                     (stream=false: HTTP 500 with that error)
                      error:         every route answers 500 ``{"error": "boom"}``
                      stream_error:  a streamed chat sends its first piece, then the line ``{"error": STREAM_ERROR}``
                                     and ends (HTTP 200, as Ollama does when the runner fails mid-answer);
                                     stream=false: HTTP 500 with that error
      pull_chunks:    progress lines with a rising ``completed`` per downloaded layer (plus one opening line)
      pull_delay:     seconds slept before each progress line (make a pull slow enough to cancel)
      token_delay:    seconds slept before each streamed chat/generate token
      default_num_ctx: context length of a load without ``options.num_ctx`` (capped by the model's)
      cpu_only:       if True, ``/api/ps`` reports ``size_vram: 0``
      hold:           a threading.Event: a chat with messages waits until it is set (a request kept in flight)
      pull_hold:      a threading.Event: a pull waits after "pulling manifest" until it is set (an install kept
                      running until the test lets it go on)
      think_by_default: a chat without ``think`` thinks when the model has the ``thinking`` capability (as
                      gpt-oss and Qwen3 do on current Ollama); the thinking tokens count against ``num_predict``
      hits:           Counter of requests per URL path (faulted requests included)
      requests:       list of (path, JSON body) for every request (``{}`` for bodyless ones)
      abandoned_streams: streamed chat answers whose client went away before the last line (the generation
                      stopped there, as Ollama stops it when the connection closes)
      version:        what ``/api/version`` reports
      app:            the ASGI app (serve it with ``LiveServer(fake.app)``)
    """

    def __init__(
        self,
        library: Mapping[str, FakeModel] | None = None,
        installed: Iterable[str] = (),
        *,
        pull_chunks: int = 5,
        pull_delay: float = 0.0,
        token_delay: float = 0.0,
        tz: tzinfo = DEFAULT_TZ,
        version: str = VERSION,
    ) -> None:
        self._initial_library = dict(library) if library is not None else None
        self._initial_installed = list(installed)
        self._initial_pacing = (pull_chunks, pull_delay, token_delay)
        self.tz = tz
        self.version = version
        self.library: dict[str, FakeModel] = {}
        self.installed: dict[str, InstalledModel] = {}
        self.loaded: dict[str, datetime] = {}
        self.loaded_num_ctx: dict[str, int] = {}
        self.blobs: dict[str, int] = {}
        self.fault: Fault | None = None
        self.pull_chunks = pull_chunks
        self.pull_delay = pull_delay
        self.token_delay = token_delay
        self.default_num_ctx = 4096
        self.hold: threading.Event | None = None
        self.pull_hold: threading.Event | None = None
        self.think_by_default = False
        self.cpu_only = False
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.abandoned_streams = 0
        self.reset()
        routes = [
            Route("/", self._root, methods=["GET", "HEAD"]),
            Route("/api/version", self._version, methods=["GET", "HEAD"]),
            Route("/api/tags", self._tags, methods=["GET", "HEAD"]),
            Route("/api/ps", self._ps, methods=["GET"]),
            Route("/api/show", self._show, methods=["POST"]),
            Route("/api/pull", self._pull, methods=["POST"]),
            Route("/api/delete", self._delete, methods=["DELETE"]),
            Route("/api/copy", self._copy, methods=["POST"]),
            Route("/api/generate", self._generate, methods=["POST"]),
            Route("/api/chat", self._chat, methods=["POST"]),
            Route("/api/embed", self._embed, methods=["POST"]),
            Route("/api/embeddings", self._embeddings, methods=["POST"]),
        ]
        starlette = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
        self.app: ASGIApp = _Instrument(starlette, self)

    # ---- helpers for tests ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the constructor's state: library, installed models, pacing; nothing loaded, no fault."""
        if self._initial_library is not None:
            self.library = {canonical_name(k): v for k, v in self._initial_library.items()}
        else:
            self.library = seed_library()
        self.installed.clear()
        self.loaded.clear()
        self.loaded_num_ctx.clear()
        self.blobs.clear()
        self.fault = None
        self.pull_chunks, self.pull_delay, self.token_delay = self._initial_pacing
        self.default_num_ctx = 4096
        self.hold = None
        self.pull_hold = None
        self.think_by_default = False
        self.cpu_only = False
        self.hits.clear()
        self.requests.clear()
        self.abandoned_streams = 0
        for name in self._initial_installed:
            self.install(name)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def resolve(self, name: str, table: Mapping[str, Any] | None = None) -> str | None:
        """The key of ``table`` (default: ``installed``) that ``name`` means, or None."""
        table = self.installed if table is None else table
        wanted = canonical_name(name).casefold()
        return next((key for key in table if key.casefold() == wanted), None)

    def install(self, name: str, modified_at: datetime | None = None) -> InstalledModel:
        """Put a library model on "disk" as if it had been pulled."""
        key = self.resolve(name, self.library)
        if key is None:
            raise KeyError(f"{name!r} is not in the fake library")
        model = self.library[key]
        for digest, (_, size) in zip(model.digests, model.layers, strict=True):
            self.blobs[digest] = size
        entry = InstalledModel(model, modified_at or self.now())
        self.installed[key] = entry
        return entry

    def load(self, name: str, keep_alive: timedelta = DEFAULT_KEEP_ALIVE, num_ctx: int | None = None) -> None:
        """Mark an installed model as loaded (what a generate/chat request does)."""
        key = self.resolve(name)
        if key is None:
            raise KeyError(f"{name!r} is not installed")
        self._load(key, keep_alive, num_ctx)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """JSON bodies of the requests to ``path``, oldest first."""
        return [body for p, body in self.requests if p == path]

    # ---- internals ----------------------------------------------------------------------------------

    def _expire(self) -> None:
        now = self.now()
        for key, expires in list(self.loaded.items()):
            if expires <= now:
                del self.loaded[key]
                self.loaded_num_ctx.pop(key, None)

    def _load(self, key: str, keep_alive: timedelta | None, num_ctx: int | None) -> bool:
        """Load (or refresh) a model; returns True when it was not loaded before (a cold load)."""
        self._expire()
        cold = key not in self.loaded
        model = self.installed[key].model
        ctx = num_ctx if num_ctx else min(self.default_num_ctx, model.context_length)
        self.loaded[key] = self.now() + (keep_alive if keep_alive is not None else DEFAULT_KEEP_ALIVE)
        self.loaded_num_ctx[key] = ctx
        return cold

    def _unload(self, key: str) -> None:
        self.loaded.pop(key, None)
        self.loaded_num_ctx.pop(key, None)

    def _memory_size(self, model: FakeModel, ctx: int) -> int:
        block_count = int(model.model_info.get(f"{model.architecture}.block_count", 16))
        kv_cache = 2 * block_count * ctx * model.embedding_length // 4
        return model.size + kv_cache + 256 * 1024 * 1024

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            raise _BadRequest("missing request body")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _BadRequest(f"invalid character in request body: {exc}") from None
        if not isinstance(body, dict):
            raise _BadRequest("json: cannot unmarshal into Go value of type api.Request")
        return body

    @staticmethod
    def _model_arg(body: Mapping[str, Any]) -> str:
        name = body.get("model") or body.get("name") or ""  # "name" is the deprecated spelling
        if not isinstance(name, str) or not name.strip():
            raise _BadRequest("model is required")
        return name

    @staticmethod
    def _keep_alive(body: Mapping[str, Any]) -> timedelta | None:
        try:
            return parse_keep_alive(body.get("keep_alive"))
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None

    def _installed_or_404(self, name: str) -> str:
        key = self.resolve(name)
        if key is None:
            raise _BadRequest(f"model {json.dumps(name)} not found, try pulling it first", 404)
        return key

    def _check(self, key: str, needed: Iterable[str]) -> None:
        caps = self.installed[key].model.capabilities
        for cap in needed:
            if cap not in caps:
                raise _BadRequest(f"{full_name(key)} does not support {cap}")

    def _timings(self, cold: bool, prompt_tokens: int, eval_tokens: int) -> dict[str, int]:
        load = 1_234_567_890 if cold else 12_345_678
        prompt_ns = 1_000_000 * prompt_tokens + 3_000_000
        eval_ns = 20_000_000 * eval_tokens
        return {
            "total_duration": load + prompt_ns + eval_ns + 1_500_000,
            "load_duration": load,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": prompt_ns,
            "eval_count": eval_tokens,
            "eval_duration": eval_ns,
        }

    @staticmethod
    def _created_at() -> str:
        return go_time(datetime.now(UTC))

    # ---- simple routes --------------------------------------------------------------------------------

    async def _root(self, request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def _version(self, request: Request) -> Response:
        return GoJSONResponse({"version": self.version})

    async def _tags(self, request: Request) -> Response:
        entries = sorted(self.installed.items(), key=lambda kv: kv[1].modified_at, reverse=True)
        models = [
            {
                "name": key,
                "model": key,
                "modified_at": go_time(entry.modified_at.astimezone(self.tz)),
                "size": entry.model.size,
                "digest": entry.model.digest,
                "details": copy.deepcopy(entry.model.details),
            }
            for key, entry in entries
        ]
        return GoJSONResponse({"models": models})

    async def _ps(self, request: Request) -> Response:
        self._expire()
        models = []
        for key, expires in sorted(self.loaded.items(), key=lambda kv: kv[1], reverse=True):
            entry = self.installed.get(key)
            if entry is None:
                continue
            ctx = self.loaded_num_ctx.get(key, min(self.default_num_ctx, entry.model.context_length))
            size = self._memory_size(entry.model, ctx)
            models.append(
                {
                    "name": key,
                    "model": key,
                    "size": size,
                    "digest": entry.model.digest,
                    "details": copy.deepcopy(entry.model.details),
                    "expires_at": go_time(expires.astimezone(self.tz)),
                    "size_vram": 0 if self.cpu_only else size,
                    "context_length": ctx,
                }
            )
        return GoJSONResponse({"models": models})

    async def _show(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            name = self._model_arg(body)
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        key = self.resolve(name)
        if key is None:
            return _json_error(f"model '{name}' not found", 404)
        entry = self.installed[key]
        model = entry.model
        verbose = bool(body.get("verbose"))
        info = copy.deepcopy(model.model_info)
        for array in ("tokenizer.ggml.merges", "tokenizer.ggml.token_type", "tokenizer.ggml.tokens"):
            if array == "tokenizer.ggml.merges" and info.get("tokenizer.ggml.model") != "gpt2":
                continue
            info[array] = None
        if verbose:
            info["tokenizer.ggml.tokens"] = ["<unk>", "<s>", "</s>", "!", '"', "#"]
            info["tokenizer.ggml.token_type"] = [2, 3, 3, 1, 1, 1]
            if "tokenizer.ggml.merges" in info:
                info["tokenizer.ggml.merges"] = ["\u0120 \u0120", "\u0120 t", "e r"]
        answer: dict[str, Any] = {
            "license": model.license,
            "modelfile": model.modelfile(key),
            "parameters": model.parameters,
            "template": model.template,
        }
        if model.system:
            answer["system"] = model.system
        answer["details"] = copy.deepcopy(model.details)
        answer["model_info"] = info
        if model.projector_info is not None:
            answer["projector_info"] = copy.deepcopy(model.projector_info)
        if model.reports_capabilities:
            answer["capabilities"] = list(model.capabilities)
        answer["modified_at"] = go_time(entry.modified_at.astimezone(self.tz))
        return GoJSONResponse(answer)

    async def _delete(self, request: Request) -> Response:
        try:
            name = self._model_arg(await self._body(request))
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        key = self.resolve(name)
        if key is None:
            return _json_error(f"model '{name}' not found", 404)
        del self.installed[key]
        self._unload(key)
        still_used = {d for entry in self.installed.values() for d in entry.model.digests}
        for digest in list(self.blobs):
            if digest not in still_used:
                del self.blobs[digest]
        return Response(status_code=200)

    async def _copy(self, request: Request) -> Response:
        try:
            body = await self._body(request)
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        source, destination = body.get("source"), body.get("destination")
        if not isinstance(source, str) or not isinstance(destination, str) or not valid_name(destination):
            return _json_error("invalid model name", 400)
        key = self.resolve(source)
        if key is None:
            return _json_error(f"model '{source}' not found", 404)
        self.installed[canonical_name(destination)] = InstalledModel(self.installed[key].model, self.now())
        return Response(status_code=200)

    # ---- pull -----------------------------------------------------------------------------------------

    async def _pull(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            name = self._model_arg(body)
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        stream = body.get("stream", True) is not False
        if not valid_name(name):
            return _json_error("invalid model name", 400)
        key = self.resolve(name, self.library)
        events = self._pull_events(name, key)
        if stream:
            return StreamingResponse(self._ndjson(events), media_type=NDJSON)
        last: dict[str, Any] = {}
        try:
            async for event in events:
                if await request.is_disconnected():
                    await events.aclose()
                    return Response(status_code=499)
                last = event
        except _AbortConnection:
            return StreamingResponse(self._cut(), media_type="application/json")
        if "error" in last:
            return _json_error(last["error"], 500)
        return GoJSONResponse(last)

    @staticmethod
    async def _ndjson(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
        async for event in events:
            yield _ndjson_line(event)

    @staticmethod
    async def _cut() -> AsyncIterator[bytes]:
        raise _AbortConnection
        yield b""  # pragma: no cover - makes this an async generator

    async def _pull_events(self, name: str, key: str | None) -> AsyncIterator[dict[str, Any]]:
        """The progress events of a pull; ``{"error": ...}`` ends it; _AbortConnection cuts it."""
        yield {"status": "pulling manifest"}
        if self.pull_hold is not None:  # a test keeps this pull waiting until it sets the event
            await asyncio.to_thread(self.pull_hold.wait, 60)
        if key is None:
            yield {"error": MANIFEST_NOT_FOUND}
            return
        model = self.library[key]
        fault_armed = self.fault in ("down_mid_pull", "pull_error")
        chunks = max(1, self.pull_chunks)
        for digest, (_, size) in zip(model.digests, model.layers, strict=True):
            status = f"pulling {digest.removeprefix('sha256:')[:12]}"
            start = min(self.blobs.get(digest, 0), size)
            if start >= size:
                yield {"status": status, "digest": digest, "total": size, "completed": size}
                continue
            opening: dict[str, Any] = {"status": status, "digest": digest, "total": size}
            if start:
                opening["completed"] = start
            await self._pause(self.pull_delay)
            yield opening
            fault_here = fault_armed and (size >= _BIG_LAYER or len(model.layers) == 1)
            for step in range(1, chunks + 1):
                if fault_here and step > (chunks + 1) // 2:
                    if self.fault == "down_mid_pull":
                        raise _AbortConnection
                    yield {"error": PULL_ERROR}
                    return
                done = start + (size - start) * step // chunks
                await self._pause(self.pull_delay)
                self.blobs[digest] = done
                yield {"status": status, "digest": digest, "total": size, "completed": done}
        if fault_armed and self.fault == "down_mid_pull":
            raise _AbortConnection  # nothing was left to download: cut before the manifest is written
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        self.installed[key] = InstalledModel(model, self.now())
        yield {"status": "success"}

    @staticmethod
    async def _pause(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    # ---- generate / chat ---------------------------------------------------------------------------

    @staticmethod
    def _check_format_and_think(body: Mapping[str, Any]) -> None:
        """What Ollama refuses of ``format`` and ``think`` (api.ThinkValue takes a bool or a level)."""
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not isinstance(fmt, dict):
            raise _BadRequest(f"invalid format: {json.dumps(json.dumps(fmt))}; expected \"json\" or a valid JSON "
                              "Schema object", 500)
        think = body.get("think")
        if think is not None and not isinstance(think, bool) and think not in ("high", "medium", "low"):
            raise _BadRequest(f"invalid think value: {json.dumps(think)} (must be \"high\", \"medium\", \"low\", "
                              "true, or false)")

    def _answer(self, body: Mapping[str, Any], text: str) -> tuple[str, str]:
        """Apply ``format`` and ``options.num_predict`` to an answer; returns (text, done_reason)."""
        fmt = body.get("format")
        if fmt == "json":
            text = json.dumps({"answer": text})
        elif isinstance(fmt, dict):
            text = json.dumps(example(fmt, text))
        options = body.get("options") or {}
        limit = options.get("num_predict") if isinstance(options, dict) else None
        if isinstance(limit, int) and limit >= 0:
            tokens = _tokens(text)
            if len(tokens) > limit:
                return "".join(tokens[:limit]), "length"
        return text, "stop"

    @staticmethod
    def _within_budget(body: Mapping[str, Any], thinking: str, text: str, reason: str) -> tuple[str, str, str]:
        """``num_predict`` counts thinking tokens too: a model can spend it all thinking and answer ``""``."""
        options = body.get("options") or {}
        limit = options.get("num_predict") if isinstance(options, dict) else None
        if not isinstance(limit, int) or limit < 0:
            return thinking, text, reason
        thought = _tokens(thinking)
        if len(thought) >= limit:
            return "".join(thought[:limit]), "", "length"
        answer = _tokens(text)
        if len(answer) > limit - len(thought):
            return thinking, "".join(answer[: limit - len(thought)]), "length"
        return thinking, text, reason

    @staticmethod
    def _num_ctx(body: Mapping[str, Any]) -> int | None:
        options = body.get("options")
        value = options.get("num_ctx") if isinstance(options, dict) else None
        return value if isinstance(value, int) and value > 0 else None

    async def _generate(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            name = self._model_arg(body)
            keep_alive = self._keep_alive(body)
            self._check_format_and_think(body)
            key = self._installed_or_404(name)
            model = self.installed[key].model
            if "completion" not in model.capabilities:
                raise _BadRequest(f"{json.dumps(name)} does not support generate")
            if body.get("think") and "thinking" not in model.capabilities:
                raise _BadRequest(f"{json.dumps(name)} does not support thinking")
            if body.get("images"):
                self._check(key, ["vision"])
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        prompt = body.get("prompt") or ""
        if not prompt and not body.get("images"):
            if keep_alive is not None and keep_alive == timedelta(0):
                self._unload(key)
                reason = "unload"
            else:
                self._load(key, keep_alive, self._num_ctx(body))
                reason = "load"
            return GoJSONResponse(
                {"model": name, "created_at": self._created_at(), "response": "", "done": True, "done_reason": reason}
            )
        cold = self._load(key, keep_alive, self._num_ctx(body))
        if keep_alive == timedelta(0):
            self._unload(key)
        text, reason = self._answer(body, f"You said: {prompt}")
        thinking = f"The user wrote: {prompt}" if body.get("think") else None
        tokens = _tokens(text)
        prompt_tokens = len(_tokens(prompt)) + len(_tokens(body.get("system") or model.system or "")) + 8
        final: dict[str, Any] = {"done": True, "done_reason": reason}
        if not body.get("raw"):
            final["context"] = _token_ids(prompt) + _token_ids(text)
        final.update(self._timings(cold, prompt_tokens, len(tokens)))
        if body.get("stream", True) is False:
            answer: dict[str, Any] = {"model": name, "created_at": self._created_at(), "response": text}
            if thinking:
                answer["thinking"] = thinking
            return GoJSONResponse({**answer, **final})

        async def lines() -> AsyncIterator[bytes]:
            for piece in _tokens(thinking or ""):
                await self._pause(self.token_delay)
                yield _ndjson_line(
                    {"model": name, "created_at": self._created_at(), "response": "", "thinking": piece, "done": False}
                )
            for piece in tokens:
                await self._pause(self.token_delay)
                yield _ndjson_line({"model": name, "created_at": self._created_at(), "response": piece, "done": False})
            yield _ndjson_line({"model": name, "created_at": self._created_at(), "response": "", **final})

        return StreamingResponse(lines(), media_type=NDJSON)

    async def _chat(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            name = self._model_arg(body)
            keep_alive = self._keep_alive(body)
            self._check_format_and_think(body)
            key = self._installed_or_404(name)
            model = self.installed[key].model
            messages = body.get("messages") or []
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                raise _BadRequest("json: cannot unmarshal messages into Go value of type []api.Message")
            tools = body.get("tools") or []
            if "completion" not in model.capabilities:
                raise _BadRequest(f"{json.dumps(name)} does not support chat")
            if tools:
                self._check(key, ["tools"])
            if any(m.get("images") for m in messages):
                self._check(key, ["vision"])
            if body.get("think") and "thinking" not in model.capabilities:
                raise _BadRequest(f"{json.dumps(name)} does not support thinking")
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        if not messages:
            if keep_alive is not None and keep_alive == timedelta(0):
                self._unload(key)
                reason = "unload"
            else:
                self._load(key, keep_alive, self._num_ctx(body))
                reason = "load"
            return GoJSONResponse(
                {
                    "model": name,
                    "created_at": self._created_at(),
                    "message": {"role": "assistant", "content": ""},
                    "done_reason": reason,
                    "done": True,
                }
            )
        cold = self._load(key, keep_alive, self._num_ctx(body))
        if keep_alive == timedelta(0):
            self._unload(key)
        if self.hold is not None:  # a test keeps this request in flight until it sets the event
            await asyncio.to_thread(self.hold.wait, 60)

        last = messages[-1]
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        user_text = str(last_user.get("content") or "")
        tool_calls: list[dict[str, Any]] = []
        if last.get("role") == "tool":
            text, reason = self._answer(body, f"tool result: {last.get('content') or ''}")
        elif tools and last.get("role") == "user" and re.search(r"\bweather\b", user_text, re.IGNORECASE):
            tool_name = (tools[0].get("function") or {}).get("name", "")
            call_id = "call_" + hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:8]
            tool_calls = [{"id": call_id, "function": {"index": 0, "name": tool_name, "arguments": {"city": "Paris"}}}]
            text, reason = "", "stop"
        else:
            images = len(last_user.get("images") or [])
            suffix = f" [{images} image{'s' if images != 1 else ''}]" if images else ""
            text, reason = self._answer(body, f"echo: {user_text}{suffix}")
        thinks = body.get("think") if "think" in body else self.think_by_default and "thinking" in model.capabilities
        thinking = f"The user wrote: {user_text}" if thinks else None
        if thinking:
            thinking, text, reason = self._within_budget(body, thinking, text, reason)
        tokens = _tokens(text)
        prompt_tokens = sum(len(_tokens(str(m.get("content") or ""))) + 4 for m in messages) + 10 * len(tools)
        eval_tokens = len(tokens) + 12 * len(tool_calls)
        final: dict[str, Any] = {"done_reason": reason, "done": True}
        final.update(self._timings(cold, prompt_tokens, eval_tokens))

        if body.get("stream", True) is False:
            if self.fault == "stream_error":
                return _json_error(STREAM_ERROR, 500)
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = tool_calls
            return GoJSONResponse({"model": name, "created_at": self._created_at(), "message": message, **final})

        async def lines() -> AsyncIterator[bytes]:
            def chunk(message: dict[str, Any]) -> bytes:
                return _ndjson_line(
                    {"model": name, "created_at": self._created_at(), "message": message, "done": False}
                )

            finished = False
            try:
                for piece in _tokens(thinking or ""):
                    await self._pause(self.token_delay)
                    yield chunk({"role": "assistant", "content": "", "thinking": piece})
                for number, piece in enumerate(tokens):
                    await self._pause(self.token_delay)
                    yield chunk({"role": "assistant", "content": piece})
                    if self.fault == "stream_error" and number == 0:
                        finished = True
                        yield _ndjson_line({"error": STREAM_ERROR})
                        return
                if tool_calls:
                    yield chunk({"role": "assistant", "content": "", "tool_calls": tool_calls})
                yield _ndjson_line(
                    {
                        "model": name,
                        "created_at": self._created_at(),
                        "message": {"role": "assistant", "content": ""},
                        **final,
                    }
                )
                finished = True
            finally:
                if not finished:  # the client went away: Ollama stops generating
                    self.abandoned_streams += 1

        return StreamingResponse(lines(), media_type=NDJSON)

    # ---- embeddings -----------------------------------------------------------------------------------

    @staticmethod
    def _vector(model: FakeModel, text: str, dims: int) -> list[float]:
        rng = random.Random(hashlib.sha256(f"{model.name}\0{text}".encode()).digest())
        values = [rng.uniform(-1.0, 1.0) for _ in range(dims)]
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return [round(v / norm, 7) for v in values]

    def _embedding_model(self, body: Mapping[str, Any]) -> tuple[str, str, FakeModel, timedelta | None]:
        name = self._model_arg(body)
        keep_alive = self._keep_alive(body)
        key = self._installed_or_404(name)
        model = self.installed[key].model
        if "embedding" not in model.capabilities:
            raise _BadRequest(f"{json.dumps(name)} does not support embeddings")
        return name, key, model, keep_alive

    async def _embed(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            name, key, model, keep_alive = self._embedding_model(body)
            raw_input = body.get("input", [])
            inputs = [raw_input] if isinstance(raw_input, str) else list(raw_input or [])
            if not all(isinstance(item, str) for item in inputs):
                raise _BadRequest("invalid input type")
            dims = body.get("dimensions") or model.embedding_length
            if not isinstance(dims, int) or dims < 1 or dims > model.embedding_length:
                raise _BadRequest(f"dimensions must be between 1 and {model.embedding_length}")
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        cold = self._load(key, keep_alive, self._num_ctx(body))
        if keep_alive == timedelta(0):
            self._unload(key)
        prompt_tokens = sum(len(_tokens(text)) + 2 for text in inputs)
        timings = self._timings(cold, prompt_tokens, 0)
        return GoJSONResponse(
            {
                "model": name,
                "embeddings": [self._vector(model, text, dims) for text in inputs],
                "total_duration": timings["total_duration"],
                "load_duration": timings["load_duration"],
                "prompt_eval_count": prompt_tokens,
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        """The legacy ``/api/embeddings`` endpoint: one ``prompt``, one ``embedding``."""
        try:
            body = await self._body(request)
            _, key, model, keep_alive = self._embedding_model(body)
        except _BadRequest as exc:
            return _json_error(exc.message, exc.status)
        self._load(key, keep_alive, self._num_ctx(body))
        prompt = body.get("prompt") or ""
        vector = self._vector(model, prompt, model.embedding_length) if prompt else []
        return GoJSONResponse({"embedding": vector})
