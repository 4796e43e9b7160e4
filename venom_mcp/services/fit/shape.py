"""What a memory estimate needs to know of a model, read from whichever metadata a source gives.

* a GGUF header (a Hub file's head, a local file, Ollama's model blob): the `<arch>.*` keys and the tensor infos;
* Ollama's `/api/show`: `model_info` holds the same GGUF keys (without the tensor infos);
* a transformers repo: `config.json` for the layers and heads, and the weights from the safetensors parameter counts.

Anything a source does not give stays None, and the estimate says so in its notes instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...adapters.gguf import FILE_TYPES, GGUFArray, GGUFHeader

# Layers with sliding-window attention when the file does not list them: 1 of every `p` layers keeps the full
# context and the others only the window (llama.cpp's `n_swa_pattern` for these architectures).
SWA_PATTERNS = {"gemma2": 2, "gemma3": 6, "gemma3n": 5, "cohere2": 4, "gpt-oss": 2}
_BLOCK = re.compile(r"^blk\.(\d+)\.")


@dataclass
class ModelShape:
    source: str
    architecture: str | None = None
    layers: int | None = None
    embd: int | None = None
    heads: int | None = None
    kv_heads: list[int] | None = None  # per layer (0: a layer without KV cache, e.g. a recurrent one)
    key_length: int | None = None
    value_length: int | None = None
    ff: int | None = None
    vocab: int | None = None
    trained_context: int | None = None
    weights: int | None = None  # bytes of all the weights
    embd_bytes: int = 0  # the token embedding matrix: llama.cpp keeps it in RAM whatever is offloaded
    tied_output: bool = False  # no output matrix: offloading copies the embedding to the GPU as the output layer
    layer_bytes: list[int] = field(default_factory=list)  # per block, when the tensor infos are known
    sliding_window: int | None = None
    swa_layers: set[int] = field(default_factory=set)
    kv_dtype_bytes: float | None = None  # transformers repos: the model's dtype (vLLM's KV cache "auto")
    quantization: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def per_layer_bytes(self) -> float:
        """The average size of one repeating block, for placing layers on the GPU."""
        if self.layer_bytes:
            return sum(self.layer_bytes) / len(self.layer_bytes)
        if self.weights is None or not self.layers:
            return 0.0
        return max(self.weights - 2 * self.embd_bytes, 0) / self.layers

    @property
    def kv_known(self) -> bool:
        return bool(self.layers and self.kv_heads is not None and self.key_length and self.value_length is not None)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _per_layer(value: Any, layers: int | None) -> list[int] | None:
    """A count that is one number for every layer, or a list with one per layer."""
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]
    single = _int(value)
    if single is None or not layers:
        return None
    return [single] * layers


def from_gguf_metadata(meta: dict[str, Any], source: str) -> ModelShape:
    """The architecture keys of GGUF metadata (a header, or Ollama's `model_info`)."""
    arch = meta.get("general.architecture")
    shape = ModelShape(source=source, architecture=arch if isinstance(arch, str) else None)
    if shape.architecture is None:
        shape.notes.append("the metadata names no architecture")
        return shape

    def key(name: str) -> Any:
        return meta.get(f"{arch}.{name}")

    shape.layers = _int(key("block_count"))
    shape.embd = _int(key("embedding_length"))
    heads = _per_layer(key("attention.head_count"), shape.layers)
    shape.heads = max(heads) if heads else None
    kv = key("attention.head_count_kv")
    shape.kv_heads = _per_layer(kv, shape.layers) if kv is not None else (heads if heads else None)
    head_dim = shape.embd // shape.heads if shape.embd and shape.heads else None
    shape.key_length = _int(key("attention.key_length")) or head_dim
    shape.value_length = _int(key("attention.value_length")) or head_dim
    lora_rank = _int(key("attention.kv_lora_rank"))
    if lora_rank and shape.layers and key("attention.key_length_mla") is not None:
        # MLA (DeepSeek 2/3, Kimi) in a file converted since llama.cpp's PR 12801 (2025-04, which writes
        # key_length_mla): one compressed latent plus the rope part per token, cached as K only since PR 19067
        # (2026-01, "V-less cache"). An older file has no key_length_mla and llama.cpp still runs it without MLA,
        # caching every head's key and value: the general formula below, from its head counts.
        rope = _int(key("rope.dimension_count")) or 64
        shape.kv_heads, shape.key_length, shape.value_length = [1] * shape.layers, lora_rank + rope, 0
        shape.notes.append("multi-head latent attention: the KV cache holds the compressed latent only")
    elif lora_rank and shape.layers:
        shape.notes.append("a DeepSeek-style file converted before MLA support (no key_length_mla): llama.cpp caches "
                           "every head's key and value; a re-converted file needs far less")
    interval = _int(key("full_attention_interval"))
    if interval and shape.layers and shape.kv_heads:  # hybrid (Qwen3-Next, Qwen3.5): 1 of `interval` layers attends
        shape.kv_heads = [h if (i + 1) % interval == 0 else 0 for i, h in enumerate(shape.kv_heads)]
    ff = key("feed_forward_length")
    ff_list = _per_layer(ff, shape.layers)
    shape.ff = max(ff_list) if ff_list else None
    expert_ff, used = _int(key("expert_feed_forward_length")), _int(key("expert_used_count"))
    if expert_ff and used:
        shape.ff = max(shape.ff or 0, expert_ff * used)
    shape.trained_context = _int(key("context_length"))
    tokens = meta.get("tokenizer.ggml.tokens")
    shape.vocab = _int(key("vocab_size")) or (tokens.length if isinstance(tokens, GGUFArray) else
                                              len(tokens) if isinstance(tokens, list) else None)
    window = _int(key("attention.sliding_window"))
    if window and shape.layers:
        shape.sliding_window = window
        pattern = key("attention.sliding_window_pattern")
        if isinstance(pattern, list) and len(pattern) == shape.layers:
            shape.swa_layers = {i for i, on in enumerate(pattern) if on}
        else:
            every = _int(pattern) or SWA_PATTERNS.get(shape.architecture)
            if every:
                shape.swa_layers = {i for i in range(shape.layers) if i % every < every - 1}
    if shape.layers and shape.kv_heads is None:
        shape.notes.append("the metadata gives no attention head counts: the KV cache is not counted")
    return shape


def from_gguf_header(header: GGUFHeader, file_bytes: int | None, source: str) -> ModelShape:
    """A GGUF header: the metadata, and the weights from its tensor infos (or the file size past the header)."""
    shape = from_gguf_metadata(header.metadata, source)
    file_type = header.metadata.get("general.file_type")
    shape.quantization = FILE_TYPES.get(file_type) if isinstance(file_type, int) else None
    if header.tensors:
        shape.weights = header.tensor_bytes
        names = {t.name: t for t in header.tensors}
        embd = names.get("token_embd.weight")
        shape.embd_bytes = embd.nbytes if embd else 0
        shape.tied_output = embd is not None and "output.weight" not in names
        blocks: dict[int, int] = {}
        for tensor in header.tensors:
            if found := _BLOCK.match(tensor.name):
                blocks[int(found.group(1))] = blocks.get(int(found.group(1)), 0) + tensor.nbytes
        shape.layer_bytes = [blocks[i] for i in sorted(blocks)]
        if file_bytes is not None and file_bytes > header.data_offset + shape.weights * 1.01:
            shape.weights = file_bytes - header.data_offset  # the other parts of a split file
    elif file_bytes is not None:
        shape.weights = max(file_bytes - header.data_offset, 0)
    return shape


_DTYPE_BYTES = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0, "float64": 8.0}


