"""install_model and activate_model as MCP tasks, through the SDK client's task API (`session.experimental`), over
stdio (`venom-mcp serve`) and streamable HTTP, against the fake Ollama (whose pull the tests hold and release).

A client that sends task metadata gets a task handle at once, polls tasks/get, reads the result with tasks/result
(the finished Operation, as wait=true gives it) and cancels with tasks/cancel (the operation is cancelled). Progress
notifications keep coming with the call's token. Clients without tasks see no change. The SDK marks its task API
deprecated for mcp 2.0; the warning is expected here."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.shared.exceptions import McpError
from mcp.types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    ClientRequest,
    TaskMetadata,
    TextContent,
)

from tests.conftest import http_served, make_settings
from tests.fakes.live import free_port
from tests.fakes.ollama import FakeOllama
from tests.mcp_clients import Received, http_session, stdio_session, until
from tests.serve_process import server_env
from tests.test_catalog_tools import call
from venom_mcp.app import App

pytestmark = pytest.mark.filterwarnings("ignore:The experimental tasks API is deprecated:DeprecationWarning")


def text_of(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


async def status_of(client: ClientSession, task_id: str) -> str:
    return (await client.experimental.get_task(task_id)).status


async def test_install_and_activate_as_tasks_over_stdio(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama, tmp_path: Path
) -> None:
    env = server_env(home, hub_url, library_url, ollama_url, VENOM_OLLAMA_REGISTRY_URL=f"http://127.0.0.1:{free_port()}")
    received = Received()
    ollama.pull_hold = threading.Event()
    try:
        async with stdio_session(env, tmp_path, received) as client:
            capabilities = client.get_server_capabilities()
            assert capabilities is not None and capabilities.tasks is not None and capabilities.tasks.cancel
            modes = {t.name: t.execution.taskSupport for t in (await client.list_tools()).tools if t.execution}
            assert modes == {"install_model": "optional", "activate_model": "optional"}

            created = await client.experimental.call_tool_as_task(
                "install_model", {"name": "llama3.2:1b", "provider": "ollama"}, meta={"progressToken": "pull-1"})
            task_id = created.task.taskId
            assert created.task.status == "working", "a handle at once, while the pull is held"
            working = await client.experimental.get_task(task_id)
            assert working.status == "working" and working.pollInterval
            (listed,) = (await client.experimental.list_tasks()).tasks
            assert listed.taskId == task_id
            ops = (await call(client, "list_operations"))["operations"]
            assert ops[0]["status"] in ("pending", "in_progress"), "the operation runs meanwhile"
            ollama.pull_hold.set()

            statuses = [s.status async for s in client.experimental.poll_task(task_id)]
            assert statuses[-1] == "completed"
            result = await client.experimental.get_task_result(task_id, CallToolResult)
            assert not result.isError and result.structuredContent is not None
            op = result.structuredContent
            assert op["status"] == "completed" and op["operation_id"] == ops[0]["operation_id"]
            assert op == await call(client, "operation_status", operation_id=op["operation_id"]), (
                "the finished Operation, as wait=true gives it")
            assert "installed llama3.2:1b" in str((await client.experimental.get_task(task_id)).statusMessage)
            await until(lambda: bool(received.progress) and received.progress[-1][0] == 100, "the last progress")
            values = [p for p, _, _ in received.progress]
            assert values == sorted(values) and all(total == 100 for _, total, _ in received.progress)

            activation = await client.experimental.call_tool_as_task(
                "activate_model", {"name": "llama3.2:1b", "runtime": "ollama"})
            async for _ in client.experimental.poll_task(activation.task.taskId):
                pass
            active = await client.experimental.get_task_result(activation.task.taskId, CallToolResult)
            assert not active.isError and active.structuredContent is not None
            assert (active.structuredContent["provider"], active.structuredContent["model"]) == ("ollama",
                                                                                                 "llama3.2:1b")

            plain = await client.call_tool("install_model", {"name": "llama3.2:1b", "provider": "ollama"})
            assert plain.structuredContent is not None and plain.structuredContent["status"] == "completed", (
                "without task metadata nothing changes")
    finally:
        ollama.pull_hold.set()


async def test_cancel_failure_and_other_sessions_over_http(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama
) -> None:
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url))
    ollama.pull_hold = threading.Event()
    try:
        with http_served(app) as live:
            url = f"{live.url}/mcp"
            async with http_session(url) as owner, http_session(url) as other:
                created = await owner.experimental.call_tool_as_task(
                    "install_model", {"name": "gemma2:2b", "provider": "ollama"})
                task_id = created.task.taskId
                assert (await other.experimental.list_tasks()).tasks == [], "each client sees its own tasks"
                for ask in (other.experimental.get_task, other.experimental.cancel_task):
                    with pytest.raises(McpError, match="Task not found"):
                        await ask(task_id)

                cancelled = await owner.experimental.cancel_task(task_id)
                assert cancelled.status == "cancelled"
                (op,) = (await call(owner, "list_operations"))["operations"]
                assert op["status"] == "cancelled", "tasks/cancel cancelled the operation"
                result = await owner.experimental.get_task_result(task_id, CallToolResult)
                assert result.isError and "cancelled" in text_of(result)
                with pytest.raises(McpError, match="terminal"):
                    await owner.experimental.cancel_task(task_id)
                assert "gemma2:2b" not in {m["name"] for m in (await call(owner, "installed_models"))["models"]}

                # The operation cancelled by cancel_operation ends its task too.
                again = await owner.experimental.call_tool_as_task(
                    "install_model", {"name": "qwen2.5:0.5b", "provider": "ollama"})
                running = next(o for o in (await call(owner, "list_operations"))["operations"]
                               if o["model_name"] == "qwen2.5:0.5b")
                await call(owner, "cancel_operation", operation_id=running["operation_id"])
                await until_status(owner, again.task.taskId, "cancelled")

                failed = await owner.experimental.call_tool_as_task(
                    "install_model", {"name": "bad name!", "provider": "ollama"})
                await until_status(owner, failed.task.taskId, "failed")
                error = await owner.experimental.get_task_result(failed.task.taskId, CallToolResult)
                assert error.isError and "name" in text_of(error)

                # Any other tool refuses task metadata (an error result: the SDK's tools/call answers no other way).
                refused = await owner.send_request(ClientRequest(CallToolRequest(params=CallToolRequestParams(
                    name="installed_models", arguments={}, task=TaskMetadata(ttl=60_000)))), CallToolResult)
                assert refused.isError and "does not support task" in text_of(refused)
    finally:
        ollama.pull_hold.set()


async def until_status(client: ClientSession, task_id: str, wanted: str) -> None:
    async for status in client.experimental.poll_task(task_id):
        last = status.status
    assert last == wanted, (last, wanted)


def test_the_stdio_server_ends_with_its_client_while_a_task_runs(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama, tmp_path: Path
) -> None:
    """A client that leaves cannot ask about its task any more: the process ends (the fake holds the pull for a
    minute, so a server that waited for it would not end within the deadline), and the install is interrupted."""
    env = server_env(home, hub_url, library_url, ollama_url, VENOM_OLLAMA_REGISTRY_URL=f"http://127.0.0.1:{free_port()}")
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "install_model", "arguments": {"name": "llama3.2:1b", "provider": "ollama"},
            "task": {"ttl": 60_000}}},
    ]
    ollama.pull_hold = threading.Event()
    proc = subprocess.Popen([sys.executable, "-m", "venom_mcp", "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        answer: dict[str, object] = {}
        while answer.get("id") != 2:
            answer = json.loads(proc.stdout.readline())
        assert answer["result"]["task"]["status"] == "working"  # type: ignore[index]
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        proc.stdout.close()
    finally:
        ollama.pull_hold.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (op,) = json.loads((home / "operations.json").read_text(encoding="utf-8"))["operations"]
    assert op["model_name"] == "llama3.2:1b" and op["status"] == "interrupted"


async def test_tasks_cancel_stops_an_activation(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama, tmp_path: Path
) -> None:
    """An activation waits for the requests in flight on its runtime: a chat the fake holds keeps it waiting, and
    tasks/cancel ends it there; the active model stays."""
    for name in ("llama3.2:1b", "gemma2:2b"):
        ollama.install(name)
    env = server_env(home, hub_url, library_url, ollama_url, VENOM_OLLAMA_REGISTRY_URL=f"http://127.0.0.1:{free_port()}")
    hold = threading.Event()
    try:
        async with stdio_session(env, tmp_path) as client, anyio.create_task_group() as background:
            await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
            ollama.hold = hold  # from now on a chat waits for it
            chats = ollama.hits["/api/chat"]  # the activation's own 1-token check was one
            background.start_soon(client.call_tool, "chat", {"prompt": "hi"})
            await until(lambda: ollama.hits["/api/chat"] > chats, "the chat in flight")
            created = await client.experimental.call_tool_as_task(
                "activate_model", {"name": "gemma2:2b", "runtime": "ollama"})

            async def activation() -> dict[str, object] | None:
                ops = (await call(client, "list_operations"))["operations"]
                return next((o for o in ops if o["operation_type"] == "activate" and o["model_name"] == "gemma2:2b"),
                            None)

            with anyio.fail_after(60):
                while (op := await activation()) is None or "waiting" not in str(op["message"]):
                    await anyio.sleep(0.05)
            assert await status_of(client, created.task.taskId) == "working"
            assert (await client.experimental.cancel_task(created.task.taskId)).status == "cancelled"
            op = await activation()
            assert op is not None and op["status"] == "cancelled", "tasks/cancel cancelled the activation"
            hold.set()
            status = await call(client, "runtime_status")
            assert status["active"]["model"] == "llama3.2:1b", "the active model stays"
            result = await client.experimental.get_task_result(created.task.taskId, CallToolResult)
            assert result.isError and "cancelled" in text_of(result)
    finally:
        hold.set()
