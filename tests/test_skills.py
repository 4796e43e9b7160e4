"""The Semantic Kernel face: plugins generated from the tool catalog, invoked through a Kernel, and a
function-calling round trip where SK's OpenAI connector talks to the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import OPENAI_PREFIX, FakeOpenAI
from venom_mcp.app import App

pytest.importorskip("semantic_kernel")


def kernel_for(app: App):  # type: ignore[no-untyped-def]
    from semantic_kernel import Kernel

    from skills import build_plugins

    kernel = Kernel()
    for plugin in build_plugins(app):
        kernel.add_plugin(plugin)
    return kernel


async def test_every_tool_is_a_function_with_a_flat_schema(app: App) -> None:
    from semantic_kernel.connectors.ai.function_calling_utils import (
        kernel_function_metadata_to_function_call_format,
    )

    from venom_mcp.server import build_server

    kernel = kernel_for(app)
    metadata = kernel.get_full_list_of_function_metadata()
    tools = {t.name for t in await build_server(app).list_tools()}
    assert {m.name for m in metadata} == tools
    assert {m.plugin_name for m in metadata} == {"models", "runtime", "news", "translation", "mcp"}
    for item in metadata:
        assert re.fullmatch(r"[0-9A-Za-z_]+", item.name) and item.description
        call = kernel_function_metadata_to_function_call_format(item)
        text = json.dumps(call)
        assert "$ref" not in text and "$defs" not in text and "anyOf" not in text, item.name
        assert call["function"]["parameters"]["type"] == "object"
    install = next(m for m in metadata if m.name == "install_model")
    params = {p.name: p for p in install.parameters}
    assert params["name"].is_required and params["provider"].schema_data["enum"] == ["huggingface", "ollama", "hf"]
    assert params["wait"].is_required is False and "ctx" not in params


async def test_functions_run_through_a_kernel_and_failures_raise(app: App, hub_url: str) -> None:
    kernel = kernel_for(app)
    result = await kernel.invoke(plugin_name="models", function_name="trending_models",
                                 provider="huggingface", limit=3)
    data = json.loads(str(result))
    assert data["count"] == 3 and data["provider"] == "huggingface" and data["stale"] is False
    with pytest.raises(Exception, match="trending_models") as failure:
        await kernel.invoke(plugin_name="models", function_name="trending_models", provider="bogus")
    assert "'huggingface' or 'ollama'" in str(failure.value.__cause__), "the agent sees what was wrong"


async def test_install_through_the_kernel_waits_without_a_client(app: App, ollama: FakeOllama) -> None:
    kernel = kernel_for(app)
    result = await kernel.invoke(plugin_name="models", function_name="install_model", name="gemma2:2b",
                                 provider="ollama", wait=True)
    assert json.loads(str(result))["status"] == "completed"


async def test_function_calling_round_trip_with_the_openai_connector(
    app: App, cloud_server: tuple[FakeOpenAI, object], cloud: FakeOpenAI
) -> None:
    from openai import AsyncOpenAI
    from semantic_kernel.connectors.ai.function_choice_behavior import FunctionChoiceBehavior
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion, OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory

    kernel = kernel_for(app)
    url = cloud_server[1].url  # type: ignore[attr-defined]
    client = AsyncOpenAI(base_url=url + OPENAI_PREFIX, api_key="sk-test", max_retries=0)
    service = OpenAIChatCompletion(ai_model_id="gpt-4o-mini", async_client=client)
    cloud.enqueue_tool_call("models-trending_models", {"provider": "huggingface", "limit": 2})
    cloud.enqueue_text("Two models are trending.")
    history = ChatHistory()
    history.add_user_message("What is trending on the Hub?")
    settings = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.Auto())
    answer = await service.get_chat_message_content(history, settings, kernel=kernel)
    assert answer is not None and str(answer) == "Two models are trending."
    first, second = cloud.bodies()[-2:]
    assert any(t["function"]["name"] == "models-trending_models" for t in first["tools"])
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_messages and json.loads(tool_messages[0]["content"])["count"] == 2
    await client.close()


def test_serving_never_imports_semantic_kernel() -> None:
    code = ("import sys, skills, venom_mcp.server, venom_mcp.cli, venom_mcp.app; "
            "assert 'semantic_kernel' not in sys.modules, 'semantic_kernel was imported'")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).returncode == 0
