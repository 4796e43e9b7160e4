"""Hugging Face installs against the fake Hub: selection, real byte progress, quota, sha256, resume, cancel,
capability detection from config and chat template, removal through the cache API, activation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from huggingface_hub import scan_cache_dir
from mcp import ClientSession

from tests.conftest import make_settings, mcp_session
from tests.fakes.hub import GATED_MODEL, TINY_CHAT, TINY_GEMMA, TINY_GGUF, FakeHub
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.services.capabilities import adapt_messages


@pytest.fixture
def settings(home: Path, hub_url: str, library_url: str, ollama_url: str) -> Settings:
    """Hugging Face models run on vLLM and llama.cpp: the `full` profile (`light` refuses their installs)."""
    return make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_transformers_install_fetches_only_what_vllm_needs(
    client: ClientSession, hub: FakeHub, home: Path
) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    result = await client.call_tool(
        "install_model", {"name": TINY_CHAT, "provider": "hf", "wait": True}, progress_callback=on_progress
    )
    assert not result.isError, result.content
    op = result.structuredContent
    assert op is not None and op["status"] == "completed" and op["runtime"] == "vllm"
    assert seen and seen[-1] == 100, "the last notification says the install is whole, however fast it was"
    fetched = {key.split("/", 2)[2] for key in hub.downloads}
    assert fetched == {
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "model.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
    }
    expected_total = sum(len(hub.files[TINY_CHAT][p]) for p in fetched)
    assert op["bytes_total"] == expected_total == op["bytes_done"]
    assert sum(hub.bytes_sent.values()) == expected_total, "progress equals the bytes the Hub really sent"
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))["models"][0]
    files = hub.files[TINY_CHAT]
    assert manifest["files"] == {
        "model.safetensors": sha(files["model.safetensors"]),
        "model-00002-of-00002.safetensors": sha(files["model-00002-of-00002.safetensors"]),
    }
    assert manifest["revision"] == hub.commit(TINY_CHAT) and len(manifest["sha256"]) == 64
    assert Path(manifest["local_path"]).is_dir() and (Path(manifest["local_path"]) / "config.json").is_file()
    cache = scan_cache_dir(home / "models")
    assert [r.repo_id for r in cache.repos] == [TINY_CHAT]
    caps = (await call(client, "model_capabilities", name=TINY_CHAT))["capabilities"]
    assert caps["supports_system_role"] is True and caps["supports_function_calling"] is True
    assert caps["max_context_length"] == 4096 and caps["source"] == "detected"


async def test_gguf_install_takes_one_quantization(client: ClientSession, hub: FakeHub) -> None:
    op = await call(client, "install_model", name=f"{TINY_GGUF}:Q8_0", provider="huggingface", wait=True)
    assert op["model_name"] == f"{TINY_GGUF}:Q8_0" and op["runtime"] == "llamacpp"
    assert set(hub.downloads) == {f"{TINY_GGUF}/tiny.Q8_0.gguf"}
    installed = {m["name"]: m for m in (await call(client, "installed_models", runtime="llamacpp"))["models"]}
    entry = installed[f"{TINY_GGUF}:Q8_0"]
    assert entry["local_path"].endswith("tiny.Q8_0.gguf") and Path(entry["local_path"]).is_file()
    assert entry["sha256"] == sha(hub.files[TINY_GGUF]["tiny.Q8_0.gguf"])
    hub.reset()
    default = await call(client, "install_model", name=TINY_GGUF, provider="huggingface", wait=True)
    assert default["model_name"] == f"{TINY_GGUF}:Q4_K_M" and set(hub.downloads) == {f"{TINY_GGUF}/tiny.Q4_K_M.gguf"}
    text = await error_text(client, "install_model", name=f"{TINY_GGUF}:Q2_K", provider="huggingface")
    assert "Q4_K_M" in text and "Q8_0" in text, "the error lists the quantizations there are"
    assert "llamacpp" in await error_text(client, "install_model", name=TINY_GGUF, provider="hf", runtime="vllm")
    assert "vllm" in await error_text(client, "install_model", name=TINY_CHAT, provider="hf", runtime="llamacpp")


async def test_gemma_template_means_no_system_role(client: ClientSession) -> None:
    await call(client, "install_model", name=TINY_GEMMA, provider="huggingface", wait=True)
    caps = (await call(client, "model_capabilities", name=TINY_GEMMA))["capabilities"]
    assert caps["supports_system_role"] is False and caps["allowed_roles"] == ["user", "assistant"]
    assert caps["max_context_length"] == 8192 and caps["supports_function_calling"] is False
    from venom_mcp.records import Capabilities

    folded = adapt_messages(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], Capabilities(**caps)
    )
    assert folded == [{"role": "user", "content": "Be brief.\n\nHi"}]


async def test_quota_refuses_before_any_byte(
    home: Path, hub_url: str, library_url: str, ollama_url: str, hub: FakeHub
) -> None:
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, models_max_disk_gb=0.005,
                            runtime_profile="full"))
    async with mcp_session(app) as session:
        text = await error_text(session, "install_model", name=TINY_CHAT, provider="hf")
        assert "MODELS_MAX_DISK_GB" in text and "GB" in text
        assert (await call(session, "list_operations"))["count"] == 0
    assert not hub.downloads and not (home / "models").exists()


async def test_missing_and_gated_repos_fail_clearly(client: ClientSession, home: Path) -> None:
    assert "no model" in await error_text(client, "install_model", name="venom-test/nope", provider="hf")
    gated = await error_text(client, "install_model", name=GATED_MODEL, provider="hf")
    assert "gated" in gated and "HF_TOKEN" in gated
    assert not (home / "manifest.json").exists()


async def test_second_install_reuses_completed_files(client: ClientSession, hub: FakeHub, home: Path) -> None:
    await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
    # Act out an install that stopped after some files: no manifest entry, and the second shard missing.
    (home / "manifest.json").unlink()
    snapshot = next((home / "models" / "models--venom-test--tiny-chat" / "snapshots").iterdir())
    missing = snapshot / "model-00002-of-00002.safetensors"
    missing.resolve().unlink()
    missing.unlink()
    hub.reset()
    again = await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
    assert again["status"] == "completed"
    assert set(hub.downloads) == {f"{TINY_CHAT}/model-00002-of-00002.safetensors"}
    assert sum(hub.bytes_sent.values()) == len(hub.files[TINY_CHAT]["model-00002-of-00002.safetensors"])
    assert again["bytes_done"] == again["bytes_total"]
    assert (await call(client, "installed_models"))["count"] == 1


async def test_broken_big_file_resumes_with_range(client: ClientSession, hub: FakeHub) -> None:
    name, path = f"{TINY_GGUF}:F32", "tiny.F32.gguf"
    size = len(hub.files[TINY_GGUF][path])
    hub.drop_after_bytes[f"{TINY_GGUF}/{path}"] = 12 * 1024 * 1024
    op = await call(client, "install_model", name=name, provider="hf", wait=True)
    assert op["status"] == "completed" and op["bytes_done"] == size
    ranges = [r for k, r in hub.range_requests if k.endswith(path) and r]
    assert ranges and ranges[0].startswith("bytes=") and not ranges[0].startswith("bytes=0-")
    assert hub.bytes_sent[f"{TINY_GGUF}/{path}"] < 2 * size


async def test_cancel_of_a_download_leaves_no_manifest_entry(client: ClientSession, hub: FakeHub, home: Path) -> None:
    hub.throttle_bytes_per_second = 8 * 1024 * 1024  # 16 MiB file: about 2 s
    op = await call(client, "install_model", name=f"{TINY_GGUF}:F32", provider="hf")
    with anyio.fail_after(10):
        while not hub.bytes_sent:
            await anyio.sleep(0.02)
    cancelled = await call(client, "cancel_operation", operation_id=op["operation_id"])
    assert cancelled["status"] == "cancelled"
    assert not (home / "manifest.json").exists()
    hub.throttle_bytes_per_second = None
    again = await call(client, "install_model", name=f"{TINY_GGUF}:F32", provider="hf", wait=True)
    assert again["status"] == "completed" and again["operation_id"] != op["operation_id"]


async def test_remove_deletes_through_the_cache_api_and_activation_is_honest(
    home: Path, hub_url: str, library_url: str, ollama_url: str, closed_url: str
) -> None:
    settings = make_settings(
        home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full", vllm_endpoint=closed_url + "/v1"
    )
    app = App(settings)
    async with mcp_session(app) as session:
        await call(session, "install_model", name=TINY_CHAT, provider="hf", wait=True)
        # No vLLM on this machine: activation tries to start it, fails, says how to fix it, records nothing.
        text = await error_text(session, "activate_model", name=TINY_CHAT, runtime="vllm")
        assert "did not come up on vllm" in text and "VENOM_VLLM_COMMAND" in text
        recorded = json.loads((home / "runtime.json").read_text(encoding="utf-8"))
        assert recorded["active"] is None and recorded["models"] == {} and recorded["switching"] is None
        state: dict[str, Any] = {"active": {"runtime": "vllm", "model": TINY_CHAT}, "models": {"vllm": TINY_CHAT}}
        (home / "runtime.json").write_text(json.dumps(state), encoding="utf-8")
        assert "activate another" in await error_text(session, "remove_model", name=TINY_CHAT)
        state["active"] = None
        (home / "runtime.json").write_text(json.dumps(state), encoding="utf-8")
        removed = await call(session, "remove_model", name=TINY_CHAT, provider="huggingface", confirm=True)
        assert removed["status"] == "completed" and "freed" in removed["message"]
        assert scan_cache_dir(home / "models").repos == frozenset()
        assert (await call(session, "installed_models", runtime="vllm"))["count"] == 0


async def test_light_profile_refuses_hub_installs_and_vllm_activation(
    client: ClientSession, home: Path, hub_url: str, library_url: str, ollama_url: str
) -> None:
    await call(client, "install_model", name=TINY_GEMMA, provider="hf", wait=True)
    light = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="light"))
    async with mcp_session(light) as session:
        text = await error_text(session, "activate_model", name=TINY_GEMMA, runtime="vllm")
        assert "VENOM_RUNTIME_PROFILE=light" in text and "full" in text
        text = await error_text(session, "install_model", name=TINY_CHAT, provider="hf")
        assert "VENOM_RUNTIME_PROFILE=light" in text and "full" in text


async def test_python_api_of_the_original_design(home: Path, hub_url: str, ollama_url: str, monkeypatch: Any) -> None:
    import venom_mcp

    monkeypatch.setenv("VENOM_HOME", str(home))
    monkeypatch.setenv("HF_ENDPOINT", hub_url)
    monkeypatch.setenv("OLLAMA_HOST", ollama_url)
    monkeypatch.setenv("VENOM_RUNTIME_PROFILE", "full")
    registry = venom_mcp.ModelRegistry(models_dir=home / "hf-models")
    try:
        assert registry.check_storage_quota(1.0) is True and registry.check_storage_quota(10_000) is False
        operation_id = await registry.install_model(TINY_GEMMA, "huggingface", None)
        final = await registry.operations.wait(operation_id)
        assert registry.get_operation_status(operation_id).status == "completed" == final.status
        assert (home / "hf-models").is_dir()
        assert (await registry.get_model_capabilities(TINY_GEMMA)).supports_system_role is False
        removal = await registry.remove_model(TINY_GEMMA)
        assert (await registry.operations.wait(removal)).status == "completed"
    finally:
        await registry.aclose()


async def test_hashes_are_taken_while_downloading_and_mismatches_fail(app: App, hub: FakeHub) -> None:
    import pytest

    from venom_mcp.errors import UpstreamError

    plan = await app.downloads.plan(TINY_GGUF, runtime=None, quant="F16")
    seen: list[int] = []
    snapshot, hashed = await app.downloads.download(plan, seen.append)
    content = hub.files[TINY_GGUF]["tiny.F16.gguf"]
    assert hashed == {"tiny.F16.gguf": sha(content)}, "hashed while written, no second pass needed"
    assert seen and seen[-1] == len(content) and seen == sorted(seen)
    assert await app.downloads.verify(plan, snapshot, hashed) == hashed
    (snapshot / "tiny.F16.gguf").resolve().write_bytes(b"tampered")
    with pytest.raises(UpstreamError, match="corrupt"):
        await app.downloads.verify(plan, snapshot)
