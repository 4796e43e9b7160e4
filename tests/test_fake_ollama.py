"""The fake Ollama server must satisfy the official ``ollama`` Python client (and raw HTTP checks)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import ollama
import pytest

from tests.fakes.live import LiveServer
from tests.fakes.ollama import (
    DEFAULT_TZ,
    MANIFEST_NOT_FOUND,
    PULL_ERROR,
    STREAM_ERROR,
    FakeOllama,
    canonical_name,
    go_time,
    parse_go_duration,
    parse_keep_alive,
    seed_library,
    valid_name,
)

LLAMA_SIZE = 1_321_082_688 + 1_429 + 7_711 + 96


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ollama_server() -> Iterator[tuple[FakeOllama, LiveServer]]:
    fake = FakeOllama()
    with LiveServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def ollama_fake(ollama_server: tuple[FakeOllama, LiveServer]) -> FakeOllama:
    fake, _ = ollama_server
    fake.reset()
    return fake


@pytest.fixture
def ollama_url(ollama_server: tuple[FakeOllama, LiveServer], ollama_fake: FakeOllama) -> str:
    return ollama_server[1].url


@pytest.fixture
def ollama_client(ollama_url: str) -> Iterator[ollama.Client]:
    with ollama.Client(host=ollama_url, timeout=10) as c:
        yield c


def _weather_tool(city: str) -> str:
    """Get the current weather in a city.

    Args:
      city: the name of the city
    """
    return f"sunny in {city}"


# --------------------------------------------------------------------------------------------------
# basics
# --------------------------------------------------------------------------------------------------


def test_root_version_and_unknown_route(ollama_client: ollama.Client, ollama_url: str) -> None:
    root = httpx.get(ollama_url)
    assert root.status_code == 200
    assert root.text == "Ollama is running"
    head = httpx.head(ollama_url)
    assert head.status_code == 200 and head.content == b""
    version = httpx.get(f"{ollama_url}/api/version")
    assert version.json() == {"version": "0.16.1"}
    if hasattr(ollama_client, "version"):  # not in ollama-python 0.6
        assert ollama_client.version()["version"] == "0.16.1"
    missing = httpx.get(f"{ollama_url}/api/nothing")
    assert (missing.status_code, missing.text) == (404, "404 page not found")


def test_list_starts_empty_and_reflects_installs(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    assert ollama_client.list().models == []
    older = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=DEFAULT_TZ)
    ollama_fake.install("gemma2:2b", modified_at=older)
    ollama_fake.install("llama3.2:1b")
    listed = ollama_client.list().models
    assert [m.model for m in listed] == ["llama3.2:1b", "gemma2:2b"]  # newest first
    gemma = listed[1]
    assert gemma.modified_at == older
    assert gemma.size == sum(size for _, size in ollama_fake.library["gemma2:2b"].layers)
    assert gemma.details is not None and gemma.details.family == "gemma2"
    assert gemma.digest is not None and len(gemma.digest) == 64 and ":" not in gemma.digest


def test_tags_raw_shape(ollama_fake: FakeOllama, ollama_url: str) -> None:
    ollama_fake.install("llama3.2:1b")
    body = httpx.get(f"{ollama_url}/api/tags").json()
    (entry,) = body["models"]
    assert list(entry) == ["name", "model", "modified_at", "size", "digest", "details"]
    assert entry["name"] == entry["model"] == "llama3.2:1b"
    assert entry["size"] == LLAMA_SIZE
    assert entry["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "1.2B",
        "quantization_level": "Q8_0",
    }
    assert entry["modified_at"].endswith("-07:00")
    assert datetime.fromisoformat(entry["modified_at"]).utcoffset() == timedelta(hours=-7)


# --------------------------------------------------------------------------------------------------
# pull
# --------------------------------------------------------------------------------------------------


def test_pull_stream_progress(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    progress = list(ollama_client.pull("llama3.2:1b", stream=True))
    assert progress[0].status == "pulling manifest"
    assert [p.status for p in progress[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [p for p in progress if p.digest]
    model = ollama_fake.library["llama3.2:1b"]
    assert [d for d in dict.fromkeys(p.digest for p in layers)] == model.digests
    for digest, (_, size) in zip(model.digests, model.layers, strict=True):
        lines = [p for p in layers if p.digest == digest]
        assert lines[0].status == f"pulling {digest[7:19]}"
        assert lines[0].completed is None  # Go omits completed=0
        assert all(p.total == size for p in lines)
        completed = [p.completed for p in lines[1:]]
        assert len(completed) == ollama_fake.pull_chunks
        assert completed == sorted(completed) and completed[-1] == size
    last = {p.digest: p.completed for p in layers}
    totals = {p.digest: p.total for p in layers}
    assert sum(last.values()) == sum(totals.values()) == LLAMA_SIZE == model.size
    assert [m.model for m in ollama_client.list().models] == ["llama3.2:1b"]


def test_pull_raw_ndjson(ollama_url: str) -> None:
    with httpx.stream("POST", f"{ollama_url}/api/pull", json={"model": "gemma2:2b"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines()]
    assert lines[0] == {"status": "pulling manifest"}
    first_layer = lines[1]
    assert list(first_layer) == ["status", "digest", "total"]
    assert list(lines[2]) == ["status", "digest", "total", "completed"]
    assert lines[-1] == {"status": "success"}


def test_pull_of_installed_model_reports_layers_complete(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("qwen2.5:0.5b")
    progress = list(ollama_client.pull("qwen2.5:0.5b", stream=True))
    layers = [p for p in progress if p.digest]
    assert len(layers) == len(ollama_fake.library["qwen2.5:0.5b"].layers)
    assert all(p.completed == p.total for p in layers)
    assert progress[-1].status == "success"


def test_pull_not_streaming(ollama_client: ollama.Client, ollama_fake: FakeOllama, ollama_url: str) -> None:
    assert ollama_client.pull("qwen2.5:0.5b").status == "success"
    assert "qwen2.5:0.5b" in ollama_fake.installed
    raw = httpx.post(f"{ollama_url}/api/pull", json={"model": "gemma2:2b", "stream": False})
    assert raw.json() == {"status": "success"}


def test_pull_unknown_model(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    with pytest.raises(ollama.ResponseError) as streamed:
        list(ollama_client.pull("no-such-model:7b", stream=True))
    assert streamed.value.error == MANIFEST_NOT_FOUND
    with pytest.raises(ollama.ResponseError) as plain:
        ollama_client.pull("no-such-model:7b")
    assert (plain.value.error, plain.value.status_code) == (MANIFEST_NOT_FOUND, 500)
    with pytest.raises(ollama.ResponseError) as invalid:
        ollama_client.pull("bad name!")
    assert (invalid.value.error, invalid.value.status_code) == ("invalid model name", 400)
    assert ollama_fake.installed == {}


def test_untagged_name_means_latest(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("llama3.2:1b")
    with pytest.raises(ollama.ResponseError) as missing:
        ollama_client.show("llama3.2")
    assert missing.value.status_code == 404
    assert missing.value.error == "model 'llama3.2' not found"
    progress = list(ollama_client.pull("llama3.2", stream=True))
    # llama3.2:latest shares its blobs with llama3.2:1b: nothing left to download
    assert all(p.completed == p.total for p in progress if p.digest)
    listed = {m.model: m.digest for m in ollama_client.list().models}
    assert set(listed) == {"llama3.2:1b", "llama3.2:latest"}
    assert listed["llama3.2:1b"] == listed["llama3.2:latest"]
    assert ollama_client.show("registry.ollama.ai/library/LLAMA3.2:latest").capabilities == ["completion", "tools"]


def test_cancelled_pull_stops_and_installs_nothing(ollama_fake: FakeOllama, ollama_url: str) -> None:
    ollama_fake.pull_delay = 0.05
    model = ollama_fake.library["llava:7b"]
    big = model.digests[0]
    with httpx.stream("POST", f"{ollama_url}/api/pull", json={"model": "llava:7b"}) as response:
        lines = response.iter_lines()
        for _ in range(3):
            next(lines)
    time.sleep(0.3)
    progress_after_close = ollama_fake.blobs.get(big, 0)
    time.sleep(0.3)
    assert ollama_fake.blobs.get(big, 0) == progress_after_close < model.layers[0][1]
    assert "llava:7b" not in ollama_fake.installed


# --------------------------------------------------------------------------------------------------
# show / delete
# --------------------------------------------------------------------------------------------------


def test_show_fields(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    for name in ("llama3.2:1b", "gemma2:2b", "qwen2.5:0.5b", "llava:7b"):
        ollama_fake.install(name)
    llama = ollama_client.show("llama3.2:1b")
    assert llama.capabilities == ["completion", "tools"]
    assert llama.details is not None and llama.details.quantization_level == "Q8_0"
    assert llama.modelinfo is not None
    assert llama.modelinfo["general.architecture"] == "llama"
    assert llama.modelinfo["general.parameter_count"] == 1_235_814_432
    assert llama.modelinfo["llama.context_length"] == 131_072
    assert llama.modelinfo["tokenizer.ggml.tokens"] is None  # only filled with verbose
    assert llama.template is not None and ".Tools" in llama.template and ".System" in llama.template
    assert llama.parameters is not None and '"<|eot_id|>"' in llama.parameters
    assert llama.modelfile is not None and llama.modelfile.startswith('# Modelfile generated by "ollama show"')
    assert "PARAMETER stop <|eot_id|>" in llama.modelfile
    assert llama.modified_at is not None and llama.modified_at.tzinfo is not None

    gemma = ollama_client.show("gemma2:2b")
    assert gemma.capabilities == ["completion"]
    assert gemma.template is not None and ".System" not in gemma.template
    assert gemma.modelinfo is not None and gemma.modelinfo["gemma2.context_length"] == 8192

    qwen = ollama_client.show("qwen2.5:0.5b")
    assert qwen.modelinfo is not None and qwen.modelinfo["qwen2.context_length"] == 32_768
    assert "tools" in (qwen.capabilities or [])

    llava = ollama_client.show("llava:7b")
    assert llava.capabilities == ["completion", "vision"]
    projector = ollama_fake.library["llava:7b"].layer_of("application/vnd.ollama.image.projector")
    assert projector is not None


def test_show_raw_shape(ollama_fake: FakeOllama, ollama_url: str) -> None:
    ollama_fake.install("qwen2.5:0.5b")
    ollama_fake.install("llava:7b")
    raw = httpx.post(f"{ollama_url}/api/show", json={"model": "qwen2.5:0.5b"})
    assert raw.headers["content-type"] == "application/json; charset=utf-8"
    assert "\\u003c|im_start|\\u003e" in raw.text  # Go escapes < and > in JSON strings
    body = raw.json()
    assert set(body) == {
        "license", "modelfile", "parameters", "template", "system", "details", "model_info", "capabilities",
        "modified_at",
    }  # fmt: skip
    assert body["system"].startswith("You are Qwen")
    verbose = httpx.post(f"{ollama_url}/api/show", json={"model": "qwen2.5:0.5b", "verbose": True}).json()
    assert isinstance(verbose["model_info"]["tokenizer.ggml.tokens"], list)
    llava = httpx.post(f"{ollama_url}/api/show", json={"name": "llava:7b"}).json()  # deprecated "name" works
    assert llava["projector_info"]["clip.has_vision_encoder"] is True
    assert llava["details"]["families"] == ["llama", "clip"]


def test_delete(ollama_client: ollama.Client, ollama_fake: FakeOllama, ollama_url: str) -> None:
    ollama_fake.install("llama3.2:1b")
    ollama_fake.install("gemma2:2b")
    ollama_client.generate(model="llama3.2:1b", keep_alive="10m")
    assert [m.model for m in ollama_client.ps().models] == ["llama3.2:1b"]
    assert ollama_client.delete("llama3.2:1b").status == "success"
    assert [m.model for m in ollama_client.list().models] == ["gemma2:2b"]
    assert ollama_client.ps().models == []  # deleting unloads
    assert "llama3.2:1b" not in ollama_fake.loaded
    assert not any(d in ollama_fake.blobs for d in ollama_fake.library["llama3.2:1b"].digests)
    with pytest.raises(ollama.ResponseError) as shown:
        ollama_client.show("llama3.2:1b")
    assert shown.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as again:
        ollama_client.delete("llama3.2:1b")
    assert (again.value.status_code, again.value.error) == (404, "model 'llama3.2:1b' not found")
    raw = httpx.request("DELETE", f"{ollama_url}/api/delete", json={"model": "gemma2:2b"})
    assert (raw.status_code, raw.content) == (200, b"")


# --------------------------------------------------------------------------------------------------
# load / unload / ps
# --------------------------------------------------------------------------------------------------


def test_load_ps_unload(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("llama3.2:1b")
    assert ollama_client.ps().models == []
    before = datetime.now(DEFAULT_TZ)
    loaded = ollama_client.generate(model="llama3.2:1b", keep_alive="5m")
    assert (loaded.done, loaded.done_reason, loaded.response) == (True, "load", "")
    assert ollama_fake.bodies("/api/generate")[-1]["keep_alive"] == "5m"
    (running,) = ollama_client.ps().models
    assert running.model == running.name == "llama3.2:1b"
    assert running.expires_at is not None
    assert timedelta(minutes=4, seconds=55) < running.expires_at - before < timedelta(minutes=5, seconds=5)
    assert running.context_length == 4096
    assert running.size is not None and running.size > LLAMA_SIZE
    assert running.size_vram == running.size
    assert running.details is not None and running.details.parameter_size == "1.2B"

    unloaded = ollama_client.generate(model="llama3.2:1b", keep_alive=0)
    assert unloaded.done_reason == "unload"
    assert ollama_client.ps().models == []


def test_keep_alive_forms(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("qwen2.5:0.5b")
    ollama_client.generate(model="qwen2.5:0.5b", keep_alive=-1, options={"num_ctx": 8192})
    (running,) = ollama_client.ps().models
    assert running.expires_at is not None
    assert running.expires_at.year > datetime.now().year + 100  # "forever"
    assert running.context_length == 8192
    ollama_client.generate(model="qwen2.5:0.5b", keep_alive=30)
    (running,) = ollama_client.ps().models
    assert running.expires_at is not None
    assert running.expires_at - datetime.now(DEFAULT_TZ) < timedelta(seconds=31)
    with pytest.raises(ollama.ResponseError) as bad:
        ollama_client.generate(model="qwen2.5:0.5b", keep_alive="300")
    assert bad.value.status_code == 400
    assert bad.value.error == 'time: missing unit in duration "300"'
    ollama_client.generate(model="qwen2.5:0.5b", keep_alive="0")
    assert ollama_client.ps().models == []


def test_expired_models_leave_ps(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("gemma2:2b")
    ollama_fake.load("gemma2:2b", keep_alive=timedelta(seconds=1))
    assert len(ollama_client.ps().models) == 1
    ollama_fake.loaded["gemma2:2b"] = datetime.now(DEFAULT_TZ) - timedelta(seconds=1)
    assert ollama_client.ps().models == []


def test_generate_needs_installed_model(ollama_client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        ollama_client.generate(model="gemma2:2b", keep_alive="5m")
    assert missing.value.status_code == 404
    assert missing.value.error == 'model "gemma2:2b" not found, try pulling it first'


def test_generate_with_prompt(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("llama3.2:1b")
    answer = ollama_client.generate(model="llama3.2:1b", prompt="why is the sky blue")
    assert answer.response == "You said: why is the sky blue"
    assert answer.done_reason == "stop"
    assert answer.eval_count == 7 and (answer.prompt_eval_count or 0) > 0
    assert answer.total_duration is not None and answer.eval_duration is not None
    assert answer.total_duration > answer.eval_duration > 0
    assert answer.context
    assert [m.model for m in ollama_client.ps().models] == ["llama3.2:1b"]  # a prompt loads the model too
    parts = list(ollama_client.generate(model="llama3.2:1b", prompt="why is the sky blue", stream=True))
    assert "".join(p.response or "" for p in parts) == "You said: why is the sky blue"
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].done_reason == "stop" and parts[-1].eval_count == 7
    limited = ollama_client.generate(model="llama3.2:1b", prompt="one two three", options={"num_predict": 2})
    assert (limited.response, limited.done_reason) == ("You said:", "length")


# --------------------------------------------------------------------------------------------------
# chat
# --------------------------------------------------------------------------------------------------


def test_chat_non_stream_and_stream(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("gemma2:2b")
    messages = [{"role": "user", "content": "hello there"}]
    reply = ollama_client.chat(model="gemma2:2b", messages=messages, keep_alive="30m")
    assert reply.message.role == "assistant"
    assert reply.message.content == "echo: hello there"
    assert reply.done and reply.done_reason == "stop"
    assert reply.eval_count == 3 and (reply.prompt_eval_count or 0) > 0
    assert reply.message.tool_calls is None

    chunks = list(ollama_client.chat(model="gemma2:2b", messages=messages, stream=True))
    assert len(chunks) > 2
    assert "".join(c.message.content or "" for c in chunks) == "echo: hello there"
    assert all(not c.done for c in chunks[:-1])
    final = chunks[-1]
    assert final.done and final.done_reason == "stop" and final.eval_count == 3
    assert final.total_duration is not None and final.prompt_eval_duration is not None

    sent = ollama_fake.bodies("/api/chat")
    assert [m["role"] for m in sent[0]["messages"]] == ["user"]  # no "system" message was added
    assert sent[0]["keep_alive"] == "30m"
    assert sent[0]["stream"] is False and sent[1]["stream"] is True


def test_chat_stream_error_mid_answer_and_an_abandoned_stream(
    ollama_client: ollama.Client, ollama_fake: FakeOllama, ollama_url: str
) -> None:
    """A runner that fails mid-answer: the stream has begun (HTTP 200), so Ollama reports it in an error line, which
    the official client raises; a client that leaves early stops the generation."""
    ollama_fake.install("gemma2:2b")
    messages = [{"role": "user", "content": "hello there friend"}]
    ollama_fake.fault = "stream_error"
    received = []
    with pytest.raises(ollama.ResponseError) as failed:
        for chunk in ollama_client.chat(model="gemma2:2b", messages=messages, stream=True):
            received.append(chunk.message.content)
    assert failed.value.error == STREAM_ERROR and received == ["echo:"]
    with pytest.raises(ollama.ResponseError, match="unexpected EOF"):
        ollama_client.chat(model="gemma2:2b", messages=messages)
    ollama_fake.fault = None
    ollama_fake.token_delay = 0.05
    with httpx.stream("POST", f"{ollama_url}/api/chat", timeout=10,
                      json={"model": "gemma2:2b", "messages": messages}) as response:
        first = next(response.iter_lines())
    assert json.loads(first)["message"]["content"] == "echo:"
    deadline = time.monotonic() + 5
    while ollama_fake.abandoned_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ollama_fake.abandoned_streams == 1
    assert len(list(ollama_client.chat(model="gemma2:2b", messages=messages, stream=True))) > 2
    assert ollama_fake.abandoned_streams == 1, "a stream read to its end is not abandoned"


def test_chat_tool_call_round_trip(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("qwen2.5:0.5b")
    messages: list[dict[str, object]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    reply = ollama_client.chat(model="qwen2.5:0.5b", messages=messages, tools=[_weather_tool])
    assert reply.message.content == ""
    assert reply.message.tool_calls is not None
    (call,) = reply.message.tool_calls
    assert call.function.name == "_weather_tool"
    assert call.function.arguments == {"city": "Paris"}
    sent_tools = ollama_fake.bodies("/api/chat")[-1]["tools"]
    assert sent_tools[0]["function"]["name"] == "_weather_tool"

    result = _weather_tool(**call.function.arguments)
    messages += [reply.message.model_dump(exclude_none=True), {"role": "tool", "content": result}]
    final = ollama_client.chat(model="qwen2.5:0.5b", messages=messages, tools=[_weather_tool])
    assert final.message.tool_calls is None
    assert final.message.content == "tool result: sunny in Paris"

    streamed = list(
        ollama_client.chat(
            model="qwen2.5:0.5b", messages=[{"role": "user", "content": "weather?"}], tools=[_weather_tool], stream=True
        )
    )
    calls = [c for chunk in streamed for c in (chunk.message.tool_calls or [])]
    assert [c.function.name for c in calls] == ["_weather_tool"]
    assert streamed[-1].done

    plain = ollama_client.chat(
        model="qwen2.5:0.5b", messages=[{"role": "user", "content": "hi"}], tools=[_weather_tool]
    )
    assert plain.message.content == "echo: hi" and plain.message.tool_calls is None


def test_chat_capability_errors(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("gemma2:2b")
    ollama_fake.install("nomic-embed-text")
    with pytest.raises(ollama.ResponseError) as tools:
        ollama_client.chat(model="gemma2:2b", messages=[{"role": "user", "content": "weather"}], tools=[_weather_tool])
    assert tools.value.status_code == 400
    assert tools.value.error == "registry.ollama.ai/library/gemma2:2b does not support tools"
    with pytest.raises(ollama.ResponseError) as embed_only:
        ollama_client.chat(model="nomic-embed-text", messages=[{"role": "user", "content": "hi"}])
    assert embed_only.value.status_code == 400 and "does not support chat" in embed_only.value.error
    with pytest.raises(ollama.ResponseError) as thinking:
        ollama_client.chat(model="gemma2:2b", messages=[{"role": "user", "content": "hi"}], think=True)
    assert thinking.value.error == '"gemma2:2b" does not support thinking'


def test_chat_thinking_model(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("qwen3:0.6b")
    reply = ollama_client.chat(model="qwen3:0.6b", messages=[{"role": "user", "content": "2+2?"}], think=True)
    assert reply.message.thinking == "The user wrote: 2+2?"
    assert reply.message.content == "echo: 2+2?"


def test_chat_think_levels_and_bad_values(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("qwen3:0.6b")
    ollama_fake.install("llama3.2:1b")
    user = [{"role": "user", "content": "2+2?"}]
    for level in ("low", "medium", "high"):
        reply = ollama_client.chat(model="qwen3:0.6b", messages=user, think=level)  # type: ignore[arg-type]
        assert reply.message.thinking == "The user wrote: 2+2?" and reply.message.content == "echo: 2+2?"
        assert ollama_fake.bodies("/api/chat")[-1]["think"] == level
    off = ollama_client.chat(model="qwen3:0.6b", messages=user, think=False)
    assert off.message.thinking is None and ollama_fake.bodies("/api/chat")[-1]["think"] is False
    with pytest.raises(ollama.ResponseError) as bad:
        ollama_client.chat(model="qwen3:0.6b", messages=user, think="max")  # type: ignore[arg-type]
    assert bad.value.status_code == 400 and "invalid think value" in bad.value.error
    with pytest.raises(ollama.ResponseError) as unable:
        ollama_client.chat(model="llama3.2:1b", messages=user, think="high")  # type: ignore[arg-type]
    assert "does not support thinking" in unable.value.error


def test_chat_format_json_and_schema(ollama_client: ollama.Client, ollama_fake: FakeOllama, ollama_url: str) -> None:
    import jsonschema

    ollama_fake.install("llama3.2:1b")
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                               "tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
              "required": ["city", "days"]}
    user = [{"role": "user", "content": "Paris"}]
    reply = ollama_client.chat(model="llama3.2:1b", messages=user, format=schema, options={"seed": 1, "top_k": 5})
    value = json.loads(reply.message.content or "")
    jsonschema.validate(value, schema)
    assert value == {"city": "echo: Paris", "days": 1, "tags": ["a"]}
    sent = ollama_fake.bodies("/api/chat")[-1]
    assert sent["format"] == schema and sent["options"] == {"seed": 1, "top_k": 5}
    plain = ollama_client.chat(model="llama3.2:1b", messages=user, format="json")
    assert json.loads(plain.message.content or "") == {"answer": "echo: Paris"}
    cut = ollama_client.chat(model="llama3.2:1b", messages=user, format="json", options={"num_predict": 2})
    assert cut.done_reason == "length" and cut.message.content == '{"answer": "echo:'
    # The client itself refuses another format; the server says so too.
    raw = httpx.post(f"{ollama_url}/api/chat", json={"model": "llama3.2:1b", "messages": user, "format": "xml",
                                                      "stream": False})
    assert raw.status_code == 500 and raw.json()["error"].startswith('invalid format: "\\"xml\\""; expected')


def test_chat_unknown_model(ollama_client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        ollama_client.chat(model="llava:7b", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.status_code == 404
    assert "not found, try pulling it first" in missing.value.error


# --------------------------------------------------------------------------------------------------
# embeddings
# --------------------------------------------------------------------------------------------------


def test_embed(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("nomic-embed-text:latest")
    ollama_fake.install("llama3.2:1b")
    result = ollama_client.embed(model="nomic-embed-text", input=["alpha", "beta"])
    assert len(result.embeddings) == 2
    assert all(len(vector) == 768 for vector in result.embeddings)
    assert math.isclose(math.fsum(v * v for v in result.embeddings[0]), 1.0, rel_tol=1e-4)
    assert result.embeddings[0] != result.embeddings[1]
    again = ollama_client.embed(model="nomic-embed-text", input="alpha")
    assert list(again.embeddings[0]) == list(result.embeddings[0])
    legacy = ollama_client.embeddings(model="nomic-embed-text", prompt="alpha")
    assert list(legacy.embedding) == list(result.embeddings[0])
    with pytest.raises(ollama.ResponseError) as not_embedding:
        ollama_client.embed(model="llama3.2:1b", input="alpha")
    assert not_embedding.value.status_code == 400


# --------------------------------------------------------------------------------------------------
# faults and instrumentation
# --------------------------------------------------------------------------------------------------


def test_fault_pull_error(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.fault = "pull_error"
    seen: list[ollama.ProgressResponse] = []
    with pytest.raises(ollama.ResponseError) as streamed:
        for progress in ollama_client.pull("gemma2:2b", stream=True):
            seen.append(progress)
    assert streamed.value.error == PULL_ERROR
    assert any(p.completed for p in seen)  # some progress came first
    with pytest.raises(ollama.ResponseError) as plain:
        ollama_client.pull("gemma2:2b")
    assert (plain.value.status_code, plain.value.error) == (500, PULL_ERROR)
    assert ollama_fake.installed == {}


def test_fault_down_mid_pull_then_resume(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.fault = "down_mid_pull"
    seen: list[ollama.ProgressResponse] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for progress in ollama_client.pull("llama3.2:1b", stream=True):
            seen.append(progress)
    assert seen and seen[-1].status != "success"
    assert all(p.digest in (None, seen[1].digest) for p in seen)  # broke off inside the first layer
    partial = seen[-1].completed
    assert partial is not None and 0 < partial < LLAMA_SIZE
    with pytest.raises(httpx.HTTPError):
        ollama_client.pull("llama3.2:1b")
    assert ollama_fake.installed == {}

    ollama_fake.fault = None
    resumed = list(ollama_client.pull("llama3.2:1b", stream=True))
    assert resumed[1].digest == seen[1].digest
    assert resumed[1].completed is not None and resumed[1].completed >= partial  # resumes from the partial blob
    assert resumed[-1].status == "success"
    assert "llama3.2:1b" in ollama_fake.installed


def test_fault_error(ollama_client: ollama.Client, ollama_fake: FakeOllama, ollama_url: str) -> None:
    ollama_fake.install("llama3.2:1b")
    ollama_fake.fault = "error"
    for call in (ollama_client.list, ollama_client.ps, lambda: ollama_client.show("llama3.2:1b")):
        with pytest.raises(ollama.ResponseError) as failed:
            call()
        assert (failed.value.status_code, failed.value.error) == (500, "boom")
    assert httpx.get(ollama_url).status_code == 500
    assert ollama_fake.hits["/api/tags"] == 1 and ollama_fake.hits["/api/show"] == 1
    ollama_fake.fault = None
    assert len(ollama_client.list().models) == 1


def test_hits_and_requests_recorded(ollama_client: ollama.Client, ollama_fake: FakeOllama) -> None:
    ollama_fake.install("llama3.2:1b")
    ollama_client.list()
    ollama_client.list()
    ollama_client.generate(model="llama3.2:1b", keep_alive="5m")
    assert ollama_fake.hits == {"/api/tags": 2, "/api/generate": 1}
    assert ollama_fake.requests[0] == ("/api/tags", {})
    path, body = ollama_fake.requests[-1]
    assert path == "/api/generate"
    assert body["model"] == "llama3.2:1b" and body["keep_alive"] == "5m"


async def test_async_client(ollama_url: str, ollama_fake: FakeOllama) -> None:
    client = ollama.AsyncClient(host=ollama_url, timeout=10)
    statuses = [p.status async for p in await client.pull("qwen2.5:0.5b", stream=True)]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    pieces = [
        chunk.message.content or ""
        async for chunk in await client.chat(
            model="qwen2.5:0.5b", messages=[{"role": "user", "content": "async hello"}], stream=True
        )
    ]
    assert "".join(pieces) == "echo: async hello"
    assert [m.model for m in (await client.ps()).models] == ["qwen2.5:0.5b"]
    await client.close()


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def test_helpers() -> None:
    assert canonical_name("llama3.2") == "llama3.2:latest"
    assert canonical_name("registry.ollama.ai/library/llama3.2:1b") == "llama3.2:1b"
    assert (
        canonical_name("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF")
        == "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:latest"
    )
    assert valid_name("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
    assert not valid_name("bad name") and not valid_name("a/b/c/d:e")
    assert parse_go_duration("1h30m") == 5400 and parse_go_duration("10s") == 10 and parse_go_duration("0") == 0
    with pytest.raises(ValueError, match="missing unit"):
        parse_go_duration("5")
    assert parse_keep_alive(None) is None
    assert parse_keep_alive("5m") == timedelta(minutes=5)
    assert parse_keep_alive(-1) == parse_keep_alive("-1m")
    assert parse_keep_alive(-1) is not None and parse_keep_alive(-1) > timedelta(days=365 * 200)
    stamp = go_time(datetime(2024, 6, 4, 14, 38, 31, 837530, tzinfo=DEFAULT_TZ))
    assert stamp == "2024-06-04T14:38:31.837530417-07:00"
    assert datetime.fromisoformat(stamp).utcoffset() == timedelta(hours=-7)
    library = seed_library()
    assert {"llama3.2:1b", "gemma2:2b", "qwen2.5:0.5b", "nomic-embed-text:latest", "llava:7b"} <= set(library)
    assert library["llama3.2:latest"] is library["llama3.2:1b"]
    assert library["llama3.2:1b"].size == LLAMA_SIZE
    assert library["llama3.2:1b"].layer_digest(0).startswith("sha256:")
