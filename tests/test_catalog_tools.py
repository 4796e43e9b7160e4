"""list_models, trending_models and model_news through an MCP client session, against the fakes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi
from mcp import ClientSession

from tests.conftest import make_settings
from tests.fakes.hub import REAL_GGUF_REPO, FakeHub
from tests.fakes.live import LiveServer
from tests.fakes.ollama_library import FakeOllamaLibrary
from venom_mcp.adapters.huggingface import file_quant
from venom_mcp.app import App


async def call(client: ClientSession, tool: str, /, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.isError, result.content
    assert result.structuredContent is not None
    return result.structuredContent


async def error_text(client: ClientSession, tool: str, /, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.isError
    return " ".join(getattr(block, "text", "") for block in result.content)


async def test_tools_list_publishes_typed_schemas_and_hints(client: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {"list_models", "trending_models", "model_news"} <= set(tools)
    for tool in tools.values():
        assert tool.outputSchema is not None and tool.outputSchema["type"] == "object"
        assert tool.annotations is not None
        assert tool.description and len(tool.description) > 40
    for name in ("list_models", "trending_models", "model_news", "installed_models", "operation_status"):
        assert tools[name].annotations.readOnlyHint is True, name  # type: ignore[union-attr]
    for name in ("remove_model", "cancel_operation"):
        assert tools[name].annotations.destructiveHint is True, name  # type: ignore[union-attr]
    assert tools["install_model"].annotations.readOnlyHint is False  # type: ignore[union-attr]
    assert "ctx" not in tools["install_model"].inputSchema["properties"]
    schema = tools["list_models"].inputSchema
    assert schema["required"] == ["provider"]
    assert schema["properties"]["limit"]["maximum"] == 100
    assert schema["properties"]["limit"]["minimum"] == 1
    assert schema["properties"]["provider"]["enum"] == ["huggingface", "ollama", "hf"]  # every accepted spelling
    assert "alias" in schema["properties"]["provider"]["description"]
    assert set(tools["model_news"].inputSchema["properties"]["kind"]["enum"]) == {"blog", "papers"}
    assert "stale" in tools["trending_models"].outputSchema["properties"]


async def test_trending_huggingface_is_ordered_and_mapped(client: ClientSession, hub: FakeHub) -> None:
    result = await call(client, "trending_models", provider="huggingface", limit=5)
    assert result["stale"] is False and result["error"] is None
    assert result["count"] == 5 == len(result["models"])
    expected = sorted(hub.models, key=lambda m: m["trendingScore"], reverse=True)[:5]
    assert [m["model_name"] for m in result["models"]] == [m["id"] for m in expected]
    for row, source in zip(result["models"], expected, strict=True):
        assert row["provider"] == "huggingface"
        assert row["downloads"] == source["downloads"] and row["likes"] == source["likes"]
        is_gguf = "gguf" in source["tags"] or "gguf" in source
        assert row["runtime"] == ("llamacpp" if is_gguf else "vllm")
        assert row["url"].endswith("/" + source["id"])
        assert row["display_name"] == source["id"].split("/")[-1]


async def test_hub_rows_carry_parameters_size_and_gguf_context(client: ClientSession, hub: FakeHub) -> None:
    result = await call(client, "list_models", provider="hf", limit=100)
    rows = {m["model_name"]: m for m in result["models"]}
    with_safetensors = [m for m in hub.models if m.get("safetensors")]
    assert with_safetensors, "the fake must seed safetensors info"
    source = with_safetensors[0]
    row = rows[source["id"]]
    assert row["parameter_count"] == source["safetensors"]["total"]
    params = source["safetensors"]["parameters"]
    bytes_per = {"BF16": 2, "F16": 2, "F32": 4, "I8": 1, "U8": 1}
    assert row["size_gb"] == round(sum(n * bytes_per[d] for d, n in params.items()) / 1e9, 2)
    gguf = next(m for m in hub.models if m.get("gguf"))
    assert rows[gguf["id"]]["context_length"] == gguf["gguf"]["context_length"]
    assert rows[gguf["id"]]["runtime"] == "llamacpp"


async def test_hub_search_returns_matches_only(client: ClientSession) -> None:
    result = await call(client, "list_models", provider="huggingface", query="GGUF", limit=50)
    assert result["count"] >= 2
    assert all("gguf" in m["model_name"].lower() for m in result["models"])
    assert all(m["runtime"] == "llamacpp" for m in result["models"])


async def test_ollama_library_popular_and_search(client: ClientSession, library: FakeOllamaLibrary) -> None:
    popular = await call(client, "trending_models", provider="ollama", limit=100)
    assert popular["stale"] is False and popular["error"] is None
    downloads = [m["downloads"] for m in popular["models"]]
    assert downloads == sorted(downloads, reverse=True) and downloads[0] > 1_000_000
    llama = next(m for m in popular["models"] if m["display_name"] == "llama3.1")
    assert llama["model_name"] == "llama3.1:latest" and llama["runtime"] == "ollama"
    assert "tools" in llama["capabilities"] and "8b" in llama["sizes"]
    assert llama["description"] and llama["url"].endswith("/library/llama3.1")
    found = await call(client, "list_models", provider="ollama", query="qwen", limit=20)
    assert found["count"] >= 2 and all("qwen" in m["model_name"] for m in found["models"])
    nothing = await call(client, "list_models", provider="ollama", query="zzz-no-such-model")
    assert nothing["count"] == 0 and nothing["stale"] is False and nothing["error"] is None


async def test_bad_arguments_name_the_valid_values(client: ClientSession) -> None:
    text = await error_text(client, "list_models", provider="bogus")
    assert "huggingface" in text and "ollama" in text
    assert "100" in await error_text(client, "trending_models", provider="ollama", limit=101)
    assert "1" in await error_text(client, "trending_models", provider="ollama", limit=0)
    assert "YYYY-MM" in await error_text(client, "model_news", kind="papers", month="2025-13")
    assert "papers" in await error_text(client, "model_news", kind="blog", month="2025-12")
    kinds = await error_text(client, "model_news", kind="tweets")
    assert "blog" in kinds and "papers" in kinds


async def test_limit_does_not_fragment_the_cache(client: ClientSession, hub: FakeHub) -> None:
    small = await call(client, "trending_models", provider="huggingface", limit=3)
    large = await call(client, "trending_models", provider="huggingface", limit=10)
    assert [m["model_name"] for m in large["models"]][:3] == [m["model_name"] for m in small["models"]]
    assert hub.hits["/api/models"] == 1


async def test_concurrent_identical_requests_share_one_fetch(client: ClientSession, hub: FakeHub) -> None:
    hub.fault, hub.slow_seconds = "slow", 0.3
    results = await asyncio.gather(
        *(call(client, "trending_models", provider="huggingface", limit=n) for n in (1, 2, 3, 4, 5))
    )
    assert [r["count"] for r in results] == [1, 2, 3, 4, 5]
    assert all(r["stale"] is False for r in results)
    assert hub.hits["/api/models"] == 1


async def test_blog_news_is_plain_trimmed_text(client: ClientSession, hub: FakeHub) -> None:
    result = await call(client, "model_news", kind="blog", limit=50)
    assert result["stale"] is False and result["count"] >= 12
    for item in result["items"]:
        assert not re.search(r"</?(p|b|a|i|em|strong|br|div|img)\b", item["summary"]), item["summary"]
        assert "&amp;" not in item["summary"] and "&lt;" not in item["summary"]
        assert len(item["summary"]) <= 400
        assert item["published_at"] and item["url"].startswith("http") and item["source"] == "huggingface"
    trimmed = [i["summary"] for i in result["items"] if i["summary"].endswith("…")]
    assert trimmed, "the fake feed has long items that must be trimmed"
    assert all(not s[:-1].endswith(" ") for s in trimmed)
    assert (await call(client, "model_news", kind="blog", limit=3))["count"] == 3
    assert hub.hits["/blog/feed.xml"] == 1


async def test_papers_by_month(client: ClientSession, hub: FakeHub) -> None:
    result = await call(client, "model_news", kind="papers", month="2025-12", limit=50)
    assert result["kind"] == "papers" and result["count"] >= 1 and result["stale"] is False
    for item in result["items"]:
        assert "/papers/" in item["url"] and item["authors"] and item["title"]
        assert len(item["summary"]) <= 400
    november = await call(client, "model_news", kind="papers", month="2025-11", limit=50)
    assert {i["url"] for i in november["items"]}.isdisjoint({i["url"] for i in result["items"]})
    latest = await call(client, "model_news", kind="papers", limit=2)
    assert latest["count"] == 2


# ---- GGUF repos list their quantizations with sizes ------------------------------------------------------------


def _quantizations(api: HfApi, repo: str) -> dict[str, tuple[int, int]]:
    """quantization -> (bytes, files) as huggingface_hub itself reads the repo's files from the (fake) Hub."""
    info = api.model_info(repo, files_metadata=True)
    found: dict[str, tuple[int, int]] = {}
    for sibling in info.siblings or []:
        name = sibling.rfilename
        if not name.endswith(".gguf") or "mmproj" in name or name.startswith("imatrix") or "/" in name:
            continue
        quant = file_quant(name)
        assert quant is not None, name
        size, files = found.get(quant, (0, 0))
        found[quant] = (size + int(sibling.size or 0), files + 1)
    return found


