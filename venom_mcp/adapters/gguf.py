"""A reader of GGUF headers: the key/value metadata and the tensor infos, from the first bytes of a file.

The GGUF layout (ggml's docs/gguf.md): the magic `GGUF`, a version, the tensor and key/value counts, the key/value
pairs, the tensor infos (name, shape, ggml type, offset), then padding to `general.alignment` (32 by default) and
the tensor data. Everything a memory estimate needs is before the data, so a few megabytes of the file's head are
enough, even for a model of hundreds of gigabytes: the size of that head is not known in advance (a vocabulary of
150,000 tokens is several megabytes of strings), so `parse_header` raises `Truncated` when the bytes it was given end
too early, and the caller reads more.

Long arrays (the vocabulary, the merges) are not kept: only their length (`GGUFArray`); arrays of up to
`KEEP_ARRAY_ITEMS` numbers are kept as lists (per-layer head counts). Versions 1 to 3 and both byte orders are read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from math import prod
from typing import Any

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
KEEP_ARRAY_ITEMS = 4096

# ggml type id -> (elements per block, bytes per block), as ggml's type traits give them (the `gguf` package's
# GGML_QUANT_SIZES; tests/test_fit.py checks the two agree).
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}  # fmt: skip

# `general.file_type` (llama.cpp's llama_ftype) -> the quantization's name as files and Ollama give it (the `gguf`
# package's LlamaFileType; tests/test_fit.py checks the two agree).
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS",
    20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
    39: "NVFP4", 40: "Q1_0",
}  # fmt: skip

# GGUF value types: id -> struct format of a scalar (8: string, 9: array are read apart).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


class Truncated(Exception):
    """The bytes end before the header does; read at least `needed` bytes (a lower bound) and parse again."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"the GGUF header goes on past byte {needed}")
        self.needed = needed


class NotGGUF(ValueError):
    """The bytes are not a GGUF file (wrong magic or an impossible structure)."""


@dataclass(frozen=True)
class GGUFArray:
    """A long array of the metadata, kept as its length and item type only."""

    length: int
    item_type: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int

    @property
    def elements(self) -> int:
        return prod(self.shape) if self.shape else 1

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor's data; an unknown type (newer than this table) counts as F16."""
        _, block, size = GGML_TYPES.get(self.ggml_type, ("?", 1, 2))
        return -(-self.elements // block) * size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0  # where the tensor data starts: the header's size in bytes

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)


