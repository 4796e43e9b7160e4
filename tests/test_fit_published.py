"""The estimate against a published estimator: gguf-parser-go (gpustack/gguf-parser-go), whose README prints its
memory estimates for named public models, full offload to one GPU, flash attention off, f16 KV cache.

Sources (the README files at these commits; the numbers are the NONUMA RAM + NONUMA VRAM 0 columns):
* `cmd/gguf-parser/README.md` at bb6f6f5a24447188e80162ada68488735f05eb2c (2024-08-09): Hermes-2-Pro-Mistral-7B
  Q5_K_M at 32768 tokens, chinese-alpaca-2-13b-16k Q5_K at 16384;
* `README.md` at 8dc7a622149dd1e477c86778fc1123fc1c0a316a (2026-07-13; these examples unchanged since 2b3af23,
  2025-07-10): DeepSeek-R1-Distill-Qwen-7B Q4_K_M and Qwen2.5-7B-Instruct Q8_0 at 131072, Qwen2.5-72B-Instruct Q4_K_M
  at 32768, Ollama's llama3.3 (Llama 3.1 70B Q4_K_M) at 131072 and, with `--ol-usage`, at Ollama's 2048, and
  unsloth's DeepSeek-R1 UD-IQ1_S at 163840.

The shapes are the README's own ARCHITECTURE rows (layers, embedding, heads, feed-forward, vocabulary, maximum
context) and SIZE column (the weights); the KV head counts it does not print come from each model's config.json
(Qwen2.5-7B and its R1 distill: 4; Qwen2.5-72B, Llama 3.x 70B, Mistral 7B: 8; chinese-alpaca-2-13b: 40, no GQA;
DeepSeek-R1: 128 heads of key 192 and value 128).

Where and why the numbers differ (measured by this test, printed with -s):
* the totals agree within 3 % (+0.4 % to -3.0 %): the weights are the same number (the file), the KV cache the
  same formula (layers x context x KV heads x (key + value length) x 2 bytes);
* what is left is the compute buffer and fixed costs: gguf-parser adds about 150 MiB of host footprint and keeps the
  input embedding layer in RAM; venom-mcp adds the CUDA context (457 MiB, Ollama's reserve) and a compute buffer
  fitted to what llama.cpp itself reports (estimate.py). At 131072 tokens without flash attention the compute
  buffer is large (every head's scores for a 512-token batch), and ours is up to 0.6 GiB below gguf-parser's;
* DeepSeek-R1 (a file converted before llama.cpp's MLA support): both count every head's key and value, 762.5 GiB
  (ours) against 762.76 GiB (gguf-parser's UMA VRAM, the KV cache and a small buffer); its NONUMA total is printed
  as "1 TB", too rounded to compare. For a file converted since (with `key_length_mla`) llama.cpp caches only the
  576-wide latent, which venom-mcp counts (tests/test_fit.py) and gguf-parser's code counts differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from venom_mcp.services.fit.estimate import Options, kv_cache_bytes, place
from venom_mcp.services.fit.memory import Memory
from venom_mcp.services.fit.shape import ModelShape, from_gguf_metadata

MIB, GIB = 2**20, 2**30
ROOMY = Memory(ram_free=4096 * GIB, vram_free=4096 * GIB, vram_total=4096 * GIB, gpus=1)
TOLERANCE = 0.05


@dataclass(frozen=True)
class Published:
    name: str
    shape: ModelShape
    context: int
    ram: float  # bytes: NONUMA RAM
    vram: float  # bytes: NONUMA VRAM 0


def llama_like(arch: str, layers: int, embd: int, heads: int, kv_heads: int, ff: int, vocab: int, trained: int,
               size_gib: float) -> ModelShape:
    return ModelShape("gguf-parser README", arch, layers, embd, heads, [kv_heads] * layers, embd // heads,
                      embd // heads, ff, vocab, trained, int(size_gib * GIB))


CASES = [
    Published("Hermes-2-Pro-Mistral-7B Q5_K_M",
              llama_like("llama", 32, 4096, 32, 8, 14336, 32032, 32768, 4.78), 32768, 238.39 * MIB, 11.06 * GIB),
    Published("chinese-alpaca-2-13b-16k Q5_K",
              llama_like("llama", 40, 5120, 40, 40, 13824, 55296, 16384, 8.76), 16384, 211.18 * MIB, 22.74 * GIB),
    Published("DeepSeek-R1-Distill-Qwen-7B Q4_K_M",
              llama_like("qwen2", 28, 3584, 28, 4, 18944, 152064, 131072, 4.36), 131072, 827.44 * MIB, 18.89 * GIB),
    Published("Qwen2.5-7B-Instruct Q8_0",
              llama_like("qwen2", 28, 3584, 28, 4, 18944, 152064, 131072, 7.54), 131072, 827.44 * MIB, 21.82 * GIB),
    Published("Qwen2.5-72B-Instruct Q4_K_M",
              llama_like("qwen2", 80, 8192, 64, 8, 29568, 152064, 32768, 44.15), 32768, 576.57 * MIB, 58.18 * GIB),
    Published("Ollama llama3.3 (Llama 3.1 70B Q4_K_M)",
              llama_like("llama", 80, 8192, 64, 8, 28672, 128256, 131072, 39.59), 131072, 1.13 * GIB, 95.86 * GIB),
    Published("Ollama llama3.3 --ol-usage (2048 tokens)",
              llama_like("llama", 80, 8192, 64, 8, 28672, 128256, 131072, 39.59), 2048, 405.27 * MIB, 40.49 * GIB),
]


def test_totals_within_five_percent_of_gguf_parser() -> None:
    for case in CASES:
        placed = place(case.shape, Options("llamacpp", case.context), ROOMY)
        published = case.ram + case.vram
        difference = placed.required / published - 1
        print(f"\n[fit vs gguf-parser] {case.name} at {case.context}: {placed.required / GIB:.2f} GiB vs "
              f"{published / GIB:.2f} GiB ({difference * 100:+.1f} %); weights {placed.weights / GIB:.2f}, KV "
              f"{placed.kv_cache / GIB:.2f}, overhead {placed.overhead / GIB:.2f} GiB")
        assert placed.verdict == "gpu" and placed.gpu_layers == case.shape.layers, case.name
        assert abs(difference) <= TOLERANCE, (case.name, placed.required / GIB, published / GIB)


def test_the_kv_cache_is_the_same_formula() -> None:
    """Qwen2.5-7B at 131072 tokens: gguf-parser's UMA VRAM (7.30 GiB) is the KV cache plus a small buffer; ours is
    the KV cache alone, 28 x 131072 x 4 x (128 + 128) x 2 bytes = 7 GiB."""
    shape = CASES[3].shape
    kv = kv_cache_bytes(shape, Options("llamacpp", 131072))
    assert kv == 28 * 131072 * 4 * 256 * 2 == 7 * GIB
    assert 0 < 7.30 * GIB - kv < 0.5 * GIB


def test_deepseek_r1_converted_before_mla_caches_every_head() -> None:
    """unsloth/DeepSeek-R1-GGUF UD-IQ1_S (converted 2025-01, before llama.cpp's MLA): 61 layers of 128 heads, key 192,
    value 128, at 163840 tokens; gguf-parser's UMA VRAM 0 is 762.76 GiB."""
    shape = from_gguf_metadata({
        "general.architecture": "deepseek2", "deepseek2.block_count": 61, "deepseek2.embedding_length": 7168,
        "deepseek2.attention.head_count": 128, "deepseek2.attention.head_count_kv": 128,
        "deepseek2.attention.kv_lora_rank": 512, "deepseek2.attention.key_length": 192,
        "deepseek2.attention.value_length": 128, "deepseek2.rope.dimension_count": 64,
        "deepseek2.feed_forward_length": 18432, "deepseek2.expert_feed_forward_length": 2048,
        "deepseek2.expert_used_count": 8, "deepseek2.vocab_size": 129280, "deepseek2.context_length": 163840,
    }, "gguf-parser README")  # fmt: skip
    kv = kv_cache_bytes(shape, Options("llamacpp", 163840))
    assert kv == 61 * 163840 * 128 * (192 + 128) * 2
    assert abs(kv / (762.76 * GIB) - 1) < 0.001
    assert any("before MLA" in note for note in shape.notes)


def test_a_larger_context_costs_what_both_say() -> None:
    """Between the two llama3.3 rows the only change is the context: the difference of the totals is the KV cache
    and the compute buffer that grows with it, in both estimators (within 10 % of each other)."""
    low, high = CASES[6], CASES[5]
    ours = [place(c.shape, Options("llamacpp", c.context), ROOMY).required for c in (low, high)]
    theirs = [c.ram + c.vram for c in (low, high)]
    growth = (ours[1] - ours[0]) / (theirs[1] - theirs[0])
    assert 0.9 < growth < 1.1, growth
