"""The llamacpp runtime for real: llama-cpp-python's server, started and switched by control_runtime and
activate_model, on tiny GGUF models the suite generates (one with a Gemma template that rejects system)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from tests.fakes.live import have_llamacpp_server

if not have_llamacpp_server():
    pytest.skip("llama-cpp-python[server] and gguf are not installed", allow_module_level=True)

from mcp import ClientSession

from tests.conftest import make_settings, mcp_session
from tests.fakes.hub import FakeHub, seed_files
from tests.fakes.live import LiveServer, free_port
from tests.fakes.tiny_gguf import write_tiny_gemma, write_tiny_llama
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App

LLAMA = "venom-test/llama-tiny-GGUF"
GEMMA = "venom-test/gemma-tiny-GGUF"
COMMAND = (f"{sys.executable} -m llama_cpp.server --model {{model_path}} --model_alias {{served_model_name}} "
           "--host {host} --port {port} --n_ctx 512 --interrupt_requests False")



@pytest.fixture(scope="module")
def gguf_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("gguf")
    files = seed_files()
    files[LLAMA] = {"llama-tiny.Q8_0.gguf": write_tiny_llama(folder / "l.gguf").read_bytes(), "README.md": b"tiny"}
    files[GEMMA] = {"gemma-tiny.Q8_0.gguf": write_tiny_gemma(folder / "g.gguf").read_bytes(), "README.md": b"tiny"}
    with LiveServer(FakeHub(files=files).app) as server:
        yield server.url


@pytest.fixture
async def llama_app(home: Path, gguf_hub: str, library_url: str, ollama_url: str) -> AsyncIterator[App]:
    app = App(make_settings(home, gguf_hub, library_url, ollama_host=ollama_url, runtime_profile="full",
                            llamacpp_endpoint=f"http://127.0.0.1:{free_port()}/v1", llamacpp_command=COMMAND,
                            start_timeout_seconds=60))
    yield app
    await app.aclose()


@pytest.fixture
async def session(llama_app: App) -> AsyncIterator[ClientSession]:
    async with mcp_session(llama_app) as client:
        try:
            yield client
        finally:
            await llama_app.runtimes.stop("llamacpp")


async def test_llamacpp_serves_switches_and_stops_cleanly(session: ClientSession, llama_app: App) -> None:
    await call(session, "install_model", name=f"{LLAMA}:Q8_0", provider="hf", wait=True)
    await call(session, "install_model", name=f"{GEMMA}:Q8_0", provider="hf", wait=True)
    active = await call(session, "activate_model", name=f"{LLAMA}:Q8_0", runtime="llamacpp")
    assert active["status"] == "online" and active["provider"] == "llamacpp"
    server = (await call(session, "runtime_status"))["servers"]
    llama = next(s for s in server if s["name"] == "llamacpp")
    assert llama["managed_by"] == "process" and llama["served_model_name"] == f"{LLAMA}:Q8_0"
    assert 10 < llama["memory_mb"] < 2000 and llama["uptime_seconds"] >= 0
    first_pid = llama["pid"]
    answer = await call(session, "chat", prompt="Hello", system="Be brief.", max_tokens=8)
    assert answer["llm_provider"] == "llamacpp" and answer["llm_model"] == f"{LLAMA}:Q8_0"
    assert answer["text"] and answer["llm_endpoint"] == llama_app.settings.llamacpp_endpoint
    # What the real server says about why it stopped and what it spent comes through unchanged.
    assert answer["finish_reason"] in ("stop", "length") and answer["thinking"] is None
    spent = answer["usage"]["completion_tokens"]
    assert (spent == 8) if answer["finish_reason"] == "length" else (0 < spent <= 8)
    # Switch the server to the Gemma-like model: a restart with the new alias.
    switched = await call(session, "run_slash_command", text=f"/llamacpp {GEMMA}:Q8_0")
    assert switched["active"]["model"] == f"{GEMMA}:Q8_0" and switched["active"]["status"] == "online"
    gemma = next(s for s in (await call(session, "runtime_status"))["servers"] if s["name"] == "llamacpp")
    assert gemma["pid"] != first_pid and not psutil.pid_exists(first_pid)
    caps = (await call(session, "model_capabilities", name=f"{GEMMA}:Q8_0"))["capabilities"]
    assert caps["supports_system_role"] is False
    # The real server rejects a system message with this template; venom-mcp folds it into the user turn.
    from openai import AsyncOpenAI, InternalServerError

    direct = AsyncOpenAI(base_url=llama_app.settings.llamacpp_endpoint, api_key="none", max_retries=0)
    with pytest.raises(InternalServerError, match="System role not supported"):
        await direct.chat.completions.create(model=f"{GEMMA}:Q8_0", max_tokens=4, messages=[
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    await direct.close()
    folded = await call(session, "chat", prompt="Hi", system="Be brief.", max_tokens=8)
    assert folded["llm_model"] == f"{GEMMA}:Q8_0" and folded["text"]
    # Stop: the process and its children are gone, nothing is left holding memory.
    pid = gemma["pid"]
    children = psutil.Process(pid).children(recursive=True)
    stopped = await call(session, "control_runtime", server="llamacpp", action="stop", confirm=True)
    assert stopped["status"] == "offline" and not psutil.pid_exists(pid)
    assert all(not psutil.pid_exists(c.pid) for c in children)
    text = await error_text(session, "chat", prompt="Hi")
    assert "llamacpp" in text and llama_app.settings.llamacpp_endpoint in text


async def test_failed_activation_rolls_back_to_the_previous_model(
    session: ClientSession, llama_app: App, home: Path
) -> None:
    await call(session, "install_model", name=f"{LLAMA}:Q8_0", provider="hf", wait=True)
    await call(session, "install_model", name=f"{GEMMA}:Q8_0", provider="hf", wait=True)
    await call(session, "activate_model", name=f"{LLAMA}:Q8_0", runtime="llamacpp")
    gemma_file = Path(llama_app.registry.find(f"{GEMMA}:Q8_0").local_path or "")
    blob = gemma_file.resolve()
    blob.chmod(0o644)
    blob.write_bytes(b"GGUF but not really")  # a model file llama.cpp cannot load
    text = await error_text(session, "activate_model", name=f"{GEMMA}:Q8_0", runtime="llamacpp")
    assert "did not come up on llamacpp" in text and f"rolled back to {LLAMA}:Q8_0" in text
    status = next(s for s in (await call(session, "runtime_status"))["servers"] if s["name"] == "llamacpp")
    assert status["status"] == "online" and status["served_model_name"] == f"{LLAMA}:Q8_0"
    answer = await call(session, "chat", prompt="Hi", max_tokens=4)
    assert answer["llm_model"] == f"{LLAMA}:Q8_0"


async def test_translation_through_the_real_server_with_a_gemma_template(session: ClientSession) -> None:
    await call(session, "install_model", name=f"{GEMMA}:Q8_0", provider="hf", wait=True)
    await call(session, "activate_model", name=f"{GEMMA}:Q8_0", runtime="llamacpp")
    # translation_messages starts with a system message: it only works because it is folded for this model.
    result = await call(session, "translate", text="Good morning.", target_lang="de", use_cache=False)
    assert result["llm_provider"] == "llamacpp" and result["llm_model"] == f"{GEMMA}:Q8_0"
    assert result["chunks"] == 1 and result["cached"] is False and isinstance(result["translated_text"], str)
    history = (await call(session, "request_history", limit=1))["requests"][0]
    assert history["status"] == "ok" and history["llm_provider"] == "llamacpp" and history["cost_usd"] == 0
    assert history["prompt_tokens"] and history["prompt_tokens"] > 0


async def test_a_json_schema_answer_from_the_real_server(session: ClientSession, llama_app: App) -> None:
    """llama.cpp turns response_format's schema into a grammar: even random weights answer valid JSON."""
    await call(session, "install_model", name=f"{LLAMA}:Q8_0", provider="hf", wait=True)
    await call(session, "activate_model", name=f"{LLAMA}:Q8_0", runtime="llamacpp")
    schema = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"],
              "additionalProperties": False}
    answer = await call(session, "chat", prompt="Is Paris in France?", response_format=schema, max_tokens=200,
                        top_k=5, seed=1, num_ctx=256)
    assert answer["parsed"] in ({"answer": "yes"}, {"answer": "no"}), answer["text"]
    assert answer["finish_reason"] == "stop" and answer["llm_provider"] == "llamacpp"
    assert answer["warnings"] == ["num_ctx=256 dropped: llamacpp does not take num_ctx"]
    # The context check counts with the server's own tokenizer (llama-cpp-python: POST /extras/tokenize).
    counted = await llama_app.chat.tokenizers.count("llamacpp", llama_app.settings.llamacpp_endpoint, f"{LLAMA}:Q8_0",
                                                    "Is Paris in France?")
    assert counted is not None and 3 <= counted[0] <= 20
