"""Tiny but real llama GGUF models (random weights) that llama.cpp loads and runs in milliseconds.

:func:`write_tiny_llama` writes a 2-layer, width-64 ``llama`` model with a byte-level BPE tokenizer
(``tokenizer.ggml.model = "gpt2"``: the 256 GPT-2 byte tokens, merges learned from a fixed English text,
then the special tokens) and a Jinja chat template in ``tokenizer.chat_template``. The file is about
260 KB (F16 matrices, F32 norms) and is written in a few milliseconds. The weights are random (fixed
seed), so the model "talks" gibberish, but every llama.cpp code path (load, tokenize, chat template,
decode, sample, stream) is real.

* :data:`CHATML_TEMPLATE`  a ChatML template that accepts a system message
* :data:`GEMMA_TEMPLATE`   Gemma's real template: ``raise_exception('System role not supported')`` when the
                           first message is a system message, and roles must alternate user/assistant
* :func:`write_tiny_gemma` the same model with :data:`GEMMA_TEMPLATE`

Needs the ``gguf`` package (``pip install gguf``) and numpy.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

ARCH = "llama"
N_LAYERS = 2
N_EMBD = 64
N_FF = 128
N_HEAD = 4
N_HEAD_KV = 4
N_CTX = 512
ROPE_FREQ_BASE = 10000.0
RMS_EPS = 1e-5
N_VOCAB = 328
WEIGHT_SCALE = 0.02

BOS = "<s>"
EOS = "</s>"
PAD = "<pad>"
SPECIAL_TOKENS: tuple[str, ...] = (BOS, EOS, PAD, "<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>")

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Verbatim the template of google/gemma-2-2b-it (and gemma-7b-it): no system role.
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)

# Text the BPE merges are learned from (any fixed text works; English gives plausible merges).
_CORPUS = (
    "The quick brown fox jumps over the lazy dog. Hello there, how are you today? I am fine, thank you. "
    "The model answers the question of the user in the chat. A system message sets the tone of the "
    "assistant, and the user then asks something. The answer is short and to the point. "
    "This is a tiny test model with random weights; it only has to load, run and stream tokens. "
    "Python is a programming language that lets you work quickly and integrate systems more effectively. "
    "What is the weather in Paris? It is sunny in Paris and it is raining in London. "
) * 3
_PRETOKENIZE = re.compile(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+")


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (``Ġ`` is the space, ``Ċ`` the newline)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


@cache
def tiny_vocab(n_vocab: int = N_VOCAB) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """``(tokens, merges, token_types)`` of a byte-level BPE tokenizer with ``n_vocab`` tokens.

    Tokens: the 256 byte tokens (in byte order), one token per learned merge, then :data:`SPECIAL_TOKENS`
    (type CONTROL). Merges are ``"left right"`` strings, highest priority first.
    """
    byte_map = bytes_to_unicode()
    n_merges = n_vocab - 256 - len(SPECIAL_TOKENS)
    if n_merges < 0:
        raise ValueError(f"n_vocab must be at least {256 + len(SPECIAL_TOKENS)}")
    words = Counter(tuple(byte_map[b] for b in piece.encode("utf-8")) for piece in _PRETOKENIZE.findall(_CORPUS))
    tokens = [byte_map[b] for b in range(256)]
    known = set(tokens)
    merges: list[str] = []
    while len(merges) < n_merges:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in itertools.pairwise(word):
                pairs[pair] += count
        candidates = [(-count, pair) for pair, count in pairs.items() if pair[0] + pair[1] not in known]
        if not candidates:
            raise ValueError(f"the corpus only yields {len(merges)} merges; n_vocab={n_vocab} is too large")
        _, (left, right) = min(candidates)
        merged = left + right
        merges.append(f"{left} {right}")
        tokens.append(merged)
        known.add(merged)
        new_words: Counter[tuple[str, ...]] = Counter()
        for word, count in words.items():
            out: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == left and word[i + 1] == right:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] += count
        words = new_words
    tokens.extend(SPECIAL_TOKENS)
    normal, control = 1, 3  # gguf.TokenType.NORMAL, gguf.TokenType.CONTROL
    types = [normal] * (len(tokens) - len(SPECIAL_TOKENS)) + [control] * len(SPECIAL_TOKENS)
    return tuple(tokens), tuple(merges), tuple(types)


def _tensors(seed: int, n_vocab: int) -> dict[str, np.ndarray]:
    """Weights in numpy's (rows, cols) order; GGUF stores the reverse (``ne[0]`` = cols), as llama.cpp wants.

    E.g. ``attn_q`` is numpy ``(n_head * head_dim, n_embd)`` = ggml ``{n_embd, n_head * head_dim}``.
    """
    rng = np.random.default_rng(seed)
    head_dim = N_EMBD // N_HEAD
    kv_dim = head_dim * N_HEAD_KV

    def matrix(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols), dtype=np.float32) * WEIGHT_SCALE).astype(np.float16)

    def norm() -> np.ndarray:
        return np.ones(N_EMBD, dtype=np.float32)

    out: dict[str, np.ndarray] = {"token_embd.weight": matrix(n_vocab, N_EMBD)}
    for i in range(N_LAYERS):
        out[f"blk.{i}.attn_norm.weight"] = norm()
        out[f"blk.{i}.attn_q.weight"] = matrix(N_HEAD * head_dim, N_EMBD)
        out[f"blk.{i}.attn_k.weight"] = matrix(kv_dim, N_EMBD)
        out[f"blk.{i}.attn_v.weight"] = matrix(kv_dim, N_EMBD)
        out[f"blk.{i}.attn_output.weight"] = matrix(N_EMBD, N_HEAD * head_dim)
        out[f"blk.{i}.ffn_norm.weight"] = norm()
        out[f"blk.{i}.ffn_gate.weight"] = matrix(N_FF, N_EMBD)
        out[f"blk.{i}.ffn_up.weight"] = matrix(N_FF, N_EMBD)
        out[f"blk.{i}.ffn_down.weight"] = matrix(N_EMBD, N_FF)
    out["output_norm.weight"] = norm()
    out["output.weight"] = matrix(n_vocab, N_EMBD)
    return out


def write_tiny_llama(
    path: Path,
    *,
    chat_template: str = CHATML_TEMPLATE,
    name: str = "tiny-llama",
    seed: int = 0,
    n_vocab: int = N_VOCAB,
) -> Path:
    """Write a tiny random-weight llama GGUF to ``path`` (parents created) and return ``path``.

    Same ``seed`` -> byte-identical file. ``bos``/``eos``/``pad`` are ``<s>``/``</s>``/``<pad>``; llama.cpp also
    treats ``<|im_end|>`` and ``<end_of_turn>`` as end-of-generation tokens.
    """
    import gguf  # test-only dependency; imported here so that importing this module never fails

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, merges, types = tiny_vocab(n_vocab)
    writer = gguf.GGUFWriter(path, ARCH)
    writer.add_name(name)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_vocab_size(len(tokens))
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_rope_freq_base(ROPE_FREQ_BASE)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(list(tokens))
    writer.add_token_types(list(types))
    writer.add_token_merges(list(merges))
    writer.add_bos_token_id(tokens.index(BOS))
    writer.add_eos_token_id(tokens.index(EOS))
    writer.add_pad_token_id(tokens.index(PAD))
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    writer.add_chat_template(chat_template)
    for tensor_name, array in _tensors(seed, len(tokens)).items():
        writer.add_tensor(tensor_name, array)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return path


def write_tiny_gemma(path: Path, *, name: str = "tiny-gemma", seed: int = 0) -> Path:
    """:func:`write_tiny_llama` with :data:`GEMMA_TEMPLATE` (a system message makes the template raise)."""
    return write_tiny_llama(path, chat_template=GEMMA_TEMPLATE, name=name, seed=seed)
