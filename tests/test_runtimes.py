"""Runtimes over MCP: cloud switching, slash commands, chat routing with capability folding and fallback,
resource usage, and real child processes started, health-checked, crashed, stopped and rolled back."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest
from mcp import ClientSession

from tests.conftest import GOOGLE_KEY, OPENAI_KEY, STUB, build, mcp_session
from tests.fakes.hub import TINY_GGUF
from tests.fakes.live import free_port
from tests.fakes.ollama import FakeOllama, seed_library
from tests.fakes.openai_server import GEMINI_PREFIX, OPENAI_PREFIX, FakeOpenAI
from tests.test_catalog_tools import call, error_text
from venom_mcp.services.runtimes import parse_slash_command


@pytest.fixture
async def session(runtime_settings: dict[str, Any]) -> AsyncIterator[ClientSession]:
    app = build(runtime_settings)
    async with mcp_session(app) as client:
        try:
            yield client
        finally:
            await app.runtimes.stop("llamacpp")  # no process may outlive the test


def test_parse_slash_command() -> None:
    assert parse_slash_command("/gem gemini-2.0-flash") == ("gem", "gemini-2.0-flash")
    assert parse_slash_command("  /GPT  ") == ("gpt", None)
    assert parse_slash_command("hello /gpt") is None and parse_slash_command("/") is None


async def test_cloud_switch_chat_and_keys(session: ClientSession, cloud: FakeOpenAI, home: Path) -> None:
    active = await call(session, "switch_runtime", provider="gpt")
    assert active["provider"] == "openai" and active["model"] == "gpt-4o-mini"
    assert active["service_type"] == "cloud" and active["status"] == "online"
    answer = await call(session, "chat", prompt="hi there", system="Be brief.")
    assert answer["text"] == "echo: hi there" and answer["llm_provider"] == "openai"
    assert answer["llm_model"] == "gpt-4o-mini" and answer["llm_endpoint"].endswith(OPENAI_PREFIX)
    assert answer["fallback_from"] is None and answer["latency_ms"] > 0
    sent = cloud.bodies()[-1]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_completion_tokens"] == 256, "OpenAI's reasoning models refuse max_tokens"
    assert cloud.auth_headers[-1] == f"Bearer {OPENAI_KEY}"
    gem = await call(session, "run_slash_command", text="/gem gemini-2.0-flash")
    assert gem["handled"] is True and gem["active"]["provider"] == "google" and gem["active"]["status"] == "online"
    answer = await call(session, "chat", prompt="hallo")
    assert answer["llm_provider"] == "google" and answer["llm_endpoint"].endswith(GEMINI_PREFIX)
    assert cloud.auth_headers[-1] == f"Bearer {GOOGLE_KEY}"
    assert json.loads((home / "runtime.json").read_text())["active"] == {"runtime": "google",
                                                                         "model": "gemini-2.0-flash"}
    for path in home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert OPENAI_KEY not in text and GOOGLE_KEY not in text, path


async def test_cloud_without_key_names_the_variable(runtime_settings: dict[str, Any]) -> None:
    app = build(runtime_settings, openai_api_key=None, google_api_key=None)
    async with mcp_session(app) as client:
        assert "OPENAI_API_KEY" in await error_text(client, "switch_runtime", provider="openai")
        assert "GOOGLE_API_KEY" in await error_text(client, "run_slash_command", text="/gem")
        assert "no active runtime" in await error_text(client, "chat", prompt="hi")


async def test_slash_commands_status_models_and_unknown(session: ClientSession, ollama: FakeOllama) -> None:
    await call(session, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
    switched = await call(session, "run_slash_command", text="/ollama llama3.2:1b")
    assert switched["handled"] and switched["active"]["provider"] == "ollama"
    assert switched["active"]["status"] == "online"
    status = await call(session, "run_slash_command", text="/status")
    assert status["handled"] and "llama3.2:1b" in status["message"] and "online" in status["message"]
    models = await call(session, "run_slash_command", text="/models")
    assert "llama3.2:1b (ollama)" in models["message"]
    unknown = await call(session, "run_slash_command", text="/dance")
    assert unknown["handled"] is False and "/gpt" in unknown["message"] and "/status" in unknown["message"]
    plain = await call(session, "run_slash_command", text="hello")
    assert plain["handled"] is False
    assert "needs a model" in await error_text(session, "run_slash_command", text="/vllm")


# Role branches for user and assistant only: Ollama would render nothing of a system message.
_DROPS_SYSTEM = (
    '{{- range .Messages }}{{ if eq .Role "user" }}<start_of_turn>user\n{{ .Content }}<end_of_turn>\n'
    '{{ else if eq .Role "assistant" }}<start_of_turn>model\n{{ .Content }}<end_of_turn>\n{{ end }}{{ end }}'
    "<start_of_turn>model\n"
)


async def test_chat_folds_the_system_prompt_for_models_without_a_system_role(
    session: ClientSession, ollama: FakeOllama
) -> None:
    gemma = seed_library()["gemma2:2b"]
    ollama.library["gemma-plain:2b"] = replace(gemma, name="gemma-plain:2b", template=_DROPS_SYSTEM)
    await call(session, "install_model", name="gemma-plain:2b", provider="ollama", wait=True)
    await call(session, "install_model", name="gemma2:2b", provider="ollama", wait=True)
    caps = (await call(session, "model_capabilities", name="gemma-plain:2b"))["capabilities"]
    assert caps["supports_system_role"] is False and caps["sources"]["supports_system_role"] == "detected"
    await call(session, "activate_model", name="gemma-plain:2b", runtime="ollama")
    answer = await call(session, "chat", prompt="Hi", system="Answer in Polish.", max_tokens=16, temperature=0.2)
    assert answer["llm_provider"] == "ollama" and answer["llm_model"] == "gemma-plain:2b"
    sent = ollama.bodies("/api/chat")[-1]
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert sent["messages"][0]["content"] == "Answer in Polish.\n\nHi"
    assert sent["options"] == {"num_ctx": 8192, "num_predict": 16, "temperature": 0.2}, "max_tokens: num_predict"
    # Gemma 2's own template renders a system message as a user turn itself: it is sent as it is.
    await call(session, "switch_runtime", provider="ollama", model="gemma2:2b")
    await call(session, "chat", prompt="Hi", system="Answer in Polish.")
    assert [m["role"] for m in ollama.bodies("/api/chat")[-1]["messages"]] == ["system", "user"]


async def test_fallback_order_and_errors_naming_what_failed(
    runtime_settings: dict[str, Any], ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    app = build(runtime_settings, fallback_order="gpt")
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        ollama.fault = "error"
        answer = await call(client, "chat", prompt="still there?")
        assert answer["llm_provider"] == "openai" and answer["fallback_from"] == "ollama"
        cloud.fault = "error"
        text = await error_text(client, "chat", prompt="and now?")
        assert "ollama (llama3.2:1b at" in text and "openai (gpt-4o-mini at" in text and "500" in text
    alone = build(runtime_settings)
    async with mcp_session(alone) as client:
        text = await error_text(client, "chat", prompt="hi")
        assert "llama3.2:1b" in text and ollama.fault == "error" and "VENOM_FALLBACK_ORDER" in text


async def test_resource_usage_and_status_in_the_light_profile(
    runtime_settings: dict[str, Any], ollama: FakeOllama
) -> None:
    app = build(runtime_settings, runtime_profile="light")
    async with mcp_session(app) as client:
        await call(client, "install_model", name="gemma2:2b", provider="ollama", wait=True)
        usage = await call(client, "resource_usage")
        assert usage["models_count"] == 1 and usage["disk_limit_gb"] == 50
        assert usage["disk_usage_gb"] == pytest.approx(ollama.library["gemma2:2b"].size / 1e9, abs=0.01)
        assert usage["memory_total_gb"] > 0 and 0 <= usage["cpu_usage_percent"] <= 100
        assert usage["gpu_usage_percent"] is None and usage["vram_total_mb"] is None  # no GPU here
        status = await call(client, "runtime_status")
        assert [s["name"] for s in status["servers"]] == ["ollama"]
        assert status["servers"][0]["status"] == "online" and status["servers"][0]["managed_by"] == "external"
        text = await error_text(client, "control_runtime", server="vllm", action="start")
        assert "VENOM_RUNTIME_PROFILE=light" in text
        stopped = await call(client, "control_runtime", server="ollama", action="stop", confirm=True)
        assert "outside venom-mcp" in stopped["error"] and stopped["status"] == "online"


async def test_managed_server_lifecycle_crash_and_rollback(session: ClientSession, home: Path) -> None:
    await call(session, "install_model", name=f"{TINY_GGUF}:Q8_0", provider="hf", wait=True)
    await call(session, "install_model", name=f"{TINY_GGUF}:F16", provider="hf", wait=True)
    assert "activate_model" in await error_text(session, "control_runtime", server="llamacpp", action="start")
    active = await call(session, "activate_model", name=f"{TINY_GGUF}:Q8_0", runtime="llamacpp")
    assert active["status"] == "online" and active["model"] == f"{TINY_GGUF}:Q8_0"
    server = next(s for s in (await call(session, "runtime_status"))["servers"] if s["name"] == "llamacpp")
    assert server["managed_by"] == "process" and server["status"] == "online"
    assert server["served_model_name"] == f"{TINY_GGUF}:Q8_0" and server["memory_mb"] > 1
    pid = server["pid"]
    assert pid and psutil.Process(pid).cmdline()[1] == str(STUB)
    again = await call(session, "control_runtime", server="llamacpp", action="start")
    assert again["pid"] == pid, "starting a running server is a no-op"
    # A model that cannot load: the error carries the log tail, and the previous model serves again.
    text = await error_text(session, "activate_model", name=f"{TINY_GGUF}:F16", runtime="llamacpp")
    assert "exited with status 3" in text and "failed to load model" in text
    assert f"rolled back to {TINY_GGUF}:Q8_0" in text
    server = next(s for s in (await call(session, "runtime_status"))["servers"] if s["name"] == "llamacpp")
    assert server["status"] == "online" and server["served_model_name"] == f"{TINY_GGUF}:Q8_0"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    # A crash is seen as offline.
    os.kill(server["pid"], signal.SIGKILL)
    crashed = await call(session, "control_runtime", server="llamacpp", action="stop", confirm=True)
    assert crashed["status"] == "offline"
    restarted = await call(session, "control_runtime", server="llamacpp", action="start")
    assert restarted["status"] == "online" and restarted["pid"] != server["pid"]
    # Stop leaves no process behind.
    children = psutil.Process(restarted["pid"]).children(recursive=True)
    stopped = await call(session, "control_runtime", server="llamacpp", action="stop", confirm=True)
    assert stopped["status"] == "offline" and stopped["pid"] is None
    assert not psutil.pid_exists(restarted["pid"])
    assert all(not psutil.pid_exists(c.pid) for c in children)
    assert not (home / "run" / "llamacpp.pid").exists()
    log_text = (home / "logs" / "llamacpp.log").read_text()
    assert "starting:" in log_text and "failed to load model" in log_text


async def test_alias_mismatch_is_degraded(session: ClientSession, home: Path) -> None:
    await call(session, "install_model", name=f"{TINY_GGUF}:Q8_0", provider="hf", wait=True)
    await call(session, "activate_model", name=f"{TINY_GGUF}:Q8_0", runtime="llamacpp")
    state = json.loads((home / "runtime.json").read_text())
    state["models"]["llamacpp"] = "some-other-alias"
    (home / "runtime.json").write_text(json.dumps(state))
    server = next(s for s in (await call(session, "runtime_status"))["servers"] if s["name"] == "llamacpp")
    assert server["status"] == "degraded" and "404" in server["error"]


async def test_vllm_activation_restarts_the_server_with_the_served_model_name(
    runtime_settings: dict[str, Any], home: Path
) -> None:
    from tests.fakes.hub import TINY_CHAT

    port = free_port()
    app = build(runtime_settings, vllm_endpoint=f"http://127.0.0.1:{port}/v1",
                vllm_command=f"{sys.executable} {STUB} --host {{host}} --port {{port}} "
                             "--model {served_model_name} --model-path {model_path}")
    async with mcp_session(app) as client:
        try:
            await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
            active = await call(client, "switch_runtime", provider="vllm", model=TINY_CHAT)
            assert active["provider"] == "vllm" and active["status"] == "online"
            server = next(s for s in (await call(client, "runtime_status"))["servers"] if s["name"] == "vllm")
            argv = psutil.Process(server["pid"]).cmdline()
            snapshot = app.registry.find(TINY_CHAT).local_path
            assert argv[argv.index("--model") + 1] == TINY_CHAT and argv[argv.index("--model-path") + 1] == snapshot
            answer = await call(client, "chat", prompt="ping", max_tokens=4)
            assert answer["llm_provider"] == "vllm" and answer["text"].startswith("echo")
        finally:
            await app.runtimes.stop("vllm")


async def test_systemd_unit_is_driven_with_systemctl(
    runtime_settings: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ollama: FakeOllama
) -> None:
    calls = tmp_path / "systemctl.calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = show ] && echo 0\nexit 0\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    app = build(runtime_settings, ollama_systemd_unit="ollama.service")
    async with mcp_session(app) as client:
        started = await call(client, "control_runtime", server="ollama", action="restart")
        assert started["managed_by"] == "systemd" and started["status"] == "online"
        stopped = await call(client, "control_runtime", server="ollama", action="stop", confirm=True)
        assert stopped["managed_by"] == "systemd"
    lines = [line for line in calls.read_text().splitlines() if not line.startswith("show")]
    assert lines == ["restart ollama.service", "stop ollama.service"]
    assert not (app.settings.venom_home / "run" / "ollama.pid").exists(), "no managed process was started"
