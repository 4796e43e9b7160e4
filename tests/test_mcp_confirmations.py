"""Confirmations: remove_model, unload_models, control_runtime stop and installs over 20 GB ask the user through
MCP elicitation when the client declared it; a client without elicitation must pass confirm=true and is told so.
Nothing is done on a decline or a cancel. Over stdio (`venom-mcp serve`) with the SDK's ClientSession, against the
fake Ollama and the fake Ollama registry (which says how big a pull is before it starts).

The REST API and the CLI have no MCP client to ask: their explicit call is the confirmation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.shared.context import RequestContext
from mcp.types import ElicitRequestParams, ElicitResult

from tests.conftest import http_served, make_settings
from tests.fakes.live import LiveServer
from tests.fakes.ollama import MEDIA_MODEL, FakeOllama, canonical_name
from tests.fakes.ollama_registry import FakeOllamaRegistry
from tests.mcp_clients import stdio_session
from tests.serve_process import server_env
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App

BIG = "bigmodel:70b"  # a 25 GB pull
BIG_BYTES = 25_000_000_000
HUB_BIG = "microsoft/phi-4"  # 29.3 GB of safetensors on the fake Hub


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[FakeOllamaRegistry, str]]:
    fake = FakeOllamaRegistry()
    with LiveServer(fake.app) as server:
        yield fake, server.url


@pytest.fixture
def big(ollama: FakeOllama, registry: tuple[FakeOllamaRegistry, str]) -> FakeOllama:
    """The fake Ollama and its registry with one more model, whose weights are 25 GB."""
    model = replace(ollama.library["llama3.2:1b"], name=BIG, layers=[(MEDIA_MODEL, BIG_BYTES)])
    ollama.library[canonical_name(BIG)] = model
    registry[0].add_fake_model(BIG, model)
    return ollama


class User:
    """The person behind the client: answers each confirmation with the next of `answers`."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.schemas: list[dict[str, Any]] = []

    async def __call__(self, context: RequestContext[ClientSession, Any], params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        self.schemas.append(getattr(params, "requestedSchema", {}))
        action = self.answers.pop(0)
        return ElicitResult(action=action, content={"confirm": True} if action == "accept" else None)  # type: ignore[arg-type]


def env_for(home: Path, hub_url: str, library_url: str, ollama_url: str, registry_url: str) -> dict[str, str]:
    return server_env(home, hub_url, library_url, ollama_url, VENOM_OLLAMA_REGISTRY_URL=registry_url)


async def test_an_eliciting_client_is_asked_and_a_no_changes_nothing(
    home: Path, hub_url: str, library_url: str, ollama_url: str, big: FakeOllama,
    registry: tuple[FakeOllamaRegistry, str], tmp_path: Path,
) -> None:
    ollama = big
    for name in ("gemma2:2b", "qwen2.5:0.5b"):
        ollama.install(name)
    ollama.load("gemma2:2b")
    user = User("decline", "cancel", "accept", "decline", "accept", "decline", "decline", "accept")
    env = env_for(home, hub_url, library_url, ollama_url, registry[1])
    async with stdio_session(env, tmp_path, elicitation_callback=user) as client:
        small = await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        assert small["status"] == "completed" and user.asked == [], "a small install asks nothing"

        declined = await error_text(client, "remove_model", name="qwen2.5:0.5b")
        assert "declined" in declined and "Nothing was done" in declined
        cancelled = await error_text(client, "remove_model", name="qwen2.5:0.5b")
        assert "cancelled" in cancelled
        assert canonical_name("qwen2.5:0.5b") in ollama.installed, "a no removes nothing"
        removed = await call(client, "remove_model", name="qwen2.5:0.5b")
        assert removed["status"] == "completed" and canonical_name("qwen2.5:0.5b") not in ollama.installed
        assert user.asked[0].startswith("Remove qwen2.5:0.5b") and len(user.asked) == 3
        assert user.schemas[0]["properties"]["confirm"]["type"] == "boolean"

        assert "declined" in await error_text(client, "unload_models")
        assert canonical_name("gemma2:2b") in ollama.loaded, "a no unloads nothing"
        unloaded = await call(client, "unload_models")
        assert {u["model"] for u in unloaded["unloaded"]} >= {"gemma2:2b"} and not ollama.loaded

        assert "declined" in await error_text(client, "control_runtime", server="ollama", action="stop")
        asked = len(user.asked)
        started = await call(client, "control_runtime", server="ollama", action="start")
        assert started["status"] == "online" and len(user.asked) == asked, "start asks nothing"

        text = await error_text(client, "install_model", name=BIG, provider="ollama", force=True)
        assert "declined" in text and "25.0 GB" in user.asked[-1]
        assert BIG not in [body["model"] for body in ollama.bodies("/api/pull")], "a no pulls nothing"
        operations = (await call(client, "list_operations"))["operations"]
        assert BIG not in [o["model_name"] for o in operations], "and starts no operation"
        done = await call(client, "install_model", name=BIG, provider="ollama", force=True, wait=True)
        assert done["status"] == "completed" and done["bytes_total"] == BIG_BYTES
        assert user.answers == []


async def test_a_client_without_elicitation_must_say_confirm_true(
    home: Path, hub_url: str, library_url: str, ollama_url: str, big: FakeOllama,
    registry: tuple[FakeOllamaRegistry, str], tmp_path: Path,
) -> None:
    ollama = big
    ollama.install("qwen2.5:0.5b")
    env = {**env_for(home, hub_url, library_url, ollama_url, registry[1]), "VENOM_RUNTIME_PROFILE": "full"}
    async with stdio_session(env, tmp_path) as client:
        for tool, arguments in (("remove_model", {"name": "qwen2.5:0.5b"}), ("unload_models", {}),
                                ("control_runtime", {"server": "ollama", "action": "stop"}),
                                ("install_model", {"name": BIG, "provider": "ollama", "force": True}),
                                ("install_model", {"name": HUB_BIG, "provider": "huggingface", "force": True})):
            text = await error_text(client, tool, **arguments)
            assert f"call {tool} again with confirm=true" in text and "nothing was done" in text, text
        assert f"{HUB_BIG}? It downloads 29.3 GB into MODELS_CACHE_DIR" in text, "the Hub files' size"
        assert canonical_name("qwen2.5:0.5b") in ollama.installed and not ollama.bodies("/api/pull")
        assert (await call(client, "list_operations"))["count"] == 0, "nothing was started"
        removed = await call(client, "remove_model", name="qwen2.5:0.5b", confirm=True)
        assert removed["status"] == "completed" and not ollama.installed
        op = await call(client, "install_model", name=BIG, provider="ollama", force=True, confirm=True, wait=True)
        assert op["status"] == "completed"
        schema = next(t.inputSchema for t in (await client.list_tools()).tools if t.name == "unload_models")
        assert schema["properties"]["confirm"]["type"] == "boolean"


async def test_rest_and_cli_callers_are_confirmed_by_their_call(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama, tmp_path: Path
) -> None:
    for name in ("gemma2:2b", "qwen2.5:0.5b"):
        ollama.install(name)
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url))
    with http_served(app) as live:
        answer = httpx.post(f"{live.url}/api/v1/models/remove", json={"name": "gemma2:2b"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
    assert canonical_name("gemma2:2b") not in ollama.installed
    cli = subprocess.run([sys.executable, "-m", "venom_mcp", "call", "remove_model", "name=qwen2.5:0.5b"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=server_env(home, hub_url, library_url, ollama_url))
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["status"] == "completed" and not ollama.installed
