"""How many bits a parameter of each tensor dtype takes, to size a safetensors repo from the Hub's counts.

The Hub's `safetensors.parameters` maps a dtype name to a parameter count. The names are those of the
safetensors format (huggingface/safetensors, `Dtype::bitsize` in safetensors/src/tensor.rs), plus a few more
that the Hub's own header parser accepts (huggingface.js, `Dtype` in packages/hub/src/lib/
parse-safetensors-metadata.ts). Sub-byte formats (F4, F6_*) are why this is a table of bits, not bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DTYPE_BITS: dict[str, int] = {
    # The safetensors format, every Dtype variant.
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
    # Aliases the Hub's parser also knows (MX block scales and FP4 written by other tools).
    "E8M0": 8,
    "UE8": 8,
    "FP4": 4,
}

# A name outside the table still says its width: I4 -> 4, F8_E4M3B11FNUZ -> 8.
_WIDTH = re.compile(r"(\d+)")
FALLBACK_BITS = 16


def dtype_bits(dtype: str) -> int:
    """Bits per element of `dtype`; an unknown name is read by its first number, else taken as 16 bits."""
    name = dtype.strip().upper()
    if name in DTYPE_BITS:
        return DTYPE_BITS[name]
    width = _WIDTH.search(name)
    return int(width.group(1)) if width else FALLBACK_BITS


def weights_bytes(parameters: Mapping[str, int]) -> int:
    """Bytes the weights take on disk: each dtype's parameter count times its width, rounded up to a byte."""
    bits = sum(count * dtype_bits(dtype) for dtype, count in parameters.items())
    return (bits + 7) // 8
