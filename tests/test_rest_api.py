"""The REST API of the original design, served by `serve --transport http` against the fakes. Every JSON answer is
also validated against the server's own /openapi.json, so the document cannot drift from what the routes send."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from httpx_sse import aconnect_sse
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.conftest import build, http_served
from tests.fakes.hub import TINY_CHAT, TINY_GGUF
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI

LLAMA = "llama3.2:1b"


class _Request:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request) -> None:
        self.method = request.method.lower()
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = urlparse(str(request.url)).path
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())), header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "").split(";")[0]
        self.headers = response.headers
        self.data = response.content


class Api:
    """A client of one running server; `checked` counts the answers validated against /openapi.json."""

    def __init__(self, url: str, spec: OpenAPI) -> None:
        self.url = url
        self.spec = spec
        self.checked = 0
        self.client = httpx.AsyncClient(base_url=url, timeout=60, event_hooks={"response": [self._check]})

    async def _check(self, response: httpx.Response) -> None:
        if not response.request.url.path.startswith("/api/") or "event-stream" in response.headers.get(
            "content-type", ""
        ):
            return
        await response.aread()
        self.spec.validate_response(_Request(response.request), _Response(response))
        self.checked += 1

    async def get(self, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
        return self._body(await self.client.get(path, params=params), status)

    async def post(self, path: str, body: Any, status: int = 200) -> dict[str, Any]:
        return self._body(await self.client.post(path, json=body), status)

    async def delete(self, path: str, status: int = 200) -> dict[str, Any]:
        return self._body(await self.client.delete(path), status)

    @staticmethod
    def _body(response: httpx.Response, status: int) -> dict[str, Any]:
        data: dict[str, Any] = response.json()
        assert response.status_code == status, (response.status_code, data)
        assert data["success"] is (status == 200), data
        if status != 200:
            assert isinstance(data["error"], str) and data["error"], data
        return data

    async def events(self, operation_id: str) -> list[tuple[str, dict[str, Any]]]:
        seen = []
        path = f"/api/v1/models/operations/{operation_id}/events"
        async with aconnect_sse(self.client, "GET", path) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            async for event in source.aiter_sse():
                seen.append((event.event, json.loads(event.data)))
        return seen

    async def install(self, name: str, provider: str, **extra: Any) -> dict[str, Any]:
        started = await self.post("/api/v1/models/registry/install", {"name": name, "provider": provider, **extra})
        events = await self.events(started["operation_id"])
        assert events[-1][0] == "end" and events[-1][1]["status"] == "completed", events[-1]
        return started


async def serve(values: dict[str, Any], **overrides: Any) -> AsyncIterator[Api]:
    with http_served(build(values, **overrides)) as server:
        api = Api(server.url, OpenAPI.from_dict(httpx.get(server.url + "/openapi.json").json()))
        try:
            yield api
        finally:
            await api.client.aclose()


@pytest.fixture
async def api(runtime_settings: dict[str, Any]) -> AsyncIterator[Api]:
    async for client in serve(runtime_settings):
        yield client


async def test_catalog_routes_answer_in_the_original_shapes(api: Api) -> None:
    found = await api.get("/api/v1/models/providers", provider="huggingface", limit=3)
    assert found["provider"] == "huggingface" and found["count"] == len(found["models"]) == 3
    row = found["models"][0]
    assert {"provider", "model_name", "display_name", "size_gb", "runtime", "tags", "downloads", "likes"} <= set(row)
    searched = await api.get("/api/v1/models/providers", provider="ollama", query="llama", limit=5)
    assert searched["count"] >= 1 and all("llama" in m["model_name"] for m in searched["models"])
    trending = await api.get("/api/v1/models/trending", provider="ollama", limit=2)
    assert trending["count"] == 2 and trending["stale"] is False and trending["error"] is None
    news = await api.get("/api/v1/models/news", provider="huggingface", type="blog", limit=2)
    assert news["provider"] == "huggingface" and news["count"] == 2
    assert {"title", "url", "summary", "published_at", "authors", "source"} <= set(news["items"][0])
    papers = await api.get("/api/v1/models/news", type="papers", month="2025-12", limit=1)
    assert papers["kind"] == "papers" and papers["count"] == 1
    assert api.checked == 5, "every answer was checked against /openapi.json"


async def test_bad_input_is_400_naming_the_rest_field(api: Api) -> None:
    bad = await api.get("/api/v1/models/trending", 400, provider="github", limit=500)
    assert "provider" in bad["error"] and "limit" in bad["error"] and "100" in bad["error"]
    assert "type:" in (await api.get("/api/v1/models/news", 400, type="tweets"))["error"]
    assert "huggingface" in (await api.get("/api/v1/models/news", 400, provider="ollama"))["error"]
    assert "month" in (await api.get("/api/v1/models/news", 400, type="blog", month="2025-12"))["error"]
    assert "YYYY-MM" in (await api.get("/api/v1/models/news", 400, type="papers", month="12/2025"))["error"]
    missing = await api.get("/api/v1/models/providers", 400)
    assert "provider" in missing["error"] and "required" in missing["error"].lower()
    assert "name" in (await api.post("/api/v1/models/registry/install", {"provider": "ollama"}, 400))["error"]
    response = await api.client.post("/api/v1/models/activate", content=b"{not json",
                                      headers={"content-type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert "JSON object" in (await api.post("/api/v1/models/activate", ["llama3"], 400))["error"]
    refused = await api.post("/api/v1/models/registry/install", {"name": TINY_CHAT, "provider": "huggingface",
                                                                  "runtime": "ollama"}, 400)
    assert "vllm" in refused["error"], "a refused pairing names the valid runtimes"
    traversal = await api.post("/api/v1/models/activate", {"name": "a/../etc", "runtime": "ollama"}, 400)
    assert "'..' segment" in traversal["error"]


async def test_install_streams_real_progress_then_lists_the_model(api: Api, ollama: FakeOllama) -> None:
    ollama.pull_delay = 0.05
    started = await api.post("/api/v1/models/registry/install", {"name": LLAMA, "provider": "ollama",
                                                                  "runtime": "ollama"})
    assert started["operation_id"] == started["operation"]["operation_id"]
    assert LLAMA in started["message"] and started["operation"]["status"] in ("pending", "in_progress")
    events = await api.events(started["operation_id"])
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and set(kinds[:-1]) == {"progress"} and len(kinds) >= 3
    done = [op["bytes_done"] for _, op in events if op["bytes_done"] is not None]
    assert done == sorted(done) and len(set(done)) >= 2, "progress rises, in the bytes Ollama reports"
    total = sum(size for _, size in ollama.library[LLAMA].layers)
    final = events[-1][1]
    assert final["status"] == "completed" and final["progress"] == 100 and final["bytes_total"] == total

    one = await api.get(f"/api/v1/models/operations/{started['operation_id']}")
    assert one["operation"] == final
    listed = await api.get("/api/v1/models/operations", limit=5)
    assert listed["count"] == 1 and listed["operations"][0]["operation_id"] == started["operation_id"]
    again = await api.events(started["operation_id"])
    assert again == [("end", final)], "a finished operation's stream sends its end at once"

    models = await api.get("/api/v1/models")
    assert [m["name"] for m in models["models"]] == [LLAMA]
    assert models["providers"] == {"ollama": models["models"]} and models["active"]["provider"] is None
    await api.get("/api/v1/models/operations/no-such-operation", 404)
    unknown = await api.client.get("/api/v1/models/operations/no-such-operation/events")
    assert unknown.status_code == 404 and unknown.json()["success"] is False


async def test_activate_capabilities_and_remove(api: Api) -> None:
    await api.install(LLAMA, "ollama")
    await api.install(TINY_CHAT, "huggingface")
    active = await api.post("/api/v1/models/activate", {"name": LLAMA, "runtime": "ollama"})
    assert active["active"]["provider"] == "ollama" and active["active"]["model"] == LLAMA
    assert LLAMA in active["message"]
    models = await api.get("/api/v1/models")
    assert {m["name"]: m["active"] for m in models["models"]} == {LLAMA: True, TINY_CHAT: False}
    assert models["active"]["model"] == LLAMA and set(models["providers"]) == {"ollama", "vllm"}

    caps = await api.get(f"/api/v1/models/{TINY_CHAT.replace('/', '%2F')}/capabilities")
    assert caps["model_name"] == TINY_CHAT and caps["capabilities"]["max_context_length"]
    assert (await api.get(f"/api/v1/models/{LLAMA}/capabilities"))["capabilities"]["supports_function_calling"]
    await api.get("/api/v1/models/nobody%2Fnothing/capabilities", 404)

    assert "activate another" in (await api.delete(f"/api/v1/models/registry/{LLAMA}", 409))["error"]
    await api.delete("/api/v1/models/registry/nobody%2Fnothing", 404)
    await api.post("/api/v1/models/activate", {"name": "nobody/nothing", "runtime": "vllm"}, 404)
    await api.post("/api/v1/models/activate", {"name": TINY_CHAT, "runtime": "ollama"}, 400)
    removed = await api.delete(f"/api/v1/models/registry/{TINY_CHAT.replace('/', '%2F')}")
    assert removed["operation"]["status"] == "completed" and removed["operation"]["operation_type"] == "remove"
    assert TINY_CHAT in removed["message"]
    assert [m["name"] for m in (await api.get("/api/v1/models"))["models"]] == [LLAMA]


async def test_translate_through_the_active_model(api: Api) -> None:
    nothing_active = await api.post("/api/v1/translate", {"text": "Hello", "target_lang": "pl"}, 400)
    assert "activate" in nothing_active["error"]
    await api.install(LLAMA, "ollama")
    await api.post("/api/v1/models/activate", {"name": LLAMA, "runtime": "ollama"})
    done = await api.post("/api/v1/translate", {"text": "Hello world", "source_lang": "en", "target_lang": "pl",
                                                "use_cache": True})
    assert done["translated_text"] == "echo: Hello world" and done["target_lang"] == "pl"
    again = await api.post("/api/v1/translate", {"text": "Hello world", "source_lang": "en", "target_lang": "pl"})
    assert again["cached"] is True and again["translated_text"] == done["translated_text"]
    unsupported = await api.post("/api/v1/translate", {"text": "Hello", "target_lang": "fr"}, 400)
    assert "fr" in unsupported["error"] and "pl, en, de" in unsupported["error"]


async def test_runtime_switching_routes(api: Api) -> None:
    servers = await api.get("/api/v1/system/llm-servers/active")
    assert servers["active_server"] is None and {s["name"] for s in servers["servers"]} == {"ollama", "vllm",
                                                                                              "llamacpp", "ray"}
    await api.install(LLAMA, "ollama")
    local = await api.post("/api/v1/system/llm-servers/active", {"server_name": "ollama", "model_name": LLAMA})
    assert local["provider"] == "ollama" and local["model"] == LLAMA and local["active"]["status"] == "online"
    assert (await api.get("/api/v1/system/llm-servers/active"))["active_model"] == LLAMA
    assert "server_name" in (await api.post("/api/v1/system/llm-servers/active",
                                            {"server_name": "openai", "model_name": "gpt-4o-mini"}, 400))["error"]
    await api.post("/api/v1/system/llm-servers/active", {"server_name": "ollama", "model_name": "nope:1b"}, 404)

    cloud = await api.post("/api/v1/system/llm-runtime/active", {"provider": "openai", "model": "gpt-4o-mini"})
    assert cloud["provider"] == "openai" and cloud["service_type"] == "cloud" and cloud["model"] == "gpt-4o-mini"
    gem = await api.post("/api/v1/system/llm-runtime/active", {"provider": "google-gemini"})
    assert gem["provider"] == "google" and gem["model"]
    current = await api.get("/api/v1/system/llm-runtime/active")
    assert current["provider"] == "google" and current["active"]["provider"] == "google"
    assert "sk-test" not in json.dumps(current) and "AIza" not in json.dumps(current), "keys never leave"
    assert "provider" in (await api.post("/api/v1/system/llm-runtime/active", {"provider": "ollama"}, 400))["error"]


async def test_history_shows_requests_in_progress(api: Api, cloud: FakeOpenAI) -> None:
    await api.post("/api/v1/system/llm-runtime/active", {"provider": "openai", "model": "gpt-4o-mini"})
    cloud.fault, cloud.slow_seconds = "slow", 1.5
    running = asyncio.create_task(api.post("/api/v1/translate", {"text": "Hello there", "target_lang": "de"}))
    for _ in range(100):
        history = await api.get("/api/v1/history/requests", limit=5)
        if history["count"]:
            break
        await asyncio.sleep(0.05)
    first = history["requests"][0]
    assert first["finished_at"] is None and first["duration_seconds"] is None and first["llm_provider"] == "openai"
    await running
    finished = (await api.get("/api/v1/history/requests"))["requests"][0]
    assert finished["finished_at"] is not None and finished["duration_seconds"] >= 1.4 and finished["status"] == "ok"


async def test_usage_and_upstream_down(runtime_settings: dict[str, Any], closed_url: str) -> None:
    async for api in serve(runtime_settings, ollama_host=closed_url):
        usage = (await api.get("/api/v1/models/usage"))["usage"]
        assert usage["disk_limit_gb"] == 50 and usage["models_count"] == 0 and usage["memory_total_gb"] > 0
        down = await api.post("/api/v1/models/activate", {"name": LLAMA, "runtime": "ollama"}, 503)
        assert "Ollama" in down["error"] or "ollama" in down["error"]
        models = await api.get("/api/v1/models")
        assert models["count"] == 0 and models["warnings"], "Ollama down is a warning in the list, not a failure"


async def test_openapi_document_describes_every_route(api: Api) -> None:
    from openapi_spec_validator import validate

    document = (await api.client.get("/openapi.json")).json()
    validate(document)
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    from venom_mcp.web.rest import ROUTES

    expected = {(e.path, e.method) for e in ROUTES} | {
        ("/api/v1/models", "GET"), ("/api/v1/models/operations/{operation_id}/events", "GET"),
        ("/api/v1/alerts/events", "GET"), ("/api/v1/system/events", "GET")}
    assert documented == expected
    install = document["paths"]["/api/v1/models/registry/install"]["post"]
    body = install["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"name", "provider", "runtime", "force"}
    assert set(body["required"]) == {"name", "provider"} and body["properties"]["force"]["type"] == "boolean"
    assert {"200", "400", "404", "409", "503"} <= set(install["responses"])
    news = {p["name"]: p for p in document["paths"]["/api/v1/models/news"]["get"]["parameters"]}
    assert news["type"]["schema"]["enum"] == ["blog", "papers"]
    assert news["provider"]["schema"]["enum"] == ["huggingface"]


async def test_the_original_design_paths_are_aliases(api: Api, ollama: FakeOllama) -> None:
    started = await api.post("/api/v1/models/install", {"model": LLAMA, "provider": "ollama"})
    assert started["operation"]["model_name"] == LLAMA
    assert (await api.events(started["operation_id"]))[-1][1]["status"] == "completed"
    catalog = await api.get("/api/v1/models/ollama/catalog", limit=3)
    assert catalog["provider"] == "ollama" and catalog["count"] == 3
    switched = await api.post("/api/v1/models/switch", {"model": LLAMA, "runtime": "ollama"})
    assert switched["active"]["model"] == LLAMA and switched["active"]["provider"] == "ollama"
    refused = await api.post("/api/v1/models/remove", {"name": LLAMA}, 409)
    assert "active model" in refused["error"], "an alias answers with its route's own errors"
    second = await api.post("/api/v1/models/install", {"name": "qwen3:0.6b", "provider": "ollama"})
    assert (await api.events(second["operation_id"]))[-1][1]["status"] == "completed"
    await api.post("/api/v1/models/switch", {"name": "qwen3:0.6b", "runtime": "ollama"})
    removed = await api.delete(f"/api/v1/models/{LLAMA}")
    assert removed["operation"]["operation_type"] == "remove" and removed["operation"]["status"] == "completed"
    assert [m["name"] for m in (await api.get("/api/v1/models"))["models"]] == ["qwen3:0.6b"]
    missing = await api.post("/api/v1/models/install", {"provider": "ollama"}, 400)
    assert "name" in missing["error"]
    assert api.checked == 9, "every answer was checked against /openapi.json"
    document = (await api.client.get("/openapi.json")).json()
    alias = document["paths"]["/api/v1/models/install"]["post"]
    assert alias["description"].startswith("Alias of `POST /api/v1/models/registry/install`")
    body = alias["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["provider"] and body["allOf"] == [{"anyOf": [{"required": ["model"]},
                                                                              {"required": ["name"]}]}]


async def test_every_answer_is_json_unknown_paths_too(api: Api) -> None:
    plain = httpx.AsyncClient(base_url=api.url)  # not the checked client: these paths are not in the document
    async with plain:
        # The alias DELETE /api/v1/models/{name} must not turn unknown paths under it into 405s.
        for path in ("/api/v1/nothing-here", "/nothing", "/models/static/missing.js", "/api/v1/models/a/b/c/d",
                     "/api/v1/models/operations/x/nothing"):
            response = await plain.get(path)
            assert response.status_code == 404 and response.headers["content-type"] == "application/json", path
            assert response.json()["success"] is False and "/openapi.json" in response.json()["error"]
        # ...nor swallow the operations' paths: a DELETE there is no removal of a model named "operations/x/cancel".
        cancel = await plain.delete("/api/v1/models/operations/x/cancel")
        assert cancel.status_code == 405 and "POST" in cancel.headers["allow"], cancel.text
        wrong = await plain.put("/api/v1/models/usage")
    assert wrong.status_code == 405 and wrong.json()["success"] is False
    assert "GET" in wrong.json()["error"] and "GET" in wrong.headers["allow"]


async def test_cancel_an_install(api: Api, ollama: FakeOllama) -> None:
    ollama.pull_delay = 0.3  # slow enough to be caught half-way
    started = await api.post("/api/v1/models/registry/install", {"name": LLAMA, "provider": "ollama"})
    operation_id = started["operation_id"]
    for _ in range(100):
        if (await api.get(f"/api/v1/models/operations/{operation_id}"))["operation"]["status"] == "in_progress":
            break
        await asyncio.sleep(0.05)
    cancelled = await api.post(f"/api/v1/models/operations/{operation_id}/cancel", None)
    assert cancelled["operation"]["status"] == "cancelled" and cancelled["operation"]["progress"] < 100
    assert (await api.events(operation_id))[-1][1]["status"] == "cancelled"
    assert (await api.get("/api/v1/models"))["count"] == 0, "nothing half-installed is listed"
    await api.post("/api/v1/models/operations/no-such-operation/cancel", None, 404)


async def test_quota_is_a_conflict_and_an_unreachable_hub_is_503(runtime_settings: dict[str, Any],
                                                                 closed_url: str) -> None:
    async for api in serve(runtime_settings, models_max_disk_gb=0.001):
        refused = await api.post("/api/v1/models/registry/install", {"name": TINY_GGUF, "provider": "huggingface"},
                                 409)
        assert "MODELS_MAX_DISK_GB" in refused["error"]
        assert (await api.get("/api/v1/models/operations"))["count"] == 0, "nothing was started"
    async for api in serve({**runtime_settings, "hub_url": closed_url}):
        down = await api.post("/api/v1/models/registry/install", {"name": TINY_CHAT, "provider": "huggingface"}, 503)
        assert "HF_ENDPOINT" in down["error"] or "Hub" in down["error"], down["error"]
