"""Will it fit? The GGUF reader and the formulas: real headers against what llama.cpp reported for them, sliding
windows, hybrids and latent caches, the placement (gpu, gpu_partial, cpu, no), and the helpers the other fit tests
share (test_fit_tools.py: the tools, install and activation over MCP and REST; test_fit_ollama.py: the Ollama
registry; test_fit_published.py: gguf-parser's published numbers; test_fit_llamacpp.py: the real llama.cpp).

The free memory is what a test says it is: the fit service is built with a memory probe of the test's own (a
parameter of the service), so the verdicts do not depend on the machine that runs the suite.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q

from tests.conftest import make_settings
from tests.fakes.tiny_gguf import SPECIAL_TOKENS, tiny_vocab
from venom_mcp.adapters.gguf import FILE_TYPES, GGML_TYPES, Truncated, parse_header
from venom_mcp.adapters.ollama_registry import OllamaRegistryAdapter
from venom_mcp.app import App
from venom_mcp.services.fit import FitService
from venom_mcp.services.fit.estimate import Options, kv_cache_bytes, place
from venom_mcp.services.fit.memory import Memory
from venom_mcp.services.fit.shape import ModelShape, from_gguf_header, from_gguf_metadata

REAL = Path(__file__).parent / "fixtures" / "real" / "gguf"
MIB = 2**20
GIB = 2**30
FIT_REPO = "venom-test/fit-GGUF"
BIG_HEAD_REPO = "venom-test/big-head-GGUF"
PADDING = 8 * MIB


def probe(ram: float, vram: float | None = None, total: float | None = None, gpus: int = 1) -> Any:
    """A memory probe that reports what the test says (bytes)."""
    memory = Memory(ram_free=int(ram), vram_free=None if vram is None else int(vram),
                    vram_total=None if vram is None else int(total or vram), gpus=gpus if vram is not None else 0)

    async def read() -> Memory:
        return memory

    return read


PLENTY = probe(64 * GIB)


# ---- generated GGUF models: the real llama.cpp loads them (tests/test_fit_llamacpp.py) ---------------------


def write_gqa_model(path: Path, *, quant: Q = Q.Q8_0, layers: int = 4, embd: int = 256, heads: int = 8,
                    kv_heads: int = 2, ff: int = 768, context: int = 4096) -> Path:
    """A small llama model with grouped-query attention (8 heads, 2 KV heads) and quantized matrices, random weights
    (fixed seed), the tiny byte-level tokenizer of tests/fakes/tiny_gguf.py: every number of a fit is non-trivial."""
    tokens, merges, types = tiny_vocab()
    rng = np.random.default_rng(7)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("fit-gqa")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quant == Q.Q8_0 else gguf.LlamaFileType.MOSTLY_F16)
    writer.add_vocab_size(len(tokens))
    writer.add_context_length(context)
    writer.add_embedding_length(embd)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(embd // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(list(tokens))
    writer.add_token_types(list(types))
    writer.add_token_merges(list(merges))
    writer.add_bos_token_id(tokens.index(SPECIAL_TOKENS[0]))
    writer.add_eos_token_id(tokens.index(SPECIAL_TOKENS[1]))
    writer.add_add_bos_token(False)

    def matrix(name: str, rows: int, cols: int) -> None:
        data = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)
        if quant == Q.Q8_0:
            writer.add_tensor(name, gguf.quants.quantize(data, Q.Q8_0), raw_dtype=Q.Q8_0)
        else:
            writer.add_tensor(name, data.astype(np.float16))

    head_dim = embd // heads
    matrix("token_embd.weight", len(tokens), embd)
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(embd, dtype=np.float32))
        matrix(f"blk.{i}.attn_q.weight", heads * head_dim, embd)
        matrix(f"blk.{i}.attn_k.weight", kv_heads * head_dim, embd)
        matrix(f"blk.{i}.attn_v.weight", kv_heads * head_dim, embd)
        matrix(f"blk.{i}.attn_output.weight", embd, heads * head_dim)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(embd, dtype=np.float32))
        matrix(f"blk.{i}.ffn_gate.weight", ff, embd)
        matrix(f"blk.{i}.ffn_up.weight", ff, embd)
        matrix(f"blk.{i}.ffn_down.weight", embd, ff)
    writer.add_tensor("output_norm.weight", np.ones(embd, dtype=np.float32))
    matrix("output.weight", len(tokens), embd)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return path


# ---- the real captures -------------------------------------------------------------------------------------

_TENSOR = re.compile(r"- tensor +\d+: +(\S+) (\S+) +\[ *(\d+), *(\d+), *(\d+), *(\d+) \]")
_KV = re.compile(r"- kv +\d+: +(\S+) (\S+) += (.*)$")


def read_log(path: Path) -> dict[str, Any]:
    """What a llama.cpp log says: the tensors (name, type, ne), the metadata with values, and its numbers."""
    text = path.read_text(encoding="utf-8")
    tensors: list[tuple[str, str, tuple[int, ...]]] = []
    for line in text.splitlines():
        if found := _TENSOR.search(line):
            name = found.group(1)
            if any(t[0] == name for t in tensors):
                break  # the same file loaded again
            dims = tuple(int(d) for d in found.groups()[2:])
            while len(dims) > 1 and dims[-1] == 1:
                dims = dims[:-1]
            tensors.append((name, found.group(2), dims))
    meta: dict[str, Any] = {}
    for line in text.splitlines():
        if (found := _KV.search(line)) and not found.group(2).startswith("arr"):
            kind, value = found.group(2), found.group(3).strip()
            meta[found.group(1)] = int(value) if kind in ("u32", "i32", "u16") else value
    return {"text": text, "tensors": tensors, "meta": meta,
            "numbers": [float(n) for n in re.findall(r"= +([\d.]+) M[i]?B", text)]}


def open_llama_header() -> bytes:
    """The header of the open_llama_3b_v2 Q4_0 file as llama.cpp's CI printed it, rebuilt as GGUF bytes."""
    log = read_log(REAL / "open_llama_3b_v2-q4_0_llamacpp-b1288.log")
    assert len(log["tensors"]) == 237
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "header.gguf"
        _write_open_llama(gguf.GGUFWriter(path, "llama"), log["tensors"])
        return path.read_bytes()


