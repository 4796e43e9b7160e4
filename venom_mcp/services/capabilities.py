"""Capability detection (system role, tools, vision, thinking, context, quantization) and prompt adaptation.

Detected facts win (`source: "detected"`); bundled family manifests fill gaps (`"manifest"`); the rest
are defaults (`"default"`).
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ..records import Capabilities
from ..resources import manifests_dir
from .ollama_template import renders_system

log = logging.getLogger(__name__)

_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx",
                 "model_max_length")
# The facts whose origin `Capabilities.sources` reports.
SOURCED = ("supports_system_role", "supports_function_calling", "supports_vision", "supports_thinking",
           "max_context_length")
Origin = Literal["detected", "manifest", "default"]
_PROBE = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


@cache
def _families() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((manifests_dir() / "capabilities.json").read_text(encoding="utf-8"))
        return dict(data["families"])
    except (OSError, ValueError, KeyError) as exc:
        log.error("bundled capabilities manifest unreadable: %s", exc)
        return {}


def family_defaults(name: str) -> dict[str, Any]:
    """The manifest entry whose key is the longest prefix of the model's base name."""
    base = name.lower().rsplit("/", 1)[-1].split(":", 1)[0]
    matches = [key for key in _families() if base.startswith(key)]
    return dict(_families()[max(matches, key=len)]) if matches else {}


def merge(name: str, detected: dict[str, Any]) -> Capabilities:
    """Detected values first, then the family manifest, then defaults. `sources` says where each of the
    SOURCED facts came from; `source` is "detected" when anything was detected, else where the rest came from."""
    family = {k: v for k, v in family_defaults(name).items() if v is not None}
    found = {k: v for k, v in detected.items() if v is not None}
    values = {**family, **found}
    if values.get("supports_system_role") is False:
        values["allowed_roles"] = ["user", "assistant"]
    sources: dict[str, Origin] = {
        key: "detected" if key in found else "manifest" if key in family else "default" for key in SOURCED
    }
    source: Origin = "detected" if found else "manifest" if family else "default"
    return Capabilities(**values, source=source, sources=sources)


def template_probe(template: str) -> dict[str, Any]:
    """Render a Jinja chat template (as transformers does) with a system message and see what it accepts."""
    from jinja2 import TemplateError, meta
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent, ensure_ascii=False)
    facts: dict[str, Any] = {"prompt_template": template}
    try:
        facts["supports_function_calling"] = "tools" in meta.find_undeclared_variables(env.parse(template))
        env.from_string(template).render(
            messages=_PROBE, add_generation_prompt=True, bos_token="<s>", eos_token="</s>", tools=None,  # noqa: S106
        )
        facts["supports_system_role"] = True
    except TemplateError as exc:
        # Gemma's template raises "System role not supported": fold system prompts into the user turn.
        log.debug("chat template refused a system message: %s", exc)
        facts["supports_system_role"] = False
    except Exception as exc:  # a template broken in other ways tells us nothing about roles
        log.debug("chat template could not be rendered: %s", exc)
    return facts


def detect_huggingface(snapshot: Path, quantization: str | None = None) -> dict[str, Any]:
    """Facts from config.json and the chat template (tokenizer_config.json or chat_template.jinja)."""
    facts: dict[str, Any] = {"quantization": quantization}
    config = _read_json(snapshot / "config.json")
    for source in (config, config.get("text_config") or {}):
        for key in _CONTEXT_KEYS:
            if isinstance(source.get(key), int):
                facts["max_context_length"] = source[key]
                break
        if "max_context_length" in facts:
            break
    if "vision_config" in config:
        facts["supports_vision"] = True
    quant = config.get("quantization_config") or {}
    if quant and not quantization:
        facts["quantization"] = quant.get("quant_method")
    template = None
    if (snapshot / "chat_template.jinja").is_file():
        template = (snapshot / "chat_template.jinja").read_text(encoding="utf-8")
    else:
        raw = _read_json(snapshot / "tokenizer_config.json").get("chat_template")
        if isinstance(raw, list):  # several named templates: the default one
            raw = next((t.get("template") for t in raw if t.get("name") == "default"), None)
        template = raw if isinstance(raw, str) else None
    if template:
        facts.update(template_probe(template))
    return facts


def detect_ollama(show: dict[str, Any]) -> dict[str, Any]:
    """Facts from Ollama's /api/show: capabilities, `<arch>.context_length`, details, template.

    An Ollama older than the `capabilities` field tells nothing about tools, vision or thinking: those stay
    unknown (None) so the family manifest can fill them, rather than a detected "no"."""
    info = show.get("model_info") or {}
    details = show.get("details") or {}
    arch = info.get("general.architecture")
    listed = show.get("capabilities")
    capabilities = listed if isinstance(listed, list) else None
    template = show.get("template") or None

    def has(capability: str) -> bool | None:
        return None if capabilities is None else capability in capabilities

    return {
        "supports_function_calling": has("tools"),
        "supports_vision": has("vision"),
        "supports_thinking": has("thinking"),
        "max_context_length": info.get(f"{arch}.context_length") if arch else None,
        "quantization": details.get("quantization_level") or None,
        "parameter_size": details.get("parameter_size") or None,
        "prompt_template": template,
        "supports_system_role": renders_system(template) if template else None,
    }


def adapt_messages(messages: list[dict[str, str]], caps: Capabilities) -> list[dict[str, str]]:
    """For a model without a system role, fold the system message(s) into the first user message."""
    if caps.supports_system_role:
        return messages
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for message in rest:
        if message.get("role") == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
