"""The slash commands as MCP prompts (what an MCP client shows in its slash menu), the guided install prompt, and
completions of model names, through the SDK's own client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import ClientSession
from mcp.shared.exceptions import McpError
from mcp.types import PromptReference, TextContent

from tests.conftest import build, mcp_session
from tests.fakes.openai_server import FakeOpenAI
from tests.test_catalog_tools import call


@pytest.fixture
async def session(runtime_settings: dict[str, Any]) -> AsyncIterator[ClientSession]:
    async with mcp_session(build(runtime_settings)) as client:
        yield client


def _text(result: Any) -> str:
    (message,) = result.messages
    assert isinstance(message.content, TextContent) and message.role == "user"
    return message.content.text


async def test_the_slash_commands_are_prompts(session: ClientSession, cloud: FakeOpenAI) -> None:
    prompts = {p.name: p for p in (await session.list_prompts()).prompts}
    assert {"gpt", "gem", "ollama", "vllm", "llamacpp", "status", "models", "install"} <= set(prompts)
    assert prompts["gpt"].title == "/gpt" and prompts["gpt"].description
    assert [(a.name, a.required) for a in prompts["ollama"].arguments or []] == [("model", True)]
    assert [(a.name, a.required) for a in prompts["gpt"].arguments or []] == [("model", False)]
    switched = _text(await session.get_prompt("gpt", {"model": "gpt-4o-mini"}))
    assert switched.startswith("venom-mcp /gpt: active runtime: openai with gpt-4o-mini")
    assert (await call(session, "runtime_status"))["active"]["provider"] == "openai", "the prompt did switch"
    assert "openai with gpt-4o-mini" in _text(await session.get_prompt("status"))
    with pytest.raises(McpError) as missing:
        await session.get_prompt("ollama")
    assert missing.value.error.code == -32602 and "model" in missing.value.error.message
    guide = _text(await session.get_prompt("install", {"query": "qwen coder"}))
    assert "check_fit" in guide and "install_model" in guide and "'qwen coder'" in guide


async def test_model_names_are_completed(session: ClientSession) -> None:
    await call(session, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
    await call(session, "install_model", name="qwen2.5:0.5b", provider="ollama", wait=True)
    found = await session.complete(PromptReference(type="ref/prompt", name="ollama"), {"name": "model", "value": "ll"})
    assert found.completion.values == ["llama3.2:1b"]
    every = await session.complete(PromptReference(type="ref/prompt", name="ollama"), {"name": "model", "value": ""})
    assert every.completion.values == ["llama3.2:1b", "qwen2.5:0.5b"]
    none = await session.complete(PromptReference(type="ref/prompt", name="vllm"), {"name": "model", "value": ""})
    assert none.completion.values == [], "vllm serves Hugging Face models only"
