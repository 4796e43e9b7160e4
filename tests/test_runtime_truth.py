"""What "active" guarantees: one local runtime holding memory, activation as a verified transaction with rollback,
requests drained before a switch, the alias guard, stray servers left alone, unloading, the Ollama tuning on every
request, profiles at one gate, and models found outside venom-mcp. Real child processes (the stub server) and the
fakes; the real llama.cpp server is covered in test_llamacpp_runtime.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import STUB, build, http_served, mcp_session
from tests.fakes.hub import TINY_CHAT, TINY_GGUF
from tests.fakes.live import LiveServer, free_port
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App
from venom_mcp.config import Settings

Q8 = f"{TINY_GGUF}:Q8_0"


def stub_command() -> str:
    return (f"{sys.executable} {STUB} --host {{host}} --port {{port}} --model {{served_model_name}} "
            "--model-path {model_path}")


@pytest.fixture
def both(runtime_settings: dict[str, Any]) -> dict[str, Any]:
    """Settings with vLLM and llama.cpp both started by venom-mcp as stub servers."""
    return {**runtime_settings, "vllm_endpoint": f"http://127.0.0.1:{free_port()}/v1", "vllm_command": stub_command()}


@pytest.fixture
async def app_both(both: dict[str, Any]) -> AsyncIterator[App]:
    app = build(both)
    yield app
    for server in ("vllm", "llamacpp"):
        app.runtimes.health.supervisor.stop(server)  # no process may outlive the test


def server(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in status["servers"] if s["name"] == name)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def test_switching_local_runtimes_leaves_exactly_one_running(
    app_both: App, ollama: FakeOllama, home: Path
) -> None:
    async with mcp_session(app_both) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "install_model", name=Q8, provider="hf", wait=True)
        await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
        on_ollama = await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        assert on_ollama["status"] == "online" and "1-token completion" in on_ollama["message"]
        assert list(ollama.loaded) == ["llama3.2:1b"]
        on_llama = await call(client, "activate_model", name=Q8, runtime="llamacpp")
        assert on_llama["status"] == "online" and on_llama["provider"] == "llamacpp"
        assert ollama.loaded == {}, "the outside Ollama's models were unloaded (keep_alive 0)"
        llama_pid = server(await call(client, "runtime_status"), "llamacpp")["pid"]
        assert alive(llama_pid)
        on_vllm = await call(client, "switch_runtime", provider="vllm", model=TINY_CHAT)
        assert on_vllm["status"] == "online" and on_vllm["model"] == TINY_CHAT
        status = await call(client, "runtime_status")
        assert not alive(llama_pid), "llama.cpp was stopped: one server holds memory"
        assert server(status, "llamacpp")["status"] == "offline" and server(status, "vllm")["status"] == "online"
        vllm_pid = server(status, "vllm")["pid"]
        back = await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        assert back["status"] == "online" and not alive(vllm_pid)
        assert not (home / "run" / "vllm.pid").exists() and not (home / "run" / "llamacpp.pid").exists()
        ops = (await call(client, "list_operations", limit=20))["operations"]
        activations = [op for op in ops if op["operation_type"] == "activate"]
        assert [(op["model_name"], op["runtime"], op["status"]) for op in activations] == [
            ("llama3.2:1b", "ollama", "completed"), (TINY_CHAT, "vllm", "completed"),
            (Q8, "llamacpp", "completed"), ("llama3.2:1b", "ollama", "completed")]
        # The confirmation is a real 1-token completion through the runtime's own API.
        confirm = [b for b in ollama.bodies("/api/chat") if b.get("options", {}).get("num_predict") == 1]
        assert confirm and confirm[-1]["model"] == "llama3.2:1b"


@pytest.fixture
def outside_vllm() -> Iterator[tuple[FakeOpenAI, str]]:
    """A vLLM-like server venom-mcp did not start, serving another model."""
    fake = FakeOpenAI(models=["someone/elses-model"])
    with LiveServer(fake.app) as live:
        yield fake, live.url + "/v1"


async def test_external_server_that_does_not_serve_the_model_is_an_error_and_state_is_kept(
    runtime_settings: dict[str, Any], outside_vllm: tuple[FakeOpenAI, str], ollama: FakeOllama, home: Path
) -> None:
    fake, url = outside_vllm
    app = build(runtime_settings, vllm_endpoint=url)
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        before = json.loads((home / "runtime.json").read_text())
        text = await error_text(client, "activate_model", name=TINY_CHAT, runtime="vllm")
        assert "not started by venom-mcp" in text and "someone/elses-model" in text and "force=true" in text
        assert "rolled back to llama3.2:1b on ollama" in text
        after = json.loads((home / "runtime.json").read_text())
        assert after["active"] == before["active"] == {"runtime": "ollama", "model": "llama3.2:1b"}
        assert after["models"] == before["models"] and after["switching"] is None
        assert "llama3.2:1b" in ollama.loaded, "the rollback loaded the previous model again"
        failed = (await call(client, "list_operations", limit=1))["operations"][0]
        assert failed["operation_type"] == "activate" and failed["status"] == "failed"
        assert "someone/elses-model" in failed["error"]
        # The same server serving the model: accepted as it is, confirmed with a 1-token completion.
        fake.models.append(TINY_CHAT)
        active = await call(client, "activate_model", name=TINY_CHAT, runtime="vllm")
        assert active["status"] == "online" and active["provider"] == "vllm"
        assert fake.bodies()[-1]["max_tokens"] == 1
        status = server(await call(client, "runtime_status"), "vllm")
        assert status["managed_by"] == "external" and status["status"] == "online"


async def test_activation_waits_for_an_in_flight_chat(runtime_settings: dict[str, Any], ollama: FakeOllama) -> None:
    app = build(runtime_settings)
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "install_model", name="gemma2:2b", provider="ollama", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        ollama.hold = threading.Event()
        chats_before = ollama.hits["/api/chat"]
        chat = asyncio.create_task(call(client, "chat", prompt="a long answer please"))
        while ollama.hits["/api/chat"] == chats_before:  # the request reached Ollama and is held there
            await asyncio.sleep(0.02)
        activation = asyncio.create_task(call(client, "activate_model", name="gemma2:2b", runtime="ollama"))
        while not any(op["operation_type"] == "activate" and "waiting for requests" in (op["message"] or "")
                      for op in app.operations.recent(1) for op in [op.model_dump()]):
            await asyncio.sleep(0.02)
        status = await call(client, "runtime_status")
        assert status["active"]["status"] == "switching" and server(status, "ollama")["status"] == "switching"
        assert not activation.done() and not chat.done()
        assert not any(b["model"] == "gemma2:2b" for b in ollama.bodies("/api/generate")), "nothing switched yet"
        ollama.hold.set()
        answer = await chat
        assert answer["llm_model"] == "llama3.2:1b" and answer["text"] == "echo: a long answer please"
        active = await activation
        assert active["model"] == "gemma2:2b" and active["status"] == "online"
        requests = [(path, body) for path, body in ollama.requests if path in ("/api/chat", "/api/generate")]
        held = next(i for i, (path, body) in enumerate(requests) if "a long answer" in json.dumps(body))
        load = next(i for i, (path, body) in enumerate(requests)
                    if path == "/api/generate" and body.get("model") == "gemma2:2b")
        assert load > held


async def test_requests_that_do_not_drain_are_a_clear_conflict(
    runtime_settings: dict[str, Any], ollama: FakeOllama, home: Path
) -> None:
    app = build(runtime_settings, drain_timeout_seconds=0.5)
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "install_model", name="gemma2:2b", provider="ollama", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        ollama.hold = threading.Event()
        chat = asyncio.create_task(call(client, "chat", prompt="hold on"))
        while not app.gates.in_flight("ollama"):
            await asyncio.sleep(0.02)
        try:
            text = await error_text(client, "activate_model", name="gemma2:2b", runtime="ollama")
        finally:
            ollama.hold.set()
        assert "requests still running after 0.5 s (1 on ollama)" in text and "VENOM_DRAIN_TIMEOUT_SECONDS" in text
        await chat
        assert json.loads((home / "runtime.json").read_text())["active"]["model"] == "llama3.2:1b"


async def test_a_wrong_alias_is_reported_at_the_first_poll(runtime_settings: dict[str, Any], home: Path) -> None:
    wrong = (f"{sys.executable} {STUB} --host {{host}} --port {{port}} --model wrong-alias "
             "--model-path {model_path}")
    app = build(runtime_settings, llamacpp_command=wrong, start_timeout_seconds=300)
    async with mcp_session(app) as client:
        try:
            await call(client, "install_model", name=Q8, provider="hf", wait=True)
            text = await error_text(client, "activate_model", name=Q8, runtime="llamacpp")
            assert "serves wrong-alias, not " + Q8 in text and "within" not in text
            assert "nothing was changed" in text or "rolled back" in text
            assert server(await call(client, "runtime_status"), "llamacpp")["status"] == "offline"
            app.runtime_state.record("llamacpp", Q8, active=False)
            restarted = await call(client, "control_runtime", server="llamacpp", action="restart")
            assert restarted["status"] == "degraded" and "wrong-alias" in restarted["error"]
            assert restarted["managed_by"] == "process"
            polled = server(await call(client, "runtime_status"), "llamacpp")
            assert polled["status"] == "degraded" and "404" in polled["error"]
        finally:
            await app.runtimes.stop("llamacpp")


@pytest.fixture
def stray(runtime_settings: dict[str, Any]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A server on llama.cpp's port that venom-mcp did not start."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(STUB), "--host", "127.0.0.1", "--port", str(port), "--model",
                             "stray-model"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("the stray server did not start")
            threading.Event().wait(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def test_a_stray_server_on_the_port_is_reported_and_only_killed_when_forced(
    runtime_settings: dict[str, Any], stray: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, url = stray
    app = build(runtime_settings, llamacpp_endpoint=url)
    async with mcp_session(app) as client:
        status = server(await call(client, "runtime_status"), "llamacpp")
        assert status["managed_by"] == "external" and status["pid"] == proc.pid
        assert str(STUB) in status["command"] and status["memory_mb"] > 1
        assert status["served_model_name"] == "stray-model"
        kept = await call(client, "control_runtime", server="llamacpp", action="stop", confirm=True)
        assert "not stopped" in kept["error"] and "force=true" in kept["error"] and proc.poll() is None
        unloaded = await call(client, "unload_models", runtime="llamacpp", confirm=True)
        assert unloaded["unloaded"] == [] and "not started by venom-mcp" in unloaded["errors"][0]
        assert proc.poll() is None
        forced = await call(client, "control_runtime", server="llamacpp", action="stop", force=True, confirm=True)
        assert proc.wait(timeout=15) is not None and forced["status"] == "offline"


async def test_unload_models_on_ollama_and_llamacpp(app_both: App, ollama: FakeOllama) -> None:
    async with mcp_session(app_both) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "install_model", name=Q8, provider="hf", wait=True)
        await call(client, "activate_model", name=Q8, runtime="llamacpp")
        ollama.install("qwen2.5:0.5b")
        ollama.load("qwen2.5:0.5b")  # loaded by someone else through Ollama
        pid = server(await call(client, "runtime_status"), "llamacpp")["pid"]
        result = await call(client, "unload_models", confirm=True)
        assert {(u["runtime"], u["model"]) for u in result["unloaded"]} == {("ollama", "qwen2.5:0.5b"),
                                                                             ("llamacpp", Q8)}
        assert result["errors"] == [] and result["memory_freed_mb"] > 1
        assert ollama.loaded == {} and not alive(pid)
        active = (await call(client, "runtime_status"))["active"]
        assert active["model"] == Q8 and active["status"] == "offline", "still recorded, no longer loaded"
        again = await call(client, "unload_models", runtime="ollama", confirm=True)
        assert again == {"unloaded": [], "errors": [], "memory_freed_mb": 0}
        text = await error_text(client, "unload_models", runtime="openai")
        assert "'ollama', 'vllm', 'llamacpp' or 'ray'" in text, "the schema names the local and cluster runtimes"


async def test_unload_over_rest(runtime_settings: dict[str, Any], ollama: FakeOllama) -> None:
    ollama.install("qwen2.5:0.5b")
    ollama.load("qwen2.5:0.5b")
    app = build(runtime_settings, runtime_profile="light")
    with http_served(app) as live:
        response = httpx.post(f"{live.url}/api/v1/models/unload-all", json={}, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and body["unloaded"] == [{"runtime": "ollama", "model": "qwen2.5:0.5b"}]
        assert ollama.loaded == {}


async def test_two_concurrent_activations_serialize_and_the_state_file_is_never_torn(
    runtime_settings: dict[str, Any], ollama: FakeOllama, home: Path
) -> None:
    app = build(runtime_settings)
    seen: list[str | None] = []
    stop = threading.Event()

    def read_forever() -> None:
        while not stop.is_set():
            try:
                text = (home / "runtime.json").read_text()
            except FileNotFoundError:
                continue
            state = json.loads(text)  # a torn file fails here
            switching = state.get("switching")
            marker = switching["operation_id"] if switching else None
            if not seen or seen[-1] != marker:
                seen.append(marker)

    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "install_model", name="gemma2:2b", provider="ollama", wait=True)
        reader = threading.Thread(target=read_forever)
        reader.start()
        try:
            first, second = await asyncio.gather(
                call(client, "activate_model", name="llama3.2:1b", runtime="ollama"),
                call(client, "activate_model", name="gemma2:2b", runtime="ollama"))
        finally:
            stop.set()
            reader.join()
        ops = [op for op in app.operations.recent(2)]
        assert {op.model_name for op in ops} == {"llama3.2:1b", "gemma2:2b"}
        assert all(op.status == "completed" for op in ops)
        markers = [m for m in seen if m is not None]
        assert len(markers) == len(set(markers)), f"switches interleaved: {seen}"
        # The model requests of the two activations do not interleave either.
        models = [body.get("model") for path, body in ollama.requests if path in ("/api/generate", "/api/chat")]
        runs = [m for i, m in enumerate(models) if i == 0 or models[i - 1] != m]
        assert len(runs) == 2, runs
        final = json.loads((home / "runtime.json").read_text())
        assert final["active"]["model"] == runs[-1] and final["switching"] is None
        assert {first["status"], second["status"]} <= {"online"}


async def test_ollama_tuning_reaches_an_outside_ollama_and_env_file_overrides(
    runtime_settings: dict[str, Any], ollama: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build(runtime_settings)
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        await call(client, "chat", prompt="hi", max_tokens=8)
        load = [b for b in ollama.bodies("/api/generate") if b.get("model") == "llama3.2:1b"][-1]
        assert load["keep_alive"] == "30m" and load["options"] == {"num_ctx": 8192}
        sent = ollama.bodies("/api/chat")[-1]
        assert sent["options"] == {"num_ctx": 8192, "num_predict": 8} and sent["keep_alive"] == "30m"
        ollama_status = server(await call(client, "runtime_status"), "ollama")
        tuning = ollama_status["tuning"]
        assert ollama_status["managed_by"] == "external" and tuning["server_settings_applied"] is False
        assert tuning["profile"] == "balanced-12-24gb" and tuning["num_ctx"] == 8192
        assert tuning["server_settings"]["OLLAMA_KV_CACHE_TYPE"] == "q8_0"
        assert "set on the Ollama server: " in tuning["note"] and "OLLAMA_FLASH_ATTENTION=1" in tuning["note"]
    # OLLAMA_* in .env count, over the profile's values.
    for name in ("OLLAMA_CONTEXT_LENGTH", "OLLAMA_KEEP_ALIVE", "OLLAMA_KV_CACHE_TYPE", "VENOM_OLLAMA_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("VENOM_OLLAMA_PROFILE=low-vram-8-12gb\nOLLAMA_CONTEXT_LENGTH=2048\nOLLAMA_KEEP_ALIVE=5m\n")
    values = {k: v for k, v in runtime_settings.items() if k not in ("home", "hub_url", "library_url")}
    settings = Settings(_env_file=dotenv, venom_home=runtime_settings["home"], hf_endpoint=runtime_settings["hub_url"],
                        **{k: v for k, v in values.items() if k != "ollama_profile"})  # type: ignore[arg-type]
    assert settings.ollama_profile == "low-vram-8-12gb" and settings.ollama_context_length == 2048
    assert settings.ollama_tuning()["OLLAMA_KV_CACHE_TYPE"] == "q4_0", "the rest comes from the profile"
    tuned = App(settings)
    async with mcp_session(tuned) as client:
        await call(client, "chat", prompt="again", max_tokens=4)
        sent = ollama.bodies("/api/chat")[-1]
        assert sent["options"]["num_ctx"] == 2048 and sent["keep_alive"] == "5m"
        status = server(await call(client, "runtime_status"), "ollama")
        assert status["tuning"]["num_ctx"] == 2048 and status["tuning"]["profile"] == "low-vram-8-12gb"


async def test_profiles_refuse_at_every_path(
    runtime_settings: dict[str, Any], ollama: FakeOllama, cloud: FakeOpenAI
) -> None:
    light = build(runtime_settings, runtime_profile="light")
    async with mcp_session(light) as client:
        text = await error_text(client, "install_model", name=Q8, provider="hf")
        assert "VENOM_RUNTIME_PROFILE=light does not allow" in text and "VENOM_RUNTIME_PROFILE=full" in text
        assert "light does not allow activations on llamacpp" in await error_text(
            client, "activate_model", name=Q8, runtime="llamacpp")
        assert "light" in await error_text(client, "switch_runtime", provider="vllm", model=TINY_CHAT)
        rows = (await call(client, "trending_models", provider="huggingface", limit=5))["models"]
        assert rows and all(not r["installable"] and "VENOM_RUNTIME_PROFILE=light" in r["install_note"] for r in rows)
        assert all(r["installable"] for r in (await call(client, "trending_models", provider="ollama"))["models"])
        assert (await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True))["status"] == (
            "completed")
    with http_served(build(runtime_settings, runtime_profile="light")) as live:
        refused = httpx.post(f"{live.url}/api/v1/models/registry/install",
                             json={"name": Q8, "provider": "huggingface"}, timeout=30)
        assert refused.status_code == 400 and "VENOM_RUNTIME_PROFILE=light" in refused.json()["error"]
        page = httpx.get(f"{live.url}/models/fragments/trending?provider=huggingface", timeout=30).text
        assert 'data-action="install"' not in page and "not in this profile" in page
        page = httpx.get(f"{live.url}/models/fragments/trending?provider=ollama", timeout=30).text
        assert 'data-action="install"' in page
    off = build(runtime_settings, runtime_profile="llm_off", fallback_order="ollama")
    async with mcp_session(off) as client:
        assert "llm_off does not allow installs (ollama pull)" in await error_text(
            client, "install_model", name="gemma2:2b", provider="ollama")
        assert "llm_off does not allow activations on ollama" in await error_text(
            client, "activate_model", name="llama3.2:1b", runtime="ollama")
        await call(client, "switch_runtime", provider="gpt")
        cloud.fault = "error"
        text = await error_text(client, "chat", prompt="hi")
        assert "llm_off does not allow requests on ollama" in text, "no local fallback"
        assert not ollama.bodies("/api/chat")
    with http_served(build(runtime_settings, runtime_profile="llm_off")) as live:
        refused = httpx.post(f"{live.url}/api/v1/models/activate", json={"name": "llama3.2:1b", "runtime": "ollama"},
                             timeout=30)
        assert refused.status_code == 400 and "llm_off" in refused.json()["error"]


async def test_models_found_outside_venom_mcp(
    runtime_settings: dict[str, Any], ollama: FakeOllama, hub_url: str, home: Path
) -> None:
    from huggingface_hub import snapshot_download

    ollama.install("qwen3:0.6b")  # pulled with the ollama CLI, not through venom-mcp
    await asyncio.to_thread(snapshot_download, TINY_CHAT, cache_dir=home / "models", endpoint=hub_url, token=False)
    app = build(runtime_settings)
    async with mcp_session(app) as client:
        rows = {m["name"]: m for m in (await call(client, "installed_models"))["models"]}
        assert rows["qwen3:0.6b"]["status"] == "external" and rows["qwen3:0.6b"]["runtime"] == "ollama"
        assert rows[TINY_CHAT]["status"] == "external" and rows[TINY_CHAT]["runtime"] == "vllm"
        assert rows[TINY_CHAT]["local_path"] and Path(rows[TINY_CHAT]["local_path"]).is_dir()
        caps = await call(client, "model_capabilities", name="qwen3:0.6b")
        assert caps["model_name"] == "qwen3:0.6b" and caps["capabilities"]["source"] == "detected"
        assert caps["capabilities"]["max_context_length"] == 40960
        shows = ollama.hits["/api/show"]
        await call(client, "model_capabilities", name="qwen3:0.6b")
        assert ollama.hits["/api/show"] == shows, "kept after the first read"
        hf_caps = await call(client, "model_capabilities", name=TINY_CHAT)
        assert hf_caps["model_name"] == TINY_CHAT
        active = await call(client, "activate_model", name="qwen3:0.6b", runtime="ollama")
        assert active["status"] == "online" and active["model"] == "qwen3:0.6b"
        assert "installed_models lists" in await error_text(client, "model_capabilities", name="nothing-here:1b")


async def test_systemd_unit_switches_models_through_its_environment_file(
    runtime_settings: dict[str, Any], tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped llama.cpp unit, run by a stand-in systemctl that reads it as systemd does; only its program
    (the stub server instead of llama_cpp.server) and the EnvironmentFile path are changed."""
    from tests.fakes.systemctl import install_fake_systemctl

    state = tmp_path / "systemd"
    install_fake_systemctl(tmp_path / "bin", state)
    env_file = home / "run" / "llamacpp.env"
    lines = []
    shipped = Path(__file__).parents[1] / "deploy" / "systemd" / "venom-llamacpp.service"
    for line in shipped.read_text().splitlines():
        if line.startswith("ExecStart="):
            line = (f"ExecStart={sys.executable} {STUB} --host ${{VENOM_HOST}} --port ${{VENOM_PORT}} "
                    "--model ${VENOM_SERVED_MODEL_NAME} --model-path ${VENOM_MODEL_PATH}")
        elif line.startswith("EnvironmentFile="):
            line = f"EnvironmentFile={env_file}"
        lines.append(line)
    (state / "units" / "venom-llamacpp.service").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    app = build(runtime_settings, llamacpp_systemd_unit="venom-llamacpp.service")
    q4 = f"{TINY_GGUF}:Q4_K_M"
    try:
        async with mcp_session(app) as client:
            await call(client, "install_model", name=Q8, provider="hf", wait=True)
            await call(client, "install_model", name=q4, provider="hf", wait=True)
            first = await call(client, "activate_model", name=Q8, runtime="llamacpp")
            assert first["status"] == "online"
            assert f'VENOM_SERVED_MODEL_NAME="{Q8}"' in env_file.read_text()
            status = server(await call(client, "runtime_status"), "llamacpp")
            assert status["managed_by"] == "systemd" and status["served_model_name"] == Q8 and alive(status["pid"])
            switched = await call(client, "activate_model", name=q4, runtime="llamacpp")
            assert switched["status"] == "online" and switched["model"] == q4
            text = env_file.read_text()
            assert f'VENOM_SERVED_MODEL_NAME="{q4}"' in text and "Q4_K_M" in text.split("VENOM_MODEL_PATH=")[1]
            after = server(await call(client, "runtime_status"), "llamacpp")
            assert after["served_model_name"] == q4 and after["pid"] != status["pid"] and not alive(status["pid"])
            stopped = await call(client, "control_runtime", server="llamacpp", action="stop", confirm=True)
            assert stopped["status"] == "offline" and not alive(after["pid"])
            assert not (home / "run" / "llamacpp.pid").exists(), "no process of venom-mcp's own"
        calls = (state / "calls").read_text().splitlines()
        assert [c for c in calls if c.split()[0] in ("start", "restart", "stop")] == [
            "restart venom-llamacpp.service", "restart venom-llamacpp.service", "stop venom-llamacpp.service"]
    finally:
        subprocess.run(["systemctl", "stop", "venom-llamacpp.service"], check=False, capture_output=True)
