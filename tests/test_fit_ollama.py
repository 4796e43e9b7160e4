"""check_fit for Ollama models not pulled yet: the registry's manifest (the model layer's size and media type) and the
GGUF header at the head of that layer, read with Range requests after the registry's redirect, never the weights.

The registry is tests/fakes/ollama_registry.py: the fake Ollama's pullable models, and a real manifest captured from
registry.ollama.ai (gemma:2b, tests/fixtures/real/ollama_registry/SOURCES.md) whose blob head the test writes from
gemma-2b's published configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import mcp_session
from tests.fakes.live import LiveServer
from tests.fakes.ollama import FakeOllama
from tests.fakes.ollama_registry import FakeOllamaRegistry, gguf_head
from tests.test_catalog_tools import call, error_text
from tests.test_fit import PLENTY, fit_app, probe
from venom_mcp.adapters.gguf import parse_header
from venom_mcp.adapters.ollama_registry import MEDIA_MODEL, OllamaRegistryAdapter, parse_manifest
from venom_mcp.errors import InvalidArgument, UpstreamError
from venom_mcp.services.fit.estimate import RAM_RESERVE

REAL = Path(__file__).parent / "fixtures" / "real" / "ollama_registry"
GEMMA_MANIFEST = (REAL / "manifest_library_gemma_2b.json").read_bytes()
GEMMA_DIGEST = "sha256:c1864a5eb19305c40519da12cc543519e48a0697ecd30e15d5ac228644957d12"
GEMMA_LAYER = 1_678_447_520


def gemma_2b_head() -> bytes:
    """A GGUF header with google/gemma-2b's configuration (config.json: 18 layers, hidden 2048, 8 heads, 1 KV head,
    head_dim 256, intermediate 16384, vocabulary 256000, 8192 positions), Q4_0 as Ollama's gemma:2b is, tied output."""
    metadata = {"gemma.context_length": 8192, "gemma.embedding_length": 2048, "gemma.block_count": 18,
                "gemma.feed_forward_length": 16384, "gemma.attention.head_count": 8,
                "gemma.attention.head_count_kv": 1, "gemma.attention.key_length": 256,
                "gemma.attention.value_length": 256, "gemma.attention.layer_norm_rms_epsilon": 1e-6}
    return gguf_head("gemma", metadata, layers=18, embd=2048, heads=8, kv_heads=1, ff=16384, vocab=256000,
                     file_type=2, matrix_type="Q4_0", head_dim=256, tied_output=True)


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[FakeOllamaRegistry, str, bytes]]:
    fake = FakeOllamaRegistry()
    head = gemma_2b_head()
    fake.add("gemma:2b", GEMMA_MANIFEST, {GEMMA_DIGEST: head})
    with LiveServer(fake.app) as server:
        yield fake, server.url, head


def test_the_real_manifest_parses_to_its_layers() -> None:
    manifest = parse_manifest(json.loads(GEMMA_MANIFEST), "library", "gemma", "2b")
    assert manifest.name == "gemma:2b"
    assert [(layer.media_type.rsplit(".", 1)[-1], layer.size) for layer in manifest.layers] == [
        ("model", GEMMA_LAYER), ("license", 8433), ("template", 136), ("params", 84)]
    assert manifest.layer(MEDIA_MODEL) is not None and manifest.layer(MEDIA_MODEL).digest == GEMMA_DIGEST  # type: ignore[union-attr]
    with pytest.raises(UpstreamError):
        parse_manifest({"layers": [{"mediaType": MEDIA_MODEL, "digest": "sha256:../../x", "size": 1}]}, "l", "m", "t")


async def test_names_are_placed_as_ollama_places_them() -> None:
    async with httpx.AsyncClient() as client:
        adapter = OllamaRegistryAdapter("https://registry.ollama.ai", client)
        assert adapter.locate("gemma") == ("library", "gemma", "latest")
        assert adapter.locate("gemma:2b") == ("library", "gemma", "2b")
        assert adapter.locate("library/gemma:2b") == ("library", "gemma", "2b")
        assert adapter.locate("registry.ollama.ai/library/gemma:2b") == ("library", "gemma", "2b")
        assert adapter.locate("huihui_ai/gemma-4-abliterated") == ("huihui_ai", "gemma-4-abliterated", "latest")
        for bad in ("a/b/c/d", "../etc:passwd", "gemma:2b b"):
            with pytest.raises(InvalidArgument):
                adapter.locate(bad)
        with pytest.raises(InvalidArgument, match="VENOM_OLLAMA_REGISTRY_URL"):
            adapter.locate("example.com:5000/team/model:tag")