def _write_open_llama(writer: gguf.GGUFWriter, tensors: list[tuple[str, str, tuple[int, ...]]]) -> None:
    writer.add_name("open-llama")
    writer.add_context_length(2048)
    writer.add_embedding_length(3200)
    writer.add_block_count(26)
    writer.add_feed_forward_length(8640)
    writer.add_rope_dimension_count(100)
    writer.add_head_count(32)
    writer.add_head_count_kv(32)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(2)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"<t{i}>" for i in range(32000)])  # placeholders: the log gives only the count
    writer.add_token_scores([0.0] * 32000)
    writer.add_token_types([1] * 32000)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(0)
    for name, kind, ne in tensors:
        ggml = Q[kind.upper()]
        _, block, size = GGML_TYPES[int(ggml)]
        elements = int(np.prod(ne))
        writer.add_tensor_info(name, tuple(reversed(ne)), np.dtype(np.float32), elements // block * size, ggml)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
    finally:
        writer.close()


def within(estimate: float, reported: float, tolerance: float = 0.10) -> bool:
    return abs(estimate - reported) <= tolerance * reported


def test_type_table_agrees_with_the_gguf_package() -> None:
    for ggml_type, (block, size) in gguf.constants.GGML_QUANT_SIZES.items():
        assert GGML_TYPES[int(ggml_type)][1:] == (block, size), ggml_type.name


def test_file_type_names_agree_with_the_gguf_package() -> None:
    for file_type in gguf.LlamaFileType:
        if file_type.value in FILE_TYPES:
            assert file_type.name.removeprefix("MOSTLY_").removeprefix("ALL_") == FILE_TYPES[file_type.value]
    assert {t.value for t in gguf.LlamaFileType} - set(FILE_TYPES) == {1024}  # GUESSED: not a file type


def test_reader_agrees_with_gguf_reader_and_asks_for_more(tmp_path: Path) -> None:
    path = write_gqa_model(tmp_path / "m.gguf")
    data = path.read_bytes()
    ours = parse_header(data)
    theirs = gguf.GGUFReader(path)
    assert ours.data_offset == theirs.data_offset
    assert [(t.name, t.shape, t.ggml_type, t.nbytes) for t in ours.tensors] == [
        (t.name, tuple(int(d) for d in t.shape), int(t.tensor_type), int(t.n_bytes)) for t in theirs.tensors]
    assert ours.metadata["llama.attention.head_count_kv"] == 2
    assert ours.metadata["tokenizer.ggml.tokens"].length == 328
    with pytest.raises(Truncated) as short:
        parse_header(data[: ours.data_offset // 2])
    assert ours.data_offset // 2 < short.value.needed <= ours.data_offset


def test_real_header_open_llama_against_llama_cpp_at_two_contexts() -> None:
    """llama.cpp (build 1288) loaded it at n_ctx 512 and 128: kv self size 162.50 / 40.62 MiB, weights 1866.20 MiB."""
    header = parse_header(open_llama_header())
    shape = from_gguf_header(header, None, "open_llama dump")
    assert shape.layers == 26 and shape.kv_heads == [32] * 26 and shape.key_length == 100
    assert len(header.tensors) == 237 and header.metadata["tokenizer.ggml.tokens"].length == 32000
    assert within(shape.weights or 0, 1866.20 * MIB, 0.01)  # 1863.8 MiB: the tensors themselves
    for context, reported in ((512, 162.50), (128, 40.62)):
        kv = kv_cache_bytes(shape, Options("llamacpp", context))
        assert round(kv / MIB, 2) == pytest.approx(reported, abs=0.01)


def test_real_metadata_qwen3_against_llama_cpp() -> None:
    """Qwen3-0.6B Q8_0 fully offloaded at n_ctx 4096: GPU model buffer 604.15 MiB, KV 448.00 MiB."""
    log = read_log(REAL / "qwen3-0.6b-q8_0_llamacpp-b5398.log")
    shape = from_gguf_metadata(log["meta"], "qwen3 dump")  # what Ollama's model_info would give
    shape.weights = int(604.15 * MIB)  # print_info: file size
    assert (shape.layers, shape.kv_heads, shape.key_length) == (28, [8] * 28, 128)
    kv = kv_cache_bytes(shape, Options("llamacpp", 4096))
    assert kv == 448 * MIB
    gpu = place(shape, Options("llamacpp", 4096), Memory(ram_free=16 * GIB, vram_free=60 * GIB, vram_total=64 * GIB,
                                                         gpus=1))
    assert gpu.verdict == "gpu" and gpu.gpu_layers == 28
    assert within(gpu.weights, 604.15 * MIB) and within(gpu.kv_cache, 448.00 * MIB, 0.0)


def test_sliding_window_hybrid_and_latent_caches() -> None:
    gemma2 = from_gguf_metadata({"general.architecture": "gemma2", "gemma2.block_count": 26,
                                 "gemma2.embedding_length": 2304, "gemma2.attention.head_count": 8,
                                 "gemma2.attention.head_count_kv": 4, "gemma2.attention.key_length": 256,
                                 "gemma2.attention.value_length": 256, "gemma2.attention.sliding_window": 4096}, "t")
    assert len(gemma2.swa_layers) == 13  # every other layer keeps only the window
    per_token = 4 * (256 + 256) * 2  # KV heads x (key + value length) x f16
    expected = 13 * 32768 * per_token + 13 * (4096 + 512) * per_token
    assert kv_cache_bytes(gemma2, Options("llamacpp", 32768)) == expected
    hybrid = from_gguf_metadata({"general.architecture": "qwen3next", "qwen3next.block_count": 48,
                                 "qwen3next.attention.head_count": 16, "qwen3next.attention.head_count_kv": 2,
                                 "qwen3next.attention.key_length": 256, "qwen3next.attention.value_length": 256,
                                 "qwen3next.full_attention_interval": 4}, "t")
    assert sum(1 for h in hybrid.kv_heads or [] if h) == 12
    # a file converted since llama.cpp's MLA support: K 576, V 512, the per-head lengths as *_mla, 1 KV head
    mla = from_gguf_metadata({"general.architecture": "deepseek2", "deepseek2.block_count": 61,
                              "deepseek2.attention.head_count": 128, "deepseek2.attention.head_count_kv": 1,
                              "deepseek2.attention.kv_lora_rank": 512, "deepseek2.attention.key_length": 576,
                              "deepseek2.attention.value_length": 512, "deepseek2.attention.key_length_mla": 192,
                              "deepseek2.attention.value_length_mla": 128, "deepseek2.rope.dimension_count": 64}, "t")
    assert kv_cache_bytes(mla, Options("llamacpp", 1000)) == 61 * 1000 * 576 * 2  # the latent, no V (V-less cache)
    # one converted before it: every head's key (192) and value (128), as llama.cpp runs such a file
    old = from_gguf_metadata({"general.architecture": "deepseek2", "deepseek2.block_count": 61,
                              "deepseek2.attention.head_count": 128, "deepseek2.attention.head_count_kv": 128,
                              "deepseek2.attention.kv_lora_rank": 512, "deepseek2.attention.key_length": 192,
                              "deepseek2.attention.value_length": 128, "deepseek2.rope.dimension_count": 64}, "t")
    assert kv_cache_bytes(old, Options("llamacpp", 1000)) == 61 * 1000 * 128 * (192 + 128) * 2
    assert any("before MLA" in note for note in old.notes)


def test_placement_gpu_partial_cpu_no() -> None:
    shape = ModelShape("t", "llama", 32, 4096, 32, [8] * 32, 128, 128, 14336, 128256, 8192, 4_900_000_000,
                       embd_bytes=280_000_000)
    options = Options("llamacpp", 8192, flash_attention=True)
    assert place(shape, options, Memory(32 * GIB, 24 * GIB, 24 * GIB, 1)).verdict == "gpu"
    partial = place(shape, options, Memory(32 * GIB, 3 * GIB, 8 * GIB, 1))
    assert partial.verdict == "gpu_partial" and 0 < partial.gpu_layers < 32
    assert place(shape, options, Memory(32 * GIB, 100 * MIB, 8 * GIB, 1)).verdict == "cpu"
    assert place(shape, options, Memory(2 * GIB)).verdict == "no"
    vllm = replace(shape, kv_dtype_bytes=2.0)
    served = place(vllm, Options("vllm", 8192), Memory(32 * GIB, 20 * GIB, 24 * GIB, 1))
    assert served.verdict == "gpu" and served.gpu_layers == 32
    assert any("--gpu-memory-utilization 0.82" in note for note in served.notes)  # 20 of 24 GiB free, not 90 %
    assert place(vllm, Options("vllm", 131072), Memory(32 * GIB, 20 * GIB, 24 * GIB, 1)).verdict == "no"


# ---- an App whose fit service reads the memory the test says -------------------------------------------


def refit(app: App, memory: Any = PLENTY) -> App:
    """The App with a fit service that reads the memory from `memory` (a probe of the test's own)."""
    app.fit = FitService(app.settings, hub=app.hub, ollama=app.ollama, registry=app.registry, probe=memory,
                         ollama_registry=OllamaRegistryAdapter(app.settings.ollama_registry_url, app.http))
    return app


def fit_app(home: Path, hub_url: str, library_url: str, ollama_url: str, memory: Any = PLENTY, **options: Any) -> App:
    return refit(App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full",
                                   **options)), memory)
