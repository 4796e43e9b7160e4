"""Resource subscriptions through the SDK's ClientSession: over stdio (`venom-mcp serve` as a client spawns it) and
over streamable HTTP (the notifications travel on the session's GET stream), against the fake Ollama.

A subscribed client hears `notifications/resources/updated` when an install progresses and ends, when the installed
models change and when the runtime switches; every client hears `list_changed` when the set of installed models
changes (resources/list names each one's capabilities). Unsubscribing is honoured, and a session that ended is
forgotten with its subscriptions."""

from __future__ import annotations

import gc
import json
import threading
from pathlib import Path
from typing import Any

from mcp.shared.memory import create_connected_server_and_client_session
from pydantic import AnyUrl

from tests.conftest import http_served, make_settings
from tests.fakes.live import free_port
from tests.fakes.ollama import FakeOllama
from tests.mcp_clients import Received, http_session, stdio_session, until
from tests.serve_process import server_env
from tests.test_catalog_tools import call
from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.server import build_server

INSTALLED = "venom://models/installed"
RUNTIME = "venom://runtime/status"
LLAMA_CAPS = "venom://models/llama3.2%3A1b/capabilities"


def stdio_env(home: Path, hub_url: str, library_url: str, ollama_url: str) -> dict[str, str]:
    # No registry on loopback: nothing leaves the machine (the fit check notes it could not tell).
    return server_env(home, hub_url, library_url, ollama_url,
                      VENOM_OLLAMA_REGISTRY_URL=f"http://127.0.0.1:{free_port()}")


async def read(session: Any, uri: str) -> Any:
    (content,) = (await session.read_resource(AnyUrl(uri))).contents
    return json.loads(content.text)


async def test_a_subscribed_stdio_client_hears_an_install_and_a_switch(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama, tmp_path: Path
) -> None:
    received = Received()
    ollama.pull_hold = threading.Event()
    try:
        async with stdio_session(stdio_env(home, hub_url, library_url, ollama_url), tmp_path, received) as client:
            capabilities = client.get_server_capabilities()
            assert capabilities is not None and capabilities.resources is not None
            assert capabilities.resources.subscribe is True and capabilities.resources.listChanged is True
            listed = {str(r.uri) for r in (await client.list_resources()).resources}
            assert listed == {INSTALLED, RUNTIME}
            await client.subscribe_resource(AnyUrl(INSTALLED))
            await client.subscribe_resource(AnyUrl(RUNTIME))

            op = await call(client, "install_model", name="llama3.2:1b", provider="ollama")  # held by the fake
            op_uri = f"venom://operations/{op['operation_id']}"
            await client.subscribe_resource(AnyUrl(op_uri))
            assert (await read(client, op_uri))["status"] in ("pending", "in_progress"), "held by the fake"
            ollama.pull_hold.set()

            await until(lambda: op_uri in received.updated and INSTALLED in received.updated
                        and received.list_changed > 0, "the install's notifications")
            assert (await read(client, op_uri))["status"] == "completed"
            listed = {str(r.uri) for r in (await client.list_resources()).resources}
            assert listed == {INSTALLED, RUNTIME, LLAMA_CAPS}, "the new model's capabilities are listed"
            assert (await read(client, LLAMA_CAPS))["model_name"] == "llama3.2:1b"
            assert "llama3.2:1b" in {m["name"] for m in (await read(client, INSTALLED))["models"]}

            before = received.updated.count(RUNTIME)
            active = await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
            assert active["model"] == "llama3.2:1b"
            await until(lambda: received.updated.count(RUNTIME) > before, "the switch's notification")
            assert (await read(client, RUNTIME))["active"]["model"] == "llama3.2:1b"
            assert any(m["active"] for m in (await read(client, INSTALLED))["models"])
    finally:
        ollama.pull_hold.set()


async def test_an_http_client_hears_on_its_get_stream_and_unsubscribes(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama
) -> None:
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url))
    watcher, bystander = Received(), Received()
    with http_served(app) as live:
        url = f"{live.url}/mcp"
        async with http_session(url, watcher) as first, http_session(url, bystander) as second:
            await first.subscribe_resource(AnyUrl(INSTALLED))
            await second.list_resources()  # a client that listed the resources hears when the list changes
            await call(first, "install_model", name="gemma2:2b", provider="ollama", wait=True)
            await until(lambda: INSTALLED in watcher.updated and watcher.list_changed and bystander.list_changed,
                        "updated and list_changed over HTTP")
            assert INSTALLED not in bystander.updated, "only subscribers hear of a resource"

            await first.unsubscribe_resource(AnyUrl(INSTALLED))
            await first.subscribe_resource(AnyUrl(RUNTIME))
            heard = len(watcher.updated)
            await call(second, "remove_model", name="gemma2:2b", confirm=True)
            await until(lambda: bystander.list_changed > 1, "the removal's list_changed")
            await until(lambda: watcher.list_changed > 1, "the removal's list_changed to the first client")
            assert INSTALLED not in watcher.updated[heard:], "unsubscribed: no more updates of it"


async def test_unsubscribe_is_honoured_and_an_ended_session_is_forgotten(settings: Settings,
                                                                         ollama: FakeOllama) -> None:
    app = App(settings)
    server = build_server(app)
    assert server.events is not None
    kept, left = Received(), Received()
    try:
        async with create_connected_server_and_client_session(server.lowlevel, message_handler=kept.handle) as stays:
            async with create_connected_server_and_client_session(server.lowlevel,
                                                                  message_handler=left.handle) as leaves:
                for client in (stays, leaves):
                    await client.subscribe_resource(AnyUrl(RUNTIME))
                await stays.subscribe_resource(AnyUrl(INSTALLED))
                await stays.unsubscribe_resource(AnyUrl(RUNTIME))
                assert len(server.sessions) == 2 and server.sessions.watched(RUNTIME)
            # `leaves` has ended: the next change forgets it (or the garbage collector did already).
            app.runtime_state.touched()
            gc.collect()
            await until(lambda: server.events.idle and INSTALLED in kept.updated, "the change to be sent")  # type: ignore[union-attr]
            assert not server.sessions.watched(RUNTIME), "nobody is subscribed to it any more"
            assert len(server.sessions) == 1
            assert RUNTIME not in kept.updated, "unsubscribed before the change"
            assert left.updated == [], "the session had ended before the change"
    finally:
        await app.aclose()
