"""Install, remove, activate and operations for Ollama models, over MCP, against the fake Ollama API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession

from tests.conftest import make_settings, mcp_session
from tests.fakes.ollama import FakeOllama
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App


async def wait_done(client: ClientSession, operation_id: str, seconds: float = 15) -> dict[str, Any]:
    with anyio.fail_after(seconds):
        while True:
            op = await call(client, "operation_status", operation_id=operation_id)
            if op["status"] not in ("pending", "in_progress"):
                return op
            await anyio.sleep(0.02)


async def test_pull_relays_real_byte_progress_and_records_capabilities(
    client: ClientSession, ollama: FakeOllama, home: Path
) -> None:
    ollama.pull_chunks, ollama.pull_delay = 10, 0.03
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    result = await client.call_tool(
        "install_model", {"name": "llama3.2:1b", "provider": "ollama", "wait": True}, progress_callback=on_progress
    )
    assert not result.isError, result.content
    op = result.structuredContent
    assert op is not None and op["status"] == "completed" and op["progress"] == 100
    total = ollama.library["llama3.2:1b"].size
    assert op["bytes_total"] == total and op["bytes_done"] == total
    assert len(seen) >= 2, "several progress notifications while the pull ran"
    values = [p for p, _, _ in seen]
    assert values == sorted(values) and any(0 < v < 100 for v in values)
    assert any(m and m.startswith("pulling ") for _, _, m in seen)
    # Every percentage is a ratio of bytes Ollama reported, not a made-up step.
    assert all(t == 100 for _, t, _ in seen)
    assert seen[-1][0] == 100, "the final notification is delivered before the result"
    caps = await call(client, "model_capabilities", name="llama3.2:1b")
    assert caps["capabilities"]["supports_function_calling"] is True
    assert caps["capabilities"]["max_context_length"] == ollama.library["llama3.2:1b"].context_length
    assert caps["capabilities"]["quantization"] == ollama.library["llama3.2:1b"].details["quantization_level"]
    assert caps["capabilities"]["source"] == "detected"
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in manifest["models"]] == ["llama3.2:1b"]
    assert manifest["models"][0]["sha256"] == ollama.library["llama3.2:1b"].digest
    installed = await call(client, "installed_models")
    assert [m["name"] for m in installed["models"]] == ["llama3.2:1b"] and installed["count"] == 1


async def test_background_install_dedupes_and_serialises_per_runtime(client: ClientSession, ollama: FakeOllama) -> None:
    ollama.pull_chunks, ollama.pull_delay = 10, 0.02
    first = await call(client, "install_model", name="gemma2:2b", provider="ollama")
    again = await call(client, "install_model", name="gemma2:2b", provider="ollama")
    assert again["operation_id"] == first["operation_id"]
    second = await call(client, "install_model", name="qwen2.5:0.5b", provider="ollama")
    assert second["operation_id"] != first["operation_id"]
    overlapped = False
    with anyio.fail_after(20):
        while True:
            # One read of both (list_operations), not two calls: between two calls the first can end and the second
            # start, and two reads taken at different moments would show both running.
            listed = {o["operation_id"]: o for o in (await call(client, "list_operations", limit=5))["operations"]}
            a, b = listed[first["operation_id"]], listed[second["operation_id"]]
            assert not (a["status"] == "in_progress" and b["status"] == "in_progress"), "same runtime ran twice"
            overlapped |= a["status"] == "in_progress" and b["status"] == "pending"
            if a["status"] == "completed" and b["status"] == "completed":
                break
            await anyio.sleep(0.01)
    assert overlapped, "the second install waited while the first ran"
    pulls = [body["model"] for body in ollama.bodies("/api/pull")]
    assert pulls == ["gemma2:2b", "qwen2.5:0.5b"]
    listed = await call(client, "list_operations", limit=5)
    assert [o["operation_id"] for o in listed["operations"]][:2] == [second["operation_id"], first["operation_id"]]


async def test_cancel_stops_the_pull_and_writes_nothing(client: ClientSession, ollama: FakeOllama, home: Path) -> None:
    ollama.pull_chunks, ollama.pull_delay = 50, 0.05
    op = await call(client, "install_model", name="llama3.2:1b", provider="ollama")
    with anyio.fail_after(10):
        while (await call(client, "operation_status", operation_id=op["operation_id"]))["bytes_done"] in (None, 0):
            await anyio.sleep(0.02)
    cancelled = await call(client, "cancel_operation", operation_id=op["operation_id"])
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    assert 0 < cancelled["progress"] < 100
    assert not (home / "manifest.json").exists()
    assert "llama3.2:1b" not in ollama.installed


async def test_pull_failures_end_the_operation_as_failed(client: ClientSession, ollama: FakeOllama, home: Path) -> None:
    ollama.fault = "pull_error"
    op = await wait_done(
        client, (await call(client, "install_model", name="qwen3:0.6b", provider="ollama"))["operation_id"]
    )
    assert op["status"] == "failed" and "max retries exceeded" in op["error"]
    ollama.fault = "down_mid_pull"
    op = await wait_done(
        client, (await call(client, "install_model", name="qwen3:0.6b", provider="ollama"))["operation_id"]
    )
    assert op["status"] == "failed" and "broke off" in op["error"]
    ollama.fault = None
    missing = await wait_done(
        client, (await call(client, "install_model", name="no-such-model", provider="ollama"))["operation_id"]
    )
    assert missing["status"] == "failed" and "file does not exist" in missing["error"]
    assert not (home / "manifest.json").exists()
    # Without the fault the same install goes through: the failures above came from the faults.
    ok = await call(client, "install_model", name="qwen3:0.6b", provider="ollama", wait=True)
    assert ok["status"] == "completed"
    assert (await call(client, "installed_models"))["count"] == 1


async def test_bad_input_is_refused_and_nothing_is_written(client: ClientSession, home: Path) -> None:
    for name in ("-rf", "../etc/passwd", "/abs/path", "a" * 201, "bad name!", "org/../x", "llama:..", ""):
        text = await error_text(client, "install_model", name=name, provider="ollama")
        assert "model name" in text or "name" in text, (name, text)
    assert "huggingface" in await error_text(client, "install_model", name="x", provider="pypi")
    assert "ollama" in await error_text(client, "install_model", name="llama3.2:1b", provider="ollama", runtime="vllm")
    assert "vllm" in await error_text(client, "install_model", name="org/repo", provider="hf", runtime="ollama")
    assert "list_operations" in await error_text(client, "operation_status", operation_id="nope")
    assert "list_operations" in await error_text(client, "cancel_operation", operation_id="nope")
    assert "not installed" in await error_text(client, "model_capabilities", name="ghost:1b")
    assert not (home / "manifest.json").exists() and not (home / "operations.json").exists()


async def test_unreachable_ollama_names_ollama_host(
    home: Path, hub_url: str, library_url: str, closed_url: str
) -> None:


    app = App(make_settings(home, hub_url, library_url, ollama_host=closed_url))
    async with mcp_session(app) as session:
        text = await error_text(session, "install_model", name="llama3.2:1b", provider="ollama")
        assert "OLLAMA_HOST" in text and closed_url in text
        installed = await call(session, "installed_models")
        assert installed["count"] == 0 and "OLLAMA_HOST" in installed["warnings"][0]
    assert not (home / "operations.json").exists()


async def test_activate_loads_with_profile_keep_alive_and_guards_removal(
    client: ClientSession, ollama: FakeOllama, home: Path
) -> None:
    await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
    await call(client, "install_model", name="gemma2:2b", provider="ollama", wait=True)
    active = await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
    assert active == {
        **active,
        "provider": "ollama",
        "model": "llama3.2:1b",
        "service_type": "local",
        "status": "online",
    }
    loads = [b for b in ollama.bodies("/api/generate") if b.get("model") == "llama3.2:1b"]
    assert loads and loads[-1]["keep_alive"] == "30m" and "prompt" not in loads[-1]
    state = json.loads((home / "runtime.json").read_text(encoding="utf-8"))
    assert state["active"] == {"runtime": "ollama", "model": "llama3.2:1b"}
    installed = await call(client, "installed_models")
    assert {m["name"]: m["active"] for m in installed["models"]} == {"llama3.2:1b": True, "gemma2:2b": False}
    text = await error_text(client, "remove_model", name="llama3.2:1b")
    assert "activate another model first" in text
    assert "cannot run on vllm" in await error_text(
        client, "activate_model", name="gemma2:2b", runtime="vllm"
    ) or "VENOM_RUNTIME_PROFILE" in await error_text(client, "activate_model", name="gemma2:2b", runtime="vllm")
    removed = await call(client, "remove_model", name="gemma2:2b", confirm=True)
    assert removed["status"] == "completed" and removed["operation_type"] == "remove"
    assert "gemma2:2b" not in ollama.installed
    assert [m["name"] for m in (await call(client, "installed_models"))["models"]] == ["llama3.2:1b"]
    assert "not installed" in await error_text(client, "remove_model", name="gemma2:2b")


async def test_models_installed_outside_venom_are_listed_and_activatable(
    client: ClientSession, ollama: FakeOllama
) -> None:
    ollama.install("qwen2.5:0.5b")
    installed = await call(client, "installed_models", runtime="ollama")
    assert [m["name"] for m in installed["models"]] == ["qwen2.5:0.5b"]
    assert installed["models"][0]["status"] == "external"
    assert "not installed" in await error_text(client, "activate_model", name="qwen2.5", runtime="ollama")
    active = await call(client, "activate_model", name="qwen2.5:0.5b", runtime="ollama")
    assert active["model"] == "qwen2.5:0.5b" and active["status"] == "online"
    assert "qwen2.5:0.5b" in ollama.loaded


async def test_restart_marks_running_operations_interrupted(settings: Any, ollama: FakeOllama) -> None:
    ollama.pull_chunks, ollama.pull_delay = 50, 0.05
    first = App(settings)
    op = await first.registry.install("llama3.2:1b", "ollama")
    with anyio.fail_after(10):
        while first.operations.get(op.operation_id).status != "in_progress":
            await anyio.sleep(0.01)
    await first.aclose()  # the server stops while the pull runs
    second = App(settings)
    try:
        after = second.operations.get(op.operation_id)
        assert after.status == "interrupted" and after.finished_at is not None
        assert second.registry.manifest() == []
    finally:
        await second.aclose()
    # A process that died without closing leaves "in_progress" on disk: it is read back as interrupted too.
    path = settings.path("operations.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["operations"][0]["status"] = "in_progress"
    path.write_text(json.dumps(data), encoding="utf-8")
    third = App(settings)
    try:
        assert third.operations.get(op.operation_id).status == "interrupted"
    finally:
        await third.aclose()


async def test_corrupt_manifest_is_moved_aside_and_reported(client: ClientSession, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "manifest.json").write_text('{"models": [ {"name": ', encoding="utf-8")
    installed = await call(client, "installed_models")
    assert installed["count"] == 0
    assert any("moved to manifest.json.corrupt-" in w for w in installed["warnings"])
    aside = list(home.glob("manifest.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8").startswith('{"models"')
    await call(client, "install_model", name="gemma2:2b", provider="ollama", wait=True)
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in manifest["models"]] == ["gemma2:2b"]


def test_cli_install_waits_and_draws_a_progress_bar(
    home: Path, hub_url: str, library_url: str, ollama_url: str, ollama: FakeOllama
) -> None:
    import subprocess
    import sys

    from tests.test_transports import server_env

    ollama.pull_chunks, ollama.pull_delay = 10, 0.03
    env = {**server_env(home, hub_url, library_url), "OLLAMA_HOST": ollama_url}
    proc = subprocess.run(
        [sys.executable, "-m", "venom_mcp", "call", "install_model", "name=gemma2:2b", "provider=ollama"],
        capture_output=True,
        timeout=60,
        env=env,  # bytes: text mode would turn the bar's \r into \n
    )
    assert proc.returncode == 0, proc.stderr
    op = json.loads(proc.stdout)
    assert op["status"] == "completed" and op["bytes_done"] == ollama.library["gemma2:2b"].size
    bar = [frame for frame in proc.stderr.decode().split("\r") if frame.startswith("[")]
    assert len(bar) >= 2 and "#" in bar[-1] and "%" in bar[-1]


async def test_progress_notifications_are_rate_limited(client: ClientSession, ollama: FakeOllama) -> None:
    ollama.pull_chunks, ollama.pull_delay = 200, 0.002  # about 800 NDJSON lines in ~1.6 s
    count = 0

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        nonlocal count
        count += 1

    started = anyio.current_time()
    result = await client.call_tool(
        "install_model", {"name": "llama3.2:1b", "provider": "ollama", "wait": True}, progress_callback=on_progress
    )
    elapsed = anyio.current_time() - started
    assert not result.isError
    assert len(ollama.bodies("/api/pull")) == 1
    assert 2 <= count <= elapsed * 4 + 2, (count, elapsed)
