"""The memory a model takes in a runtime, and where it goes: all of it in VRAM, some layers, RAM only, or nowhere.

    required = weights + KV cache + overhead

* weights: the bytes of the tensors (GGUF: summed from the header's tensor infos; safetensors: the Hub's parameter
  counts times each dtype's width). llama.cpp keeps the token embedding matrix in RAM whatever it offloads, and a
  model without an output matrix (tied embeddings) gets a copy of it on the GPU as its output layer.
* KV cache = sum over the layers that attend of  cells x KV heads x (key length + value length) x bytes per element,
  where cells is the context (times the parallel slots), or for a sliding-window layer min(context, window + 512);
  bytes per element: f16 2, q8_0 34/32, q4_0 18/32, bf16 2, f32 4.
* overhead = compute buffer + CUDA context (457 MiB per GPU, the reserve Ollama keeps: `cudaMinimumMemory`), and
  for vLLM its CUDA graphs (512 MiB). llama.cpp's compute buffer for a batch of n_ub = 512 tokens is the larger of
  two phases (its allocator reuses the memory of one for the other), plus the logits of the one output row:
      feed-forward:  n_ub x 4 B x (3 n_ff + 3.5 n_embd)
      attention:     n_ub x n_ctx x 4 B x (n_head + 1)   without flash attention (every head's scores, the mask)
                   | n_ub x n_ctx x 2 B                  with flash attention (the mask only)
                   + n_ub x 4 B x 6 n_embd               (Q, K, V, the residual)
      + n_vocab x 4 B
  The feed-forward phase is fitted to the compute buffers gguf-parser-go measured with llama.cpp at 4096 tokens
  (testdata/llamacpp_compute_buffer_sweep.json: within 10 % for qwen2, qwen3, llama, gemma3, internlm2, exaone,
  minicpm and orion); the attention phase to the real llama.cpp server on the models of tests/test_fit_llamacpp.py
  (within 3 % at 512 to 8192 tokens). vLLM's activation peak is the feed-forward phase of its 2048-token batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .memory import Memory
from .shape import ModelShape

MIB = 2**20
GB = 1e9
CUDA_CONTEXT = 457 * MIB  # per GPU (Ollama's cudaMinimumMemory)
VLLM_CUDA_GRAPHS = 512 * MIB
UBATCH = 512
VLLM_BATCH_TOKENS = 2048
SWA_BATCH = 512
KV_TYPE_BYTES = {"f16": 2.0, "bf16": 2.0, "f32": 4.0, "q8_0": 34 / 32, "q4_0": 18 / 32, "q4_1": 20 / 32,
                 "q5_0": 22 / 32, "q5_1": 24 / 32, "iq4_nl": 18 / 32}  # fmt: skip
RAM_RESERVE = 256 * MIB  # left to the runtime process itself and the rest of the machine


@dataclass(frozen=True)
class Options:
    """How the runtime will run the model: its context, KV cache type, flash attention, parallel slots."""

    runtime: str
    context: int
    kv_type: str = "f16"
    flash_attention: bool = False
    parallel: int = 1
    gpu_memory_utilization: float = 0.9  # vLLM only


@dataclass
class Placement:
    verdict: str
    weights: int
    kv_cache: int
    overhead: int
    gpu_layers: int
    notes: list[str]

    @property
    def required(self) -> int:
        return self.weights + self.kv_cache + self.overhead


def kv_bytes_per_element(shape: ModelShape, options: Options) -> float:
    if options.runtime == "vllm":
        return shape.kv_dtype_bytes or 2.0
    return KV_TYPE_BYTES.get(options.kv_type, 2.0)


def kv_cache_bytes(shape: ModelShape, options: Options, layers: range | None = None) -> int:
    """The KV cache of the given layers (all by default) at the options' context; 0 when the heads are unknown."""
    if not shape.kv_known or shape.kv_heads is None or not shape.layers:
        return 0
    per_element = kv_bytes_per_element(shape, options)
    width = (shape.key_length or 0) + (shape.value_length or 0)
    cells = options.context * options.parallel
    total = 0.0
    for index in layers if layers is not None else range(shape.layers):
        heads = shape.kv_heads[index] if index < len(shape.kv_heads) else shape.kv_heads[-1]
        layer_cells = cells
        if shape.sliding_window and index in shape.swa_layers:
            layer_cells = min(cells, shape.sliding_window * options.parallel + SWA_BATCH)
        total += layer_cells * heads * width * per_element
    return int(total)


def compute_bytes(shape: ModelShape, options: Options) -> int:
    """The compute buffer llama.cpp reserves (vLLM: its profiled activation peak), from the formula above; 0 for a
    shape without its dimensions (the weights' sizes alone, before a download: said in its notes)."""
    if not shape.embd:
        return 0
    embd = shape.embd
    tokens = VLLM_BATCH_TOKENS if options.runtime == "vllm" else UBATCH
    ffn = tokens * 4 * (3 * (shape.ff or 4 * embd) + 3.5 * embd)
    if options.runtime == "vllm":
        return int(ffn + (shape.vocab or 0) * 4)
    context = min(options.context * options.parallel, 1 << 24)
    scores = UBATCH * context * 2 if options.flash_attention else UBATCH * context * 4 * ((shape.heads or 1) + 1)
    attention = scores + UBATCH * 4 * 6 * embd
    return int(max(ffn, attention) + (shape.vocab or 0) * 4)


