"""check_fit through the tools and the REST API: the Hub's sources (Range reads of a GGUF head, config.json), Ollama's
/api/show, and what install and activation do with a verdict: `no` refused with the numbers and what would fit
(computed: a shorter context, a smaller quantization of the same repo) unless force=true, `cpu` and `gpu_partial`
installed or activated with a warning in the message, over MCP and over REST.

The free memory is what each test says (tests/test_fit.py `probe`), so no verdict depends on the machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gguf import GGMLQuantizationType as Q
from mcp import ClientSession

from tests.conftest import build, http_served, make_settings, mcp_session
from tests.fakes.hub import TINY_CHAT, TINY_GGUF, FakeHub
from tests.fakes.live import LiveServer
from tests.fakes.ollama import FakeOllama
from tests.test_catalog_tools import call, error_text
from tests.test_fit import (
    BIG_HEAD_REPO,
    FIT_REPO,
    PADDING,
    PLENTY,
    fit_app,
    open_llama_header,
    probe,
    refit,
    write_gqa_model,
)
from venom_mcp.adapters.gguf import parse_header
from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.errors import Conflict
from venom_mcp.records import ACTIVE_STATUSES
from venom_mcp.services.fit import MIN_CONTEXT
from venom_mcp.services.fit.estimate import RAM_RESERVE

OPERATION_DEADLINE_S = 60.0


@pytest.fixture
def settings(home: Path, hub_url: str, library_url: str, ollama_url: str) -> Settings:
    """Hugging Face models run on vLLM and llama.cpp: the `full` profile."""
    return make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full")


# ---- the sources, through the check_fit tool -----------------------------------------------------------------


@pytest.fixture(scope="module")
def fit_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeHub, str]]:
    folder = tmp_path_factory.mktemp("fit")
    big_head = open_llama_header()
    hub = FakeHub(files={
        FIT_REPO: {"README.md": b"fit", "fit-Q8_0.gguf": write_gqa_model(folder / "q8.gguf").read_bytes(),
                   "fit-F16.gguf": write_gqa_model(folder / "f16.gguf", quant=Q.F16).read_bytes()},
        # a real header, then bytes that stand for the weights: only the head may be read
        BIG_HEAD_REPO: {"README.md": b"head", "open-llama-Q4_0.gguf": big_head + bytes(PADDING)},
    })
    with LiveServer(hub.app) as server:
        yield hub, server.url


async def test_hub_gguf_is_read_with_range_requests_of_its_head_only(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    hub, url = fit_hub
    hub.reset()
    async with mcp_session(fit_app(home, url, library_url, ollama_url)) as client:
        fit = await call(client, "check_fit", name=f"{BIG_HEAD_REPO}:Q4_0", context_length=512)
    key = f"{BIG_HEAD_REPO}/open-llama-Q4_0.gguf"
    ranges = [r for k, r in hub.range_requests if k == key]
    assert ranges and all(r and r.startswith("bytes=") for r in ranges)
    header = parse_header(open_llama_header()).data_offset  # 740 kB: its vocabulary, scores and types
    # the head (in two requests: 512 KiB, then up to 1 MiB), never the 8 MiB standing for the weights
    assert header < hub.bytes_sent[key] <= 2 * header and len(ranges) == 2
    assert fit["kv_cache_gb"] == round(26 * 512 * 3200 * 4 / 1e9, 6)
    assert fit["verdict"] == "cpu" and fit["vram_free_gb"] is None and fit["gpu_layers"] == 0
    assert "Range requests" in fit["source"] and fit["quantization"] == "Q4_0"


async def test_a_large_header_is_read_in_growing_contiguous_ranges(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    from venom_mcp.adapters.huggingface.ranges import read_gguf_head

    hub, url = fit_hub
    hub.reset()
    app = fit_app(home, url, library_url, ollama_url)
    try:
        head = await read_gguf_head(app.hub, BIG_HEAD_REPO, "open-llama-Q4_0.gguf", first=64 * 1024)
    finally:
        await app.aclose()
    ranges = [r for _, r in hub.range_requests]
    starts = [int(r.split("=")[1].split("-")[0]) for r in ranges if r]
    ends = [int(r.split("-")[1]) for r in ranges if r]
    assert len(ranges) == head.requests > 1 and starts[0] == 0
    assert all(start == end + 1 for start, end in zip(starts[1:], ends, strict=False))  # each continues the last
    assert head.header.data_offset <= head.bytes_read < 2 * head.header.data_offset + 64 * 1024


async def test_safetensors_repo_from_config_json(client: ClientSession, app: App) -> None:
    refit(app)
    fit = await call(client, "check_fit", name=TINY_CHAT, provider="hf", context_length=4096)
    assert fit["runtime"] == "vllm" and fit["verdict"] == "cpu"
    assert fit["kv_cache_gb"] == round(1 * 4096 * 8 * 128 * 2 / 1e9, 6)  # 1 layer, 8 KV heads of 64 + 64, bf16
    assert any("CPU build" in note for note in fit["notes"])


async def test_ollama_model_through_api_show(client: ClientSession, app: App, ollama: FakeOllama) -> None:
    refit(app)
    ollama.install("llama3.2:1b")
    fit = await call(client, "check_fit", name="llama3.2:1b")
    # the balanced-12-24gb profile: 8192 tokens, flash attention on, OLLAMA_KV_CACHE_TYPE q8_0 (34 bytes per 32)
    assert fit["context_length"] == 8192 and fit["runtime"] == "ollama"
    assert fit["kv_cache_gb"] == round(16 * 8192 * 8 * (64 + 64) * 34 / 32 / 1e9, 6)
    assert fit["weights_gb"] == round(sum(size for _, size in ollama.library["llama3.2:1b"].layers) / 1e9, 6)
    assert any("q8_0" in note for note in fit["notes"])
    assert fit["source"] == "Ollama /api/show model_info" and fit["quantization"] == "Q8_0"


# ---- install and activation ask first ------------------------------------------------------------------------


async def test_install_refused_on_no_with_the_numbers_and_what_would_fit(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    _, url = fit_hub
    roomy = fit_app(home, url, library_url, ollama_url)
    try:
        big = await roomy.fit.check(f"{FIT_REPO}:F16", runtime="llamacpp")
        small = await roomy.fit.check(f"{FIT_REPO}:Q8_0", runtime="llamacpp")
    finally:
        await roomy.aclose()
    assert small.required_gb < big.required_gb
    between = RAM_RESERVE + (small.required_gb + big.required_gb) / 2 * 1e9
    app = fit_app(home, url, library_url, ollama_url, probe(between))
    async with mcp_session(app) as client:
        assert (await call(client, "check_fit", name=f"{FIT_REPO}:F16"))["verdict"] == "no"  # then install
        text = await error_text(client, "install_model", name=f"{FIT_REPO}:F16", provider="hf")
        assert "will not fit" in text and "force=true" in text and f"{big.required_gb:.3f} GB" in text
        assert "quantization Q8_0" in text and "context_length=" in text
        assert (await call(client, "list_operations"))["count"] == 0  # nothing started, nothing written
        op = await call(client, "install_model", name=f"{FIT_REPO}:F16", provider="hf", force=True, wait=True)
        assert op["status"] == "completed" and "force=true" in op["message"]
        fit = await call(client, "check_fit", name=f"{FIT_REPO}:F16")  # installed: read from the local file
        assert fit["verdict"] == "no" and "installed" in fit["source"]


async def test_install_without_a_check_first_reads_nothing_more_than_its_plan(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    """Before the download only the plan's file sizes are known: weights alone that do not fit are refused, and no
    request touches the files until the download itself."""
    hub, url = fit_hub
    hub.reset()
    app = fit_app(home, url, library_url, ollama_url, probe(RAM_RESERVE + 1_000_000))  # 1 MB: not even the weights
    async with mcp_session(app) as client:
        text = await error_text(client, "install_model", name=f"{FIT_REPO}:Q8_0", provider="hf")
        assert "will not fit" in text and "weights 3.4 MB" in text
        assert hub.range_requests == [] and not hub.downloads  # nothing read but the repo's file list
        app.fit.probe = PLENTY
        op = await call(client, "install_model", name=f"{FIT_REPO}:Q8_0", provider="hf", wait=True)
        assert op["status"] == "completed" and "warning: it will run on the CPU only" in op["message"]
        assert [r for _, r in hub.range_requests] == [None]  # the download, and only it


async def test_cpu_verdict_installs_with_a_warning_and_unknown_metadata_never_blocks(
        client: ClientSession, app: App) -> None:
    refit(app)
    op = await call(client, "install_model", name=TINY_GGUF, provider="hf", runtime="llamacpp", wait=True)
    assert op["status"] == "completed" and "warning: it will run on the CPU only" in op["message"]
    # the seed file's header has no head counts: the KV cache is unknown, said in a note, never a false "no"
    fit = await call(client, "check_fit", name=f"{TINY_GGUF}:Q4_K_M")
    assert fit["kv_cache_gb"] == 0 and any("KV cache is not counted" in n for n in fit["notes"])
    # the Ollama registry is not reachable here (tests/conftest.py points it at a closed port): noted, not refused
    pulled = await call(client, "install_model", name="qwen2.5:0.5b", provider="ollama", wait=True)
    assert pulled["status"] == "completed" and "memory fit not checked" in pulled["message"]
    assert "registry" in pulled["message"]


async def test_activation_refused_on_no_unless_forced(runtime_settings: dict[str, Any]) -> None:
    app = build(runtime_settings)
    refit(app)
    async with mcp_session(app) as client:
        op = await call(client, "install_model", name=TINY_GGUF, provider="hf", wait=True)
        name = op["model_name"]
        app.fit.probe = probe(RAM_RESERVE + 1000)  # now the machine is full
        with pytest.raises(Conflict):
            await app.runtimes.activate(name, "llamacpp")
        text = await error_text(client, "activate_model", name=name, runtime="llamacpp")
        assert "will not fit" in text and "force=true" in text
        assert not [o for o in (await call(client, "list_operations"))["operations"]
                    if o["operation_type"] == "activate"]
        active = await call(client, "activate_model", name=name, runtime="llamacpp", force=True)
        assert active["status"] == "online" and "force=true" in active["message"]
        await app.runtimes.stop("llamacpp")


async def test_rest_route(app: App) -> None:
    refit(app)
    with http_served(app) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            answer = (await http.post("/api/v1/models/fit", json={"name": TINY_CHAT, "context_length": 2048})).json()
            bad = await http.post("/api/v1/models/fit", json={"name": TINY_CHAT, "context_length": "2048"})
    assert answer["success"] is True and answer["verdict"] == "cpu" and answer["context_length"] == 2048
    assert bad.status_code == 400


# ---- what would fit: computed, and each suggestion checked --------------------------------------------------


async def test_what_would_fit_is_the_longest_context_and_the_quantizations_that_do(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    _, url = fit_hub
    roomy = fit_app(home, url, library_url, ollama_url)
    try:
        big = await roomy.fit.check(f"{FIT_REPO}:F16", runtime="llamacpp", context_length=4096)
        small = await roomy.fit.check(f"{FIT_REPO}:Q8_0", runtime="llamacpp", context_length=4096)
    finally:
        await roomy.aclose()
    app = fit_app(home, url, library_url, ollama_url, probe(RAM_RESERVE + (small.required_gb + big.required_gb) / 2
                                                             * 1e9))
    try:
        fit = await app.fit.check(f"{FIT_REPO}:F16", runtime="llamacpp", context_length=4096)
        assert fit.verdict == "no" and len(fit.suggestions) == 2, fit.suggestions
        found = re.fullmatch(r"context_length=(\d+) \((\w+)\)", fit.suggestions[0])
        assert found is not None, fit.suggestions
        context = int(found.group(1))
        assert MIN_CONTEXT <= context < 4096 and context % MIN_CONTEXT == 0
        shorter = await app.fit.check(f"{FIT_REPO}:F16", runtime="llamacpp", context_length=context)
        assert shorter.verdict == found.group(2) == "cpu"
        # the longest that fits, to the step of the search: one step more does not
        longer = await app.fit.check(f"{FIT_REPO}:F16", runtime="llamacpp", context_length=context + MIN_CONTEXT)
        assert longer.verdict == "no"
        size = f"{small.weights_gb * 1000:.1f} MB"  # the Q8_0 file's weights, as the F16's header scaled to it
        assert re.fullmatch(r"quantization Q8_0 \(\d+\.\d MB, cpu\)", fit.suggestions[1]), fit.suggestions
        assert abs(float(fit.suggestions[1].split("(")[1].split(" ")[0]) - float(size.split()[0])) < 0.2
        assert (await app.fit.check(f"{FIT_REPO}:Q8_0", runtime="llamacpp", context_length=4096)).verdict == "cpu"
    finally:
        await app.aclose()


async def test_an_install_refused_from_its_plan_alone_names_a_smaller_quantization(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    """Without check_fit first, the install plan's file list still gives the repo's other quantizations."""
    hub, url = fit_hub
    hub.reset()
    files = {s: len(c) for s, c in hub.files[FIT_REPO].items()}
    between = RAM_RESERVE + (files["fit-Q8_0.gguf"] + files["fit-F16.gguf"]) // 2
    async with mcp_session(fit_app(home, url, library_url, ollama_url, probe(between))) as client:
        text = await error_text(client, "install_model", name=f"{FIT_REPO}:F16", provider="hf")
    assert "will not fit" in text and "what would fit: quantization Q8_0" in text
    assert hub.range_requests == [] and not hub.downloads


# ---- the REST API takes force as MCP does ---------------------------------------------------------------------


async def _finished(http: httpx.AsyncClient, operation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + OPERATION_DEADLINE_S
    while time.monotonic() < deadline:
        op = (await http.get(f"/api/v1/models/operations/{operation_id}")).json()["operation"]
        if op["status"] not in ACTIVE_STATUSES:
            return dict(op)
        await _pause()
    raise AssertionError(f"operation {operation_id} did not end within {OPERATION_DEADLINE_S} s")


async def _pause() -> None:
    import anyio

    await anyio.sleep(0.05)


async def test_rest_install_is_refused_on_no_and_forced_with_force(
        fit_hub: tuple[FakeHub, str], home: Path, library_url: str, ollama_url: str) -> None:
    _, url = fit_hub
    app = fit_app(home, url, library_url, ollama_url, probe(RAM_RESERVE + 1_000_000))
    with http_served(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            body = {"name": f"{FIT_REPO}:Q8_0", "provider": "huggingface"}
            refused = await http.post("/api/v1/models/registry/install", json=body)
            assert refused.status_code == 409 and refused.json()["success"] is False
            error = refused.json()["error"]
            assert "will not fit" in error and "weights 3.4 MB" in error and "force=true" in error
            assert (await http.get("/api/v1/models/operations")).json()["count"] == 0  # nothing started
            wrong = await http.post("/api/v1/models/registry/install", json={**body, "force": "yes"})
            assert wrong.status_code == 400 and "force" in wrong.json()["error"]
            started = await http.post("/api/v1/models/registry/install", json={**body, "force": True})
            assert started.status_code == 200, started.text
            done = await _finished(http, started.json()["operation_id"])
            assert done["status"] == "completed" and "warning: force=true, install although it will not fit" in \
                done["message"]
            app.fit.probe = PLENTY  # the original design's path, a model that fits in RAM only: a warning
            cpu = await http.post("/api/v1/models/install", json={"model": f"{FIT_REPO}:F16", "provider": "hf"})
            assert cpu.status_code == 200, cpu.text
            done = await _finished(http, cpu.json()["operation_id"])
            assert done["status"] == "completed" and "warning: it will run on the CPU only" in done["message"]


async def test_rest_activate_is_refused_on_no_and_forced_with_force(runtime_settings: dict[str, Any]) -> None:
    app = refit(build(runtime_settings))
    with http_served(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            started = await http.post("/api/v1/models/registry/install", json={"name": TINY_GGUF, "provider": "hf"})
            name = (await _finished(http, started.json()["operation_id"]))["model_name"]
            app.fit.probe = probe(RAM_RESERVE + 1000)  # now the machine is full
            refused = await http.post("/api/v1/models/activate", json={"name": name, "runtime": "llamacpp"})
            assert refused.status_code == 409 and "will not fit" in refused.json()["error"]
            assert "force=true" in refused.json()["error"]
            forced = await http.post("/api/v1/models/switch", json={"model": name, "runtime": "llamacpp",
                                                                    "force": True})
            assert forced.status_code == 200, forced.text
            answer = forced.json()
            assert answer["active"]["status"] == "online" and answer["active"]["model"] == name
            assert "warning: force=true, activate although it will not fit" in answer["message"]
            app.fit.probe = PLENTY
            cpu = await http.post("/api/v1/models/activate", json={"name": name, "runtime": "llamacpp"})
            assert cpu.status_code == 200 and "warning: it will run on the CPU only" in cpu.json()["message"]
        await app.runtimes.stop("llamacpp")
