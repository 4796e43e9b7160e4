"""A fake Hugging Face Hub (Starlette app) that speaks the real Hub HTTP protocol.

Only the routes venom_mcp uses are implemented, with the real JSON shapes, query parameters,
status codes and error headers, so that the official ``huggingface_hub`` client works against it:

* ``GET /api/models``                      list models (search/author/filter/sort/limit/expand/full)
* ``GET /api/models/{repo_id}``            model info (also ``.../revision/{rev}``), 404 + ``X-Error-Code``;
                                           ``?blobs=true`` adds sizes, blob ids and LFS info to ``siblings``
* ``GET /api/models/{repo_id}/tree/{rev}[/{path}]``   repo tree (``recursive``, ``expand``)
* ``POST /api/models/{repo_id}/paths-info/{rev}``     info on given paths (form or JSON ``paths``, ``expand``)
* ``HEAD|GET /{repo_id}/resolve/{rev}/{path}``         file content with the Hub's download headers (``ETag``,
                                           ``X-Repo-Commit``, ``X-Linked-Etag``/``X-Linked-Size`` for LFS
                                           files, ``Range`` -> 206); never any Xet header, so clients use HTTP
* ``GET /api/daily_papers``                daily papers (date/week/month/limit/p/sort/submitter)
* ``GET /blog/feed.xml``                   RSS 2.0 blog feed
* ``GET /api/whoami-v2``                   401 unless ``Authorization: Bearer <token>``
* ``GET /redirect-elsewhere?to=URL``       302 to ``to`` (check tokens are not forwarded cross-origin)

Fault injection: set ``hub.fault`` to ``"garbage"``, ``"error"`` or ``"slow"`` (see :class:`FakeHub`);
downloads can also be throttled or cut once mid-body (``throttle_bytes_per_second``, ``drop_after_bytes``).

Two kinds of data: the seed (``FakeHub()``: made-up repos, papers and posts in the real shapes) and real
captures (``FakeHub.from_real_captures()``: answers of the real Hub saved by other projects, in
tests/fixtures/real/hub/ with their sources in SOURCES.md), served as they are.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import json
import logging
import math
import random
import re
import struct
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape as xml_escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Fault = Literal["garbage", "error", "slow"]
FAULTS: tuple[str, ...] = ("garbage", "error", "slow")

FEED_PATH = "/blog/feed.xml"
GARBAGE_JSON = b"<html>oops"
GARBAGE_FEED = b"not a feed {{{"

# Properties the real Hub accepts in ``expand`` for models (huggingface_hub.hf_api.ExpandModelProperty_T).
EXPAND_MODEL_PROPERTIES: frozenset[str] = frozenset(
    {
        "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
        "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
        "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token", "model-index",
        "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings", "spaces", "tags",
        "transformersInfo", "trendingScore", "usedStorage", "widgetData",
    }
)  # fmt: skip
# Fields of a model in a plain ``GET /api/models`` answer (no expand, no full), in the real order.
LIST_DEFAULT_FIELDS: tuple[str, ...] = (
    "_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
    "library_name", "createdAt", "modelId",
)  # fmt: skip
# Extra fields a ``full=true`` list answer carries.
LIST_FULL_EXTRA_FIELDS: tuple[str, ...] = ("author", "gated", "lastModified", "sha", "siblings")
MODEL_SORT_KEYS: frozenset[str] = frozenset({"trendingScore", "downloads", "likes", "lastModified", "createdAt"})
MAX_LIST_LIMIT = 1000
MAX_PAPERS_LIMIT = 100


def _hex(seed: str, length: int) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:length]


def _iso(dt: datetime) -> str:
    """ISO 8601 as the Hub writes it: ``2024-07-18T08:56:00.000Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _json_error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


# --------------------------------------------------------------------------------------------------
# Seed data: models
# --------------------------------------------------------------------------------------------------

_CHAT_TEMPLATE_LLAMA3 = (
    "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
_CHAT_TEMPLATE_CHATML = (
    "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
    "'<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)
_CHAT_TEMPLATE_GEMMA = (
    "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\\n' + "
    "message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{'<start_of_turn>model\\n'}}{% endif %}"
)
_CHAT_TEMPLATE_MISTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}"
    "{% endif %}{% endfor %}"
)
_CHAT_TEMPLATE_PHI3 = (
    "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + "
    "'<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

_TRANSFORMER_FILES = [
    ".gitattributes", "README.md", "config.json", "generation_config.json", "special_tokens_map.json",
    "tokenizer.json", "tokenizer_config.json",
]  # fmt: skip


def _gguf_meta(total: int, arch: str, ctx: int, template: str | None, bos: str, eos: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"total": total, "architecture": arch, "context_length": ctx}
    if template is not None:
        meta["chat_template"] = template
    meta["bos_token"] = bos
    meta["eos_token"] = eos
    return meta


def _model(
    repo_id: str,
    *,
    pipeline: str | None,
    library: str | None,
    created: str,
    modified: str,
    downloads: int,
    likes: int,
    trending: int,
    tags: list[str],
    safetensors: dict[str, int] | None = None,
    gguf: dict[str, Any] | None = None,
    files: list[str] | None = None,
    license_: str = "apache-2.0",
) -> dict[str, Any]:
    author = repo_id.split("/", 1)[0]
    model: dict[str, Any] = {
        "_id": _hex("model:" + repo_id, 24),
        "id": repo_id,
        "modelId": repo_id,
        "author": author,
        "sha": _hex("sha:" + repo_id, 40),
        "createdAt": _iso(_dt(created)),
        "lastModified": _iso(_dt(modified)),
        "private": False,
        "gated": False,
        "disabled": False,
        "downloads": downloads,
        "likes": likes,
        "trendingScore": trending,
        "tags": [*tags, f"license:{license_}", "region:us"],
        "pipeline_tag": pipeline,
        "library_name": library,
        "cardData": {"license": license_, "language": ["en"]},
    }
    if pipeline is None:
        del model["pipeline_tag"]
    if library is None:
        del model["library_name"]
    if safetensors is not None:
        model["safetensors"] = {"parameters": dict(safetensors), "total": sum(safetensors.values())}
    if gguf is not None:
        model["gguf"] = gguf
    if files is None:
        files = list(_TRANSFORMER_FILES)
        if safetensors is not None:
            files += ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
            files.append("model.safetensors.index.json")
    total = sum(safetensors.values()) if safetensors else (gguf or {}).get("total", 7_241_732_096)
    weights = _seed_weight_bytes(safetensors) if safetensors else None
    model["siblings"] = [_sibling(repo_id, name, _seed_file_size(name, total, weights)) for name in sorted(files)]
    model["usedStorage"] = 2 * (sum(safetensors.values()) if safetensors else (gguf or {}).get("total", 10**9))
    return model


# Bits per weight of common GGUF quantizations (llama.cpp's reported averages), to give seed files real-looking sizes.
_SEED_BITS_PER_WEIGHT = {
    "Q2_K": 2.96, "Q3_K_L": 4.27, "Q4_0": 4.55, "Q4_K_M": 4.89, "Q5_K_M": 5.7, "Q6_K": 6.56, "Q8_0": 8.5,
    "F16": 16.0, "FP16": 16.0, "BF16": 16.0, "F32": 32.0,
}  # fmt: skip
_SEED_QUANT = re.compile(r"(?i)[._-]((?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|FP16|F16|F32)(?=[.-])")
_SEED_DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1}
_SEED_SMALL_FILES = {".gitattributes": 1_519, "README.md": 6_234, "config.json": 855, "generation_config.json": 184,
                     "special_tokens_map.json": 296, "tokenizer.json": 9_085_657, "tokenizer_config.json": 55_351,
                     "model.safetensors.index.json": 23_950, "merges.txt": 456_318, "vocab.json": 1_042_301,
                     "model_index.json": 609}  # fmt: skip


def _seed_weight_bytes(safetensors: dict[str, int]) -> int:
    return sum(count * _SEED_DTYPE_BYTES.get(dtype, 2) for dtype, count in safetensors.items())


def _seed_file_size(name: str, total_parameters: int, weight_bytes: int | None) -> int:
    """A deterministic, plausible size for a seed file that has no content (what ``?blobs=true`` reports)."""
    base = name.rsplit("/", 1)[-1]
    if base.lower().endswith(".gguf"):
        if "mmproj" in base.lower():
            return 851_251_104
        quant = _SEED_QUANT.search(base)
        bits = _SEED_BITS_PER_WEIGHT.get(quant.group(1).upper(), 8.0) if quant else 8.0
        return int(total_parameters * bits / 8)
    if base.endswith((".safetensors", ".bin")):
        whole = weight_bytes or 548_105_171
        shard = re.search(r"-(\d{5})-of-(\d{5})\.", base)
        if shard is None:
            return whole
        first = whole * 3 // 5  # two shards: 60 % and 40 %
        return first if shard.group(1) == "00001" else whole - first
    return _SEED_SMALL_FILES.get(base, 2_048)


def _sibling(repo_id: str, name: str, size: int) -> dict[str, Any]:
    """A ``siblings`` entry as ``?blobs=true`` gives it; other answers keep ``rfilename`` only (_public_siblings)."""
    entry: dict[str, Any] = {"rfilename": name, "blobId": _hex(f"blob:{repo_id}/{name}", 40), "size": size}
    if is_lfs_path(name, size):
        sha256 = hashlib.sha256(f"{repo_id}/{name}".encode()).hexdigest()
        entry["lfs"] = {"sha256": sha256, "size": size, "pointerSize": len(lfs_pointer(sha256, size))}
    return entry