def place(shape: ModelShape, options: Options, memory: Memory) -> Placement:
    """The verdict: `gpu` (every layer in free VRAM), `gpu_partial` (some layers), `cpu` (RAM only) or `no`."""
    weights = shape.weights or 0
    kv = kv_cache_bytes(shape, options)
    compute = compute_bytes(shape, options)
    if options.runtime == "vllm":
        return _place_vllm(weights, kv, compute, options, memory, shape.layers or 0)
    notes: list[str] = []
    ram = memory.ram_free - RAM_RESERVE
    cpu_need = weights + kv + compute
    if memory.vram_free is not None and shape.layers:
        cuda = CUDA_CONTEXT * max(memory.gpus, 1)
        on_gpu_weights = weights - shape.embd_bytes + (shape.embd_bytes if shape.tied_output else 0)
        full = on_gpu_weights + kv + compute + cuda
        if full <= memory.vram_free and shape.embd_bytes <= ram:
            return Placement("gpu", weights, kv, compute + cuda, shape.layers, notes)
        layers = _gpu_layers(shape, options, memory.vram_free - compute - cuda)
        if layers > 0:
            on_gpu = int(layers * shape.per_layer_bytes) + kv_cache_bytes(
                shape, options, range(shape.layers - layers, shape.layers))
            if cpu_need - on_gpu + compute <= ram:
                notes.append(f"{shape.layers - layers} of {shape.layers} layers run on the CPU: slower than all on "
                             "the GPU")
                return Placement("gpu_partial", weights, kv, compute + cuda, layers, notes)
    if memory.vram_free is not None and not shape.layers:  # no layer count (a lower bound from the files' sizes)
        whole = weights + kv + compute + CUDA_CONTEXT * max(memory.gpus, 1)
        if whole <= memory.vram_free:
            return Placement("gpu", weights, kv, compute + CUDA_CONTEXT * max(memory.gpus, 1), 0, notes)
        if whole <= memory.vram_free + ram:
            notes.append("it fits only across VRAM and RAM; the layer count is unknown")
            return Placement("gpu_partial", weights, kv, compute + CUDA_CONTEXT * max(memory.gpus, 1), 0, notes)
    if cpu_need <= ram:
        if memory.vram_free is not None:
            notes.append("not one layer fits in the free VRAM: it runs on the CPU, slowly")
        return Placement("cpu", weights, kv, compute, 0, notes)
    overhead = compute + (CUDA_CONTEXT if memory.vram_free is not None else 0)
    notes.append(f"{RAM_RESERVE // MIB} MiB of the free RAM are left to the runtime process and the system")
    return Placement("no", weights, kv, overhead, 0, notes)


def _gpu_layers(shape: ModelShape, options: Options, budget: float) -> int:
    """How many of the last layers fit in `budget` bytes of VRAM, with their share of the KV cache."""
    if not shape.layers or budget <= 0:
        return 0
    count, used = 0, 0.0
    for index in reversed(range(shape.layers)):  # llama.cpp offloads the last layers first
        layer = shape.layer_bytes[index] if index < len(shape.layer_bytes) else shape.per_layer_bytes
        cost = layer + kv_cache_bytes(shape, options, range(index, index + 1))
        if used + cost > budget:
            break
        used += cost
        count += 1
    return count


def _place_vllm(weights: int, kv: int, compute: int, options: Options, memory: Memory, layers: int) -> Placement:
    """vLLM keeps the whole model and a KV cache for at least one full-length sequence on the GPU; it takes
    `gpu_memory_utilization` of the total VRAM, and refuses to start when less than that is free."""
    notes: list[str] = []
    if memory.vram_free is None or not memory.vram_total:
        need = weights + kv + compute
        notes.append("no NVIDIA GPU: vLLM would need its CPU build here")
        verdict = "cpu" if need <= memory.ram_free - RAM_RESERVE else "no"
        return Placement(verdict, weights, kv, compute, 0, notes)
    overhead = compute + CUDA_CONTEXT * max(memory.gpus, 1) + VLLM_CUDA_GRAPHS
    budget = options.gpu_memory_utilization * memory.vram_total
    if memory.vram_free < budget:
        notes.append(f"vLLM asks for gpu_memory_utilization {options.gpu_memory_utilization:g} of the VRAM "
                     f"({budget / GB:.1f} GB) at start but {memory.vram_free / GB:.1f} GB are free: start it with "
                     f"--gpu-memory-utilization {max(memory.vram_free / memory.vram_total - 0.01, 0.05):.2f}")
    usable = min(budget, memory.vram_free)
    if weights + kv + overhead <= usable:
        return Placement("gpu", weights, kv, overhead, layers, notes)
    notes.append("vLLM keeps every layer on the GPU; a GGUF quantization on llama.cpp can offload part of it")
    return Placement("no", weights, kv, overhead, 0, notes)