async def test_a_real_manifest_and_the_head_of_its_model_layer(
        registry: tuple[FakeOllamaRegistry, str, bytes], home: Path, hub_url: str, library_url: str,
        ollama: FakeOllama, ollama_url: str) -> None:
    fake, url, head = registry
    fake.reset()
    async with mcp_session(fit_app(home, hub_url, library_url, ollama_url, ollama_registry_url=url)) as client:
        fit = await call(client, "check_fit", name="gemma:2b")
    header = parse_header(head)
    # the balanced-12-24gb profile: 8192 tokens, flash attention on, KV cache q8_0 (34 bytes per 32)
    assert fit["context_length"] == 8192 and fit["runtime"] == "ollama" and fit["quantization"] == "Q4_0"
    assert fit["kv_cache_gb"] == round(18 * 8192 * 1 * (256 + 256) * 34 / 32 / 1e9, 6)
    # the tensors this header lists (all matrices Q4_0) sum to less than the real file: its size past the header
    assert header.tensor_bytes * 1.01 < GEMMA_LAYER - header.data_offset
    assert fit["weights_gb"] == round((GEMMA_LAYER - header.data_offset) / 1e9, 6)
    assert fit["verdict"] == "cpu" and "Ollama registry" in fit["source"] and "gemma:2b" in fit["source"]
    # the redirect was followed, and only the head was read: from byte 0, each range continuing the last
    ranges = [r for path, r in fake.range_requests if path.endswith(GEMMA_DIGEST)]
    starts = [int(r.split("=")[1].split("-")[0]) for r in ranges if r]
    ends = [int(r.split("-")[1]) for r in ranges if r]
    assert len(ranges) == len(starts) >= 2 and starts[0] == 0
    assert all(start == end + 1 for start, end in zip(starts[1:], ends, strict=False))
    assert header.data_offset <= fake.bytes_sent[GEMMA_DIGEST] < 2 * header.data_offset + 64 * 1024
    assert fake.hits[f"/v2/library/gemma/blobs/{GEMMA_DIGEST}"] == len(ranges)  # each through the registry
    assert ollama.bodies("/api/pull") == []  # nothing pulled


async def test_a_fake_ollama_model_not_pulled_is_checked_from_the_registry(
        registry: tuple[FakeOllamaRegistry, str, bytes], home: Path, hub_url: str, library_url: str,
        ollama: FakeOllama, ollama_url: str) -> None:
    fake, url, _ = registry
    fake.reset()
    qwen3 = ollama.library["qwen3:0.6b"]
    async with mcp_session(fit_app(home, hub_url, library_url, ollama_url, ollama_registry_url=url)) as client:
        fit = await call(client, "check_fit", name="qwen3:0.6b", context_length=4096)
        missing = await error_text(client, "check_fit", name="qwen3:235b")
    # model_info: 28 layers, 8 KV heads, no key_length (so embedding 1024 / 16 heads = 64), q8_0 KV cache
    assert fit["kv_cache_gb"] == round(28 * 4096 * 8 * (64 + 64) * 34 / 32 / 1e9, 6)
    assert fit["context_length"] == 4096 and fit["quantization"] == "Q4_K_M"
    model_size = next(size for media, size in qwen3.layers if media == MEDIA_MODEL)
    assert 0.9 * model_size / 1e9 < fit["weights_gb"] <= model_size / 1e9
    assert "registry" in missing and "qwen3:235b" in missing and "ollama.com/library" in missing


async def test_an_ollama_install_that_will_not_fit_is_refused_before_the_pull(
        registry: tuple[FakeOllamaRegistry, str, bytes], home: Path, hub_url: str, library_url: str,
        ollama: FakeOllama, ollama_url: str) -> None:
    _, url, _ = registry
    app = fit_app(home, hub_url, library_url, ollama_url, probe(RAM_RESERVE + 1_000_000_000),
                  ollama_registry_url=url)
    async with mcp_session(app) as client:
        text = await error_text(client, "install_model", name="gemma2:2b", provider="ollama")
        assert "gemma2:2b:latest" not in text and "will not fit on ollama" in text and "force=true" in text
        assert "weights 1.6" in text and "what would fit" not in text  # the weights alone are more than 1 GB
        assert ollama.bodies("/api/pull") == [] and (await call(client, "list_operations"))["count"] == 0
        forced = await call(client, "install_model", name="gemma2:2b", provider="ollama", force=True, wait=True)
        assert forced["status"] == "completed" and "warning: force=true, install although it will not fit" in \
            forced["message"]
        app.fit.probe = PLENTY
        cpu = await call(client, "install_model", name="qwen2.5:0.5b", provider="ollama", wait=True)
        assert cpu["status"] == "completed" and "warning: it will run on the CPU only" in cpu["message"]


async def test_a_context_that_does_not_fit_is_answered_with_one_that_does(
        registry: tuple[FakeOllamaRegistry, str, bytes], home: Path, hub_url: str, library_url: str,
        ollama_url: str) -> None:
    _, url, _ = registry
    roomy = fit_app(home, hub_url, library_url, ollama_url, ollama_registry_url=url)
    try:
        long = await roomy.fit.check("llama3.2:1b", context_length=131072)
        short = await roomy.fit.check("llama3.2:1b", context_length=2048)
    finally:
        await roomy.aclose()
    app = fit_app(home, hub_url, library_url, ollama_url, probe(RAM_RESERVE + (long.required_gb + short.required_gb)
                                                                 / 2 * 1e9), ollama_registry_url=url)
    try:
        fit = await app.fit.check("llama3.2:1b", context_length=131072)
        assert fit.verdict == "no" and fit.suggestions and fit.suggestions[0].startswith("context_length=")
        context = int(fit.suggestions[0].split("=")[1].split(" ")[0])
        assert 2048 < context < 131072
        assert (await app.fit.check("llama3.2:1b", context_length=context)).verdict == "cpu"
        assert (await app.fit.check("llama3.2:1b", context_length=context + 256)).verdict == "no"
    finally:
        await app.aclose()