def from_hf_config(config: dict[str, Any], weights: int | None, source: str) -> ModelShape:
    """A transformers `config.json` (the text model's part of a multimodal one) and the weights' bytes."""
    nested = config.get("text_config")
    text: dict[str, Any] = nested if isinstance(nested, dict) else config
    arch = text.get("model_type") or config.get("model_type")
    shape = ModelShape(source=source, architecture=str(arch) if arch else None)
    shape.layers = _int(text.get("num_hidden_layers"))
    shape.embd = _int(text.get("hidden_size"))
    shape.heads = _int(text.get("num_attention_heads"))
    kv = _int(text.get("num_key_value_heads")) or shape.heads
    shape.kv_heads = [kv] * shape.layers if kv and shape.layers else None
    head_dim = _int(text.get("head_dim")) or (shape.embd // shape.heads if shape.embd and shape.heads else None)
    shape.key_length = shape.value_length = head_dim
    shape.ff = _int(text.get("intermediate_size"))
    shape.vocab = _int(text.get("vocab_size"))
    shape.trained_context = _int(text.get("max_position_embeddings"))
    dtype = str(text.get("torch_dtype") or text.get("dtype") or config.get("torch_dtype") or "bfloat16")
    shape.kv_dtype_bytes = _DTYPE_BYTES.get(dtype, 2.0)
    shape.weights = weights
    if shape.layers and shape.kv_heads is None:
        shape.notes.append("config.json gives no attention head counts: the KV cache is not counted")
    return shape
