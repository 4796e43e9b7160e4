"""The MCP Inspector CLI (`@modelcontextprotocol/inspector --cli`, pinned in tests/node/) as a real third-party
client of venom-mcp, over stdio (`venom-mcp serve`, one server process per call, state kept in VENOM_HOME) and over
streamable HTTP (`venom-mcp serve --transport http`): tools, prompts (the slash commands) and resources."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.live import LiveServer
from tests.fakes.openai_server import GEMINI_PREFIX, OPENAI_PREFIX, FakeOpenAI
from tests.node_tools import NodeTools, tools_or_skip
from tests.serve_process import clean_env, served_over_http

CALL_TIMEOUT_S = 300  # a bound for a hung client, not a measurement
IS_ERROR_EXIT = 5  # the Inspector CLI's exit status for a tool result with isError: true


@pytest.fixture(scope="module")
def node_tools() -> NodeTools:
    return tools_or_skip()


@pytest.fixture
def settings_env(home: Path, hub_url: str, library_url: str, ollama_url: str,
                 cloud_server: tuple[FakeOpenAI, LiveServer], cloud: FakeOpenAI) -> dict[str, str]:
    """venom-mcp's settings for the server: the fakes, and fake keys for the cloud runtimes."""
    url = cloud_server[1].url
    return {"VENOM_HOME": str(home), "HF_ENDPOINT": hub_url, "VENOM_OLLAMA_LIBRARY_URL": library_url,
            "OLLAMA_HOST": ollama_url, "OPENAI_API_KEY": "sk-test-inspector", "OPENAI_BASE_URL": url + OPENAI_PREFIX,
            "GOOGLE_API_KEY": "AIza-test-inspector", "GOOGLE_BASE_URL": url + GEMINI_PREFIX}


@dataclass
class Inspector:
    tools: NodeTools
    target: list[str]  # the options that name the server
    env: dict[str, str]
    cwd: Path

    def run(self, method: str, *args: str, exit_status: int = 0) -> dict[str, Any]:
        argv = self.tools.inspector_cli("--format", "json", "--method", method, *args, *self.target)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CALL_TIMEOUT_S, env=self.env,
                              cwd=self.cwd)
        assert proc.returncode == exit_status, f"{method} {args}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
        reply = json.loads(proc.stdout)
        assert "result" in reply, reply
        return dict(reply["result"])

    def call(self, tool: str, *pairs: str, exit_status: int = 0) -> dict[str, Any]:
        args = ("--tool-name", tool, *(("--tool-arg", *pairs) if pairs else ()))
        return self.run("tools/call", *args, exit_status=exit_status)


def client_env(tmp_path: Path) -> dict[str, str]:
    """The Inspector's own environment: a HOME of its own, where it keeps its catalog and secrets files."""
    return {**clean_env(), "HOME": str(tmp_path / "inspector-home")}


def prompt_text(result: dict[str, Any]) -> str:
    (message,) = result["messages"]
    assert message["role"] == "user" and message["content"]["type"] == "text"
    return str(message["content"]["text"])


def exercise(inspector: Inspector, ollama_url: str) -> None:
    """What a user of the Inspector does with venom-mcp; the same for both transports."""
    # tools/list: the catalog with schemas; --strict reports schema portability problems and exits 6 on errors.
    tools = {t["name"]: t for t in inspector.run("tools/list", "--strict")["tools"]}
    assert {"list_models", "trending_models", "install_model", "runtime_status", "resource_usage", "chat"} <= set(tools)
    for tool in tools.values():
        assert tool["description"] and tool["inputSchema"]["type"] == "object" and "outputSchema" in tool, tool

    # tools/call of read-only tools without arguments.
    status = inspector.call("runtime_status")
    assert status["isError"] is False
    servers = {s["name"]: s for s in status["structuredContent"]["servers"]}
    assert servers["ollama"]["endpoint"] == ollama_url, "the server runs with the settings the client passed"
    usage = inspector.call("resource_usage")["structuredContent"]
    assert usage["disk_limit_gb"] == 50 and usage["models_count"] == 0

    # tools/call with arguments (key=value pairs, which the Inspector types from the input schema).
    trending = inspector.call("trending_models", "provider=huggingface", "limit=2")["structuredContent"]
    assert trending["provider"] == "huggingface" and trending["count"] == 2 and len(trending["models"]) == 2
    assert json.loads(inspector.call("installed_models")["content"][0]["text"])["count"] == 0
    refused = inspector.call("trending_models", "provider=nope", exit_status=IS_ERROR_EXIT)
    assert refused["isError"] is True and "huggingface" in refused["content"][0]["text"]

    # prompts: the slash commands, with their arguments; getting one switches the runtime.
    prompts = {p["name"]: p for p in inspector.run("prompts/list")["prompts"]}
    assert {"gpt", "gem", "ollama", "vllm", "llamacpp", "status", "models", "install"} <= set(prompts)
    assert prompts["gpt"]["title"] == "/gpt"
    assert [(a["name"], a.get("required")) for a in prompts["ollama"]["arguments"]] == [("model", True)]
    switched = prompt_text(inspector.run("prompts/get", "--prompt-name", "gpt", "--prompt-args", "model=gpt-4o-mini"))
    assert "openai with gpt-4o-mini" in switched
    assert "openai with gpt-4o-mini" in prompt_text(inspector.run("prompts/get", "--prompt-name", "status"))
    assert "google" in prompt_text(inspector.run("prompts/get", "--prompt-name", "gem"))

    # resources: listed, and read as JSON that follows the switch above.
    resources = {r["uri"]: r for r in inspector.run("resources/list")["resources"]}
    assert {"venom://models/installed", "venom://runtime/status"} <= set(resources)
    assert resources["venom://runtime/status"]["mimeType"] == "application/json"
    (content,) = inspector.run("resources/read", "--uri", "venom://runtime/status")["contents"]
    assert content["mimeType"] == "application/json"
    assert json.loads(content["text"])["active"]["provider"] == "google"
    (installed,) = inspector.run("resources/read", "--uri", "venom://models/installed")["contents"]
    assert json.loads(installed["text"])["models"] == []


def test_inspector_over_stdio(node_tools: NodeTools, settings_env: dict[str, str], ollama_url: str,
                              tmp_path: Path) -> None:
    # The Inspector hands a stdio server only a few variables of its own environment (PATH, HOME...): the
    # settings go with -e. The working directory is an empty folder, so no .env file is read.
    target = [arg for key, value in settings_env.items() for arg in ("-e", f"{key}={value}")]
    target += ["--cwd", str(tmp_path), "--", sys.executable, "-m", "venom_mcp", "serve"]
    exercise(Inspector(node_tools, target, client_env(tmp_path), tmp_path), ollama_url)


def test_inspector_over_streamable_http(node_tools: NodeTools, settings_env: dict[str, str], ollama_url: str,
                                        tmp_path: Path) -> None:
    with served_over_http({**client_env(tmp_path), **settings_env}, tmp_path) as url:
        target = ["--transport", "http", "--server-url", url]
        exercise(Inspector(node_tools, target, client_env(tmp_path), tmp_path), ollama_url)
