"""The OpenAI-compatible gateway of `serve --transport http` (/v1), driven by the official `openai` client: whole and
streamed answers through the chat service (the chat tool's routing, fallback and governance), the route headers,
tools and JSON answers, the model list, OpenAI-shaped errors with their statuses (refused, failed, unreachable), the
token and host rules. Runtimes: the protocol-faithful FakeOllama and FakeOpenAI (standing in for OpenAI and Gemini).
Fallback, failures mid-stream and clients that leave: test_gateway_failures.py; Semantic Kernel and a real llama.cpp
server: test_gateway_clients.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.conftest import build, http_served
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from venom_mcp.app import App

TOKEN = "gateway-token-0123456789abcdef"
HI = [{"role": "user", "content": "hi there"}]
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"], "additionalProperties": False}


@contextmanager
def served(runtime_settings: dict[str, Any], **overrides: Any) -> Iterator[tuple[str, App]]:
    app = build(runtime_settings, **overrides)
    with http_served(app) as server:
        yield server.url, app


@asynccontextmanager
async def client(url: str, key: str = "anything") -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=30) as openai_client:
        yield openai_client


async def activate(url: str, name: str, runtime: str = "ollama", token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as http:
        answer = await http.post("/api/v1/models/activate", json={"name": name, "runtime": runtime})
    assert answer.status_code == 200, answer.text


async def install(url: str, name: str, provider: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        started = await http.post("/api/v1/models/registry/install", json={"name": name, "provider": provider})
        operation = started.json()["operation_id"]
        deadline = time.monotonic() + 60
        while (status := (await http.get(f"/api/v1/models/operations/{operation}")).json()["operation"])[
                "status"] in ("pending", "in_progress") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    assert status["status"] == "completed", status


async def history(url: str, settled: bool = True) -> list[dict[str, Any]]:
    """The newest requests (request_history over REST); `settled`: once the newest has finished (a stream is
    recorded just after its last event)."""
    deadline = time.monotonic() + 10
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while True:
            found = list((await http.get("/api/v1/history/requests", params={"limit": 5})).json()["requests"])
            if not settled or found[0]["status"] != "in_progress" or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.01)


async def released(app: App, runtime: str) -> None:
    """Wait until the runtime's request gate is free again: the gateway releases it once the response has ended
    (just after its last event)."""
    deadline = time.monotonic() + 10
    while app.gates.in_flight(runtime) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert app.gates.in_flight(runtime) == 0


@pytest.fixture
def gateway(runtime_settings: dict[str, Any], ollama: FakeOllama) -> Iterator[str]:
    for name in ("llama3.2:1b", "qwen2.5:0.5b"):
        ollama.install(name)
    with served(runtime_settings) as (url, _):
        yield url


# ---- answers ------------------------------------------------------------------------------------------------------


async def test_a_whole_answer_names_the_runtime_that_gave_it(gateway: str, ollama: FakeOllama,
                                                             ollama_url: str) -> None:
    await activate(gateway, "llama3.2:1b")
    async with client(gateway) as oai:
        raw = await oai.chat.completions.with_raw_response.create(
            model="default", messages=[{"role": "developer", "content": "Be brief."}, *HI], temperature=0.2, seed=7,
            stop=["END"])
        reply = raw.parse()
        assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
        assert reply.model == "llama3.2:1b" and reply.choices[0].message.content == "echo: hi there"
        assert reply.choices[0].message.role == "assistant" and reply.choices[0].finish_reason == "stop"
        assert reply.usage is not None and reply.usage.completion_tokens == 3
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + 3
        assert (raw.headers["x-venom-llm-provider"], raw.headers["x-venom-llm-model"]) == ("ollama", "llama3.2:1b")
        assert raw.headers["x-venom-llm-endpoint"] == ollama_url
        sent = ollama.bodies("/api/chat")[-1]
        assert sent["stream"] is False and sent["messages"][0] == {"role": "system", "content": "Be brief."}
        assert sent["options"]["num_predict"] == 256, "without max_tokens: the chat tool's default"
        assert (sent["options"]["temperature"], sent["options"]["seed"], sent["options"]["stop"]) == (0.2, 7, ["END"])
        cut = await oai.chat.completions.create(model="llama3.2:1b", messages=HI, max_completion_tokens=2)
        assert cut.choices[0].message.content == "echo: hi" and cut.choices[0].finish_reason == "length"
        other = await oai.chat.completions.with_raw_response.create(model="qwen2.5:0.5b", messages=HI)
        assert other.headers["x-venom-llm-model"] == "qwen2.5:0.5b", "model= names any installed model"
        cloud = await oai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=HI, max_tokens=16, frequency_penalty=0.5, extra_body={"top_k": 5})
        assert cloud.headers["x-venom-llm-provider"] == "openai" and cloud.parse().model == "gpt-4o-mini"
        # venom-mcp's own parameters come as extra_body; what a runtime cannot take, or the gateway ignores, is named
        assert json.loads(cloud.headers["x-venom-warnings"]) == ["top_k=5 dropped: openai does not take top_k"]
        assert cloud.headers["x-venom-ignored-params"] == "frequency_penalty"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:  # no model at all: the active one
        answer = await http.post("/v1/chat/completions", json={"messages": HI})
        assert answer.status_code == 200 and answer.json()["model"] == "llama3.2:1b"


async def test_a_stream_is_the_runtimes_own_stream(gateway: str, ollama: FakeOllama, ollama_url: str) -> None:
    await activate(gateway, "llama3.2:1b")
    prompt = [{"role": "user", "content": "tell me about the sea and the sky"}]
    async with client(gateway) as oai, oai.chat.completions.with_streaming_response.create(
            model="llama3.2:1b", messages=prompt, stream=True, stream_options={"include_usage": True}) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.headers["x-venom-llm-provider"] == "ollama"
        assert raw.headers["x-venom-llm-endpoint"] == ollama_url
        chunks = [chunk async for chunk in await raw.parse()]
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == "echo: tell me about the sea and the sky"
    assert len(pieces) == 9, "one event per piece Ollama streamed, not an answer cut into chunks"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 9 and all(c.usage is None for c in chunks[:-1])
    assert ollama.bodies("/api/chat")[-1]["stream"] is True
    done = (await history(gateway))[0]
    assert done["status"] == "ok" and done["llm_provider"] == "ollama" and done["completion_tokens"] == 9


async def test_the_stream_is_passed_on_while_the_runtime_still_writes(
    runtime_settings: dict[str, Any], cloud: FakeOpenAI
) -> None:
    cloud.token_delay = 0.2
    cloud.enqueue_text("one two three four", reasoning="let me see")
    with served(runtime_settings) as (url, app):
        async with client(url) as oai:
            stream = await oai.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True,
                                                       stream_options={"include_usage": True})
            chunks = []
            async for chunk in stream:
                chunks.append(chunk)
                if chunk.choices and chunk.choices[0].delta.content:
                    # The first words are here; the runtime is still writing: its request is still running.
                    running = (await history(url, settled=False))[0]
                    assert running["status"] == "in_progress" and running["finished_at"] is None
                    assert app.gates.in_flight("openai") == 1
                    break
            chunks += [chunk async for chunk in stream]
        await released(app, "openai")
    reasoning = "".join(str((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "")
                        for c in chunks if c.choices)
    assert reasoning == "let me see"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three four"
    sent = cloud.bodies()[-1]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 7, "the runtime's own count (3 thought + 4 words)"


async def test_reasoning_written_inline_comes_apart(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    """A server without a reasoning parser writes `<think>...</think>` into the text: the gateway passes it on as
    reasoning_content, in a stream too (only a piece that may be part of a tag is held back)."""
    inline = "<think>let me see</think>\n\nthe answer"
    with served(runtime_settings) as (url, _):
        async with client(url) as oai:
            cloud.enqueue_text(inline)
            whole = (await oai.chat.completions.create(model="gpt-4o-mini", messages=HI)).choices[0].message
            assert (whole.content, (whole.model_extra or {}).get("reasoning_content")) == ("the answer", "let me see")
            cloud.enqueue_text(inline)
            chunks = [c async for c in await oai.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                                                         stream=True)]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(str((d.model_extra or {}).get("reasoning_content") or "") for d in deltas) == "let me see"
    assert [d.content for d in deltas if d.content] == ["the", " answer"]


# ---- tools and JSON -----------------------------------------------------------------------------------------------


async def test_tool_calls_whole_and_streamed(gateway: str, ollama: FakeOllama, cloud: FakeOpenAI) -> None:
    await activate(gateway, "qwen2.5:0.5b")
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    async with client(gateway) as oai:
        reply = await oai.chat.completions.create(model="gpt-4o-mini", messages=ask, tools=WEATHER,
                                                  tool_choice="required")
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        (call,) = choice.message.tool_calls or []
        assert call.type == "function" and call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        assert cloud.bodies()[-1]["tool_choice"] == "required"
        back = [*ask, choice.message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
        final = await oai.chat.completions.create(model="gpt-4o-mini", messages=back, tools=WEATHER)
        assert final.choices[0].message.content == "tool result: sunny"
        # Ollama sends a whole call in one line; its stop becomes OpenAI's tool_calls.
        chunks = [c async for c in await oai.chat.completions.create(
            model="qwen2.5:0.5b", messages=ask, tools=WEATHER, stream=True)]
    parts = [p for c in chunks if c.choices for p in c.choices[0].delta.tool_calls or []]
    assert parts[0].id and parts[0].function is not None and parts[0].function.name == "get_weather"
    arguments = "".join(p.function.arguments or "" for p in parts if p.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert ollama.bodies("/api/chat")[-1]["tools"] == WEATHER


async def test_json_answers_whole_and_streamed(gateway: str, ollama: FakeOllama, cloud: FakeOpenAI) -> None:
    await activate(gateway, "llama3.2:1b")
    wanted = {"type": "json_schema", "json_schema": {"name": "trip", "schema": CITY}}
    async with client(gateway) as oai:
        reply = await oai.chat.completions.create(model="gpt-4o-mini", messages=HI, response_format=wanted)
        trip = json.loads(reply.choices[0].message.content or "")
        assert set(trip) == {"city", "days"} and trip["days"] >= 1
        assert cloud.bodies()[-1]["response_format"]["json_schema"]["schema"] == CITY
        cloud.enqueue_text('```json\n{"city": "Paris", "days": 2}\n```')  # a model that fences its JSON
        fenced = await oai.chat.completions.create(model="gpt-4o-mini", messages=HI, response_format=wanted)
        assert json.loads(fenced.choices[0].message.content or "") == {"city": "Paris", "days": 2}
        streamed = [c async for c in await oai.chat.completions.create(
            model="llama3.2:1b", messages=HI, response_format={"type": "json_object"}, stream=True)]
        assert json.loads("".join(c.choices[0].delta.content or "" for c in streamed if c.choices)) == {
            "answer": "echo: hi there"}
        assert ollama.bodies("/api/chat")[-1]["format"] == "json"
        plain = await oai.chat.completions.create(model="llama3.2:1b", messages=HI, response_format={"type": "text"})
        assert plain.choices[0].message.content == "echo: hi there"
        with pytest.raises(openai.BadRequestError) as bad:
            await oai.chat.completions.create(model="llama3.2:1b", messages=HI,
                                              response_format={"type": "xml"})
        assert bad.value.body["param"] == "response_format.type"


# ---- models -------------------------------------------------------------------------------------------------------


async def test_the_model_list(runtime_settings: dict[str, Any], ollama: FakeOllama) -> None:
    ollama.install("llama3.2:1b")
    with served(runtime_settings) as (url, _):
        async with client(url) as oai:
            models = (await oai.models.list()).data
            owners = {m.id: m.owned_by for m in models}
            assert owners == {"llama3.2:1b": "ollama", "gpt-4o-mini": "openai", "gemini-2.0-flash": "google"}
            assert {m.object for m in models} == {"model"} and all(m.created >= 0 for m in models)
            assert (await oai.models.retrieve("llama3.2:1b")).owned_by == "ollama"
            with pytest.raises(openai.NotFoundError) as missing:
                await oai.models.retrieve("mistral:7b")
            assert missing.value.body["code"] == "model_not_found"
    with served(runtime_settings, google_api_key=None) as (url, _):  # a cloud without a key cannot answer
        async with client(url) as oai:
            assert [m.id for m in (await oai.models.list()).data] == ["llama3.2:1b", "gpt-4o-mini"]


# ---- errors -------------------------------------------------------------------------------------------------------


def openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    return error


async def test_errors_are_openai_shaped_with_their_status(gateway: str) -> None:
    async with client(gateway) as oai:
        with pytest.raises(openai.BadRequestError, match="no active runtime"):
            await oai.chat.completions.create(model="default", messages=HI)
        await activate(gateway, "llama3.2:1b")
        with pytest.raises(openai.NotFoundError) as missing:
            await oai.chat.completions.create(model="mistral:7b", messages=HI)
        assert missing.value.body["code"] == "model_not_found" and missing.value.body["param"] == "model"
    chat = "/v1/chat/completions"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        assert openai_error(await http.post(chat, json={"model": "default"}), 400)["param"] == "messages"
        assert openai_error(await http.post(chat, json={"messages": HI, "n": 2}), 400)["param"] == "n"
        assert openai_error(await http.post(chat, json={"messages": HI, "temperature": 3}), 400)["param"] == \
            "temperature"
        image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]
        assert "text parts only" in openai_error(await http.post(chat, json={"messages": image}), 400)["message"]
        effort = openai_error(await http.post(chat, json={"messages": HI, "reasoning_effort": "extreme"}), 400)
        assert effort["param"] == "reasoning_effort"
        too_long = [{"role": "user", "content": "word " * 20_000}]
        assert openai_error(await http.post(chat, json={"messages": too_long}), 400)["code"] == \
            "context_length_exceeded"
        # The guards in front of every route answer in OpenAI's shape on /v1/ too.
        assert openai_error(await http.post(chat, content=b'{"messages": [', headers={
            "content-type": "application/json"}), 400)
        assert openai_error(await http.post(chat, content=b"{}", headers={"content-type": "text/plain"}), 415)
        assert openai_error(await http.get("/v1/embeddings"), 404)["code"] == "unknown_url"
        assert openai_error(await http.get(chat), 405)
        assert openai_error(await http.get("/v1/models", headers={"Host": "evil.example"}), 421)
        assert openai_error(await http.post(chat, json={"messages": HI}, headers={"Origin": "http://evil.example"}),
                            403)
        assert (await http.get("/api/v1/nothing")).json()["success"] is False, "the REST face keeps its shape"


async def test_the_token_is_required_when_set(runtime_settings: dict[str, Any], ollama: FakeOllama) -> None:
    ollama.install("llama3.2:1b")
    with served(runtime_settings, http_token=TOKEN) as (url, _):
        await activate(url, "llama3.2:1b", token=TOKEN)
        async with client(url, key="sk-not-the-token") as oai:
            with pytest.raises(openai.AuthenticationError) as denied:
                await oai.chat.completions.create(model="default", messages=HI)
            assert denied.value.body["code"] == "invalid_api_key"
            with pytest.raises(openai.AuthenticationError):
                await oai.models.list()
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            error = openai_error(await http.get("/v1/models"), 401)
            assert error["type"] == "invalid_request_error" and "VENOM_HTTP_TOKEN" in error["message"]
            assert (await http.get("/api/v1/models")).json()["success"] is False, "the REST face keeps its shape"
        async with client(url, key=TOKEN) as oai:
            reply = await oai.chat.completions.create(model="default", messages=HI)
            assert reply.choices[0].message.content == "echo: hi there"
            assert "llama3.2:1b" in [m.id async for m in oai.models.list()]


async def test_refused_429_failed_502_unreachable_503(runtime_settings: dict[str, Any], cloud: FakeOpenAI,
                                                      closed_url: str) -> None:
    with served(runtime_settings, rate_limits="openai=1/0") as (url, _):
        async with client(url) as oai:
            await oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
            with pytest.raises(openai.RateLimitError, match="RATE_LIMITED") as limited:
                await oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
            assert limited.value.body["code"] == "rate_limit_exceeded"
    with served(runtime_settings, provider_budgets_usd="openai=0") as (url, _):
        async with client(url) as oai:
            with pytest.raises(openai.RateLimitError, match="BUDGET_EXCEEDED") as spent:
                await oai.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
            assert spent.value.body["code"] == "insufficient_quota"
            cloud.fault = "error"
            for stream in (False, True):
                with pytest.raises(openai.InternalServerError) as failed:
                    await oai.chat.completions.create(model="gemini-2.0-flash", messages=HI,
                                                      stream=stream)
                assert failed.value.status_code == 502 and failed.value.body["code"] == "upstream_error"
    # Nothing could be reached, or nothing is configured: 503, whole or streamed.
    with served(runtime_settings, google_base_url=closed_url + "/v1beta/openai", openai_api_key=None) as (url, _):
        async with client(url) as oai:
            for model, cause in (("gemini-2.0-flash", "APIConnectionError"), ("gpt-4o-mini", "OPENAI_API_KEY")):
                for stream in (False, True):
                    with pytest.raises(openai.InternalServerError, match=cause) as down:
                        await oai.chat.completions.create(model=model, messages=HI, stream=stream)
                    assert down.value.status_code == 503 and down.value.body["code"] == "upstream_unavailable"