def _public_siblings(siblings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the Hub lists without ``blobs=true``: the file names only."""
    return [{"rfilename": s["rfilename"]} for s in siblings]


def _gguf_files(stem: str, quants: tuple[str, ...] = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")) -> list[str]:
    return [".gitattributes", "README.md", *(f"{stem}-{q}.gguf" for q in quants)]


def _tf_tags(arch: str, pipeline: str, *extra: str) -> list[str]:
    return ["transformers", "safetensors", arch, pipeline, "conversational", "en", *extra,
            "text-generation-inference", "endpoints_compatible"]  # fmt: skip


def _gguf_tags(base: str, pipeline: str, *extra: str) -> list[str]:
    return ["gguf", pipeline, "en", *extra, f"base_model:{base}", f"base_model:quantized:{base}",
            "endpoints_compatible", "conversational"]  # fmt: skip


def seed_models() -> list[dict[str, Any]]:
    """33 real-looking repos (transformer and GGUF), then the repos with real files (:func:`seed_file_models`).

    All with distinct popularity numbers.
    """
    tg = "text-generation"
    models = [
        # ---- transformer repos ------------------------------------------------------------------
        _model("meta-llama/Llama-3.1-8B-Instruct", pipeline=tg, library="transformers",
               created="2024-07-18T08:56:00", modified="2024-09-25T17:00:57", downloads=5_412_337,
               likes=4_312, trending=95, tags=_tf_tags("llama", tg, "facebook", "meta", "llama-3"),
               safetensors={"BF16": 8_030_261_248}, license_="llama3.1"),
        _model("meta-llama/Llama-3.2-3B-Instruct", pipeline=tg, library="transformers",
               created="2024-09-18T15:19:20", modified="2024-10-24T15:07:29", downloads=1_903_442,
               likes=1_611, trending=61, tags=_tf_tags("llama", tg, "facebook", "meta", "llama-3"),
               safetensors={"BF16": 3_212_749_824}, license_="llama3.2"),
        _model("meta-llama/Llama-3.2-1B-Instruct", pipeline=tg, library="transformers",
               created="2024-09-18T15:12:47", modified="2024-10-24T15:07:51", downloads=2_734_118,
               likes=942, trending=44, tags=_tf_tags("llama", tg, "facebook", "meta", "llama-3"),
               safetensors={"BF16": 1_235_814_400}, license_="llama3.2"),
        _model("meta-llama/Llama-3.3-70B-Instruct", pipeline=tg, library="transformers",
               created="2024-11-26T16:08:47", modified="2024-12-21T18:28:01", downloads=688_905,
               likes=2_398, trending=57, tags=_tf_tags("llama", tg, "facebook", "meta", "llama-3"),
               safetensors={"BF16": 70_553_706_496}, license_="llama3.3"),
        _model("google/gemma-2-2b-it", pipeline=tg, library="transformers",
               created="2024-07-16T19:38:25", modified="2024-08-27T19:41:44", downloads=412_076,
               likes=1_083, trending=23, tags=_tf_tags("gemma2", tg), safetensors={"F32": 2_614_341_888},
               license_="gemma"),
        _model("google/gemma-2-9b-it", pipeline=tg, library="transformers",
               created="2024-06-24T08:05:41", modified="2024-08-27T19:41:49", downloads=231_554,
               likes=718, trending=12, tags=_tf_tags("gemma2", tg), safetensors={"F32": 9_241_705_984},
               license_="gemma"),
        _model("google/gemma-3-4b-it", pipeline="image-text-to-text", library="transformers",
               created="2025-02-20T21:20:07", modified="2025-03-21T20:20:53", downloads=1_126_980,
               likes=903, trending=72, tags=_tf_tags("gemma3", "image-text-to-text"),
               safetensors={"BF16": 4_300_079_472}, license_="gemma"),
        _model("Qwen/Qwen2.5-7B-Instruct", pipeline=tg, library="transformers",
               created="2024-09-16T11:55:40", modified="2025-01-12T02:10:10", downloads=3_221_904,
               likes=812, trending=48, tags=_tf_tags("qwen2", tg, "chat"),
               safetensors={"BF16": 7_615_616_512}),
        _model("Qwen/Qwen2.5-0.5B-Instruct", pipeline=tg, library="transformers",
               created="2024-09-16T11:52:05", modified="2024-09-25T12:32:56", downloads=1_745_023,
               likes=399, trending=18, tags=_tf_tags("qwen2", tg, "chat"), safetensors={"BF16": 494_032_768}),
        _model("Qwen/Qwen3-8B", pipeline=tg, library="transformers",
               created="2025-04-27T03:42:21", modified="2025-07-26T03:49:13", downloads=2_508_617,
               likes=654, trending=88, tags=_tf_tags("qwen3", tg), safetensors={"BF16": 8_190_735_360}),
        _model("Qwen/Qwen2.5-Coder-7B-Instruct", pipeline=tg, library="transformers",
               created="2024-09-17T13:38:49", modified="2024-11-18T12:55:03", downloads=498_117,
               likes=570, trending=21, tags=_tf_tags("qwen2", tg, "code", "codeqwen", "chat"),
               safetensors={"BF16": 7_615_616_512}),
        _model("mistralai/Mistral-7B-Instruct-v0.3", pipeline=tg, library="vllm",
               created="2024-05-22T09:57:04", modified="2025-07-24T16:53:10", downloads=1_402_231,
               likes=2_103, trending=33, tags=_tf_tags("mistral", tg, "vllm", "mistral-common"),
               safetensors={"BF16": 7_248_023_552}),
        _model("mistralai/Mixtral-8x7B-Instruct-v0.1", pipeline=tg, library="vllm",
               created="2023-12-10T14:57:12", modified="2025-07-24T16:53:56", downloads=312_775,
               likes=4_501, trending=9, tags=_tf_tags("mixtral", tg, "vllm", "fr", "it", "de", "es"),
               safetensors={"BF16": 46_702_792_704}),
        _model("microsoft/Phi-3-mini-4k-instruct", pipeline=tg, library="transformers",
               created="2024-04-22T16:18:17", modified="2024-09-20T18:09:38", downloads=987_400,
               likes=1_204, trending=15, tags=_tf_tags("phi3", tg, "nlp", "code", "custom_code"),
               safetensors={"BF16": 3_821_079_552}, license_="mit"),
        _model("microsoft/phi-4", pipeline=tg, library="transformers",
               created="2024-12-11T11:47:29", modified="2025-03-11T17:01:56", downloads=611_382,
               likes=2_022, trending=39, tags=_tf_tags("phi3", tg, "phi", "nlp", "math", "code", "chat"),
               safetensors={"BF16": 14_659_507_200}, license_="mit"),
        _model("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", pipeline=tg, library="transformers",
               created="2025-01-20T09:16:14", modified="2025-02-24T03:32:35", downloads=1_288_754,
               likes=712, trending=52, tags=_tf_tags("qwen2", tg), safetensors={"BF16": 7_615_616_512},
               license_="mit"),
        _model("deepseek-ai/DeepSeek-R1", pipeline=tg, library="transformers",
               created="2025-01-20T03:46:07", modified="2025-03-27T04:01:59", downloads=1_587_345,
               likes=12_405, trending=79, tags=_tf_tags("deepseek_v3", tg, "custom_code", "fp8"),
               safetensors={"BF16": 3_918_786_560, "F8_E4M3": 680_571_043_840, "F32": 41_555_600},
               license_="mit"),
        _model("HuggingFaceTB/SmolLM2-1.7B-Instruct", pipeline=tg, library="transformers",
               created="2024-10-31T13:42:06", modified="2025-03-06T10:02:59", downloads=79_216,
               likes=641, trending=27, tags=_tf_tags("llama", tg), safetensors={"BF16": 1_711_376_384}),
        _model("sentence-transformers/all-MiniLM-L6-v2", pipeline="sentence-similarity",
               library="sentence-transformers", created="2022-03-02T23:29:05", modified="2025-03-06T13:37:44",
               downloads=91_554_102, likes=3_804, trending=30,
               tags=["sentence-transformers", "pytorch", "onnx", "safetensors", "bert", "feature-extraction",
                     "sentence-similarity", "en"],
               safetensors={"F32": 22_713_216}),
        _model("nomic-ai/nomic-embed-text-v1.5", pipeline="sentence-similarity",
               library="sentence-transformers", created="2024-02-10T06:32:35", modified="2025-01-24T15:19:17",
               downloads=812_003, likes=701, trending=11,
               tags=["sentence-transformers", "onnx", "safetensors", "nomic_bert", "feature-extraction",
                     "sentence-similarity", "custom_code", "en"],
               safetensors={"F32": 136_731_648}),
        _model("openai-community/gpt2", pipeline=tg, library="transformers",
               created="2022-03-02T23:29:04", modified="2024-02-19T10:57:45", downloads=11_873_440,
               likes=2_791, trending=5, tags=["transformers", "pytorch", "tf", "jax", "tflite", "rust", "onnx",
                                              "gpt2", tg, "exbert", "en"], license_="mit",
               files=[".gitattributes", "README.md", "config.json", "merges.txt", "pytorch_model.bin",
                      "tokenizer.json", "vocab.json"]),
        _model("stabilityai/stable-diffusion-xl-base-1.0", pipeline="text-to-image", library="diffusers",
               created="2023-07-25T13:25:51", modified="2023-10-30T16:03:47", downloads=2_119_032,
               likes=6_777, trending=14, tags=["diffusers", "onnx", "safetensors", "text-to-image",
                                               "stable-diffusion", "StableDiffusionXLPipeline"],
               license_="openrail++",
               files=[".gitattributes", "README.md", "model_index.json", "sd_xl_base_1.0.safetensors",
                      "unet/config.json", "vae/config.json"]),
        _model("openai/whisper-large-v3", pipeline="automatic-speech-recognition", library="transformers",
               created="2023-11-07T18:41:14", modified="2024-08-12T10:20:10", downloads=4_466_281,
               likes=4_902, trending=36, tags=["transformers", "pytorch", "jax", "safetensors", "whisper",
                                               "automatic-speech-recognition", "audio", "en"],
               safetensors={"F16": 1_543_490_560}),
        # ---- GGUF repos --------------------------------------------------------------------------
        _model("bartowski/Llama-3.2-3B-Instruct-GGUF", pipeline=tg, library=None,
               created="2024-09-25T18:34:41", modified="2024-10-28T17:46:10", downloads=154_388,
               likes=178, trending=41,
               tags=_gguf_tags("meta-llama/Llama-3.2-3B-Instruct", tg, "facebook", "meta", "llama", "llama-3"),
               gguf=_gguf_meta(3_212_749_888, "llama", 131072, _CHAT_TEMPLATE_LLAMA3,
                               "<|begin_of_text|>", "<|eot_id|>"),
               files=_gguf_files("Llama-3.2-3B-Instruct", ("Q3_K_L", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "f16")),
               license_="llama3.2"),
        _model("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", pipeline=tg, library=None,
               created="2024-07-23T15:36:34", modified="2024-10-26T15:42:55", downloads=201_907,
               likes=247, trending=29,
               tags=_gguf_tags("meta-llama/Llama-3.1-8B-Instruct", tg, "facebook", "meta", "llama-3"),
               gguf=_gguf_meta(8_030_261_312, "llama", 131072, _CHAT_TEMPLATE_LLAMA3,
                               "<|begin_of_text|>", "<|eot_id|>"),
               files=_gguf_files("Meta-Llama-3.1-8B-Instruct"), license_="llama3.1"),
        _model("TheBloke/Mistral-7B-Instruct-v0.2-GGUF", pipeline=tg, library="transformers",
               created="2023-12-11T22:18:46", modified="2023-12-11T22:23:10", downloads=98_664,
               likes=463, trending=3,
               tags=["transformers", "gguf", "mistral", "finetuned", tg,
                     "base_model:mistralai/Mistral-7B-Instruct-v0.2", "text-generation-inference"],
               gguf=None, files=_gguf_files("mistral-7b-instruct-v0.2", ("Q2_K", "Q4_K_M", "Q5_K_M", "Q8_0"))),
        _model("Qwen/Qwen2.5-0.5B-Instruct-GGUF", pipeline=tg, library=None,
               created="2024-09-17T13:50:46", modified="2024-09-20T06:43:30", downloads=63_092,
               likes=96, trending=8, tags=_gguf_tags("Qwen/Qwen2.5-0.5B-Instruct", tg, "chat"),
               gguf=_gguf_meta(630_167_424, "qwen2", 32768, _CHAT_TEMPLATE_CHATML,
                               "<|endoftext|>", "<|im_end|>"),
               files=_gguf_files("qwen2.5-0.5b-instruct", ("q2_k", "q4_k_m", "q8_0", "fp16"))),
        _model("Qwen/Qwen2.5-7B-Instruct-GGUF", pipeline=tg, library=None,
               created="2024-09-17T13:53:47", modified="2024-09-20T06:47:58", downloads=45_110,
               likes=134, trending=6, tags=_gguf_tags("Qwen/Qwen2.5-7B-Instruct", tg, "chat"),
               gguf=_gguf_meta(7_615_616_512, "qwen2", 32768, _CHAT_TEMPLATE_CHATML,
                               "<|endoftext|>", "<|im_end|>"),
               files=_gguf_files("qwen2.5-7b-instruct", ("q4_k_m", "q5_k_m", "q8_0"))),
        _model("unsloth/gemma-3-4b-it-GGUF", pipeline="image-text-to-text", library="transformers",
               created="2025-03-12T10:33:54", modified="2025-05-10T09:03:44", downloads=118_440,
               likes=151, trending=47, tags=_gguf_tags("google/gemma-3-4b-it", "image-text-to-text",
                                                       "gemma3", "unsloth", "gemma"),
               gguf=_gguf_meta(3_880_263_168, "gemma3", 131072, _CHAT_TEMPLATE_GEMMA, "<bos>", "<eos>"),
               files=[*_gguf_files("gemma-3-4b-it", ("Q4_K_M", "Q8_0", "BF16")), "mmproj-F16.gguf"],
               license_="gemma"),
        _model("lmstudio-community/Phi-3.1-mini-4k-instruct-GGUF", pipeline=tg, library=None,
               created="2024-07-02T16:37:49", modified="2024-07-03T02:16:34", downloads=21_003,
               likes=57, trending=2, tags=_gguf_tags("microsoft/Phi-3-mini-4k-instruct", tg, "nlp", "code"),
               gguf=_gguf_meta(3_821_079_552, "phi3", 4096, _CHAT_TEMPLATE_PHI3, "<s>", "<|endoftext|>"),
               files=_gguf_files("Phi-3.1-mini-4k-instruct", ("Q3_K_L", "Q4_K_M", "Q8_0")), license_="mit"),
        _model("unsloth/DeepSeek-R1-Distill-Qwen-7B-GGUF", pipeline=tg, library="transformers",
               created="2025-01-20T13:04:25", modified="2025-04-19T09:04:01", downloads=58_711,
               likes=121, trending=20, tags=_gguf_tags("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", tg,
                                                       "deepseek", "qwen", "unsloth"),
               gguf=_gguf_meta(7_615_616_768, "qwen2", 131072, _CHAT_TEMPLATE_CHATML,
                               "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
               files=_gguf_files("DeepSeek-R1-Distill-Qwen-7B", ("Q2_K", "Q4_K_M", "Q6_K", "Q8_0")),
               license_="mit"),
        _model("TheBloke/Llama-2-7B-Chat-GGUF", pipeline=None, library="transformers",
               created="2023-09-04T16:38:41", modified="2023-10-14T21:36:33", downloads=77_830,
               likes=490, trending=1,
               tags=["transformers", "gguf", "llama", "facebook", "meta", "pytorch", "llama-2", tg,
                     "base_model:meta-llama/Llama-2-7b-chat-hf"],
               gguf=_gguf_meta(6_738_415_616, "llama", 4096, None, "<s>", "</s>"),
               files=_gguf_files("llama-2-7b-chat", ("Q2_K", "Q4_0", "Q4_K_M", "Q5_K_M", "Q8_0")),
               license_="llama2"),
        _model("nomic-ai/nomic-embed-text-v1.5-GGUF", pipeline="sentence-similarity", library=None,
               created="2024-02-15T20:31:38", modified="2024-07-31T20:55:26", downloads=33_216,
               likes=64, trending=4, tags=_gguf_tags("nomic-ai/nomic-embed-text-v1.5", "sentence-similarity",
                                                     "feature-extraction", "nomic-bert"),
               gguf=_gguf_meta(136_731_648, "nomic-bert", 2048, None, "[CLS]", "[SEP]"),
               files=_gguf_files("nomic-embed-text-v1.5", ("Q4_K_M", "Q8_0", "f16", "f32"))),
    ]  # fmt: skip
    return [*models, *seed_file_models()]


# --------------------------------------------------------------------------------------------------
# Seed data: repositories with real files (served by /resolve, /tree, /paths-info and blobs=true)
# --------------------------------------------------------------------------------------------------

TINY_CHAT = "venom-test/tiny-chat"
TINY_GEMMA = "venom-test/tiny-gemma"
TINY_GGUF = "venom-test/tiny-GGUF"
GATED_MODEL = "venom-test/gated-model"
# Fixed commit shas: X-Repo-Commit, model_info().sha and the cache's snapshots/<sha> folder.
REPO_COMMITS: dict[str, str] = {
    TINY_CHAT: "cbfdb1ea4a007297267bc1414991bc026a24b5ad",
    TINY_GEMMA: "7328957a10970354e7086f933c2a544e826a7716",
    TINY_GGUF: "79f2480f9661d66fa4b595c73a50ddedfb0b3964",
    GATED_MODEL: "5b45a9395e82364a5d915c31401b66af84eeca7d",
}
MiB = 1 << 20
FILE_CHUNK_SIZE = 64 * 1024  # bytes per body chunk of a /resolve download
LFS_THRESHOLD = 10 * MiB  # the Hub stores any file this big in LFS, whatever .gitattributes says
# The patterns of the Hub's default .gitattributes that matter here.
LFS_SUFFIXES: tuple[str, ...] = (
    ".7z", ".bin", ".ckpt", ".gguf", ".h5", ".model", ".msgpack", ".onnx", ".pt", ".pth", ".safetensors", ".zip",
)  # fmt: skip
_GITATTRIBUTES = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES).encode()
_LAST_COMMIT_DATE = "2025-06-03T10:00:00.000Z"

# Llama-3.1-like: optional system message, tools listed in the system turn, tool calls and tool results.
_CHAT_TEMPLATE_TOOLS = """{{- bos_token }}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] | trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = '' %}
{%- endif %}
{%- if tools %}
    {{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}
    {{- 'You have access to the following functions. To call a function, reply with JSON of the form ' }}
    {{- '{"name": function name, "parameters": dictionary of argument name and its value}.\\n\\n' }}
    {%- for tool in tools %}
        {{- tool | tojson }}
        {{- '\\n\\n' }}
    {%- endfor %}
    {{- system_message + '<|eot_id|>' }}
{%- elif system_message %}
    {{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system_message + '<|eot_id|>' }}
{%- endif %}
{%- for message in messages %}
    {%- if message['role'] == 'tool' or message['role'] == 'ipython' %}
        {{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' + message['content'] | string + '<|eot_id|>' }}
    {%- elif message['tool_calls'] is defined and message['tool_calls'] %}
        {%- for tool_call in message['tool_calls'] %}
            {%- set call = tool_call['function'] if tool_call['function'] is defined else tool_call %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
            {{- '{"name": "' + call['name'] + '", "parameters": ' + call['arguments'] | tojson + '}<|eot_id|>' }}
        {%- endfor %}
    {%- else %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}
        {{- message['content'] | trim + '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""
# The real google/gemma-2-*-it template: a system message raises.
_CHAT_TEMPLATE_GEMMA_STRICT = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

_ST_DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4}
_GGUF_STRING, _GGUF_UINT32 = 8, 4
_GGUF_FILE_TYPES = {"F32": 0, "F16": 1, "Q8_0": 7, "Q4_K_M": 15}


def _random_bytes(seed: str, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _json_file(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def _safetensors_file(seed: str, tensors: list[tuple[str, list[int]]], dtype: str = "BF16") -> bytes:
    """A valid safetensors file (8-byte header length, JSON header, data) with random tensor data."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors:
        size = math.prod(shape) * _ST_DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + _random_bytes(seed, offset)


def _gguf_file(seed: str, size: int, metadata: dict[str, str | int]) -> bytes:
    """A GGUF v3 file whose header carries ``metadata`` (no tensors), padded to ``size`` with random bytes."""

    def string(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    kvs = b""
    for key, value in metadata.items():
        if isinstance(value, int):
            kvs += string(key) + struct.pack("<I", _GGUF_UINT32) + struct.pack("<I", value)
        else:
            kvs += string(key) + struct.pack("<I", _GGUF_STRING) + string(value)
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, len(metadata)) + kvs
    return head + _random_bytes(seed, size - len(head))


def _byte_level_alphabet() -> list[str]:
    """GPT-2's bytes_to_unicode(): the 256 symbols of a byte-level BPE vocabulary."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = 0
    symbols: dict[int, str] = {b: chr(b) for b in printable}
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


def _tokenizer_files(specials: list[str], bos: str, eos: str, template: str, max_length: int) -> dict[str, bytes]:
    added = [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True}
        for i, tok in enumerate(specials)
    ]  # fmt: skip
    vocab = {tok: i for i, tok in enumerate(specials)}
    for symbol in _byte_level_alphabet():
        vocab[symbol] = len(vocab)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": byte_level, "post_processor": byte_level, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": []},
    }  # fmt: skip
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
        "bos_token": bos,
        "chat_template": template,
        "clean_up_tokenization_spaces": True,
        "eos_token": eos,
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": max_length,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    return {"tokenizer.json": _json_file(tokenizer), "tokenizer_config.json": _json_file(config)}


def _readme(front_matter: dict[str, Any], title: str, body: str) -> bytes:
    lines = ["---"]
    for key, value in front_matter.items():
        if isinstance(value, list):
            lines += [f"{key}:", *(f"- {item}" for item in value)]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join([*lines, "---", "", f"# {title}", "", body, ""]).encode()


def _tiny_chat_files() -> dict[str, bytes]:
    repo = TINY_CHAT
    hidden, inter, vocab = 512, 1024, 2048
    shard1 = [
        ("model.embed_tokens.weight", [vocab, hidden]),
        *((f"model.layers.0.self_attn.{p}_proj.weight", [hidden, hidden]) for p in "qkvo"),
        ("model.layers.0.mlp.gate_proj.weight", [inter, hidden]),
        ("model.layers.0.mlp.up_proj.weight", [inter, hidden]),
    ]
    shard2 = [
        ("model.layers.0.mlp.down_proj.weight", [hidden, inter]),
        ("model.layers.0.input_layernorm.weight", [hidden]),
        ("model.layers.0.post_attention_layernorm.weight", [hidden]),
        ("model.norm.weight", [hidden]),
        ("lm_head.weight", [vocab, hidden]),
    ]
    names = {"model.safetensors": shard1, "model-00002-of-00002.safetensors": shard2}
    index = {
        "metadata": {"total_size": sum(math.prod(s) * 2 for shard in names.values() for _, s in shard)},
        "weight_map": {name: file for file, shard in names.items() for name, _ in sorted(shard)},
    }
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    config = {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "bos_token_id": 0, "eos_token_id": [1, 4],
        "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inter,
        "max_position_embeddings": 4096, "model_type": "llama", "num_attention_heads": 8, "num_hidden_layers": 1,
        "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16", "transformers_version": "4.46.0", "use_cache": True, "vocab_size": vocab,
    }  # fmt: skip
    return {
        ".gitattributes": _GITATTRIBUTES,
        "README.md": _readme(
            {
                "license": "apache-2.0",
                "library_name": "transformers",
                "pipeline_tag": "text-generation",
                "language": ["en"],
                "tags": ["llama", "conversational"],
            },
            "tiny-chat",
            "A 4.7M-parameter Llama-architecture chat model for tests. Supports tools.",
        ),
        "config.json": _json_file(config),
        "generation_config.json": _json_file(
            {
                "bos_token_id": 0,
                "do_sample": True,
                "eos_token_id": [1, 4],
                "temperature": 0.6,
                "top_p": 0.9,
                "transformers_version": "4.46.0",
            }
        ),
        **_tokenizer_files(specials, "<|begin_of_text|>", "<|eot_id|>", _CHAT_TEMPLATE_TOOLS, 4096),
        "model.safetensors": _safetensors_file(f"{repo}/model.safetensors", shard1),
        "model-00002-of-00002.safetensors": _safetensors_file(f"{repo}/model-00002-of-00002.safetensors", shard2),
        "model.safetensors.index.json": _json_file(index),
        "original/consolidated.pth": _random_bytes(f"{repo}/original/consolidated.pth", 2 * MiB),
        "onnx/model.onnx": _random_bytes(f"{repo}/onnx/model.onnx", 1 * MiB),
    }


def _tiny_gemma_files() -> dict[str, bytes]:
    repo = TINY_GEMMA
    hidden, inter, vocab, head_dim = 256, 1024, 4096, 64
    layer = "model.layers.0"
    tensors = [
        ("model.embed_tokens.weight", [vocab, hidden]),
        (f"{layer}.self_attn.q_proj.weight", [4 * head_dim, hidden]),
        (f"{layer}.self_attn.k_proj.weight", [2 * head_dim, hidden]),
        (f"{layer}.self_attn.v_proj.weight", [2 * head_dim, hidden]),
        (f"{layer}.self_attn.o_proj.weight", [hidden, 4 * head_dim]),
        (f"{layer}.mlp.gate_proj.weight", [inter, hidden]),
        (f"{layer}.mlp.up_proj.weight", [inter, hidden]),
        (f"{layer}.mlp.down_proj.weight", [hidden, inter]),
        *((f"{layer}.{n}.weight", [hidden]) for n in
          ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm")),
        ("model.norm.weight", [hidden]),
    ]  # fmt: skip
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    config = {
        "architectures": ["Gemma2ForCausalLM"], "attn_logit_softcapping": 50.0, "bos_token_id": 2,
        "eos_token_id": [1, 5], "final_logit_softcapping": 30.0, "head_dim": head_dim,
        "hidden_activation": "gelu_pytorch_tanh", "hidden_size": hidden, "intermediate_size": inter,
        "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 4, "num_hidden_layers": 1,
        "num_key_value_heads": 2, "pad_token_id": 0, "query_pre_attn_scalar": head_dim, "rms_norm_eps": 1e-06,
        "rope_theta": 10000.0, "sliding_window": 4096, "torch_dtype": "bfloat16",
        "transformers_version": "4.46.0", "vocab_size": vocab,
    }  # fmt: skip
    return {
        ".gitattributes": _GITATTRIBUTES,
        "README.md": _readme(
            {"license": "gemma", "library_name": "transformers", "pipeline_tag": "text-generation"},
            "tiny-gemma",
            "A Gemma-2-architecture test model. Its chat template rejects system messages.",
        ),
        "config.json": _json_file(config),
        "generation_config.json": _json_file(
            {"bos_token_id": 2, "eos_token_id": [1, 5], "pad_token_id": 0, "transformers_version": "4.46.0"}
        ),
        **_tokenizer_files(specials, "<bos>", "<eos>", _CHAT_TEMPLATE_GEMMA_STRICT, 8192),
        "model.safetensors": _safetensors_file(f"{repo}/model.safetensors", tensors),
    }


def _tiny_gguf_files() -> dict[str, bytes]:
    repo = TINY_GGUF
    files: dict[str, bytes] = {
        ".gitattributes": _GITATTRIBUTES,
        "README.md": _readme(
            {
                "license": "apache-2.0",
                "base_model": TINY_CHAT,
                "pipeline_tag": "text-generation",
                "tags": ["gguf", "llama", "conversational"],
            },
            "tiny-GGUF",
            "GGUF quantizations of venom-test/tiny-chat: Q4_K_M, Q8_0, F16 and F32.",
        ),
    }
    # F32 is over 10 MiB: huggingface_hub writes downloads in 10 MiB chunks, so only a cut after the first
    # 10 MiB makes it resume with a Range request (a cut file under 10 MiB is fetched again from byte 0).
    for quant, size in (("Q4_K_M", 3 * MiB), ("Q8_0", 5 * MiB), ("F16", 8 * MiB), ("F32", 16 * MiB)):
        path = f"tiny.{quant}.gguf"
        meta: dict[str, str | int] = {
            "general.architecture": "llama", "general.name": "tiny-chat",
            "general.file_type": _GGUF_FILE_TYPES[quant], "llama.context_length": 4096,
            "llama.embedding_length": 512, "llama.block_count": 1,
            "tokenizer.ggml.model": "gpt2", "tokenizer.chat_template": _CHAT_TEMPLATE_TOOLS,
        }  # fmt: skip
        files[path] = _gguf_file(f"{repo}/{path}", size, meta)
    return files


def _gated_model_files() -> dict[str, bytes]:
    repo = GATED_MODEL
    config = {"architectures": ["LlamaForCausalLM"], "hidden_size": 512, "max_position_embeddings": 2048,
              "model_type": "llama", "num_hidden_layers": 0, "vocab_size": 1024}  # fmt: skip
    tensors = [
        ("model.embed_tokens.weight", [1024, 512]),
        ("model.norm.weight", [512]),
        ("lm_head.weight", [1024, 512]),
    ]
    return {
        ".gitattributes": _GITATTRIBUTES,
        "README.md": _readme(
            {"license": "other", "extra_gated_prompt": "You agree to share your contact information."},
            "gated-model",
            "A gated test repo: every file needs an accepted access request.",
        ),
        "config.json": _json_file(config),
        "model.safetensors": _safetensors_file(f"{repo}/model.safetensors", tensors),
    }


@functools.cache
def _seed_files_frozen() -> dict[str, dict[str, bytes]]:
    return {
        TINY_CHAT: _tiny_chat_files(),
        TINY_GEMMA: _tiny_gemma_files(),
        TINY_GGUF: _tiny_gguf_files(),
        GATED_MODEL: _gated_model_files(),
    }


def seed_files() -> dict[str, dict[str, bytes]]:
    """repo_id -> {path: content} for the repos with real files (built once; the bytes are shared)."""
    return {repo: dict(files) for repo, files in _seed_files_frozen().items()}


def _safetensors_parameters(content: bytes) -> dict[str, int]:
    (length,) = struct.unpack("<Q", content[:8])
    header = json.loads(content[8 : 8 + length])
    counts: Counter[str] = Counter()
    for name, tensor in header.items():
        if name != "__metadata__":
            counts[tensor["dtype"]] += math.prod(tensor["shape"])
    return dict(counts)


def seed_file_models() -> list[dict[str, Any]]:
    """The ``models`` entries of the public repos of :func:`seed_files` (the gated repo is not listed)."""
    files = _seed_files_frozen()
    tg = "text-generation"

    def params(repo: str) -> dict[str, int]:
        total: Counter[str] = Counter()
        for path, content in files[repo].items():
            if path.endswith(".safetensors"):
                total.update(_safetensors_parameters(content))
        return dict(total)

    chat_params = params(TINY_CHAT)
    models = [
        _model(TINY_CHAT, pipeline=tg, library="transformers", created="2025-06-02T09:00:00",
               modified="2025-06-03T10:00:00", downloads=1_234, likes=7, trending=7,
               tags=_tf_tags("llama", tg), safetensors=chat_params, files=sorted(files[TINY_CHAT])),
        _model(TINY_GEMMA, pipeline=tg, library="transformers", created="2025-06-02T09:10:00",
               modified="2025-06-03T10:10:00", downloads=987, likes=5, trending=10,
               tags=_tf_tags("gemma2", tg), safetensors=params(TINY_GEMMA), files=sorted(files[TINY_GEMMA]),
               license_="gemma"),
        _model(TINY_GGUF, pipeline=tg, library=None, created="2025-06-02T09:20:00",
               modified="2025-06-03T10:20:00", downloads=2_345, likes=11, trending=13,
               tags=_gguf_tags(TINY_CHAT, tg, "llama"),
               gguf=_gguf_meta(sum(chat_params.values()), "llama", 4096, _CHAT_TEMPLATE_TOOLS,
                               "<|begin_of_text|>", "<|eot_id|>"),
               files=sorted(files[TINY_GGUF])),
    ]  # fmt: skip
    for model in models:
        model["sha"] = REPO_COMMITS[model["id"]]
        model["usedStorage"] = sum(len(content) for content in files[model["id"]].values())
    return models


@dataclass(frozen=True)
class RepoFileInfo:
    """What the Hub knows about one file of a repo."""

    path: str
    size: int
    blob_id: str  # git blob sha1 (for an LFS file: of its pointer file)
    sha256: str | None  # LFS oid = sha256 of the content; None for a regular git file
    pointer_size: int | None  # size of the LFS pointer file

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None

    @property
    def etag(self) -> str:
        """ETag of ``/resolve``: the sha256 for LFS files, the git blob sha1 otherwise."""
        return self.sha256 or self.blob_id


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def is_lfs_path(path: str, size: int) -> bool:
    return path.endswith(LFS_SUFFIXES) or size >= LFS_THRESHOLD


def describe_file(path: str, content: bytes) -> RepoFileInfo:
    size = len(content)
    if not is_lfs_path(path, size):
        return RepoFileInfo(path, size, git_blob_sha1(content), None, None)
    sha256 = hashlib.sha256(content).hexdigest()
    pointer = lfs_pointer(sha256, size)
    return RepoFileInfo(path, size, git_blob_sha1(pointer), sha256, len(pointer))


# --------------------------------------------------------------------------------------------------
# Seed data: daily papers
# --------------------------------------------------------------------------------------------------

_AUTHORS = [
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Claude Shannon", "Katherine Johnson", "John von Neumann",
    "Barbara Liskov", "Donald Knuth", "Frances Allen", "Edsger Dijkstra", "Margaret Hamilton", "Leslie Lamport",
    "Radia Perlman", "Tim Berners-Lee", "Shafi Goldwasser", "Yoshua Bengio", "Fei-Fei Li", "Geoffrey Hinton",
]  # fmt: skip
_SUBMITTERS = [("akhaliq", "AK"), ("taesiri", "taesiri"), ("nielsr", "Niels Rogge"), ("tester", "Test User")]
_TITLE_METHODS = [
    "Sparse Mixture-of-Experts", "Test-Time Scaling", "Speculative Decoding", "Quantization-Aware Training",
    "Retrieval-Augmented Generation", "Reinforcement Learning from Verifiable Rewards",
    "Long-Context Attention", "Synthetic Data Distillation",
]  # fmt: skip
_TITLE_CLAIMS = [
    "for Efficient On-Device Inference", "Improves Mathematical Reasoning in Small Language Models",
    "at Scale: Lessons from 10,000 GPU Hours", "Without Labels", "Meets Multimodal Agents",
]  # fmt: skip
_SENTENCES = [
    "Large language models (LLMs) have demonstrated remarkable capabilities across a wide range of tasks,"
    " yet their deployment on commodity hardware remains challenging.",
    "In this work, we introduce a simple and effective method that reduces memory traffic during decoding"
    " while preserving output quality.",
    "Our approach requires no additional training & can be applied to any pretrained transformer.",
    "We evaluate on GSM8K, MATH, HumanEval and MMLU, and observe consistent gains of 3-7 points over strong baselines.",
    "Extensive ablations show that the improvements stem from better calibration of the router rather than"
    " from increased capacity.",
    "We further analyze failure modes and find that errors concentrate on multi-step problems with long"
    " intermediate computations.",
    "To facilitate future research, we release our code, model weights and evaluation harness under a"
    " permissive license.",
    "Surprisingly, a 1.5B-parameter model trained with our recipe matches a 7B baseline on <4k-token contexts.",
    "We also provide a theoretical analysis showing that the proposed estimator is unbiased under mild assumptions.",
    "Human evaluation with 412 annotators confirms that responses are preferred 63% of the time.",
]


def _summary(index: int) -> str:
    count = 10 if index % 3 == 0 else 3 + index % 3
    chosen = [_SENTENCES[(index + k) % len(_SENTENCES)] for k in range(count)]
    # arXiv abstracts come with hard line breaks; long ones also have paragraph breaks.
    text = " ".join(chosen[: count // 2]) + "\n" + " ".join(chosen[count // 2 :])
    if count >= 10:
        text = text.replace(". We", ".\n\nWe", 1)
    return text


def _paper(index: int, listed: datetime) -> dict[str, Any]:
    """A daily paper in today's shape (see tests/fixtures/real/hub/daily_papers_*.json).

    ``paper.publishedAt`` is the arXiv date (midnight UTC), one to five days before the listing on the Hub,
    ``paper.submittedOnDailyAt``; the top-level ``publishedAt`` is four hours before the arXiv date.
    """
    arxiv_day = (listed - timedelta(days=1 + index % 5)).replace(hour=0, minute=0, second=0, microsecond=0)
    arxiv_month = arxiv_day.strftime("%y%m")
    paper_id = f"{arxiv_month}.{10000 + index * 37:05d}"
    title = f"{_TITLE_METHODS[index % len(_TITLE_METHODS)]} {_TITLE_CLAIMS[index % len(_TITLE_CLAIMS)]}"
    authors = [
        {"_id": _hex(f"author:{index}:{k}", 24), "name": _AUTHORS[(index * 5 + k) % len(_AUTHORS)], "hidden": False}
        for k in range(1 + index % 4)
    ]
    summary = _summary(index)
    upvotes = (index * 17) % 97 + 1
    user, fullname = _SUBMITTERS[index % len(_SUBMITTERS)]
    avatar = f"/avatars/{_hex('avatar:' + user, 32)}.svg"
    return {
        "paper": {
            "id": paper_id,
            "authors": authors,
            "publishedAt": _iso(arxiv_day),
            "submittedOnDailyAt": _iso(listed),
            "title": title,
            "submittedOnDailyBy": {
                "_id": _hex(f"user:{user}", 24), "avatarUrl": avatar, "isPro": index % 4 == 2, "fullname": fullname,
                "user": user, "type": "user", "name": user,
            },
            "summary": summary,
            "upvotes": upvotes,
            "discussionId": _hex(f"discussion:{paper_id}", 24),
            "ai_summary": summary.split(". ")[0] + ".",
            "ai_keywords": ["LLM", title.split()[0].lower()],
        },
        "publishedAt": _iso(arxiv_day - timedelta(hours=4)),
        "title": title,
        "summary": summary,
        "thumbnail": f"/social-thumbnails/papers/{paper_id}.png",
        "numComments": index % 6,
        "submittedBy": {
            "_id": _hex(f"user:{user}", 24),
            "avatarUrl": avatar,
            "fullname": fullname,
            "name": user,
            "type": "user",
            "isPro": index % 4 == 2,
            "isHf": False,
            "isHfAdmin": False,
            "isMod": False,
            "followerCount": index % 7,
            "isUserFollowing": False,
        },
        "isAuthorParticipating": index % 5 == 0,
    }  # fmt: skip


def listing_time(item: dict[str, Any]) -> str:
    """When the Hub listed a daily paper: ``paper.submittedOnDailyAt``, or (answers before 2025) ``publishedAt``."""
    paper = item.get("paper") or {}
    return str(paper.get("submittedOnDailyAt") or item.get("submittedOnDailyAt") or item["publishedAt"])


def seed_papers() -> list[dict[str, Any]]:
    """40 papers listed between 2025-11-03 and 2025-12-16 (25 in 2025-11, 15 in 2025-12), newest listing first."""
    start = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
    papers = []
    for index in range(40):
        day = index * 45 // 40  # 0..44 days after start
        papers.append(_paper(index, start + timedelta(days=day, minutes=index * 7)))
    papers.sort(key=listing_time, reverse=True)
    return papers


# --------------------------------------------------------------------------------------------------
# Seed data: blog
# --------------------------------------------------------------------------------------------------

_LONG_BLOG_TAIL = (
    "<p>In this post we walk through the architecture, the training recipe &amp; the evaluation results, "
    "and we show how to run the model locally with <code>llama.cpp</code>, <code>ollama</code> and "
    "<code>transformers</code>. We also discuss the limitations we observed: the model can still "
    "hallucinate facts, it is sensitive to prompt formatting, and its multilingual abilities are uneven "
    "across languages. Finally, we share the community projects that made this release possible and give "
    "pointers for fine-tuning with TRL &amp; PEFT on a single consumer GPU.</p>"
)


def seed_blog_posts() -> list[dict[str, Any]]:
    """14 blog posts, newest first. ``description`` is HTML; ``author`` is optional."""
    raw: list[tuple[str, str, str, str, str | None]] = [
        ("smollm3", "SmolLM3: smol, multilingual, long-context reasoner", "2025-12-12T00:00:00",
         "<p>We are <b>excited</b> to release SmolLM3, a 3B model that reasons &amp; speaks six languages.</p>",
         "loubnabnl"),
        ("gguf-on-the-hub", "GGUF on the Hub: browse, inspect & run quantized models", "2025-12-08T00:00:00",
         "<p>Every GGUF file on the Hub now shows its <i>metadata</i> &amp; tensor layout.</p>"
         + _LONG_BLOG_TAIL, "ngxson"),
        ("inference-providers", "Welcome Inference Providers on the Hub 🔥", "2025-12-01T00:00:00",
         "<p>Serverless inference from <b>many</b> providers, one API &amp; one token.</p>", None),
        ("gemma3", "Welcome Gemma 3: Google's all new multimodal, multilingual, long context open LLM",
         "2025-11-27T00:00:00", "<p>Gemma 3 comes in 1B, 4B, 12B &amp; 27B sizes.</p>" + _LONG_BLOG_TAIL,
         "ariG23498"),
        ("open-r1", "Open-R1: a fully open reproduction of DeepSeek-R1", "2025-11-20T00:00:00",
         "<p>Let's reproduce R1 &lt;together&gt;: data, training code &amp; evals.</p>", "lewtun"),
        ("tgi-multi-backend", "Introducing multi-backends (TRT-LLM, vLLM) support for Text Generation Inference",
         "2025-11-14T00:00:00", "<p>TGI now routes to <code>vLLM</code> &amp; TensorRT-LLM.</p>", "mfuntowicz"),
        ("smolagents", "Introducing smolagents, a simple library to build agents", "2025-11-07T00:00:00",
         "<p>Agents that write actions in <b>code</b> &mdash; in about 1,000 lines.</p>" + _LONG_BLOG_TAIL,
         "m-ric"),
        ("llama31", "Llama 3.1 - 405B, 70B & 8B with multilinguality and long context", "2025-10-30T00:00:00",
         "<p>Meta's Llama 3.1 is here &amp; it's available on the Hub today.</p>", "osanseviero"),
        ("hugs", "Introducing HUGS - Scale your AI with Open Models", "2025-10-22T00:00:00",
         "<p>Zero-configuration inference microservices for open models.</p>", None),
        ("mcp-course", "The Model Context Protocol course is live!", "2025-10-15T00:00:00",
         "<p>Learn MCP from <b>first principles</b> to production servers &amp; clients.</p>" + _LONG_BLOG_TAIL,
         "burtenshaw"),
        ("quanto-introduction", "Quanto: a PyTorch quantization backend for Optimum", "2025-10-08T00:00:00",
         "<p>int2, int4, int8 &amp; float8 weights with one line of code.</p>", "dacorvo"),
        ("local-agents", "Run agents locally with llama.cpp & Ollama", "2025-10-01T00:00:00",
         "<p>Tool calling on your laptop: <code>ollama run qwen3</code> &amp; go.</p>", None),
        ("embedding-quantization", "Binary and Scalar Embedding Quantization for faster retrieval",
         "2025-09-24T00:00:00", "<p>32x smaller embeddings, 96% of the performance.</p>", "tomaarsen"),
        ("open-llm-leaderboard-v2", "Open LLM Leaderboard v2: harder, better, faster, stronger",
         "2025-09-17T00:00:00", "<p>New benchmarks: MMLU-Pro, GPQA, MuSR, MATH &amp; IFEval.</p>", "clefourrier"),
    ]  # fmt: skip
    return [
        {"slug": slug, "title": title, "published": _dt(when), "description": desc, "author": author}
        for slug, title, when, desc, author in raw
    ]


def render_blog_feed(posts: list[dict[str, Any]], base: str) -> str:
    """RSS 2.0 like https://huggingface.co/blog/feed.xml (titles in CDATA, HTML descriptions)."""
    newest = max((p["published"] for p in posts), default=datetime(2025, 1, 1, tzinfo=UTC))
    items = []
    for i, post in enumerate(posts):
        link = f"{base}/blog/{post['slug']}"
        # Real feeds mix both ways of embedding HTML: CDATA sections and entity-escaped markup.
        if i % 2 == 0 and "]]>" not in post["description"]:
            description = f"<![CDATA[{post['description']}]]>"
        else:
            description = xml_escape(post["description"])
        creator = f"\n      <dc:creator>{xml_escape(post['author'])}</dc:creator>" if post.get("author") else ""
        items.append(
            f"""    <item>
      <title><![CDATA[{post["title"]}]]></title>
      <link>{xml_escape(link)}</link>
      <guid isPermaLink="false">{xml_escape(link)}</guid>
      <pubDate>{format_datetime(post["published"], usegmt=True)}</pubDate>{creator}
      <description>{description}</description>
    </item>"""
        )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" \
xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">
  <channel>
    <title><![CDATA[Hugging Face - Blog]]></title>
    <description><![CDATA[Hugging Face - Blog]]></description>
    <link>{xml_escape(base)}/blog</link>
    <generator>RSS for Node</generator>
    <lastBuildDate>{format_datetime(newest, usegmt=True)}</lastBuildDate>
    <atom:link href="{xml_escape(base)}/blog/feed.xml" rel="self" type="application/rss+xml"/>
{body}
  </channel>
</rss>
"""


# --------------------------------------------------------------------------------------------------
# Real captures
# --------------------------------------------------------------------------------------------------

REAL_CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real" / "hub"
REAL_GGUF_REPO = "unsloth/Qwen3.8-27B-GGUF"
REAL_FEED = "blog_feed_2026-08-28.xml"


@dataclass(frozen=True)
class RealCaptures:
    models: list[dict[str, Any]]
    papers: list[dict[str, Any]]
    feed_xml: str


def _load_json(name: str, directory: Path) -> Any:
    return json.loads((directory / name).read_text(encoding="utf-8"))


def real_captures(directory: Path = REAL_CAPTURES, feed: str = REAL_FEED) -> RealCaptures:
    """The real answers of tests/fixtures/real/hub/ as the fake's state (see SOURCES.md there).

    models: a trending list (``GET /api/models?sort=trendingScore``, default fields), full model infos
    (``GET /api/models/<repo>``) and one GGUF repo whose ``?blobs=true`` file listing was captured;
    papers: three ``GET /api/daily_papers`` answers, newest listing first; feed: one ``/blog/feed.xml``.
    """
    models = [*_load_json("models_trending_2026-08-02.json", directory), *_load_json("model_info_2025.json", directory)]
    listing = _load_json("model_blobs_unsloth_Qwen3.8-27B-GGUF_2026-09-02.json", directory)
    # Only the file listing of this repo was captured: its id is the capture's, and `gguf` is the tag the Hub
    # gives every repo holding GGUF files (as in the trending capture's GGUF repos).
    models.append({"id": REAL_GGUF_REPO, "modelId": REAL_GGUF_REPO, "tags": ["gguf"], "siblings": listing["siblings"]})
    papers = [
        *_load_json("daily_papers_2026-07-31.json", directory),
        *_load_json("daily_papers_2026-06-12.json", directory),
        *_load_json("daily_papers_2024-10-25_excerpt.json", directory),
    ]
    return RealCaptures(models, papers, (directory / feed).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------------


class _Instrument:
    """ASGI wrapper: counts hits, records Authorization headers, injects faults."""

    def __init__(self, app: ASGIApp, hub: FakeHub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        auth = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                auth = value.decode("latin-1")
        self.hub.hits[path] += 1
        self.hub.auth_headers.append((path, auth))
        fault = self.hub.fault if self.hub.fault_applies(path) else None
        response: Response | None = None
        if fault == "slow":
            await asyncio.sleep(self.hub.slow_seconds)
        elif fault == "error":
            response = _json_error("boom", 500)
        elif fault == "garbage":
            if path == FEED_PATH:
                response = Response(GARBAGE_FEED, media_type="application/rss+xml")
            else:
                response = Response(GARBAGE_JSON, media_type="application/json")
        elif fault is not None:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class _DropConnection(Exception):
    """Raised inside a download body to make uvicorn close the connection mid-response."""


def _is_drop(exc: BaseException | None) -> bool:
    if isinstance(exc, _DropConnection):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_drop(inner) for inner in exc.exceptions)
    return False


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for the connections we cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_drop(record.exc_info[1]))


_QUIET_DROPS = _QuietDrops()


def _quiet_uvicorn_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _QUIET_DROPS not in logger.filters:
        logger.addFilter(_QUIET_DROPS)


def _truthy(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return (value or "").strip().lower() in ("1", "true", "yes")


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` (inclusive) for a single ``bytes=`` range; None to ignore the header (send it all).

    Raises ValueError when the range cannot be satisfied (answer 416).
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if m is None or m[1] == m[2] == "":
        return None  # malformed, or several ranges: serving the whole file is allowed (RFC 9110 §14.2)
    if m[1] == "":
        suffix = int(m[2])
        if suffix == 0 or size == 0:
            raise ValueError("unsatisfiable")
        return max(size - suffix, 0), size - 1
    first = int(m[1])
    last = int(m[2]) if m[2] else size - 1
    if m[2] and last < first:
        return None  # invalid: ignore the header
    if first >= size:
        raise ValueError("unsatisfiable")
    return first, min(last, size - 1)


def _content_type(info: RepoFileInfo) -> str:
    if info.is_lfs:
        return "application/octet-stream"
    if info.path.endswith(".json"):
        return "application/json; charset=utf-8"
    return "text/plain; charset=utf-8"


_TREE_RE = re.compile(r"(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?")
_PATHS_INFO_RE = re.compile(r"(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)")


class FakeHub:
    """State + Starlette app of a fake Hugging Face Hub.

    Attributes (all mutable from tests):
      models:        list of model dicts in the real Hub JSON shape (including ``siblings`` and ``sha``); a
                     sibling's ``size``/``blobId``/``lfs`` are only served with ``?blobs=true``
      papers:        list of daily-paper dicts in the real ``/api/daily_papers`` shape; ``date``/``week``/``month``
                     and the default order go by the listing day (``paper.submittedOnDailyAt``)
      blog_posts:    list of ``{"slug", "title", "published": datetime, "description": html, "author"}``
      blog_feed_xml: if not None, served verbatim by ``/blog/feed.xml`` (``{base}`` replaced by the base URL)
      fault:         None | "garbage" | "error" | "slow"
                     garbage: 200 with ``<html>oops`` (``application/json``) or ``not a feed {{{`` for the feed;
                     error:   500 ``{"error": "boom"}``;  slow: sleep ``slow_seconds`` then answer normally
      fault_paths:   if not None, the fault only applies to paths starting with one of these prefixes
      slow_seconds:  delay for the "slow" fault (default 5)
      hits:          Counter of requests per URL path (faulted requests included)
      auth_headers:  list of (path, Authorization header or None) for every request
      app:           the ASGI app (serve it with ``LiveServer(hub.app)``)

    Repository files (``/resolve``, ``/tree``, ``/paths-info``, ``model_info(files_metadata=True)``):
      files:         repo_id -> {path: content}; seeded by :func:`seed_files`. Files whose suffix is in
                     ``LFS_SUFFIXES`` (or of ``LFS_THRESHOLD`` bytes or more) are LFS files: ETag = sha256 of
                     the content; the others are git files: ETag = git blob sha1
      gated_repos:   repos whose model info, tree, paths-info and files answer 401 (no token) / 403 (a token)
                     with ``X-Error-Code: GatedRepo``; default ``{GATED_MODEL}``
      throttle_bytes_per_second: if set, file bodies are paced to this rate (read at every chunk)
      drop_after_bytes: ``path`` or ``"repo_id/path"`` -> n: the next full GET (no Range) of that file sends
                     n body bytes then the connection is cut; the entry is then removed (so: once)
      range_requests: list of ("repo_id/path", Range header or None) for every file GET
      downloads:     Counter of file GETs per "repo_id/path"
      bytes_sent:    Counter of body bytes sent per "repo_id/path"
    ``reset()`` clears the fault, the request records and the download controls (not ``models``/``files``).
    ``FakeHub.from_real_captures()`` serves the real answers of tests/fixtures/real/hub/ instead of the seed.
    """

    def __init__(
        self,
        models: list[dict[str, Any]] | None = None,
        papers: list[dict[str, Any]] | None = None,
        blog_posts: list[dict[str, Any]] | None = None,
        *,
        slow_seconds: float = 5.0,
        files: dict[str, dict[str, bytes]] | None = None,
    ) -> None:
        self.models: list[dict[str, Any]] = copy.deepcopy(models) if models is not None else seed_models()
        self.papers: list[dict[str, Any]] = copy.deepcopy(papers) if papers is not None else seed_papers()
        self.blog_posts: list[dict[str, Any]] = (
            copy.deepcopy(blog_posts) if blog_posts is not None else seed_blog_posts()
        )
        self.files: dict[str, dict[str, bytes]] = (
            {repo: dict(content) for repo, content in files.items()} if files is not None else seed_files()
        )
        self.gated_repos: set[str] = {GATED_MODEL}
        self.blog_feed_xml: str | None = None
        self.fault: Fault | None = None
        self.fault_paths: set[str] | None = None
        self.slow_seconds = slow_seconds
        self.hits: Counter[str] = Counter()
        self.auth_headers: list[tuple[str, str | None]] = []
        self.throttle_bytes_per_second: float | None = None
        self.drop_after_bytes: dict[str, int] = {}
        self.range_requests: list[tuple[str, str | None]] = []
        self.downloads: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self._file_infos: dict[tuple[str, str], tuple[bytes, RepoFileInfo]] = {}
        routes = [
            Route("/api/models", self._list_models, methods=["GET"]),
            Route("/api/models/{rest:path}", self._models_api, methods=["GET", "POST"]),
            Route("/api/daily_papers", self._daily_papers, methods=["GET"]),
            Route(FEED_PATH, self._blog_feed, methods=["GET"]),
            Route("/api/whoami-v2", self._whoami, methods=["GET"]),
            Route("/redirect-elsewhere", self._redirect, methods=["GET"]),
            Route("/{owner}/{name}/resolve/{revision}/{path:path}", self._resolve, methods=["GET", "HEAD"]),
        ]
        self.app: ASGIApp = _Instrument(Starlette(routes=routes), self)

    @classmethod
    def from_real_captures(cls, feed: str = REAL_FEED, **options: Any) -> FakeHub:
        """A Hub that serves the real answers of tests/fixtures/real/hub/ (no repo files, nothing gated)."""
        captured = real_captures(feed=feed)
        hub = cls(models=captured.models, papers=captured.papers, blog_posts=[], files={}, **options)
        hub.blog_feed_xml = captured.feed_xml
        hub.gated_repos = set()
        return hub

    # ---- helpers for tests ------------------------------------------------------------------------

    def fault_applies(self, path: str) -> bool:
        return self.fault_paths is None or any(path.startswith(prefix) for prefix in self.fault_paths)

    def reset(self) -> None:
        """Clear the fault, the request records and the download controls."""
        self.fault = None
        self.fault_paths = None
        self.hits.clear()
        self.auth_headers.clear()
        self.throttle_bytes_per_second = None
        self.drop_after_bytes.clear()
        self.range_requests.clear()
        self.downloads.clear()
        self.bytes_sent.clear()

    def model(self, repo_id: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m["id"] == repo_id), None)

    def commit(self, repo_id: str) -> str:
        """The commit sha of ``main`` (the model's ``sha``; for unlisted repos, ``REPO_COMMITS`` or derived)."""
        model = self.model(repo_id)
        if model is not None and model.get("sha"):
            return str(model["sha"])
        return REPO_COMMITS.get(repo_id) or _hex("sha:" + repo_id, 40)

    def file_info(self, repo_id: str, path: str) -> RepoFileInfo | None:
        """Size, blob id and LFS sha256 of a file of ``files`` (cached while its content is unchanged)."""
        content = self.files.get(repo_id, {}).get(path)
        if content is None:
            return None
        cached = self._file_infos.get((repo_id, path))
        if cached is not None and cached[0] is content:
            return cached[1]
        info = describe_file(path, content)
        self._file_infos[(repo_id, path)] = (content, info)
        return info

    def repo_exists(self, repo_id: str) -> bool:
        return self.model(repo_id) is not None or repo_id in self.files or repo_id in self.gated_repos

    # ---- access checks ------------------------------------------------------------------------------

    def _repo_error(self, request: Request, repo_id: str, revision: str | None) -> Response | None:
        """The error the Hub answers for a missing repo, a gated repo, or an unknown revision (else None)."""
        if not self.repo_exists(repo_id):
            return _json_error(
                "Repository not found", 404,
                headers={"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )  # fmt: skip
        if repo_id in self.gated_repos:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                base = str(request.base_url).rstrip("/")
                message = (
                    f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                    f"Visit {base}/{repo_id} to ask for access."
                )
                status = 403
            else:
                message = (
                    f"Access to model {repo_id} is restricted. You must have access to it and be authenticated "
                    "to access it. Please log in."
                )
                status = 401
            return _json_error(message, status, headers={"X-Error-Code": "GatedRepo", "X-Error-Message": message})
        if revision is not None and revision not in ("main", self.commit(repo_id)):
            message = f"Invalid rev id: {revision}"
            return _json_error(message, 404, headers={"X-Error-Code": "RevisionNotFound", "X-Error-Message": message})
        return None

    # ---- /api/models --------------------------------------------------------------------------------

    @staticmethod
    def _expand(request: Request) -> list[str] | None:
        values = request.query_params.getlist("expand") + request.query_params.getlist("expand[]")
        return values or None

    @staticmethod
    def _project(model: dict[str, Any], fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
        return {key: copy.deepcopy(model[key]) for key in fields if key in model}

    async def _list_models(self, request: Request) -> Response:
        q = request.query_params
        expand = self._expand(request)
        if expand is not None:
            invalid = sorted(set(expand) - EXPAND_MODEL_PROPERTIES)
            if invalid:
                return _json_error(f'"expand" contains invalid properties: {", ".join(invalid)}', 400)
        sort = q.get("sort") or "trendingScore"
        if sort not in MODEL_SORT_KEYS:
            return _json_error(f'"sort" must be one of {", ".join(sorted(MODEL_SORT_KEYS))}', 400)
        limit: int | None = None
        if q.get("limit") is not None:
            try:
                limit = int(q["limit"])
            except ValueError:
                return _json_error('"limit" must be an integer', 400)
            if limit < 0:
                return _json_error('"limit" must be positive', 400)
            limit = min(limit, MAX_LIST_LIMIT)

        models = list(self.models)
        if search := q.get("search"):
            models = [m for m in models if search.lower() in m["id"].lower()]
        if author := q.get("author"):
            models = [m for m in models if m["id"].split("/", 1)[0].lower() == author.lower()]
        for tag in q.getlist("filter"):
            models = [m for m in models if tag in m.get("tags", []) or tag == m.get("library_name")]
        if pipeline := q.get("pipeline_tag"):
            models = [m for m in models if m.get("pipeline_tag") == pipeline]
        if library := q.get("library"):
            models = [m for m in models if m.get("library_name") == library or library in m.get("tags", [])]
        # Captured answers lack some fields (a model_info of 2025 has no trendingScore): those sort last.
        ranked = sorted((m for m in models if m.get(sort) is not None), key=lambda m: (m[sort], m["id"]), reverse=True)
        models = ranked + [m for m in models if m.get(sort) is None]
        if limit is not None:
            models = models[:limit]

        full = q.get("full", "").lower() in ("1", "true")
        if expand is not None:
            fields: list[str] = ["_id", "id", *expand]
        elif full:
            fields = [*LIST_DEFAULT_FIELDS, *LIST_FULL_EXTRA_FIELDS]
        else:
            fields = list(LIST_DEFAULT_FIELDS)
        answers = [self._project(m, fields) for m in models]
        for answer in answers:
            if "siblings" in answer:
                answer["siblings"] = _public_siblings(answer["siblings"])
        return JSONResponse(answers)

    async def _models_api(self, request: Request) -> Response:
        rest: str = request.path_params["rest"]
        if m := _TREE_RE.fullmatch(rest):
            if request.method not in ("GET", "HEAD"):
                return _json_error("Method not allowed", 405)
            return await self._tree(request, m["repo"], m["rev"], m["path"] or "")
        if m := _PATHS_INFO_RE.fullmatch(rest):
            if request.method != "POST":
                return _json_error("Method not allowed", 405)
            return await self._paths_info(request, m["repo"], m["rev"])
        if request.method == "POST":
            return _json_error("Method not allowed", 405)
        repo_id, revision = rest, None
        if "/revision/" in rest:
            repo_id, revision = rest.split("/revision/", 1)
        return await self._model_info(request, repo_id, revision)

    def _siblings(self, repo_id: str, blobs: bool) -> list[dict[str, Any]]:
        siblings: list[dict[str, Any]] = []
        for path in sorted(self.files.get(repo_id, {})):
            info = self.file_info(repo_id, path)
            assert info is not None
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling["blobId"] = info.blob_id
                sibling["size"] = info.size
                if info.is_lfs:
                    sibling["lfs"] = {"sha256": info.sha256, "size": info.size, "pointerSize": info.pointer_size}
            siblings.append(sibling)
        return siblings

    async def _model_info(self, request: Request, repo_id: str, revision: str | None) -> Response:
        error = self._repo_error(request, repo_id, revision)
        if error is not None:
            return error
        model = self.model(repo_id)
        if model is None:  # a repo with files but no catalog entry (not listed): a minimal model
            model = {"_id": _hex("model:" + repo_id, 24), "id": repo_id, "modelId": repo_id,
                     "author": repo_id.split("/", 1)[0], "sha": self.commit(repo_id), "private": False,
                     "gated": False, "disabled": False,
                     "tags": [], "siblings": []}  # fmt: skip
        view = copy.deepcopy(model)
        blobs = _truthy(request.query_params.get("blobs"))
        if repo_id in self.files:
            view["siblings"] = self._siblings(repo_id, blobs=blobs)
        elif "siblings" in view and not blobs:
            view["siblings"] = _public_siblings(view["siblings"])
        expand = self._expand(request)
        if expand is not None:
            invalid = sorted(set(expand) - EXPAND_MODEL_PROPERTIES)
            if invalid:
                return _json_error(f'"expand" contains invalid properties: {", ".join(invalid)}', 400)
            return JSONResponse(self._project(view, ["_id", "id", *expand]))
        view.setdefault("spaces", [])
        return JSONResponse(view)

    # ---- /tree, /paths-info -------------------------------------------------------------------------

    def _directories(self, repo_id: str) -> set[str]:
        dirs: set[str] = set()
        for path in self.files.get(repo_id, {}):
            parts = path.split("/")[:-1]
            dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return dirs

    def _tree_oid(self, repo_id: str, directory: str) -> str:
        """The git tree sha1 of a directory, computed like git does (mode, name, binary sha of each child)."""
        prefix = directory + "/" if directory else ""
        names: dict[str, tuple[bytes, str]] = {}  # git sort key (a folder's name ends with "/") -> (mode, oid)
        for path in self.files.get(repo_id, {}):
            if not path.startswith(prefix):
                continue
            name, _, below = path[len(prefix) :].partition("/")
            if below:
                names[name + "/"] = (b"40000", self._tree_oid(repo_id, prefix + name))
            else:
                info = self.file_info(repo_id, path)
                assert info is not None
                names[name] = (b"100644", info.blob_id)
        body = b"".join(
            mode + b" " + key.rstrip("/").encode() + b"\0" + bytes.fromhex(oid)
            for key, (mode, oid) in sorted(names.items())
        )
        return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()

    def _last_commit(self, repo_id: str) -> dict[str, Any]:
        model = self.model(repo_id)
        date_ = model["lastModified"] if model is not None and model.get("lastModified") else _LAST_COMMIT_DATE
        return {"id": self.commit(repo_id), "title": "Upload folder using huggingface_hub", "date": date_}

    def _entry(self, repo_id: str, path: str, expand: bool) -> dict[str, Any] | None:
        info = self.file_info(repo_id, path)
        entry: dict[str, Any]
        if info is not None:
            entry = {"type": "file", "oid": info.blob_id, "size": info.size}
            if info.is_lfs:
                entry["lfs"] = {"oid": info.sha256, "size": info.size, "pointerSize": info.pointer_size}
            entry["path"] = path
            if expand:
                entry["lastCommit"] = self._last_commit(repo_id)
                entry["securityFileStatus"] = {
                    "status": "safe",
                    "avScan": {"virusFound": False, "virusNames": None},
                    "pickleImportScan": {"highestSafetyLevel": "innocuous", "imports": []},
                }
            return entry
        if path in self._directories(repo_id):
            entry = {"type": "directory", "oid": self._tree_oid(repo_id, path), "size": 0, "path": path}
            if expand:
                entry["lastCommit"] = self._last_commit(repo_id)
            return entry
        return None

    async def _tree(self, request: Request, repo_id: str, revision: str, path: str) -> Response:
        error = self._repo_error(request, repo_id, revision)
        if error is not None:
            return error
        q = request.query_params
        recursive, expand = _truthy(q.get("recursive")), _truthy(q.get("expand"))
        base = path.strip("/")
        dirs = self._directories(repo_id)
        if base and base not in dirs:
            message = f"{base} does not exist on {revision!r}"
            return _json_error(message, 404, headers={"X-Error-Code": "EntryNotFound", "X-Error-Message": message})
        prefix = base + "/" if base else ""
        wanted = [
            p for p in (*dirs, *self.files.get(repo_id, {}))
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        ]  # fmt: skip
        # Directories before files, each sorted by path (what the Hub does within a folder).
        wanted.sort(key=lambda p: (p not in dirs, p))
        return JSONResponse([self._entry(repo_id, p, expand) for p in wanted])

    async def _paths_info(self, request: Request, repo_id: str, revision: str) -> Response:
        error = self._repo_error(request, repo_id, revision)
        if error is not None:
            return error
        body = await request.body()
        paths: list[str]
        if "json" in request.headers.get("content-type", ""):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return _json_error("Invalid JSON body", 400)
            raw_paths = data.get("paths", []) if isinstance(data, dict) else []
            paths = [raw_paths] if isinstance(raw_paths, str) else [str(p) for p in raw_paths]
            expand = _truthy(data.get("expand")) if isinstance(data, dict) else False
        else:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            paths = [v for k, v in pairs if k in ("paths", "paths[]")]
            expand = _truthy(next((v for k, v in reversed(pairs) if k == "expand"), None))
        if not paths:
            return _json_error('"paths" is required', 400)
        entries = [self._entry(repo_id, p.strip("/"), expand) for p in paths]
        return JSONResponse([e for e in entries if e is not None])

    # ---- /{repo_id}/resolve/{revision}/{path} -------------------------------------------------------

    async def _resolve(self, request: Request) -> Response:
        params = request.path_params
        repo_id = f"{params['owner']}/{params['name']}"
        revision: str = params["revision"]
        path: str = params["path"]
        error = self._repo_error(request, repo_id, revision)
        if error is not None:
            return error
        commit = self.commit(repo_id)
        info = self.file_info(repo_id, path)
        if info is None:
            message = f"{path} does not exist on {revision!r}"
            return _json_error(
                message, 404,
                headers={"X-Error-Code": "EntryNotFound", "X-Error-Message": message, "X-Repo-Commit": commit},
            )  # fmt: skip
        content = self.files[repo_id][path]
        key = f"{repo_id}/{path}"
        headers = {
            "Content-Type": _content_type(info),
            "Accept-Ranges": "bytes",
            "ETag": f'"{info.etag}"',
            "X-Repo-Commit": commit,
        }
        if info.is_lfs:
            headers["X-Linked-Etag"] = f'"{info.sha256}"'
            headers["X-Linked-Size"] = str(info.size)
        range_header = request.headers.get("range")
        is_get = request.method == "GET"
        if is_get:
            self.range_requests.append((key, range_header))
            self.downloads[key] += 1
        status, first, last = 200, 0, info.size - 1
        if range_header is not None:
            try:
                wanted = _parse_range(range_header, info.size)
            except ValueError:
                headers["Content-Range"] = f"bytes */{info.size}"
                return _json_error("Requested range not satisfiable", 416, headers=headers)
            if wanted is not None:
                status, (first, last) = 206, wanted
                headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
        headers["Content-Length"] = str(last - first + 1)
        if not is_get:
            return Response(b"", status_code=status, headers=headers)
        drop_at: int | None = None
        if status == 200:
            for name in (key, path):
                if name in self.drop_after_bytes:
                    drop_at = self.drop_after_bytes.pop(name)
                    _quiet_uvicorn_drops()
                    break
        return StreamingResponse(self._body(key, content, first, last + 1, drop_at), status, headers=headers)

    async def _body(self, key: str, content: bytes, start: int, stop: int, drop_at: int | None) -> AsyncIterator[bytes]:
        sent = 0
        position = start
        view = memoryview(content)
        while position < stop:
            size = min(FILE_CHUNK_SIZE, stop - position)
            if drop_at is not None:
                size = min(size, drop_at - sent)
                if size <= 0:
                    raise _DropConnection(f"{key}: connection cut after {sent} bytes")
            chunk = bytes(view[position : position + size])
            self.bytes_sent[key] += size
            yield chunk
            position += size
            sent += size
            rate = self.throttle_bytes_per_second
            if rate:
                await asyncio.sleep(size / rate)

    # ---- /api/daily_papers ----------------------------------------------------------------------------

    async def _daily_papers(self, request: Request) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit", "50"))
            page = int(q.get("p", "0"))
        except ValueError:
            return _json_error('"limit" and "p" must be integers', 400)
        if limit < 1 or page < 0:
            return _json_error('"limit" must be >= 1 and "p" >= 0', 400)
        limit = min(limit, MAX_PAPERS_LIMIT)
        papers = list(self.papers)

        # date, week, month and the default order are about the day a paper was listed on the Hub.
        def listed(p: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(listing_time(p).replace("Z", "+00:00"))

        if (day := q.get("date")) is not None:
            try:
                wanted = date.fromisoformat(day)
            except ValueError:
                return _json_error('"date" must be formatted as YYYY-MM-DD', 400)
            papers = [p for p in papers if listed(p).date() == wanted]
        if (week := q.get("week")) is not None:
            m = re.fullmatch(r"(\d{4})-W(\d{2})", week)
            if m is None:
                return _json_error('"week" must be formatted as YYYY-Www', 400)
            year, number = int(m[1]), int(m[2])
            papers = [p for p in papers if listed(p).isocalendar()[:2] == (year, number)]
        if (month := q.get("month")) is not None:
            if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) is None:
                return _json_error('"month" must be formatted as YYYY-MM', 400)
            papers = [p for p in papers if listing_time(p).startswith(month + "-")]
        if submitter := q.get("submitter"):
            papers = [p for p in papers if p["submittedBy"]["name"] == submitter]
        sort = q.get("sort", "publishedAt")
        if sort == "publishedAt":
            papers.sort(key=lambda p: listing_time(p)[:10], reverse=True)  # stable: a day keeps its captured order
        elif sort == "trending":
            papers.sort(key=lambda p: (p["paper"]["upvotes"], listing_time(p)), reverse=True)
        else:
            return _json_error('"sort" must be one of publishedAt, trending', 400)
        papers = papers[page * limit : (page + 1) * limit]

        base = str(request.base_url).rstrip("/")
        out = copy.deepcopy(papers)
        for p in out:
            # Real thumbnails are absolute (cdn-thumbnails.huggingface.co); avatars may stay relative.
            if p.get("thumbnail", "").startswith("/"):
                p["thumbnail"] = base + p["thumbnail"]
        return JSONResponse(out)

    # ---- blog, auth, redirect ---------------------------------------------------------------------------

    async def _blog_feed(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        if self.blog_feed_xml is not None:
            xml = self.blog_feed_xml.replace("{base}", base)
        else:
            xml = render_blog_feed(self.blog_posts, base)
        return Response(xml, media_type="application/rss+xml; charset=utf-8")

    async def _whoami(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _json_error("Invalid credentials in Authorization header", 401)
        return JSONResponse(
            {
                "type": "user",
                "id": _hex("user:tester", 24),
                "name": "tester",
                "fullname": "Test User",
                "isPro": False,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "read"}},
            }
        )

    async def _redirect(self, request: Request) -> Response:
        target = request.query_params.get("to")
        if not target:
            return _json_error('"to" is required', 400)
        return RedirectResponse(target, status_code=302)