class _Cursor:
    def __init__(self, data: bytes | memoryview, order: str) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.order = order

    def take(self, size: int) -> memoryview:
        end = self.pos + size
        if end > len(self.data):
            raise Truncated(end)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def scalar(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        return struct.unpack(self.order + fmt, self.take(size))[0]

    def skip(self, size: int) -> None:
        self.take(size)


def parse_header(data: bytes | memoryview) -> GGUFHeader:
    """The header of a GGUF file from its first bytes. Raises Truncated (read more) or NotGGUF."""
    if len(data) < 8:
        raise Truncated(8)
    if bytes(data[:4]) != MAGIC:
        raise NotGGUF("not a GGUF file: it does not start with 'GGUF'")
    order = "<"
    version = struct.unpack("<I", data[4:8])[0]
    if version > 0xFFFF:  # a big-endian file: the version reads byte-swapped
        order, version = ">", struct.unpack(">I", data[4:8])[0]
    if version not in (1, 2, 3):
        raise NotGGUF(f"GGUF version {version} is not one this reader knows (1 to 3)")
    cur = _Cursor(data, order)
    cur.skip(8)
    count = "I" if version == 1 else "Q"
    n_tensors, n_kv = cur.scalar(count), cur.scalar(count)
    if n_tensors > 1_000_000 or n_kv > 1_000_000:
        raise NotGGUF(f"implausible GGUF counts ({n_tensors} tensors, {n_kv} keys)")
    header = GGUFHeader(version=version)
    for _ in range(n_kv):
        key = _string(cur, count)
        header.metadata[key] = _value(cur, cur.scalar("I"), count)
    for _ in range(n_tensors):
        name = _string(cur, count)
        n_dims = cur.scalar("I")
        if n_dims > 8:
            raise NotGGUF(f"tensor {name!r} has {n_dims} dimensions")
        shape = tuple(cur.scalar(count) for _ in range(n_dims))
        ggml_type = cur.scalar("I")
        cur.scalar("Q")  # offset within the data section
        header.tensors.append(TensorInfo(name, shape, ggml_type))
    alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else DEFAULT_ALIGNMENT
    header.data_offset = -(-cur.pos // alignment) * alignment
    return header


def _string(cur: _Cursor, count: str) -> str:
    length = cur.scalar(count)
    if length > 1 << 30:
        raise NotGGUF(f"implausible string length {length}")
    return bytes(cur.take(length)).decode("utf-8", errors="replace")


def _value(cur: _Cursor, kind: int, count: str) -> Any:
    if kind in _SCALARS:
        return cur.scalar(_SCALARS[kind])
    if kind == _STRING:
        return _string(cur, count)
    if kind != _ARRAY:
        raise NotGGUF(f"unknown GGUF value type {kind}")
    item, length = cur.scalar("I"), cur.scalar(count)
    if item in _SCALARS:
        size = struct.calcsize(_SCALARS[item])
        raw = cur.take(size * length)
        if length > KEEP_ARRAY_ITEMS:
            return GGUFArray(length, item)
        return list(struct.unpack(f"{cur.order}{length}{_SCALARS[item]}", raw))
    if item == _STRING:
        _skip_strings(cur, length, count)
        return GGUFArray(length, item)
    values = [_value(cur, item, count) for _ in range(length)]  # arrays of arrays: rare, small
    return values if length <= KEEP_ARRAY_ITEMS else GGUFArray(length, item)


def _skip_strings(cur: _Cursor, length: int, count: str) -> None:
    """Step over `length` strings without decoding them: a vocabulary is 100,000+ of them."""
    prefix = struct.Struct(cur.order + count)
    data, pos, end, size = cur.data, cur.pos, len(cur.data), prefix.size
    for _ in range(length):
        if pos + size > end:
            raise Truncated(pos + size)
        pos += size + prefix.unpack_from(data, pos)[0]
    if pos > end:
        raise Truncated(pos)
    cur.pos = pos


def type_name(ggml_type: int) -> str:
    return GGML_TYPES.get(ggml_type, (f"type{ggml_type}", 0, 0))[0]


# ---- reading a remote file's head in pieces ----------------------------------------------------------------

HEAD_FIRST = 512 * 1024
HEAD_MAX = 64 * 1024 * 1024


class EndedInHeader(ValueError):
    """The file ended before its GGUF header did."""


class HeaderTooLarge(ValueError):
    """The header goes on past the reader's limit: not read further."""


@dataclass(frozen=True)
class HeadRead:
    header: GGUFHeader
    bytes_read: int  # what was fetched, over every request
    requests: int


class HeadReader:
    """The head of a GGUF file fetched in contiguous pieces (HTTP Range requests), each continuing where the last
    stopped: first `first` bytes, then, while the header goes on past them, at least twice as many, up to `limit`.
    The transport is the caller's: it fetches `next_range` (bytes [start, stop)) and hands them to `add`."""

    def __init__(self, first: int = HEAD_FIRST, limit: int = HEAD_MAX) -> None:
        self._buffer = bytearray()
        self._want = first
        self._limit = limit
        self._requests = 0

    @property
    def next_range(self) -> tuple[int, int]:
        return len(self._buffer), self._want

    def add(self, part: bytes) -> HeadRead | None:
        """The header once the bytes hold all of it, else None (fetch `next_range`). Raises NotGGUF,
        EndedInHeader (fewer bytes came than asked for: the file ended) or HeaderTooLarge."""
        self._requests += 1
        self._buffer += part
        try:
            return HeadRead(parse_header(bytes(self._buffer)), len(self._buffer), self._requests)
        except Truncated as short:
            if len(self._buffer) < self._want:
                raise EndedInHeader(f"the file ends at byte {len(self._buffer)}, inside its GGUF header") from short
            if self._want >= self._limit:
                raise HeaderTooLarge(f"the GGUF header is larger than {self._limit // 2**20} MiB") from short
            self._want = min(self._limit, max(short.needed + 64 * 1024, 2 * self._want))
            return None

    def add_or_raise(self, part: bytes, what: str, bad: type[Exception]) -> HeadRead | None:
        """`add`, its failures as the caller's errors naming the file (`what`: "Q4.gguf of org/repo"): `bad` for a
        file that is not a (whole) GGUF file, UpstreamError for a header past the limit."""
        from ..errors import UpstreamError

        try:
            return self.add(part)
        except EndedInHeader as exc:
            raise bad(f"{what} ends inside its GGUF header") from exc
        except HeaderTooLarge as exc:
            raise UpstreamError(f"{what}: {exc}; not read further") from exc
        except NotGGUF as exc:
            raise bad(f"{what} is not a GGUF file ({exc})") from exc


__all__ = [
    "FILE_TYPES",
    "GGML_TYPES",
    "HEAD_FIRST",
    "HEAD_MAX",
    "EndedInHeader",
    "GGUFArray",
    "GGUFHeader",
    "HeadRead",
    "HeadReader",
    "HeaderTooLarge",
    "NotGGUF",
    "TensorInfo",
    "Truncated",
    "parse_header",
    "type_name",
]
