"""The chat surface end to end over MCP (and one REST call): conversations, model= for one request, the runtime
parameter table (renamed, placed, or dropped and named in warnings), JSON answers checked against a schema, tool
calls both ways, thinking levels, the context check, and why a runtime answered. Against the protocol-faithful
FakeOllama and FakeOpenAI (standing in for OpenAI, Gemini and a llama.cpp server)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession

from tests.conftest import OPENAI_KEY, build, mcp_session
from tests.fakes.hub import TINY_GGUF
from tests.fakes.live import LiveServer
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import OPENAI_PREFIX, FakeOpenAI
from tests.test_catalog_tools import call, error_text
from tests.test_rest_api import serve
from venom_mcp.adapters import generation

WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"], "additionalProperties": False}


@pytest.fixture
async def session(runtime_settings: dict[str, Any]) -> AsyncIterator[ClientSession]:
    async with mcp_session(build(runtime_settings)) as client:
        yield client


async def on_ollama(session: ClientSession, *names: str) -> None:
    """Install the models into the fake Ollama; the first becomes the active one."""
    for name in names:
        await call(session, "install_model", name=name, provider="ollama", wait=True)
    await call(session, "activate_model", name=names[0], runtime="ollama")


async def test_a_conversation_with_a_system_prompt(session: ClientSession, ollama: FakeOllama) -> None:
    await on_ollama(session, "llama3.2:1b")
    messages = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hello Ada."},
                {"role": "user", "content": "What is my name?"}]
    answer = await call(session, "chat", messages=messages, system="Be brief.")
    assert answer["text"] == "echo: What is my name?" and answer["llm_model"] == "llama3.2:1b"
    assert answer["route_reason"] == "the active model" and answer["warnings"] == []
    assert answer["tool_calls"] == [] and answer["parsed"] is None
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert sent == [{"role": "system", "content": "Be brief."}, *messages]

    assert "not both" in await error_text(session, "chat", prompt="hi", messages=messages)
    assert "one of them" in await error_text(session, "chat", system="alone")
    lost = [{"role": "user", "content": "hi"}, {"role": "tool", "content": "42"}]
    assert "tool_call_id" in await error_text(session, "chat", messages=lost)
    orphan = [{"role": "user", "content": "hi"}, {"role": "tool", "content": "42", "tool_call_id": "call_x"}]
    assert "answers no earlier assistant tool call" in await error_text(session, "chat", messages=orphan)
    assert len(ollama.bodies("/api/chat")) == 2, "activation's probe and the one good chat: nothing else was sent"


async def test_model_asked_for_serves_this_request_only(
    session: ClientSession, ollama: FakeOllama, cloud: FakeOpenAI, home: Path
) -> None:
    await on_ollama(session, "llama3.2:1b", "qwen2.5:0.5b")
    state = (home / "runtime.json").read_text()
    other = await call(session, "chat", prompt="hi", model="qwen2.5:0.5b")
    assert other["llm_provider"] == "ollama" and other["llm_model"] == "qwen2.5:0.5b"
    assert other["route_reason"] == "model= asked for qwen2.5:0.5b on ollama"
    assert ollama.bodies("/api/chat")[-1]["model"] == "qwen2.5:0.5b", "Ollama loads it on demand"
    cloudy = await call(session, "chat", prompt="hi", model="gpt-4o-mini")
    assert cloudy["llm_provider"] == "openai" and cloudy["llm_model"] == "gpt-4o-mini"
    assert cloudy["text"] == "echo: hi" and cloud.bodies()[-1]["model"] == "gpt-4o-mini"
    active = (await call(session, "runtime_status"))["active"]
    assert (active["provider"], active["model"]) == ("ollama", "llama3.2:1b")
    assert (home / "runtime.json").read_text() == state, "the active runtime did not change"
    assert (await call(session, "chat", prompt="hi"))["llm_model"] == "llama3.2:1b"
    missing = await error_text(session, "chat", prompt="hi", model="mistral:7b")
    assert "not installed" in missing and "installed_models" in missing and "cloud model" in missing


async def test_a_local_openai_server_must_serve_the_model_asked_for(
    runtime_settings: dict[str, Any], cloud_server: tuple[FakeOpenAI, LiveServer], cloud: FakeOpenAI,
    ollama: FakeOllama,
) -> None:
    name = f"{TINY_GGUF}:Q8_0"
    async with mcp_session(build(runtime_settings)) as client:  # llama.cpp's endpoint: nothing listens there
        await call(client, "install_model", name=name, provider="hf", wait=True)
        text = await error_text(client, "chat", prompt="hi", model=name)
        assert "not answering" in text and f"activate_model(name='{name}', runtime='llamacpp')" in text
    served = build(runtime_settings, llamacpp_endpoint=cloud_server[1].url + OPENAI_PREFIX)
    async with mcp_session(served) as client:  # a llama.cpp server serving another model
        await call(client, "install_model", name=name, provider="hf", wait=True)
        text = await error_text(client, "chat", prompt="hi", model=name)
        assert "serves gpt-4o-mini, gemini-2.0-flash" in text and "activate_model" in text
        cloud.models.append(name)
        answer = await call(client, "chat", prompt="hi", model=name, top_k=20, repeat_penalty=1.2, seed=7,
                            stop="###", num_ctx=4096, response_format=CITY)
        assert answer["llm_provider"] == "llamacpp" and answer["parsed"] == {"city": "echo: hi", "days": 1}
        sent = cloud.bodies()[-1]
        assert (sent["top_k"], sent["repeat_penalty"], sent["seed"], sent["stop"]) == (20, 1.2, 7, ["###"])
        assert sent["response_format"] == {"type": "json_object", "schema": CITY}, "llama.cpp's grammar spelling"
        assert answer["warnings"] == ["num_ctx=4096 dropped: llamacpp does not take num_ctx"]


async def test_the_parameter_table_renames_places_and_drops(
    session: ClientSession, ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    await on_ollama(session, "llama3.2:1b")
    asked = {"top_p": 0.5, "top_k": 10, "seed": 3, "stop": ["END", "##"], "repeat_penalty": 1.3, "num_ctx": 2048}
    answer = await call(session, "chat", prompt="hi", max_tokens=32, **asked)
    assert answer["warnings"] == []
    assert ollama.bodies("/api/chat")[-1]["options"] == {"num_predict": 32, **asked}, "num_ctx over the profile's"
    await call(session, "switch_runtime", provider="gem")
    answer = await call(session, "chat", prompt="hi", max_tokens=32, **asked)
    assert answer["llm_provider"] == "google" and answer["text"] == "echo: hi"
    assert answer["warnings"] == ["top_k=10 dropped: google does not take top_k",
                                  "repeat_penalty=1.3 dropped: google does not take repeat_penalty",
                                  "num_ctx=2048 dropped: google does not take num_ctx"]
    sent = cloud.bodies()[-1]
    assert {k: sent.get(k) for k in ("top_p", "seed", "stop", "max_tokens")} == {
        "top_p": 0.5, "seed": 3, "stop": ["END", "##"], "max_tokens": 32}
    assert not {"top_k", "repeat_penalty", "repetition_penalty", "num_ctx"} & set(sent)
    # The table is data with a small API: what model_config will publish per runtime.
    rows = {p.name: p.as_dict() for p in generation.parameters("vllm")}
    assert rows["repeat_penalty"]["native"] == "repetition_penalty" and "num_ctx" not in rows
    assert generation.supported("openai") == {"max_tokens", "temperature", "top_p", "seed", "stop"}


async def test_json_answers_are_parsed_and_checked(
    session: ClientSession, ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    await on_ollama(session, "llama3.2:1b")
    answer = await call(session, "chat", prompt="Paris for 3 days", response_format=CITY)
    assert answer["parsed"] == {"city": "echo: Paris for 3 days", "days": 1}
    assert json.loads(answer["text"]) == answer["parsed"]
    assert ollama.bodies("/api/chat")[-1]["format"] == CITY
    answer = await call(session, "chat", prompt="hi", response_format="json")
    assert answer["parsed"] == {"answer": "echo: hi"} and ollama.bodies("/api/chat")[-1]["format"] == "json"
    cut = await error_text(session, "chat", prompt="a longer question here", response_format="json", max_tokens=3)
    assert "max_tokens=3" in cut and "raise max_tokens" in cut and 'the raw answer: {"answer":' in cut

    await call(session, "switch_runtime", provider="gpt")
    answer = await call(session, "chat", prompt="hi", response_format=CITY)
    assert answer["parsed"] == {"city": "echo: hi", "days": 1}
    assert cloud.bodies()[-1]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": CITY, "strict": True}}
    loose = {"type": "object", "properties": {"city": {"type": "string"}}}
    await call(session, "chat", prompt="hi", response_format=loose)
    assert cloud.bodies()[-1]["response_format"]["json_schema"]["strict"] is False, "OpenAI refuses it strict"
    cloud.enqueue_text(f"Sure! city=Paris {OPENAI_KEY}")
    bad = await error_text(session, "chat", prompt="hi", response_format=CITY)
    assert "did not answer valid JSON" in bad and "the raw answer: Sure! city=Paris" in bad and OPENAI_KEY not in bad
    cloud.enqueue_text('{"city": 5, "days": 2}')
    mismatch = await error_text(session, "chat", prompt="hi", response_format=CITY)
    assert "does not match the schema at city" in mismatch and '{"city": 5, "days": 2}' in mismatch
    assert "not a valid JSON Schema" in await error_text(session, "chat", prompt="hi",
                                                         response_format={"type": "objekt"})


async def test_tool_calls_come_back_and_their_results_go_in(
    session: ClientSession, ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    await on_ollama(session, "llama3.2:1b")
    asked = {"role": "user", "content": "What is the weather in Paris?"}
    answer = await call(session, "chat", messages=[asked], tools=WEATHER)
    assert answer["text"] == "" and len(answer["tool_calls"]) == 1
    made = answer["tool_calls"][0]
    assert made["name"] == "get_weather" and made["arguments"] == {"city": "Paris"} and made["id"]
    assert ollama.bodies("/api/chat")[-1]["tools"] == WEATHER
    turns = [asked, {"role": "assistant", "content": "", "tool_calls": [made]},
             {"role": "tool", "content": "sunny, 21 C", "tool_call_id": made["id"]}]
    answer = await call(session, "chat", messages=turns, tools=WEATHER, tool_choice="required")
    assert answer["text"] == "tool result: sunny, 21 C"
    assert answer["warnings"] == ["tool_choice=required dropped: ollama does not take tool_choice, the model "
                                  "decides whether to call a tool"]
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert sent[1]["tool_calls"] == [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    assert sent[2] == {"role": "tool", "content": "sunny, 21 C", "tool_name": "get_weather"}

    await call(session, "switch_runtime", provider="gpt")
    answer = await call(session, "chat", messages=[asked], tools=WEATHER,
                        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert answer["finish_reason"] == "tool_calls" and answer["tool_calls"][0]["arguments"] == {"city": "Paris"}
    call_id = answer["tool_calls"][0]["id"]
    turns = [asked, {"role": "assistant", "tool_calls": answer["tool_calls"]},
             {"role": "tool", "content": "sunny", "tool_call_id": call_id}]
    answer = await call(session, "chat", messages=turns, tools=WEATHER)
    assert answer["text"] == "tool result: sunny"
    sent = cloud.bodies()[-1]["messages"]
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function",
                       "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert sent[2] == {"role": "tool", "content": "sunny", "tool_call_id": call_id}
    assert "not among tools" in await error_text(session, "chat", prompt="hi", tools=WEATHER, tool_choice={
        "type": "function", "function": {"name": "get_time"}})
    assert "tool_choice needs tools" in await error_text(session, "chat", prompt="hi", tool_choice="auto")


async def test_tools_are_refused_for_a_model_without_function_calling(
    session: ClientSession, ollama: FakeOllama
) -> None:
    await on_ollama(session, "gemma2:2b", "llama3.2:1b")
    sent = len(ollama.bodies("/api/chat"))
    text = await error_text(session, "chat", prompt="weather in Paris?", tools=WEATHER)
    assert "gemma2:2b cannot call tools" in text and "llama3.2:1b" in text and "gemma2:2b," not in text
    assert len(ollama.bodies("/api/chat")) == sent, "nothing was sent"
    answer = await call(session, "chat", prompt="weather in Paris?", tools=WEATHER, model="llama3.2:1b")
    assert answer["tool_calls"][0]["name"] == "get_weather"


async def test_think_levels_and_switches(session: ClientSession, ollama: FakeOllama, cloud: FakeOpenAI) -> None:
    await on_ollama(session, "qwen3:0.6b")
    for think in ("low", "medium", "high", True):
        answer = await call(session, "chat", prompt="hello", think=think)
        assert answer["thinking"] == "The user wrote: hello" and answer["text"] == "echo: hello"
        assert ollama.bodies("/api/chat")[-1]["think"] == think
    answer = await call(session, "chat", prompt="hello", think=False)
    assert answer["thinking"] is None and ollama.bodies("/api/chat")[-1]["think"] is False
    await call(session, "chat", prompt="hello")
    assert "think" not in ollama.bodies("/api/chat")[-1], "unset: the model's own default"
    for wrong in ("max", 1, "true"):
        await error_text(session, "chat", prompt="hello", think=wrong)

    cloud.models.append("o4-mini")
    await call(session, "switch_runtime", provider="gpt", model="o4-mini")
    answer = await call(session, "chat", prompt="hi", think="high", max_tokens=64)
    sent = cloud.bodies()[-1]
    assert sent["reasoning_effort"] == "high" and sent["max_completion_tokens"] == 64 and "max_tokens" not in sent
    assert answer["usage"]["completion_tokens"] > 2, "the hidden reasoning is counted"
    await call(session, "chat", prompt="hi", think=True)
    assert cloud.bodies()[-1]["reasoning_effort"] == "medium", "think=true is the OpenAI default effort"
    answer = await call(session, "chat", prompt="hi", think=False)
    assert "reasoning_effort" not in cloud.bodies()[-1] and "cannot turn reasoning off" in answer["warnings"][0]
    cloud.models.append("gemini-2.5-flash")
    await call(session, "switch_runtime", provider="gem", model="gemini-2.5-flash")
    assert (await call(session, "chat", prompt="hi", think=False))["warnings"] == []
    assert cloud.bodies()[-1]["reasoning_effort"] == "none", "Gemini turns thinking off with 'none'"


async def test_a_prompt_that_cannot_fit_is_refused_before_sending(session: ClientSession, ollama: FakeOllama) -> None:
    await on_ollama(session, "llama3.2:1b")
    sent = len(ollama.bodies("/api/chat"))
    long = "word " * 400  # 2000 characters: 500 tokens estimated, plus 7 of overhead
    text = await error_text(session, "chat", prompt=long, num_ctx=512, max_tokens=64)
    assert "the prompt is 507 tokens (estimated at 4 characters a token)" in text
    assert "max_tokens=64" in text and "a context of 512 tokens (num_ctx=512)" in text
    assert "raise num_ctx (up to 131072)" in text
    huge = "x" * 40_000  # 10,000 tokens against the balanced profile's 8192
    text = await error_text(session, "chat", prompt=huge)
    assert "OLLAMA_CONTEXT_LENGTH" in text and "8192" in text and "10007 tokens" in text
    assert "max_tokens=600 does not fit in num_ctx=512" in await error_text(
        session, "chat", prompt="hi", num_ctx=512, max_tokens=600)
    assert len(ollama.bodies("/api/chat")) == sent, "nothing was sent"
    answer = await call(session, "chat", prompt=long, num_ctx=1024, max_tokens=64)
    assert answer["text"].startswith("echo: word") and ollama.bodies("/api/chat")[-1]["options"]["num_ctx"] == 1024


async def test_the_servers_tokenizer_and_context_length_are_used(
    runtime_settings: dict[str, Any], cloud_server: tuple[FakeOpenAI, LiveServer], cloud: FakeOpenAI,
    ollama: FakeOllama,
) -> None:
    from tests.fakes.hub import TINY_CHAT

    app = build(runtime_settings, vllm_endpoint=cloud_server[1].url + OPENAI_PREFIX)
    async with mcp_session(app) as client:  # a vLLM server on the fake, with its tokenizer
        await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
        cloud.models.append(TINY_CHAT)
        cloud.max_model_len = 300
        text = await error_text(client, "chat", prompt="many words " * 100, model=TINY_CHAT, max_tokens=128)
        assert "the prompt is 208 tokens (counted by the model's tokenizer)" in text, text
        assert "a context of 300 tokens (what the vllm server reports as max_model_len)" in text
        assert "lower max_tokens to 92" in text
        answer = await call(client, "chat", prompt="many words " * 100, model=TINY_CHAT, max_tokens=64, top_k=3,
                            repeat_penalty=1.1, think=False)
        sent = cloud.bodies()[-1]
        assert (sent["top_k"], sent["repetition_penalty"]) == (3, 1.1), "vLLM's names, in extra_body"
        assert sent["chat_template_kwargs"] == {"enable_thinking": False} and "reasoning_effort" not in sent
        assert answer["llm_provider"] == "vllm" and answer["warnings"] == []
        assert cloud.bodies("/tokenize")[-1] == {"model": TINY_CHAT, "prompt": "many words " * 100}


async def test_sensitive_requests_never_leave_the_machine(session: ClientSession, cloud: FakeOpenAI) -> None:
    await call(session, "switch_runtime", provider="gpt")
    refused = await error_text(session, "chat", prompt="hi", sensitive=True)
    assert "sensitive" in refused and "activate a local model" in refused and cloud.bodies() == []
    answer = await call(session, "chat", prompt="hi")  # not marked: the cloud runtime the user chose answers
    assert answer["llm_provider"] == "openai" and answer["route_reason"] == "the active model"
    assert "Input should be a valid boolean" in await error_text(session, "chat", prompt="hi", sensitive="yes")


async def test_routing_modes_decide_where_a_request_goes(
    runtime_settings: dict[str, Any], ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    for mode, provider in (("cloud", "openai"), ("hybrid", "ollama")):
        async with mcp_session(build(runtime_settings, routing_mode=mode, fallback_order="gpt")) as client:
            await on_ollama(client, "llama3.2:1b")
            answer = await call(client, "chat", prompt="Write to jan.kowalski@firma.pl about the invoice")
            assert answer["llm_provider"] == provider and answer["fallback_from"] is None, (mode, answer)
            assert answer["route_reason"].startswith(f"{mode}:"), answer["route_reason"]
    assert answer["route_reason"] == "hybrid: stays local: the prompt holds an email address"


async def test_chat_over_rest(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    async for api in serve(runtime_settings):
        await api.post("/api/v1/system/llm-runtime/active", {"provider": "gpt"})
        body = {"messages": [{"role": "user", "content": "Rome"}], "system": "JSON only.", "response_format": CITY,
                "top_k": 5, "seed": 1}
        answer = await api.post("/api/v1/chat", body)
        assert answer["parsed"] == {"city": "echo: Rome", "days": 1} and answer["llm_provider"] == "openai"
        assert answer["warnings"] == ["top_k=5 dropped: openai does not take top_k"]
        assert cloud.bodies()[-1]["messages"][0] == {"role": "system", "content": "JSON only."}
        bad = await api.post("/api/v1/chat", {"prompt": "a", "messages": body["messages"]}, 400)
        assert "not both" in bad["error"]
        assert api.checked == 3, "every answer matched /openapi.json"
