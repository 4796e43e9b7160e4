"""Capabilities of Ollama models, checked against Ollama's own templates and rendered tests, its API docs, and over
MCP and REST: a system role wherever Ollama renders one, `thinking`, and unknown (not "no") where Ollama says
nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession

from tests.conftest import build, http_served
from tests.fakes.ollama import FakeOllama, seed_library
from tests.test_catalog_tools import call
from venom_mcp.services.capabilities import detect_ollama, merge
from venom_mcp.services.ollama_template import renders_system

REAL = Path(__file__).parent / "fixtures" / "real"
TEMPLATES = sorted((REAL / "ollama_templates").glob("*.gotmpl"))
SYSTEM_TEXT = "You are a helpful assistant."


def test_every_template_ollama_ships_is_in_the_oracle() -> None:
    assert len(TEMPLATES) == 20
    assert {"chatml", "llama3-instruct", "phi-3", "zephyr", "gemma-instruct"} <= {t.stem for t in TEMPLATES}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.stem)
def test_system_role_agrees_with_ollamas_rendered_template_tests(template: Path) -> None:
    rendered = template.with_suffix(".system-user-assistant-user").read_text(encoding="utf-8")
    assert renders_system(template.read_text(encoding="utf-8")) is (SYSTEM_TEXT in rendered)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Role branches that all exclude "system": Ollama renders nothing for a system message.
        ('{{- range .Messages }}{{ if eq .Role "user" }}U: {{ .Content }}\n'
         '{{ else if eq .Role "assistant" }}A: {{ .Content }}\n{{ end }}{{ end }}A:', False),
        ('{{- range .Messages }}{{ if ne .Role "system" }}{{ .Content }}{{ end }}{{ end }}', False),
        # ...but an else after them takes it.
        ('{{- range .Messages }}{{ if eq .Role "user" }}U: {{ .Content }}{{ else }}{{ .Content }}{{ end }}{{ end }}',
         True),
        # Gemma 2's: a system message is rendered as a user turn, by Ollama itself.
        ('{{- range .Messages }}{{ if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user\n'
         '{{ .Content }}<end_of_turn>\n{{ else if eq .Role "assistant" }}{{ .Content }}{{ end }}{{ end }}', True),
        # The legacy form with .System, and the one that cannot tell (renderer-based models, GGUF imports).
        ("{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>", True),
        ("{{ .Prompt }}", None),
        ("", None),
    ],
)
def test_templates_that_drop_or_cannot_tell(template: str, expected: bool | None) -> None:
    assert renders_system(template) is expected


def test_the_documented_show_answer() -> None:
    show = json.loads((REAL / "ollama_api" / "show_llava_docs.json").read_text(encoding="utf-8"))
    facts = detect_ollama(show)
    assert facts["supports_system_role"] is True  # a legacy template with .System
    assert (facts["supports_vision"], facts["supports_function_calling"], facts["supports_thinking"]) == (
        True, False, False
    )
    assert (facts["max_context_length"], facts["quantization"], facts["parameter_size"]) == (8192, "Q4_0", "8.0B")
    caps = merge("llava", facts)
    assert caps.source == "detected" and caps.sources["supports_vision"] == "detected"


def test_an_ollama_without_the_capabilities_field_leaves_them_unknown() -> None:
    facts = detect_ollama({"template": "{{ .Prompt }}", "details": {"quantization_level": "Q4_K_M"}})
    assert [facts[k] for k in ("supports_function_calling", "supports_vision", "supports_thinking")] == [None] * 3
    assert facts["supports_system_role"] is None
    # The family manifest fills what Ollama did not say; a family it does not know gets the defaults.
    qwen3 = merge("qwen3:8b", facts)
    assert qwen3.supports_function_calling and qwen3.supports_thinking and qwen3.supports_system_role
    assert qwen3.sources["supports_function_calling"] == "manifest" and qwen3.sources["supports_vision"] == "default"
    assert qwen3.sources["supports_system_role"] == "default"
    gemma = merge("gemma:7b", facts)  # Gemma 1's family entry says no system role: the manifest, not a detection
    assert gemma.supports_system_role is False and gemma.sources["supports_system_role"] == "manifest"
    assert gemma.allowed_roles == ["user", "assistant"]


def _real_template(name: str) -> str:
    return (REAL / "ollama_templates" / f"{name}.gotmpl").read_text(encoding="utf-8")


def _add(ollama: FakeOllama, name: str, base: str, **changes: Any) -> None:
    ollama.library[name] = replace(seed_library()[base], name=name, **changes)


async def test_capabilities_over_mcp(client: ClientSession, ollama: FakeOllama) -> None:
    _add(ollama, "phi3:mini", "qwen2.5:0.5b", template=_real_template("phi-3"), capabilities=["completion"])
    _add(ollama, "qwen3:4b", "qwen3:0.6b", template="{{ .Prompt }}", reports_capabilities=False)
    for name in ("phi3:mini", "qwen3:4b", "qwen3:0.6b"):
        ollama.install(name)

    phi = (await call(client, "model_capabilities", name="phi3:mini"))["capabilities"]
    assert phi["supports_system_role"] is True and phi["sources"]["supports_system_role"] == "detected"
    assert phi["supports_function_calling"] is False and phi["sources"]["supports_function_calling"] == "detected"

    older = (await call(client, "model_capabilities", name="qwen3:4b"))["capabilities"]
    assert older["supports_function_calling"] is True and older["supports_thinking"] is True
    assert older["sources"]["supports_thinking"] == "manifest" and older["sources"]["supports_system_role"] == "default"

    thinking = (await call(client, "model_capabilities", name="qwen3:0.6b"))["capabilities"]
    assert thinking["supports_thinking"] is True and thinking["sources"]["supports_thinking"] == "detected"


async def test_a_system_prompt_reaches_ollama_as_a_system_message(client: ClientSession, ollama: FakeOllama) -> None:
    """phi-3's template prints every role: the system prompt goes to Ollama as it is, not folded into the user turn."""
    _add(ollama, "phi3:mini", "qwen2.5:0.5b", template=_real_template("phi-3"), capabilities=["completion"])
    ollama.install("phi3:mini")
    await call(client, "activate_model", name="phi3:mini", runtime="ollama")
    await call(client, "chat", prompt="Hi", system="Be brief.", max_tokens=8)
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert sent == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


async def test_capabilities_over_rest(runtime_settings: dict[str, Any], ollama: FakeOllama) -> None:
    _add(ollama, "qwen3:4b", "qwen3:0.6b", template="{{ .Prompt }}", reports_capabilities=False)
    ollama.install("qwen3:4b")
    with http_served(build(runtime_settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            response = await http.get("/api/v1/models/qwen3:4b/capabilities")
    caps = response.json()["capabilities"]
    assert response.status_code == 200 and caps["supports_thinking"] is True
    assert caps["sources"] == {
        "supports_system_role": "default", "supports_function_calling": "manifest", "supports_vision": "default",
        "supports_thinking": "manifest", "max_context_length": "detected",
    }
