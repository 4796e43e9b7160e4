"""Reasoning models and llama-server's router mode, over MCP: the answer, its reasoning and why it stopped, an empty
answer cut by max_tokens as a clear error (never an empty success), and only loaded router models counted as served."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession

from tests.conftest import build, mcp_session
from tests.fakes.live import LiveServer
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import OPENAI_PREFIX, FakeOpenAI
from tests.test_catalog_tools import call, error_text
from venom_mcp.adapters.openai_compat import served_models
from venom_mcp.adapters.reply import split_thinking

ROUTER_MODELS = Path(__file__).parent / "fixtures" / "real" / "llamacpp" / "router_models.json"


@pytest.fixture
async def session(runtime_settings: dict[str, Any]) -> AsyncIterator[ClientSession]:
    async with mcp_session(build(runtime_settings)) as client:
        yield client


def test_inline_think_tags_are_split_from_the_answer() -> None:
    assert split_thinking("<think>\nStep 1.\n</think>\n\nParis.", None) == ("Paris.", "Step 1.")
    assert split_thinking("<think>cut off mid-thought", None) == ("", "cut off mid-thought")
    assert split_thinking("Paris.", "apart") == ("Paris.", "apart")
    assert split_thinking("Paris <think>is</think> not a prefix", None) == ("Paris <think>is</think> not a prefix",
                                                                             None)


async def test_openai_compatible_reasoning_content_and_finish_reason(session: ClientSession, cloud: FakeOpenAI) -> None:
    await call(session, "switch_runtime", provider="gpt")
    cloud.enqueue_text("Four.", reasoning="Two plus two is four.")
    answer = await call(session, "chat", prompt="2+2?")
    assert answer["text"] == "Four." and answer["thinking"] == "Two plus two is four."
    assert answer["finish_reason"] == "stop"
    assert answer["usage"]["completion_tokens"] > 0 and answer["usage"]["prompt_tokens"] > 0

    cloud.enqueue_text("<think>inline reasoning</think>Inline answer.")
    answer = await call(session, "chat", prompt="again")
    assert answer["text"] == "Inline answer." and answer["thinking"] == "inline reasoning"

    cloud.enqueue_text("A long answer that will not fit in three tokens.")
    answer = await call(session, "chat", prompt="cut", max_tokens=3)
    assert answer["finish_reason"] == "length" and answer["text"], "a cut answer with text is a cut success"


async def test_an_answer_lost_to_thinking_is_an_error_naming_max_tokens(
    session: ClientSession, cloud: FakeOpenAI
) -> None:
    await call(session, "switch_runtime", provider="gpt")
    cloud.enqueue_text("Four.", reasoning="Let me think about this for a very long time before answering anything.")
    text = await error_text(session, "chat", prompt="2+2?", max_tokens=4)
    assert "max_tokens=4" in text and "raise max_tokens" in text and "thinking" in text
    history = (await call(session, "request_history"))["requests"]
    assert history[0]["status"] == "ok", "the runtime answered: the tokens it spent are on record"


async def test_ollama_thinking_reply_and_one_that_ran_out_of_tokens(
    session: ClientSession, ollama: FakeOllama
) -> None:
    await call(session, "install_model", name="qwen3:0.6b", provider="ollama", wait=True)
    await call(session, "activate_model", name="qwen3:0.6b", runtime="ollama")
    ollama.think_by_default = True
    answer = await call(session, "chat", prompt="hello", max_tokens=64)
    assert answer["text"] == "echo: hello" and answer["thinking"] == "The user wrote: hello"
    assert answer["finish_reason"] == "stop"
    assert ollama.bodies("/api/chat")[-1]["options"]["num_predict"] == 64

    text = await error_text(session, "chat", prompt="a question that makes it think at length", max_tokens=2)
    assert "max_tokens=2" in text and "raise max_tokens" in text

    translated = await call(session, "translate", text="Dzień dobry", target_lang="en", use_cache=False)
    assert translated["thinking"] and translated["finish_reason"] == "stop"
    assert translated["llm_endpoint"] and translated["fallback_from"] is None


async def test_router_mode_lists_only_loaded_models_as_served() -> None:
    payload = json.loads(ROUTER_MODELS.read_text(encoding="utf-8"))
    fake = FakeOpenAI(models=[m["id"] for m in payload["data"]])
    fake.router_status.update({m["id"]: m["status"] for m in payload["data"]})
    with LiveServer(fake.app) as server:
        async with httpx.AsyncClient() as client:
            served = await served_models(client, server.url + OPENAI_PREFIX)
    assert served == ["ggml-org/gemma-3-4b-it-GGUF:Q4_K_M", "sleeping-model"]


async def test_a_router_with_nothing_loaded_is_not_online(
    runtime_settings: dict[str, Any], cloud_server: tuple[FakeOpenAI, LiveServer], cloud: FakeOpenAI
) -> None:
    # An external llama-server in router mode on the llamacpp endpoint, with its one model unloaded.
    app = build(runtime_settings, llamacpp_endpoint=cloud_server[1].url + OPENAI_PREFIX)
    cloud.models = ["qwen3-8b"]
    cloud.router_status["qwen3-8b"] = {"value": "unloaded", "args": ["llama-server", "-ctx", "4096"]}
    async with mcp_session(app) as client:
        server = next(s for s in (await call(client, "runtime_status"))["servers"] if s["name"] == "llamacpp")
        assert server["status"] == "degraded" and "no model loaded" in server["error"]
        assert server["served_model_name"] is None
        cloud.router_status["qwen3-8b"] = {"value": "loaded", "args": ["llama-server", "-ctx", "4096"]}
        server = next(s for s in (await call(client, "runtime_status"))["servers"] if s["name"] == "llamacpp")
        assert server["status"] == "online" and server["served_model_name"] == "qwen3-8b"
