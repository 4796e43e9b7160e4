"""model_config: a model's generation parameters (per runtime, from the parameter table) and its own overrides,
stored in $VENOM_HOME/model_config.json; checked before anything is written; applied by chat and translate below
the caller's own arguments (explicit > override > default), per candidate, so a fallback uses its own model's.
Over MCP and REST, against the fake Ollama and the fake OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from mcp import ClientSession

from tests.conftest import build, mcp_session
from tests.fakes.hub import TINY_CHAT
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.test_catalog_tools import call, error_text
from tests.test_rest_api import Api, serve
from venom_mcp.adapters import generation
from venom_mcp.services.chat import build as build_chat

LLAMA = "llama3.2:1b"
GPT = "gpt-4o-mini"


@pytest.fixture
async def session(runtime_settings: dict[str, Any]) -> AsyncIterator[ClientSession]:
    async with mcp_session(build(runtime_settings)) as client:
        await call(client, "install_model", name=LLAMA, provider="ollama", wait=True)
        yield client


def tree(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


async def refused(client: ClientSession, home: Path, **arguments: Any) -> str:
    """The error text of a model_config call that must change nothing under VENOM_HOME."""
    before = tree(home)
    text = await error_text(client, "model_config", **arguments)
    assert tree(home) == before, f"model_config wrote files for {arguments}"
    return text


def test_explicit_arguments_win_over_overrides_and_overrides_over_defaults() -> None:
    asked = build_chat(prompt="hi", temperature=0.9)
    assert asked.given == {"temperature"}, "max_tokens=256 is chat's default, not the caller's"
    taken = asked.with_overrides({"temperature": 0.1, "max_tokens": 64, "top_k": 5})
    assert (taken.temperature, taken.max_tokens, taken.top_k) == (0.9, 64, 5)
    typed = build_chat(prompt="hi", max_tokens=256).with_overrides({"max_tokens": 64})
    assert typed.max_tokens == 256, "256 given explicitly is the caller's, even though it equals the default"
    assert asked.with_overrides({}) is asked


async def test_the_parameters_follow_the_models_runtime(session: ClientSession) -> None:
    local = await call(session, "model_config", name=LLAMA)
    assert (local["model_name"], local["runtime"], local["overrides"]) == (LLAMA, "ollama", {})
    rows = {p["name"]: p for p in local["parameters"]}
    assert list(rows) == list(generation.NAMES), "Ollama takes every parameter, in the table's order"
    assert rows["max_tokens"] == {**rows["max_tokens"], "native": "num_predict", "type": "integer", "minimum": 1,
                                  "maximum": 32768, "default": 256}, "the chat's limits and default, too"
    assert rows["num_ctx"]["default"] == 8192, "the Ollama profile's context (balanced-12-24gb)"
    assert (rows["temperature"]["minimum"], rows["temperature"]["maximum"], rows["temperature"]["default"]) == (
        0, 2, 0.8)
    assert rows["stop"]["type"] == "array" and rows["stop"]["description"]

    cloud = await call(session, "model_config", name=GPT)
    assert cloud["runtime"] == "openai"
    rows = {p["name"]: p for p in cloud["parameters"]}
    assert list(rows) == ["max_tokens", "temperature", "top_p", "seed", "stop"]
    assert rows["max_tokens"]["native"] == "max_completion_tokens" and rows["temperature"]["default"] == 1.0
    assert (await call(session, "model_config", name="gemini-2.0-flash"))["runtime"] == "google"
    missing = await error_text(session, "model_config", name="mistral:7b")
    assert "not installed" in missing and "installed_models" in missing and "cloud model" in missing


async def test_set_merges_and_every_refusal_writes_nothing(session: ClientSession, home: Path) -> None:
    first = await call(session, "model_config", name=LLAMA, set={"temperature": 0.2, "top_k": 7})
    assert first["overrides"] == {"temperature": 0.2, "top_k": 7}
    merged = await call(session, "model_config", name=LLAMA, set={"num_ctx": 4096, "stop": "###", "temperature": 1})
    assert merged["overrides"] == {"temperature": 1.0, "top_k": 7, "stop": ["###"], "num_ctx": 4096}
    assert (await call(session, "model_config", name=LLAMA))["overrides"] == merged["overrides"]
    stored = json.loads((home / "model_config.json").read_text())
    assert stored["models"][LLAMA]["runtime"] == "ollama" and stored["models"][LLAMA]["overrides"] == merged[
        "overrides"] and stored["updated_at"]

    unknown = await refused(session, home, name=LLAMA, set={"temp": 0.5})
    assert "unknown parameter 'temp'" in unknown and "max_tokens, temperature, top_p, top_k" in unknown
    out_of_range = await refused(session, home, name=LLAMA, set={"temperature": 3, "top_p": 0.5})
    assert "temperature on ollama takes a number from 0 to 2 (got 3)" in out_of_range
    assert "nothing was changed" in out_of_range
    not_taken = await refused(session, home, name=GPT, set={"top_k": 20})
    assert "top_k is not taken by openai" in not_taken and "ollama, vllm, llamacpp" in not_taken
    assert "the runtimes that take it: ollama" in await refused(session, home, name=GPT, set={"num_ctx": 4096})
    wrong_type = await refused(session, home, name=LLAMA, set={"seed": "7", "max_tokens": 1.5})
    assert "seed on ollama takes an integer" in wrong_type and "max_tokens on ollama takes an integer" in wrong_type
    assert "list of 1 to 4 strings" in await refused(session, home, name=LLAMA, set={"stop": ["a"] * 5})
    too_big = await refused(session, home, name=LLAMA, set={"max_tokens": 4096})
    assert "max_tokens=4096 does not fit in num_ctx=4096" in too_big, "checked against the stored num_ctx too"
    assert "not installed" in await refused(session, home, name="mistral:7b", set={"temperature": 0.1})
    await refused(session, home, name=LLAMA, set={"temperature": None})  # refused by the schema
    await refused(session, home, name=LLAMA, reset="yes")
    assert (await call(session, "model_config", name=LLAMA))["overrides"] == merged["overrides"]


async def test_reset_clears_and_with_set_replaces(session: ClientSession, home: Path) -> None:
    await call(session, "model_config", name=LLAMA, set={"temperature": 0.2, "top_k": 7})
    await call(session, "model_config", name=GPT, set={"seed": 3})
    replaced = await call(session, "model_config", name=LLAMA, set={"top_p": 0.5}, reset=True)
    assert replaced["overrides"] == {"top_p": 0.5}
    cleared = await call(session, "model_config", name=LLAMA, reset=True)
    assert cleared["overrides"] == {}
    stored = json.loads((home / "model_config.json").read_text())["models"]
    assert list(stored) == [GPT], "a model without overrides leaves the file; the others stay"
    before = tree(home)
    await call(session, "model_config", name=LLAMA, reset=True)
    await call(session, "model_config", name=GPT, set={"seed": 3})
    assert tree(home) == before, "a call that changes nothing writes nothing"


async def test_chat_and_translate_take_overrides_below_explicit_arguments(
    session: ClientSession, ollama: FakeOllama
) -> None:
    await call(session, "activate_model", name=LLAMA, runtime="ollama")
    await call(session, "model_config", name=LLAMA,
               set={"temperature": 0.2, "max_tokens": 64, "top_k": 7, "num_ctx": 4096, "stop": ["###"]})
    answer = await call(session, "chat", prompt="hi")
    assert answer["warnings"] == [] and answer["text"] == "echo: hi"
    assert ollama.bodies("/api/chat")[-1]["options"] == {
        "num_ctx": 4096, "num_predict": 64, "temperature": 0.2, "top_k": 7, "stop": ["###"]}

    await call(session, "chat", prompt="hi", temperature=0.9, max_tokens=256, num_ctx=2048)
    assert ollama.bodies("/api/chat")[-1]["options"] == {
        "num_ctx": 2048, "num_predict": 256, "temperature": 0.9, "top_k": 7, "stop": ["###"]}, "given args win"

    done = await call(session, "translate", text="Hello world", source_lang="en", target_lang="pl", use_cache=False)
    assert done["translated_text"] == "echo: Hello world"
    options = ollama.bodies("/api/chat")[-1]["options"]
    assert (options["temperature"], options["top_k"], options["num_ctx"]) == (0.0, 7, 4096), (
        "translate keeps its own temperature and budget, and takes the model's other overrides")
    assert options["num_predict"] != 64

    await call(session, "model_config", name=LLAMA, reset=True)
    await call(session, "chat", prompt="hi")
    assert ollama.bodies("/api/chat")[-1]["options"] == {"num_ctx": 8192, "num_predict": 256}, "defaults again"


async def test_each_candidate_takes_its_own_models_overrides(
    runtime_settings: dict[str, Any], ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    async with mcp_session(build(runtime_settings, fallback_order="ollama")) as client:
        await call(client, "install_model", name=LLAMA, provider="ollama", wait=True)
        await call(client, "activate_model", name=LLAMA, runtime="ollama")  # remembered for the fallback
        await call(client, "switch_runtime", provider="openai", model=GPT)
        await call(client, "model_config", name=GPT, set={"temperature": 0.3, "max_tokens": 100})
        await call(client, "model_config", name=LLAMA, set={"temperature": 0.7, "top_k": 5})

        answer = await call(client, "chat", prompt="hi")
        assert answer["llm_provider"] == "openai"
        sent = cloud.bodies()[-1]
        assert (sent["temperature"], sent["max_completion_tokens"]) == (0.3, 100) and "top_k" not in sent
        explicit = await call(client, "chat", prompt="hi", max_tokens=50)
        assert explicit["warnings"] == [] and cloud.bodies()[-1]["max_completion_tokens"] == 50

        cloud.fault = "error"
        fell_back = await call(client, "chat", prompt="hi")
        assert fell_back["llm_provider"] == "ollama" and fell_back["fallback_from"] == "openai"
        assert cloud.bodies()[-1]["temperature"] == 0.3, "the failed attempt carried gpt-4o-mini's overrides"
        options = ollama.bodies("/api/chat")[-1]["options"]
        assert (options["temperature"], options["top_k"], options["num_predict"]) == (0.7, 5, 256), (
            "the fallback uses llama3.2:1b's overrides, not gpt-4o-mini's max_tokens")


async def test_an_unreadable_file_is_named_and_chat_goes_on(session: ClientSession, home: Path,
                                                            ollama: FakeOllama) -> None:
    await call(session, "activate_model", name=LLAMA, runtime="ollama")
    (home / "model_config.json").write_text("{not json")
    assert "model_config.json is not valid JSON" in await error_text(session, "model_config", name=LLAMA)
    (home / "model_config.json").write_text(json.dumps({"models": [LLAMA]}))
    assert "delete it" in await error_text(session, "model_config", name=LLAMA, set={"top_k": 3})
    assert (await call(session, "chat", prompt="hi"))["text"] == "echo: hi"
    (home / "model_config.json").write_text(json.dumps(
        {"models": {LLAMA: {"runtime": "ollama", "overrides": {"temperature": 9, "top_k": 3}}}}))
    await call(session, "chat", prompt="hi")
    assert ollama.bodies("/api/chat")[-1]["options"]["top_k"] == 3, "a bad value edited by hand is left out"
    assert "temperature" not in ollama.bodies("/api/chat")[-1]["options"]


async def put(api: Api, path: str, body: Any, status: int = 200) -> dict[str, Any]:
    return api._body(await api.client.put(path, json=body), status)


async def test_rest_get_put_delete_with_a_slash_in_the_name(runtime_settings: dict[str, Any]) -> None:
    async for api in serve(runtime_settings):
        await api.install(TINY_CHAT, "huggingface")
        path = f"/api/v1/models/{quote(TINY_CHAT, safe='')}/config"
        shown = await api.get(path)
        assert (shown["model_name"], shown["runtime"], shown["overrides"]) == (TINY_CHAT, "vllm", {})
        assert "num_ctx" not in {p["name"] for p in shown["parameters"]}, "vLLM sets its context at start"
        stored = await put(api, path, {"top_k": 20, "repeat_penalty": 1.1})
        assert stored["success"] and stored["overrides"] == {"top_k": 20, "repeat_penalty": 1.1}
        merged = await put(api, path, {"temperature": 0.4})
        assert merged["overrides"] == {"temperature": 0.4, "top_k": 20, "repeat_penalty": 1.1}
        refused = await put(api, path, {"num_ctx": 4096}, 400)
        assert "num_ctx is not taken by vllm" in refused["error"] and "ollama" in refused["error"]
        assert "overrides" in (await put(api, path, {"top_k": None}, 400))["error"], "names the REST field"
        assert "unknown parameter" in (await put(api, path, {"topk": 1}, 400))["error"]
        assert (await api.get(path))["overrides"] == merged["overrides"]
        cleared = await api.delete(path)
        assert cleared["overrides"] == {} and cleared["runtime"] == "vllm"
        assert [m["name"] for m in (await api.get("/api/v1/models"))["models"]] == [TINY_CHAT], (
            "DELETE .../config clears the overrides; it is no removal of the model")
        await api.get("/api/v1/models/nobody%2Fnothing/config", 404)
        cloud = await put(api, f"/api/v1/models/{GPT}/config", {"seed": 1})
        assert cloud["runtime"] == "openai" and cloud["overrides"] == {"seed": 1}
        assert api.checked == 12, "every answer was checked against /openapi.json"
        document = (await api.client.get("/openapi.json")).json()
        body = document["paths"]["/api/v1/models/{model_name}/config"]["put"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["type"] == "object"
