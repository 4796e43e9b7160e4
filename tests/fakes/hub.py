"""A fake Hugging Face Hub (Starlette app) that speaks the real Hub HTTP protocol.

Only the routes venom_mcp uses are implemented, with the real JSON shapes, query parameters,
status codes and error headers, so that the official ``huggingface_hub`` client works against it:

* ``GET /api/models``                      list models (search/author/filter/sort/limit/expand/full)
* ``GET /api/models/{repo_id}``            model info (also ``.../revision/{rev}``), 404 + ``X-Error-Code``
* ``GET /api/daily_papers``                daily papers (date/week/month/limit/p/sort/submitter)
* ``GET /blog/feed.xml``                   RSS 2.0 blog feed
* ``GET /api/whoami-v2``                   401 unless ``Authorization: Bearer <token>``
* ``GET /redirect-elsewhere?to=URL``       302 to ``to`` (check tokens are not forwarded cross-origin)

Fault injection: set ``hub.fault`` to ``"garbage"``, ``"error"`` or ``"slow"`` (see :class:`FakeHub`).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal
from xml.sax.saxutils import escape as xml_escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
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
    model["siblings"] = [{"rfilename": name} for name in sorted(files)]
    model["usedStorage"] = 2 * (sum(safetensors.values()) if safetensors else (gguf or {}).get("total", 10**9))
    return model


def _gguf_files(stem: str, quants: tuple[str, ...] = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")) -> list[str]:
    return [".gitattributes", "README.md", *(f"{stem}-{q}.gguf" for q in quants)]


def _tf_tags(arch: str, pipeline: str, *extra: str) -> list[str]:
    return ["transformers", "safetensors", arch, pipeline, "conversational", "en", *extra,
            "text-generation-inference", "endpoints_compatible"]  # fmt: skip


def _gguf_tags(base: str, pipeline: str, *extra: str) -> list[str]:
    return ["gguf", pipeline, "en", *extra, f"base_model:{base}", f"base_model:quantized:{base}",
            "endpoints_compatible", "conversational"]  # fmt: skip


def seed_models() -> list[dict[str, Any]]:
    """33 real-looking repos: transformer repos and GGUF repos, with distinct popularity numbers."""
    tg = "text-generation"
    return [
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


def _paper(index: int, submitted: datetime) -> dict[str, Any]:
    # The arXiv announcement (paper.publishedAt) precedes the daily-papers submission by a few hours.
    arxiv_published = submitted - timedelta(hours=4)
    arxiv_month = arxiv_published.strftime("%y%m")
    paper_id = f"{arxiv_month}.{10000 + index * 37:05d}"
    title = f"{_TITLE_METHODS[index % len(_TITLE_METHODS)]} {_TITLE_CLAIMS[index % len(_TITLE_CLAIMS)]}"
    authors = [
        {"_id": _hex(f"author:{index}:{k}", 24), "name": _AUTHORS[(index * 5 + k) % len(_AUTHORS)], "hidden": False}
        for k in range(1 + index % 4)
    ]
    summary = _summary(index)
    upvotes = (index * 17) % 97 + 1
    user, fullname = _SUBMITTERS[index % len(_SUBMITTERS)]
    return {
        "paper": {
            "id": paper_id,
            "authors": authors,
            "publishedAt": _iso(arxiv_published),
            "title": title,
            "summary": summary,
            "upvotes": upvotes,
            "discussionId": _hex(f"discussion:{paper_id}", 24),
            "ai_summary": summary.split(". ")[0] + ".",
            "ai_keywords": ["LLM", title.split()[0].lower()],
        },
        "publishedAt": _iso(submitted),
        "title": title,
        "summary": summary,
        "thumbnail": f"/social-thumbnails/papers/{paper_id}.png",
        "numComments": index % 6,
        "submittedBy": {
            "_id": _hex(f"user:{user}", 24),
            "name": user,
            "fullname": fullname,
            "avatarUrl": f"/avatars/{_hex('avatar:' + user, 32)}.svg",
            "isPro": index % 4 == 2,
            "type": "user",
        },
        "isAuthorParticipating": index % 5 == 0,
    }


def seed_papers() -> list[dict[str, Any]]:
    """40 papers submitted between 2025-11-03 and 2025-12-16 (25 in 2025-11, 15 in 2025-12), newest first."""
    start = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
    papers = []
    for index in range(40):
        day = index * 45 // 40  # 0..44 days after start
        papers.append(_paper(index, start + timedelta(days=day, minutes=index * 7)))
    papers.sort(key=lambda p: p["publishedAt"], reverse=True)
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


class FakeHub:
    """State + Starlette app of a fake Hugging Face Hub.

    Attributes (all mutable from tests):
      models:        list of model dicts in the real Hub JSON shape (including ``siblings`` and ``sha``)
      papers:        list of daily-paper dicts in the real ``/api/daily_papers`` shape
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
    """

    def __init__(
        self,
        models: list[dict[str, Any]] | None = None,
        papers: list[dict[str, Any]] | None = None,
        blog_posts: list[dict[str, Any]] | None = None,
        *,
        slow_seconds: float = 5.0,
    ) -> None:
        self.models: list[dict[str, Any]] = copy.deepcopy(models) if models is not None else seed_models()
        self.papers: list[dict[str, Any]] = copy.deepcopy(papers) if papers is not None else seed_papers()
        self.blog_posts: list[dict[str, Any]] = (
            copy.deepcopy(blog_posts) if blog_posts is not None else seed_blog_posts()
        )
        self.blog_feed_xml: str | None = None
        self.fault: Fault | None = None
        self.fault_paths: set[str] | None = None
        self.slow_seconds = slow_seconds
        self.hits: Counter[str] = Counter()
        self.auth_headers: list[tuple[str, str | None]] = []
        routes = [
            Route("/api/models", self._list_models, methods=["GET"]),
            Route("/api/models/{repo_id:path}", self._model_info, methods=["GET"]),
            Route("/api/daily_papers", self._daily_papers, methods=["GET"]),
            Route(FEED_PATH, self._blog_feed, methods=["GET"]),
            Route("/api/whoami-v2", self._whoami, methods=["GET"]),
            Route("/redirect-elsewhere", self._redirect, methods=["GET"]),
        ]
        self.app: ASGIApp = _Instrument(Starlette(routes=routes), self)

    # ---- helpers for tests ------------------------------------------------------------------------

    def fault_applies(self, path: str) -> bool:
        return self.fault_paths is None or any(path.startswith(prefix) for prefix in self.fault_paths)

    def reset(self) -> None:
        """Clear the fault and the request records."""
        self.fault = None
        self.fault_paths = None
        self.hits.clear()
        self.auth_headers.clear()

    def model(self, repo_id: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m["id"] == repo_id), None)

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
            models = [m for m in models if m["author"].lower() == author.lower()]
        for tag in q.getlist("filter"):
            models = [m for m in models if tag in m["tags"] or tag == m.get("library_name")]
        if pipeline := q.get("pipeline_tag"):
            models = [m for m in models if m.get("pipeline_tag") == pipeline]
        if library := q.get("library"):
            models = [m for m in models if m.get("library_name") == library or library in m["tags"]]
        models.sort(key=lambda m: (m[sort], m["id"]), reverse=True)
        if limit is not None:
            models = models[:limit]

        full = q.get("full", "").lower() in ("1", "true")
        if expand is not None:
            fields: list[str] = ["_id", "id", *expand]
        elif full:
            fields = [*LIST_DEFAULT_FIELDS, *LIST_FULL_EXTRA_FIELDS]
        else:
            fields = list(LIST_DEFAULT_FIELDS)
        return JSONResponse([self._project(m, fields) for m in models])

    async def _model_info(self, request: Request) -> Response:
        repo_id: str = request.path_params["repo_id"]
        if "/revision/" in repo_id:
            repo_id = repo_id.split("/revision/", 1)[0]
        model = self.model(repo_id)
        if model is None:
            return _json_error("Repository not found", 404, headers={"X-Error-Code": "RepoNotFound"})
        expand = self._expand(request)
        if expand is not None:
            invalid = sorted(set(expand) - EXPAND_MODEL_PROPERTIES)
            if invalid:
                return _json_error(f'"expand" contains invalid properties: {", ".join(invalid)}', 400)
            return JSONResponse(self._project(model, ["_id", "id", *expand]))
        info = copy.deepcopy(model)
        info.setdefault("spaces", [])
        return JSONResponse(info)

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

        def submitted(p: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(p["publishedAt"].replace("Z", "+00:00"))

        if (day := q.get("date")) is not None:
            try:
                wanted = date.fromisoformat(day)
            except ValueError:
                return _json_error('"date" must be formatted as YYYY-MM-DD', 400)
            papers = [p for p in papers if submitted(p).date() == wanted]
        if (week := q.get("week")) is not None:
            m = re.fullmatch(r"(\d{4})-W(\d{2})", week)
            if m is None:
                return _json_error('"week" must be formatted as YYYY-Www', 400)
            year, number = int(m[1]), int(m[2])
            papers = [p for p in papers if submitted(p).isocalendar()[:2] == (year, number)]
        if (month := q.get("month")) is not None:
            if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) is None:
                return _json_error('"month" must be formatted as YYYY-MM', 400)
            papers = [p for p in papers if p["publishedAt"].startswith(month + "-")]
        if submitter := q.get("submitter"):
            papers = [p for p in papers if p["submittedBy"]["name"] == submitter]
        sort = q.get("sort", "publishedAt")
        if sort == "publishedAt":
            papers.sort(key=lambda p: p["publishedAt"], reverse=True)
        elif sort == "trending":
            papers.sort(key=lambda p: (p["paper"]["upvotes"], p["publishedAt"]), reverse=True)
        else:
            return _json_error('"sort" must be one of publishedAt, trending', 400)
        papers = papers[page * limit : (page + 1) * limit]

        base = str(request.base_url).rstrip("/")
        out = copy.deepcopy(papers)
        for p in out:
            if p.get("thumbnail", "").startswith("/"):
                p["thumbnail"] = base + p["thumbnail"]
            avatar = p["submittedBy"].get("avatarUrl", "")
            if avatar.startswith("/"):
                p["submittedBy"]["avatarUrl"] = base + avatar
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