async def test_gguf_rows_list_each_quantization_with_its_size(client: ClientSession, hub: FakeHub,
                                                              hub_url: str) -> None:
    api = HfApi(endpoint=hub_url, token=False)
    # What the list API gives: file names at most, never sizes (so each GGUF repo costs one ?blobs=true request).
    listed = list(api.list_models(search="GGUF", expand=["siblings"], limit=5))
    assert listed and all(s.size is None for m in listed for s in m.siblings or [])
    hub.reset()
    rows = (await call(client, "list_models", provider="huggingface", query="GGUF", limit=50))["models"]
    gguf_rows = [row for row in rows if row["runtime"] == "llamacpp"]
    assert len(gguf_rows) >= 5
    for row in gguf_rows:
        expected = _quantizations(api, row["model_name"])
        got = {q["name"]: (q["size_gb"], q["files"]) for q in row["quantizations"]}
        assert got == {name: (round(size / 1e9, 2), files) for name, (size, files) in expected.items()}, row
        sizes = [q["size_gb"] for q in row["quantizations"]]
        assert sizes == sorted(sizes)
        (default,) = [q for q in row["quantizations"] if q["install_default"]]
        assert default["size_gb"] == row["size_gb"]
        assert hub.hits[f"/api/models/{row['model_name']}"] == 1  # one request per repo, its sizes and quantizations
    gemma = next(row for row in gguf_rows if "gemma-3-4b" in row["model_name"].lower())
    assert [q["name"] for q in gemma["quantizations"]] == ["Q4_K_M", "Q8_0", "BF16"]  # not the mmproj-F16 projector
    assert next(q for q in gemma["quantizations"] if q["name"] == "Q4_K_M")["install_default"] is True
    assert all(row["quantizations"] == [] for row in rows if row["runtime"] != "llamacpp" and
               "gguf" not in row["tags"])


