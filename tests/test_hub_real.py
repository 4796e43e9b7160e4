"""Hub models on real captured answers (tests/fixtures/real/hub/, see SOURCES.md there).

Two things are checked: that the fake Hub speaks like the captures (same fields, same order, sizes only with
`?blobs=true`), and that list_models / trending_models give the facts the captured payloads hold: names,
download counts, dates and sizes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from mcp import ClientSession

from tests.conftest import make_settings, mcp_session
from tests.fakes.hub import LIST_DEFAULT_FIELDS, REAL_CAPTURES, REAL_GGUF_REPO, FakeHub
from tests.fakes.live import LiveServer
from venom_mcp.adapters.huggingface import (
    DTYPE_BITS,
    HubFile,
    dtype_bits,
    gguf_choice,
    quant_of,
    weights_bytes,
)
from venom_mcp.app import App
from venom_mcp.errors import InvalidArgument


def capture(name: str) -> Any:
    return json.loads((REAL_CAPTURES / name).read_text(encoding="utf-8"))


TRENDING = capture("models_trending_2026-08-02.json")
MODEL_INFOS = {m["id"]: m for m in capture("model_info_2025.json")}
GGUF_LISTING = capture("model_blobs_unsloth_Qwen3.8-27B-GGUF_2026-09-02.json")["siblings"]


@pytest.fixture
def real_url(real_server: tuple[FakeHub, LiveServer]) -> str:
    real_server[0].reset()
    return real_server[1].url


@pytest.fixture
async def real_app(home: Path, real_url: str, closed_url: str) -> AsyncIterator[App]:
    app = App(make_settings(home, real_url, closed_url))
    yield app
    await app.aclose()


async def call(client: ClientSession, tool: str, /, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.isError, result.content
    assert result.structuredContent is not None
    return result.structuredContent


def is_subsequence(keys: list[str], of: tuple[str, ...]) -> bool:
    rest = iter(of)
    return all(key in rest for key in keys)


# --------------------------------------------------------------------------------------------------
# The fake speaks like the captures
# --------------------------------------------------------------------------------------------------


def test_fake_list_answer_has_the_real_fields_in_the_real_order(hub_url: str) -> None:
    for entry in TRENDING:
        assert is_subsequence(list(entry), LIST_DEFAULT_FIELDS), list(entry)
    seed = httpx.get(f"{hub_url}/api/models", params={"limit": 100}).json()
    for entry in seed:
        assert is_subsequence(list(entry), LIST_DEFAULT_FIELDS), list(entry)
    assert any(list(entry) == list(LIST_DEFAULT_FIELDS) for entry in seed)
    assert any(list(entry) == list(LIST_DEFAULT_FIELDS) for entry in TRENDING)


def test_fake_model_info_has_only_real_fields(hub_url: str) -> None:
    real_fields = set().union(*(set(m) for m in MODEL_INFOS.values()))
    seed = httpx.get(f"{hub_url}/api/models/meta-llama/Llama-3.1-8B-Instruct").json()
    # trendingScore and gguf are expand properties the captures' repos did not carry.
    assert set(seed) <= real_fields | {"trendingScore", "gguf"}
    core = {"_id", "id", "modelId", "author", "sha", "lastModified", "createdAt", "private", "gated", "disabled",
            "downloads", "likes", "tags", "pipeline_tag", "library_name", "cardData", "safetensors", "siblings",
            "spaces", "usedStorage"}  # fmt: skip
    assert core <= set(seed) and all(core <= set(m) for m in MODEL_INFOS.values())
    assert all(set(s) == {"rfilename"} for m in MODEL_INFOS.values() for s in m["siblings"])
    assert all(set(s) == {"rfilename"} for s in seed["siblings"])


def test_fake_serves_a_captured_model_info_unchanged(real_url: str) -> None:
    for repo in ("meta-llama/Llama-3.1-8B-Instruct", "deepset/roberta-base-squad2"):
        assert httpx.get(f"{real_url}/api/models/{repo}").json() == MODEL_INFOS[repo]


def test_fake_gives_file_sizes_only_with_blobs_true(real_url: str) -> None:
    plain = httpx.get(f"{real_url}/api/models/{REAL_GGUF_REPO}").json()
    assert plain["siblings"] == [{"rfilename": s["rfilename"]} for s in GGUF_LISTING]
    blobs = httpx.get(f"{real_url}/api/models/{REAL_GGUF_REPO}", params={"blobs": "true"}).json()
    assert blobs["siblings"] == GGUF_LISTING
    info = HfApi(endpoint=real_url, token=False).model_info(REAL_GGUF_REPO, files_metadata=True)
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    assert sizes["Qwen3.8-27B-UD-Q4_K_M.gguf"] == 16_464_440_224
    assert sizes["BF16/Qwen3.8-27B-BF16-00002-of-00002.gguf"] == 4_671_576_000


def test_huggingface_hub_reads_the_captures_from_the_fake(real_url: str) -> None:
    api = HfApi(endpoint=real_url, token=False)
    top = list(api.list_models(sort="trending_score", limit=3))
    assert [m.id for m in top] == [
        "moonshotai/Kimi-K3",
        "deepseek-ai/DeepSeek-V4-Flash-0731",
        "DavidAU/Qwen3.6-27B-Fable-Fusion-711-Uncensored-Heretic-NM-DAU-NEO-MAX-MTP-GGUF",
    ]
    assert [(m.downloads, m.likes, m.trending_score) for m in top] == [
        (837_202, 9_624, 8_300), (156_173, 1_678, 1_543), (1_372_285, 1_332, 561)
    ]  # fmt: skip
    llama = api.model_info("meta-llama/Llama-3.1-8B-Instruct")
    assert llama.safetensors is not None and llama.safetensors.parameters == {"BF16": 8_030_261_248}
    assert llama.downloads == 5_795_728 and llama.likes == 3_763
    assert llama.last_modified == datetime(2024, 9, 25, 17, 0, 57, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# Quantization names, the default quantization, dtype widths
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "quant"),
    [
        ("Q8_0/x-Q8_0-00001-of-00002.gguf", "Q8_0"),  # the case: a folder named after its quant
        ("BF16/Qwen3.8-27B-BF16-00001-of-00002.gguf", "BF16"),  # unsloth, split in a folder
        ("Qwen3.8-27B-UD-Q4_K_M.gguf", "Q4_K_M"),  # unsloth "UD-" (dynamic) quants
        ("Qwen3.8-27B-UD-IQ4_XS.gguf", "IQ4_XS"),
        ("Qwen3.8-27B-UD-Q6_K.gguf", "Q6_K"),
        ("MTP/mtp-Qwen3.8-27B-Q4_0.gguf", "Q4_0"),
        ("mixtral-8x7b-instruct-v0.1.Q2_K.gguf", "Q2_K"),  # TheBloke: dot-separated
        ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"),  # bartowski
        ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),  # Qwen: lower case
        ("qwen2.5-0.5b-instruct-fp16.gguf", "FP16"),
        ("gemma-3-4b-it-IQ4_NL.gguf", "IQ4_NL"),
        ("model-UD-Q2_K_XL.gguf", "Q2_K_XL"),
        ("model-MXFP4.gguf", "MXFP4"),
        ("imatrix_unsloth.gguf", None),
        ("Qwen3.8-27B.gguf", None),
    ],
)
def test_quant_of_real_file_names(path: str, quant: str | None) -> None:
    assert quant_of(path) == quant


def listing(siblings: list[dict[str, Any]]) -> dict[str, HubFile]:
    return {s["rfilename"]: HubFile(s["rfilename"], s["size"], None) for s in siblings}


def test_default_quant_of_the_captured_unsloth_repo() -> None:
    files, quant = gguf_choice(listing(GGUF_LISTING))
    # Q4_K_M is the first preference; the projectors, the imatrix and the MTP/ draft are not models.
    assert quant == "Q4_K_M" and [f.path for f in files] == ["Qwen3.8-27B-UD-Q4_K_M.gguf"]
    assert sum(f.size for f in files) == 16_464_440_224


def test_named_quants_of_the_captured_unsloth_repo() -> None:
    paths = listing(GGUF_LISTING)
    bf16, quant = gguf_choice(paths, "bf16")
    assert quant == "BF16" and sum(f.size for f in bf16) == 49_986_159_616 + 4_671_576_000
    assert [f.path for f in bf16] == [
        "BF16/Qwen3.8-27B-BF16-00001-of-00002.gguf", "BF16/Qwen3.8-27B-BF16-00002-of-00002.gguf"
    ]  # fmt: skip
    q4_0, _ = gguf_choice(paths, "Q4_0")
    assert [f.path for f in q4_0] == ["Qwen3.8-27B-Q4_0.gguf"]  # not the MTP/ draft of the same name
    with pytest.raises(InvalidArgument) as refused:
        gguf_choice(paths, "Q5_K_M")
    assert "BF16, IQ4_XS, Q4_0, Q4_K_M, Q6_K, Q8_0" in str(refused.value)


def test_a_top_level_file_wins_over_a_folder_of_parts() -> None:
    paths = listing([
        {"rfilename": "Q8_0/x-Q8_0-00001-of-00002.gguf", "size": 10},
        {"rfilename": "Q8_0/x-Q8_0-00002-of-00002.gguf", "size": 10},
        {"rfilename": "x-Q8_0.gguf", "size": 30},
    ])  # fmt: skip
    assert [f.path for f in gguf_choice(paths)[0]] == ["x-Q8_0.gguf"]
    del paths["x-Q8_0.gguf"]
    files, quant = gguf_choice(paths)
    assert quant == "Q8_0" and sum(f.size for f in files) == 20


def test_dtype_table_covers_the_format_and_the_hub_parser() -> None:
    spec = capture("safetensors_dtypes.json")
    assert {name: DTYPE_BITS[name] for name in spec["safetensors_bitsize"]} == spec["safetensors_bitsize"]
    assert set(spec["hub_parser_dtypes"]) <= set(DTYPE_BITS)
    assert (dtype_bits("F4"), dtype_bits("F6_E2M3"), dtype_bits("F8_E8M0"), dtype_bits("C64")) == (4, 6, 8, 64)
    assert dtype_bits("I4") == 4 and dtype_bits("bf16") == 16  # by its width, and case-blind
    assert weights_bytes({"F8_E4M3": 1_000, "F4": 1_000, "BF16": 10}) == 1_000 + 500 + 20


def test_weights_bytes_of_captured_model_infos() -> None:
    roberta = MODEL_INFOS["deepset/roberta-base-squad2"]["safetensors"]["parameters"]
    assert roberta == {"F32": 124_056_578, "I64": 514}
    assert weights_bytes(roberta) == 124_056_578 * 4 + 514 * 8
    minilm = MODEL_INFOS["sentence-transformers/all-MiniLM-L6-v2"]["safetensors"]["parameters"]
    assert weights_bytes(minilm) == 22_713_216 * 4 + 512 * 8


# --------------------------------------------------------------------------------------------------
# list_models and trending_models give the facts of the captures
# --------------------------------------------------------------------------------------------------


async def test_trending_models_are_the_captured_trending_list(real_app: App, real_url: str) -> None:
    async with mcp_session(real_app) as client:
        result = await call(client, "trending_models", provider="huggingface", limit=8)
    assert result["stale"] is False and result["error"] is None
    rows = result["models"]
    assert [(r["model_name"], r["downloads"], r["likes"], r["runtime"]) for r in rows] == [
        ("moonshotai/Kimi-K3", 837_202, 9_624, "vllm"),
        ("deepseek-ai/DeepSeek-V4-Flash-0731", 156_173, 1_678, "vllm"),
        ("DavidAU/Qwen3.6-27B-Fable-Fusion-711-Uncensored-Heretic-NM-DAU-NEO-MAX-MTP-GGUF", 1_372_285, 1_332,
         "llamacpp"),
        ("baidu/Unlimited-OCR", 2_536_284, 3_772, "vllm"),
        ("unsloth/DeepSeek-V4-Flash-0731-GGUF", 48_707, 333, "llamacpp"),
        ("unsloth/Kimi-K3-GGUF", 88_481, 248, "llamacpp"),
        ("zai-org/GLM-5.2", 2_050_533, 4_751, "vllm"),
        ("thinkingmachines/Inkling-Small", 6_839, 223, "vllm"),
    ]  # fmt: skip
    kimi = rows[0]
    assert kimi["display_name"] == "Kimi-K3" and kimi["url"] == f"{real_url}/moonshotai/Kimi-K3"
    assert kimi["pipeline_tag"] == "image-text-to-text" and "compressed-tensors" in kimi["tags"]
    # A list without expanded facts has no weights and no file sizes: no size is made up.
    assert all(r["size_gb"] is None for r in rows)


async def test_list_models_sizes_captured_safetensors_repos(real_app: App) -> None:
    result = await real_app.catalog.list_models("huggingface", None, 6)
    rows = [(m.model_name, m.downloads, m.size_gb) for m in result.models]
    assert rows == [  # most downloaded first
        ("sentence-transformers/all-MiniLM-L6-v2", 90_148_743, 0.09),
        ("openai-community/gpt2", 17_272_637, 0.55),
        ("meta-llama/Llama-3.1-8B-Instruct", 5_795_728, 16.06),
        ("baidu/Unlimited-OCR", 2_536_284, None),
        ("zai-org/GLM-5.2", 2_050_533, None),
        ("deepset/roberta-base-squad2", 1_801_802, 0.5),
    ]
    llama = result.models[2]
    assert llama.parameter_count == 8_030_261_248 and llama.likes == 3_763 and llama.runtime == "vllm"
    assert llama.updated_at == datetime(2024, 9, 25, 17, 0, 57, tzinfo=UTC)
    zephyr = (await real_app.catalog.list_models("huggingface", "zephyr", 5)).models
    assert [(m.model_name, m.size_gb, m.parameter_count, m.likes) for m in zephyr] == [
        ("HuggingFaceH4/zephyr-7b-beta", 14.48, 7_241_732_096, 1_667)
    ]
    seventy = (await real_app.catalog.list_models("huggingface", "Meta-Llama-3-70B", 5)).models
    assert [(m.model_name, m.size_gb) for m in seventy] == [("meta-llama/Meta-Llama-3-70B-Instruct", 141.11)]


async def test_gguf_row_is_sized_by_the_quant_an_install_takes(
    real_app: App, real_server: tuple[FakeHub, LiveServer]
) -> None:
    hub = real_server[0]
    async with mcp_session(real_app) as client:
        result = await call(client, "list_models", provider="huggingface", query="Qwen3.8")
    assert [(r["model_name"], r["runtime"], r["size_gb"]) for r in result["models"]] == [
        (REAL_GGUF_REPO, "llamacpp", 16.46)
    ]
    assert hub.hits[f"/api/models/{REAL_GGUF_REPO}"] == 1  # one ?blobs=true request sized it
    plan = await real_app.downloads.plan(REAL_GGUF_REPO, runtime=None, quant=None)
    assert plan.quantization == "Q4_K_M" and plan.total_bytes == 16_464_440_224
    assert round(plan.total_bytes / 1e9, 2) == result["models"][0]["size_gb"]
    # Listed again: the size of that commit is known, so the list is the only request.
    rows = await real_app.hub.list_models(search="Qwen3.8", sort="trending_score", limit=5)
    assert [r.size_gb for r in rows] == [16.46]
    assert hub.hits[f"/api/models/{REAL_GGUF_REPO}"] == 2  # the catalog's and the plan's, none more


async def test_an_unsizable_gguf_repo_keeps_a_null_size_and_the_list_stands(home: Path, closed_url: str) -> None:
    hub = FakeHub.from_real_captures()
    hub.fault, hub.fault_paths = "error", {f"/api/models/{REAL_GGUF_REPO}"}
    with LiveServer(hub.app) as server:
        app = App(make_settings(home, server.url, closed_url))
        try:
            result = await app.catalog.list_models("huggingface", "Qwen3.8", 5)
        finally:
            await app.aclose()
    assert result.stale is False and result.error is None
    assert [(m.model_name, m.size_gb) for m in result.models] == [(REAL_GGUF_REPO, None)]
