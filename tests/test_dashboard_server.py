"""The dashboard's server side without a browser: the live system stream (/api/v1/system/events), the REST route
that starts, stops and restarts runtimes, the request history's fallbacks, the README page the offline banner links
to, the fragments in each language, and the three catalogs themselves."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import build, http_served
from tests.fakes.hub import TINY_GGUF
from tests.fakes.ollama import FakeOllama
from venom_mcp.records import RuntimeStatus, Usage
from venom_mcp.web import PUBLIC_PATHS
from venom_mcp.web import system_events as live
from venom_mcp.web.i18n import DEFAULT, LANGUAGES, catalog, language, missing, translator
from venom_mcp.web.readme import OFFLINE_ANCHOR, anchor, blocks

README = Path(__file__).parents[1] / "README.md"
DEADLINE = 120.0  # seconds: a few rounds of the stream on a busy 2-core machine


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            yield event, json.loads(line.removeprefix("data:"))


async def until(stream: AsyncIterator[tuple[str, Any]], wanted: str, check: Any) -> Any:
    """The first `wanted` event whose data passes `check`, within DEADLINE."""
    async def look() -> Any:
        async for event, data in stream:
            if event == wanted and check(data):
                return data
        raise AssertionError(f"the stream ended before a matching {wanted} event")

    return await asyncio.wait_for(look(), DEADLINE)


async def test_the_system_stream_sends_runtimes_and_usage_as_they_change_and_ends_with_its_client(
    runtime_settings: dict[str, Any], ollama: FakeOllama
) -> None:
    with http_served(build(runtime_settings)) as server:
        before = live.OPEN.count
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client, client.stream(
                "GET", live.PATH) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events(response)
            first = [await anext(stream), await anext(stream)]
            assert [event for event, _ in first] == ["runtime", "usage"]
            runtime, usage = first[0][1], first[1][1]
            RuntimeStatus.model_validate({k: v for k, v in runtime.items() if k != "operations"})
            assert runtime["operations"] == []
            assert {s["name"] for s in runtime["servers"]} == {"ollama", "vllm", "llamacpp", "ray"}
            Usage.model_validate(usage)
            assert live.OPEN.count == before + 1

            # An install under way is in the record (the page holds that runtime's buttons), then gone.
            ollama.pull_delay = 3.0  # held until the stream has shown it, then let go
            try:
                started = (await client.post("/api/v1/models/registry/install",
                                             json={"name": "llama3.2:latest", "provider": "ollama"})).json()
                held = await until(stream, "runtime", lambda r: r["operations"])
                assert [(o["operation_id"], o["runtime"], o["operation_type"]) for o in held["operations"]] == [
                    (started["operation_id"], "ollama", "install")]
            finally:
                ollama.pull_delay = 0
            await until(stream, "runtime", lambda r: not r["operations"])
            assert "llama3.2:latest" in ollama.installed
        # The client went: its stream ends (no task outlives it).
        deadline = time.monotonic() + DEADLINE
        while live.OPEN.count != before:
            assert time.monotonic() < deadline, "the stream outlived its client"
            await asyncio.sleep(0.05)


async def test_runtimes_are_started_stopped_and_restarted_over_rest(runtime_settings: dict[str, Any]) -> None:
    with http_served(build(runtime_settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client:
            base = "/api/v1/system/llm-servers"
            bad = await client.post(f"{base}/llamacpp/dance", json={})
            assert bad.status_code == 400
            assert bad.json()["error"] == "invalid request: action: Input should be 'start', 'stop' or 'restart'"
            unknown = await client.post(f"{base}/nothing/stop", json={})
            assert unknown.status_code == 400 and "server_name: Input should be 'ollama'" in unknown.json()["error"]
            no_model = await client.post(f"{base}/llamacpp/start", json={})
            assert no_model.status_code == 400 and "activate_model" in no_model.json()["error"]
            stopped = (await client.post(f"{base}/llamacpp/stop", json={})).json()
            assert stopped["success"] and stopped["server"]["status"] == "offline"
            assert stopped["message"] == "llamacpp is offline"
            refused = await client.post(f"{base}/llamacpp/stop", json={"force": "yes"})
            assert refused.status_code == 400 and "force" in refused.json()["error"]

            started = await client.post("/api/v1/models/registry/install",
                                        json={"name": TINY_GGUF, "provider": "huggingface"})
            operation = started.json()["operation_id"]
            async with client.stream("GET", f"/api/v1/models/operations/{operation}/events") as response:
                final = await until(events(response), "end", lambda op: True)
            await client.post("/api/v1/models/activate", json={"name": final["model_name"], "runtime": "llamacpp"})
            first = (await client.get(f"{base}/active")).json()["servers"][-1]
            restarted = (await client.post(f"{base}/llamacpp/restart", json={})).json()["server"]
            assert restarted["status"] == "online" and restarted["pid"] not in (None, first["pid"])
            assert (await client.post(f"{base}/llamacpp/stop", json={})).json()["server"]["status"] == "offline"
            document = (await client.get("/openapi.json")).json()
            control = document["paths"][f"{base}/{{server_name}}/{{action}}"]["post"]
            assert {p["name"] for p in control["parameters"]} == {"server_name", "action"}
            assert set(control["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {"force"}
            assert "text/event-stream" in document["paths"][live.PATH]["get"]["responses"]["200"]["content"]


async def test_the_history_names_the_runtime_a_fallback_stood_in_for(runtime_settings: dict[str, Any],
                                                                      ollama: FakeOllama) -> None:
    with http_served(build(runtime_settings, fallback_order="openai")) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client:
            started = (await client.post("/api/v1/models/registry/install",
                                         json={"name": "llama3.2:latest", "provider": "ollama"})).json()
            async with client.stream("GET", f"/api/v1/models/operations/{started['operation_id']}/events") as events_:
                assert (await until(events(events_), "end", lambda op: True))["status"] == "completed"
            activated = await client.post("/api/v1/models/activate", json={"name": "llama3.2:latest",
                                                                          "runtime": "ollama"})
            assert activated.status_code == 200, activated.text
            ollama.fault = "error"  # Ollama answers 500: the chat falls back to the cloud
            answered = (await client.post("/api/v1/chat", json={"prompt": "hi", "max_tokens": 4})).json()
            calls = (await client.get("/api/v1/history/requests", params={"limit": 5})).json()["requests"]
            page = (await client.get("/models/fragments/history", params={"lang": "de"})).text
    assert answered["llm_provider"] == "openai" and answered["fallback_from"] == "ollama", answered
    assert [(c["llm_provider"], c["status"], c["fallback_from"]) for c in calls] == [
        ("openai", "ok", "ollama"), ("ollama", "error", None)], calls
    assert "anstelle von ollama" in page and "Anfrageverlauf aktualisieren" in page
    assert re.search(r'data-field="latency">\d+ ms<', page)
    assert "PROVIDER_DOWN" in page


def test_the_offline_banner_links_to_the_readme_served_here(runtime_settings: dict[str, Any]) -> None:
    token = "readme-token-0123456789abcdef"
    with http_served(build(runtime_settings, http_token=token)) as server, httpx.Client(base_url=server.url,
                                                                                       timeout=30) as plain:
        page = plain.get("/models")  # public: the shell, its files and the README hold no data
        assert page.status_code == 200 and f'href="/models/readme#{OFFLINE_ANCHOR}"' in page.text
        readme = plain.get("/models/readme")
        assert readme.status_code == 200 and readme.headers["content-security-policy"].startswith("default-src 'self'")
        assert f'<h3 id="{OFFLINE_ANCHOR}"><a href="#{OFFLINE_ANCHOR}">Stale data and offline use</a></h3>' in (
            readme.text)
        for path in PUBLIC_PATHS:
            if path.startswith("/models/static/"):
                assert plain.get(path).status_code == 200, path
        assert plain.get("/api/v1/system/events").status_code == 401, "the live state is data: token only"
        assert plain.get("/models/fragments/history").status_code == 401
    assert "\n### Stale data and offline use\n" in README.read_text(encoding="utf-8")


def test_readme_headings_get_githubs_anchors() -> None:
    text = "# venom-mcp\n\nIntro `x`.\n\n## REST API and the `/models` dashboard\n\n```bash\n# not a heading\n```\n" \
           "### Stale data and offline use\nline one\nline two\n\n## Setup\n## Setup\n"
    found = blocks(text)
    assert [(b.kind, b.anchor) for b in found if b.kind == "heading"] == [
        ("heading", "venom-mcp"), ("heading", "rest-api-and-the-models-dashboard"),
        ("heading", OFFLINE_ANCHOR), ("heading", "setup"), ("heading", "setup-1")]
    assert ("code", "# not a heading") in [(b.kind, b.text) for b in found]
    assert ("text", "line one\nline two") in [(b.kind, b.text) for b in found]
    assert anchor("Will it fit?") == "will-it-fit" and anchor("OpenAI-compatible gateway (`/v1`)") == (
        "openai-compatible-gateway-v1")


def test_the_three_catalogs_say_the_same_things() -> None:
    assert missing() == {"pl": [], "de": [], "en": []}
    placeholders = re.compile(r"\{(\w+)\}")
    english = catalog(DEFAULT)
    for lang in LANGUAGES:
        texts = catalog(lang)
        assert all(text.strip() for text in texts.values()), lang
        for key, text in texts.items():
            assert set(placeholders.findall(text)) == set(placeholders.findall(english[key])), (lang, key)
    # Translated, with their own letters: not English left in place.
    for lang, letters in (("pl", "ąćęłńóśźż"), ("de", "äöüß")):
        texts = catalog(lang)
        own = [key for key in texts if texts[key] != english[key]]
        assert len(own) > 0.8 * len(texts), f"{lang}: {sorted(set(texts) - set(own))}"
        assert set(letters) <= set("".join(texts.values()).lower()), lang
    assert translator("pl")("installed.count", count=3) == "Zainstalowane: 3"
    assert translator("de")("no.such.key") == "no.such.key"
    assert (language("PL"), language("de-AT"), language("fr"), language(None)) == ("pl", "de", "en", "en")


def test_fragments_are_rendered_in_the_language_asked_for(runtime_settings: dict[str, Any]) -> None:
    with http_served(build(runtime_settings)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for lang, words in (("pl", ("Nic jeszcze nie zainstalowano", "Odśwież")),
                            ("de", ("Noch nichts installiert", "Aktualisieren")),
                            ("en", ("Nothing installed yet", "Refresh"))):
            page = client.get("/models/fragments/installed", params={"lang": lang}).text
            assert all(word in page for word in words), (lang, page)
            trending = client.get("/models/fragments/trending",
                                  params={"provider": "huggingface", "lang": lang}).text
            assert catalog(lang)["catalog.fit"] in trending and 'data-field="fit"' in trending
            shell = client.get("/models", params={"lang": lang}).text
            assert f'<html lang="{lang}">' in shell and catalog(lang)["resources.title"] in shell