async def test_a_captured_gguf_repo_lists_split_quantizations_as_one(
        real_server: tuple[FakeHub, LiveServer], home: Path, closed_url: str) -> None:
    """unsloth/Qwen3.8-27B-GGUF as the real Hub listed it (tests/fixtures/real/hub/SOURCES.md): BF16 in two parts in
    its folder, the MTP/ draft, the projectors and the imatrix are not quantizations of the model."""
    hub, server = real_server
    hub.reset()
    app = App(make_settings(home, server.url, closed_url))
    try:
        (row,) = (await app.catalog.list_models("huggingface", "Qwen3.8", 5)).models
    finally:
        await app.aclose()
    assert row.model_name == REAL_GGUF_REPO and row.size_gb == 16.46
    assert [(q.name, q.size_gb, q.files, q.install_default) for q in row.quantizations] == [
        ("IQ4_XS", 14.25, 1, False), ("Q4_0", 16.06, 1, False), ("Q4_K_M", 16.46, 1, True),
        ("Q6_K", 21.98, 1, False), ("Q8_0", 29.05, 1, False), ("BF16", 54.66, 2, False),
    ]  # fmt: skip
    assert hub.hits[f"/api/models/{REAL_GGUF_REPO}"] == 1


async def test_split_files_at_the_top_are_one_quantization(home: Path, closed_url: str) -> None:
    """`-00001-of-00003.gguf` parts at the top of a repo (Qwen's own layout) add up to one quantization."""
    repo = "venom-test/split-GGUF"
    parts = {f"qwen2.5-7b-instruct-q8_0-0000{i}-of-00003.gguf": size
             for i, size in ((1, 3_993_201_344), (2, 3_988_021_216), (3, 127_442_016))}
    files = {".gitattributes": 1_519, **parts, "qwen2.5-7b-instruct-q4_k_m.gguf": 4_683_073_184}
    model = {"_id": "0" * 24, "id": repo, "modelId": repo, "sha": "1" * 40, "private": False, "downloads": 5,
             "likes": 1, "trendingScore": 1, "tags": ["gguf"], "createdAt": "2025-01-01T00:00:00.000Z",
             "lastModified": "2025-01-01T00:00:00.000Z",
             "siblings": [{"rfilename": name, "size": size, "blobId": "2" * 40} for name, size in files.items()]}
    hub = FakeHub(models=[model], files={})
    with LiveServer(hub.app) as server:
        app = App(make_settings(home, server.url, closed_url))
        try:
            (row,) = (await app.catalog.list_models("huggingface", None, 5)).models
        finally:
            await app.aclose()
    assert [(q.name, q.size_gb, q.files, q.install_default) for q in row.quantizations] == [
        ("Q4_K_M", 4.68, 1, True), ("Q8_0", round(sum(parts.values()) / 1e9, 2), 3, False)]
    assert row.size_gb == 4.68
