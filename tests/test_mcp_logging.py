"""Logging: the server declares the logging capability and honours logging/setLevel per session: log messages
below the level a session asked for are not sent to it. Both kinds of log message are checked: a warning logged
during a tool call (over stdio, `venom-mcp serve`), and the alerts (two sessions of one server, one at `error`).

Each check is ordered, never timed: a message that was held back is followed by one that was let through, on the
same session's stream, in the order they were produced; the first one's absence is then certain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.shared.memory import create_connected_server_and_client_session

from tests.conftest import build
from tests.fakes.live import free_port
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.mcp_clients import Received, stdio_session, until
from tests.serve_process import server_env
from tests.test_catalog_tools import call, error_text
from venom_mcp.server import build_server


def mentions(received: Received, text: str) -> bool:
    return any(text in str(data) for _, data in received.logs)


async def test_set_level_holds_back_tool_warnings_below_it(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama, tmp_path: Path
) -> None:
    env = server_env(home, hub_url, library_url, ollama_url, VENOM_OLLAMA_REGISTRY_URL=f"http://127.0.0.1:{free_port()}")
    received = Received()
    ollama.fault = "pull_error"  # each install fails, and venom-mcp logs a warning saying so
    async with stdio_session(env, tmp_path, received) as client:
        capabilities = client.get_server_capabilities()
        assert capabilities is not None and capabilities.logging is not None
        await client.set_logging_level("error")
        assert "max retries" in await error_text(client, "install_model", name="qwen3:0.6b", provider="ollama",
                                                 wait=True)
        await client.set_logging_level("warning")
        assert "max retries" in await error_text(client, "install_model", name="gemma2:2b", provider="ollama",
                                                 wait=True)
        await until(lambda: mentions(received, "gemma2:2b"), "the warning of the second install")
        assert ("warning", next(d for _, d in received.logs if "gemma2:2b" in str(d))) in received.logs
        assert not mentions(received, "qwen3:0.6b"), "the first warning was below the session's level"


async def test_alerts_go_to_each_session_at_its_level(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    endpoint = runtime_settings["openai_base_url"]  # vLLM stands in: the fake OpenAI server 404s the served name
    app = build(runtime_settings, vllm_endpoint=endpoint)
    app.runtime_state.record("vllm", "org/served-name")
    server = build_server(app)
    quiet, loud = Received(), Received()
    try:
        async with (create_connected_server_and_client_session(server.lowlevel, message_handler=quiet.handle) as q,
                    create_connected_server_and_client_session(server.lowlevel, message_handler=loud.handle) as c):
            await q.set_logging_level("error")
            await c.set_logging_level("info")
            assert "MODEL_NOT_FOUND" in await error_text(c, "chat", prompt="hi")  # an alert is raised: a warning
            await until(lambda: any(d.get("event") == "raised" for _, d in loud.logs if isinstance(d, dict)),
                        "the raised alert")
            await q.set_logging_level("info")
            cloud.models.append("org/served-name")
            await call(c, "chat", prompt="hi")  # the alert clears: info
            await until(lambda: any(isinstance(d, dict) and d.get("event") == "cleared" for _, d in quiet.logs),
                        "the cleared alert on the quiet session")
            events = [(level, d["event"]) for level, d in quiet.logs if isinstance(d, dict) and "event" in d]
            assert events == [("info", "cleared")], "the raised warning came while it asked for errors only"
            assert [(lv, d["event"]) for lv, d in loud.logs if isinstance(d, dict) and "event" in d] == [
                ("warning", "raised"), ("info", "cleared")]
    finally:
        await app.aclose()
