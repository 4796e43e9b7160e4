"""The fake OpenAI-compatible server, checked with the official ``openai`` client (sync and async)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.fakes.live import LiveServer
from tests.fakes.openai_server import GEMINI_PREFIX, FakeOpenAI

API_KEY = "sk-test-0123456789abcdef"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def openai_fake_server() -> Iterator[tuple[FakeOpenAI, LiveServer]]:
    fake = FakeOpenAI(api_key=API_KEY)
    with LiveServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def openai_fake(openai_fake_server: tuple[FakeOpenAI, LiveServer]) -> FakeOpenAI:
    fake, _ = openai_fake_server
    fake.reset()
    return fake


@pytest.fixture
def openai_url(openai_fake_server: tuple[FakeOpenAI, LiveServer], openai_fake: FakeOpenAI) -> str:
    return openai_fake_server[1].url


@pytest.fixture
def oai(openai_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=openai_url + "/v1", api_key=API_KEY, max_retries=0, timeout=10) as c:
        yield c


# ---- models -------------------------------------------------------------------------------------------


def test_models_list(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    models = oai.models.list().data
    assert [m.id for m in models] == ["gpt-4o-mini", "gemini-2.0-flash"]
    assert {m.object for m in models} == {"model"}
    assert all(m.owned_by == "system" and m.created > 0 for m in models)
    openai_fake.models.append("o3-mini")
    assert [m.id for m in oai.models.list()] == ["gpt-4o-mini", "gemini-2.0-flash", "o3-mini"]
    assert oai.models.retrieve("o3-mini").id == "o3-mini"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("gpt-5-imaginary")
    assert openai_fake.hits["/v1/models"] == 2


# ---- chat ---------------------------------------------------------------------------------------------


def test_chat_echo_and_recording(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": "be brief"}, *USER]
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0.2)
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "gpt-4o-mini"
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "echo: hello there"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 3  # "echo:", " hello", " there"
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens

    assert openai_fake.hits["/v1/chat/completions"] == 1
    body = openai_fake.bodies()[-1]
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == messages
    assert body["temperature"] == 0.2
    assert openai_fake.auth_headers[-1] == f"Bearer {API_KEY}"
    recorded = openai_fake.requests[-1]
    assert recorded["method"] == "POST" and recorded["path"] == "/v1/chat/completions"
    assert API_KEY not in recorded["headers"]["authorization"]
    assert recorded["headers"]["authorization"].endswith(API_KEY[-4:])


def test_chat_content_parts(oai: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": [{"type": "text", "text": "part one, "}, {"type": "text", "text": "two"}]}
    ]
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert reply.choices[0].message.content == "echo: part one, two"


def test_queue_replies_in_order(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.enqueue_text("first answer")
    openai_fake.enqueue_text("second answer")
    texts = [oai.chat.completions.create(model="gpt-4o-mini", messages=USER).choices[0].message.content for _ in "abc"]
    assert texts == ["first answer", "second answer", "echo: hello there"]
    assert openai_fake.queue == []


def test_max_tokens_truncates(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.enqueue_text("one two three four five")
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=2)
    assert reply.choices[0].message.content == "one two"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 2


def test_chat_stream(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.enqueue_text("streamed reply with several words")
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) == 5
    assert "".join(deltas) == "streamed reply with several words"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None and usage_chunk.usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_stream_without_usage(oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hello there"


def test_raw_sse_ends_with_done(openai_url: str) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER, "stream": True}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", openai_url + "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_stream_cut_and_an_abandoned_stream(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    """A connection lost mid-answer is an error of the official client; a client that closes early stops the
    generation."""
    openai_fake.enqueue_text("one two three four")
    openai_fake.fault = "stream_cut"
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oai.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "one"], "the role chunk and the first piece came before the cut"
    openai_fake.fault = None
    openai_fake.token_delay = 0.05
    openai_fake.enqueue_text("one two three four five six seven eight")
    stream = oai.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    assert next(iter(stream)).choices[0].delta.role == "assistant"
    stream.close()
    deadline = time.monotonic() + 5
    while openai_fake.abandoned_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert openai_fake.abandoned_streams == 1
    assert list(oai.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    assert openai_fake.abandoned_streams == 1, "a stream read to its end is not abandoned"


# ---- tool calls ---------------------------------------------------------------------------------------

TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def test_tool_call(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    call_id = openai_fake.enqueue_tool_call("get_weather", {"city": "Paris", "days": 2})
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.id == call_id and call.id.startswith("call_")
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments, str)
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 2}
    assert openai_fake.bodies()[-1]["tools"] == TOOLS


def test_tool_call_stream(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.enqueue_tool_call("get_weather", {"city": "New York"}, call_id="call_fixed")
    chunks = list(oai.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS, stream=True))
    parts = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert parts[0].id == "call_fixed" and parts[0].function is not None
    assert parts[0].function.name == "get_weather"
    assert len(parts) > 2  # the arguments arrive in pieces
    arguments = "".join(p.function.arguments or "" for p in parts if p.function)
    assert json.loads(arguments) == {"city": "New York"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_automatic_tool_calls_and_tool_results(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    weather: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is the weather in Rome?"}]
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=weather, tools=TOOLS)
    calls = reply.choices[0].message.tool_calls
    assert reply.choices[0].finish_reason == "tool_calls" and calls is not None
    assert calls[0].function.name == "get_weather" and json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert oai.chat.completions.create(model="gpt-4o-mini", messages=weather, tools=TOOLS,
                                       tool_choice="none").choices[0].message.tool_calls is None
    forced = oai.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS, tool_choice="required")
    assert forced.choices[0].message.tool_calls is not None
    answered: list[ChatCompletionMessageParam] = [
        *weather, {"role": "assistant", "content": None, "tool_calls": [{
            "id": calls[0].id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"}]
    final = oai.chat.completions.create(model="gpt-4o-mini", messages=answered, tools=TOOLS)
    assert final.choices[0].message.content == "tool result: sunny"
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER, tool_choice="auto")
    assert err.value.param == "tool_choice"


def test_response_format(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    import jsonschema

    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
              "required": ["city", "days"], "additionalProperties": False}
    reply = oai.chat.completions.create(model="gpt-4o-mini", messages=USER, response_format={
        "type": "json_schema", "json_schema": {"name": "trip", "schema": schema, "strict": True}})
    value = json.loads(reply.choices[0].message.content or "")
    jsonschema.validate(value, schema)
    assert value == {"city": "echo: hello there", "days": 1}
    plain = oai.chat.completions.create(model="gpt-4o-mini", messages=USER, response_format={"type": "json_object"})
    assert json.loads(plain.choices[0].message.content or "") == {"answer": "echo: hello there"}
    loose = {"type": "object", "properties": {"city": {"type": "string"}}}
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER, response_format={
            "type": "json_schema", "json_schema": {"name": "trip", "schema": loose, "strict": True}})
    assert "'additionalProperties' is required to be supplied and to be false" in err.value.message
    assert oai.chat.completions.create(model="gpt-4o-mini", messages=USER, response_format={
        "type": "json_schema", "json_schema": {"name": "trip", "schema": loose}}).choices[0].message.content
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER,
                                    response_format={"type": "xml"})  # type: ignore[arg-type, typeddict-item]
    assert err.value.param == "response_format.type"
    assert openai_fake.bodies()[-1]["response_format"] == {"type": "xml"}, "every request body is recorded"


def test_reasoning_effort_only_on_reasoning_models(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.models.append("o4-mini")
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER, reasoning_effort="low")
    assert err.value.code == "unsupported_parameter" and err.value.param == "reasoning_effort"
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="o4-mini", messages=USER, max_tokens=50)
    assert "Use 'max_completion_tokens' instead" in err.value.message
    reply = oai.chat.completions.create(model="o4-mini", messages=USER, reasoning_effort="high",
                                        max_completion_tokens=50)
    assert reply.choices[0].message.content == "echo: hello there"
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 32
    assert openai_fake.bodies()[-1]["reasoning_effort"] == "high"


# ---- errors -------------------------------------------------------------------------------------------


def test_wrong_key_401(openai_url: str, openai_fake: FakeOpenAI) -> None:
    bad = openai.OpenAI(base_url=openai_url + "/v1", api_key="sk-wrong-key-999999", max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError) as err:
        bad.models.list()
    assert err.value.status_code == 401
    assert err.value.code == "invalid_api_key"
    assert err.value.type == "invalid_request_error"
    assert "Incorrect API key provided: sk-" in err.value.message
    assert "sk-wrong-key-999999" not in err.value.message and "9999" in err.value.message
    assert openai_fake.auth_headers[-1] == "Bearer sk-wrong-key-999999"
    assert openai_fake.hits["/v1/models"] == 1


def test_missing_key_401(openai_url: str, openai_fake: FakeOpenAI) -> None:
    r = httpx.get(openai_url + "/v1/models")
    assert r.status_code == 401
    assert r.json()["error"]["message"].startswith("You didn't provide an API key")
    assert openai_fake.auth_headers == [None]
    openai_fake.api_key = None  # keyless servers (a local proxy) accept anything
    assert httpx.get(openai_url + "/v1/models").status_code == 200


def test_unknown_model_404(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        oai.chat.completions.create(model="gpt-9", messages=USER)
    assert err.value.code == "model_not_found"
    assert "The model `gpt-9` does not exist" in err.value.message


def test_fault_not_found(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.fault = "not_found"
    with pytest.raises(openai.NotFoundError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert err.value.code == "model_not_found"
    assert "gpt-4o-mini" in err.value.message


def test_fault_rate_limit(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.fault = "rate_limit"
    openai_fake.retry_after = 7
    with pytest.raises(openai.RateLimitError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert err.value.status_code == 429
    assert err.value.code == "rate_limit_exceeded"
    assert err.value.response.headers["retry-after"] == "7"
    assert openai_fake.hits["/v1/chat/completions"] == 1  # max_retries=0: no retry


def test_fault_error(oai: openai.OpenAI, openai_fake: FakeOpenAI) -> None:
    openai_fake.fault = "error"
    with pytest.raises(openai.InternalServerError) as err:
        oai.models.list()
    assert err.value.status_code == 500
    assert err.value.type == "server_error"
    openai_fake.fault = None
    assert oai.models.list().data


def test_fault_slow(openai_url: str, openai_fake: FakeOpenAI) -> None:
    openai_fake.fault = "slow"
    openai_fake.slow_seconds = 0.5
    impatient = openai.OpenAI(base_url=openai_url + "/v1", api_key=API_KEY, max_retries=0, timeout=0.1)
    with impatient, pytest.raises(openai.APITimeoutError):
        impatient.models.list()
    with openai.OpenAI(base_url=openai_url + "/v1", api_key=API_KEY, max_retries=0, timeout=5) as c:
        assert [m.id for m in c.models.list()] == ["gpt-4o-mini", "gemini-2.0-flash"]


def test_bad_requests_400(oai: openai.OpenAI, openai_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert err.value.code == "empty_array"
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    r = httpx.post(openai_url + "/v1/chat/completions", content=b"{not json", headers=headers)
    assert r.status_code == 400 and "could not parse the JSON body" in r.json()["error"]["message"]
    r = httpx.post(openai_url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = httpx.post(openai_url + "/v1/embeddingz", json={}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (POST /v1/embeddingz)"


# ---- Gemini's OpenAI-compatible base URL ----------------------------------------------------------------


def test_gemini_base_url(openai_url: str, openai_fake: FakeOpenAI) -> None:
    base = openai_url + GEMINI_PREFIX + "/"
    with openai.OpenAI(base_url=base, api_key=API_KEY, max_retries=0) as gem:
        listed = gem.models.list().data
        assert [m.id for m in listed] == ["models/gpt-4o-mini", "models/gemini-2.0-flash"]
        assert {m.owned_by for m in listed} == {"google"}
        reply = gem.chat.completions.create(model="gemini-2.0-flash", messages=USER)
        assert reply.choices[0].message.content == "echo: hello there"
        assert reply.model == "gemini-2.0-flash"
        prefixed = gem.chat.completions.create(model="models/gemini-2.0-flash", messages=USER)
        assert prefixed.choices[0].message.content == "echo: hello there"
        chunks = list(gem.chat.completions.create(model="gemini-2.0-flash", messages=USER, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    assert openai_fake.hits[GEMINI_PREFIX + "/chat/completions"] == 3
    assert openai_fake.hits[GEMINI_PREFIX + "/models"] == 1
    assert openai_fake.hits["/v1/chat/completions"] == 0
    oai = openai.OpenAI(base_url=openai_url + "/v1", api_key=API_KEY, max_retries=0)
    with oai, pytest.raises(openai.NotFoundError):  # the "models/" spelling only works on Gemini's prefix
        oai.chat.completions.create(model="models/gemini-2.0-flash", messages=USER)


# ---- async client -------------------------------------------------------------------------------------


async def test_async_client(openai_url: str, openai_fake: FakeOpenAI) -> None:
    openai_fake.enqueue_text("async hello")
    openai_fake.enqueue_tool_call("lookup", {"q": "x"})
    async with openai.AsyncOpenAI(base_url=openai_url + "/v1", api_key=API_KEY, max_retries=0) as aoai:
        ids = [m.id async for m in aoai.models.list()]
        assert ids == ["gpt-4o-mini", "gemini-2.0-flash"]
        reply = await aoai.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert reply.choices[0].message.content == "async hello"
        reply = await aoai.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS)
        calls = reply.choices[0].message.tool_calls
        assert calls is not None and calls[0].type == "function"
        assert calls[0].function.name == "lookup"
        assert json.loads(calls[0].function.arguments) == {"q": "x"}
        stream = await aoai.chat.completions.create(
            model="gpt-4o-mini",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            if chunk.usage is not None:
                usage = chunk.usage
        assert text == "echo: hello there"
        assert usage is not None and usage.completion_tokens == 3
        openai_fake.fault = "rate_limit"
        with pytest.raises(openai.RateLimitError):
            await aoai.models.list()
    with pytest.raises(openai.AuthenticationError):
        async with openai.AsyncOpenAI(base_url=openai_url + "/v1", api_key="sk-nope", max_retries=0) as bad:
            await bad.models.list()
