"""A fake Ollama registry (registry.ollama.ai), the two routes `ollama pull` reads (and check_fit, for a model not
pulled yet):

* ``GET /v2/<namespace>/<model>/manifests/<tag>``   the manifest (Docker distribution manifest, schema 2) as
  ``application/vnd.docker.distribution.manifest.v2+json``; an unknown one answers 404 with the distribution
  spec's error body (``{"errors": [{"code": "MANIFEST_UNKNOWN", ...}]}``);
* ``GET /v2/<namespace>/<model>/blobs/<digest>``     307 to the storage that holds the blob, as the real registry
  redirects to its object store; ``GET /storage/<digest>`` serves it, with ``Range`` -> 206 ``Content-Range``,
  past the end -> 416, without ``Range`` the whole blob (streamed).

A model blob is a GGUF header followed by zeros up to the layer's size, so its head is a real GGUF file's head and
the rest is never built. Models: the pullable ones of the fake Ollama (``FakeOllama().library``, their GGUF heads
written from their ``model_info``) and whatever a test adds with :meth:`FakeOllamaRegistry.add` (the real
manifests of tests/fixtures/real/ollama_registry/, with heads the test writes).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.ollama import MEDIA_MODEL, FakeModel, seed_library

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CHUNK = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# general.file_type (llama_ftype) of the fake Ollama's quantization levels, and the ggml type of their matrices.
_FTYPES = {"Q4_0": (2, "Q4_0"), "Q8_0": (7, "Q8_0"), "Q4_K_M": (15, "Q4_K"), "F16": (1, "F16")}


@dataclass
class Blob:
    head: bytes
    size: int

    def read(self, start: int, stop: int) -> bytes:
        """Bytes [start, stop): the head's, then zeros."""
        inside = self.head[start:stop]
        return inside + bytes(max(stop - start - len(inside), 0))


def gguf_head(arch: str, metadata: dict[str, Any], *, layers: int, embd: int, heads: int, kv_heads: int,
              ff: int, vocab: int, file_type: int, matrix_type: str, head_dim: int | None = None,
              tied_output: bool = False) -> bytes:
    """The header of a GGUF file of a llama-like model (what llama.cpp's converter writes: the metadata, then the
    tensor infos of the embedding, the blocks' attention and feed-forward matrices and norms, the output)."""
    import gguf
    import numpy as np

    head_dim = head_dim or embd // heads
    matrix = gguf.GGMLQuantizationType[matrix_type]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "head.gguf"
        writer = gguf.GGUFWriter(path, arch)
        for key, value in metadata.items():
            if key in ("general.architecture", "general.file_type"):
                continue
            if isinstance(value, bool):
                writer.add_bool(key, value)
            elif isinstance(value, int):
                writer.add_uint64(key, value) if value >= 2**32 else writer.add_uint32(key, value)
            elif isinstance(value, float):
                writer.add_float32(key, value)
            elif isinstance(value, str):
                writer.add_string(key, value)
            elif isinstance(value, list):
                writer.add_array(key, value)
        writer.add_file_type(file_type)
        writer.add_token_list([f"<t{i}>" for i in range(vocab)])

        def tensor(name: str, *shape: int, kind: gguf.GGMLQuantizationType = matrix) -> None:
            _, block, size = _sizes(kind)
            elements = int(np.prod(shape))
            writer.add_tensor_info(name, tuple(reversed(shape)), np.dtype(np.float32), elements // block * size, kind)

        f32 = gguf.GGMLQuantizationType.F32
        tensor("token_embd.weight", vocab, embd)
        for i in range(layers):
            tensor(f"blk.{i}.attn_norm.weight", embd, kind=f32)
            tensor(f"blk.{i}.attn_q.weight", heads * head_dim, embd)
            tensor(f"blk.{i}.attn_k.weight", kv_heads * head_dim, embd)
            tensor(f"blk.{i}.attn_v.weight", kv_heads * head_dim, embd)
            tensor(f"blk.{i}.attn_output.weight", embd, heads * head_dim)
            tensor(f"blk.{i}.ffn_norm.weight", embd, kind=f32)
            tensor(f"blk.{i}.ffn_gate.weight", ff, embd)
            tensor(f"blk.{i}.ffn_up.weight", ff, embd)
            tensor(f"blk.{i}.ffn_down.weight", embd, ff)
        tensor("output_norm.weight", embd, kind=f32)
        if not tied_output:
            tensor("output.weight", vocab, embd)
        try:
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_ti_data_to_file()
        finally:
            writer.close()
        return path.read_bytes()


def _sizes(kind: Any) -> tuple[str, int, int]:
    import gguf

    block, size = gguf.constants.GGML_QUANT_SIZES[kind]
    return kind.name, block, size


def head_of(model: FakeModel) -> bytes:
    """A GGUF head for one of the fake Ollama's models, from its model_info (what /api/show says of the file)."""
    info = model.model_info
    arch = model.architecture

    def key(name: str, default: int) -> int:
        value = info.get(f"{arch}.{name}")
        return int(value) if isinstance(value, int) else default

    embd, heads = key("embedding_length", 768), key("attention.head_count", 12)
    file_type, matrix = _FTYPES.get(str(model.details.get("quantization_level")), (1, "F16"))
    return gguf_head(arch, info, layers=key("block_count", 12), embd=embd, heads=heads,
                     kv_heads=key("attention.head_count_kv", heads), ff=key("feed_forward_length", 4 * embd),
                     vocab=key("vocab_size", 32000), file_type=file_type, matrix_type=matrix,
                     head_dim=key("attention.key_length", embd // heads))


class FakeOllamaRegistry:
    """State + Starlette app of a fake Ollama registry.

    manifests:       "namespace/model:tag" -> manifest JSON (served as written: real captures stay byte-exact)
    blobs:           digest -> Blob (a GGUF head, and the size the manifest gives)
    hits:            Counter of request paths; range_requests: (path, Range header or None) of every blob read
    bytes_sent:      Counter of blob body bytes sent, per digest
    """

    def __init__(self, library: dict[str, FakeModel] | None = None) -> None:
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, Blob] = {}
        self.hits: Counter[str] = Counter()
        self.range_requests: list[tuple[str, str | None]] = []
        self.bytes_sent: Counter[str] = Counter()
        for name, model in (seed_library() if library is None else library).items():
            self.add_fake_model(name, model)
        self.app = Starlette(routes=[
            Route("/v2/{namespace}/{model}/manifests/{tag}", self._manifest, methods=["GET", "HEAD"]),
            Route("/v2/{namespace}/{model}/blobs/{digest}", self._blob, methods=["GET", "HEAD"]),
            Route("/storage/{digest}", self._storage, methods=["GET", "HEAD"]),
        ])

    def reset(self) -> None:
        self.hits.clear()
        self.range_requests.clear()
        self.bytes_sent.clear()

    def add(self, name: str, manifest: bytes, heads: dict[str, bytes]) -> None:
        """A model: its manifest as served, and the GGUF head of each layer digest that has one."""
        self.manifests[_key(name)] = manifest
        for layer in json.loads(manifest)["layers"]:
            head = heads.get(layer["digest"], b"")
            self.blobs[layer["digest"]] = Blob(head, int(layer["size"]))

    def add_fake_model(self, name: str, model: FakeModel) -> None:
        """One of the fake Ollama's models: its manifest (the one the fake pulls) and a GGUF head."""
        manifest = json.dumps(model.manifest, separators=(",", ":")).encode()
        model_layer = model.layer_of(MEDIA_MODEL)
        heads = {model_layer[0]: head_of(model)} if model_layer else {}
        self.add(name, manifest, heads)

    async def _manifest(self, request: Request) -> Response:
        self.hits[request.url.path] += 1
        params = request.path_params
        manifest = self.manifests.get(_key(f"{params['namespace']}/{params['model']}:{params['tag']}"))
        if manifest is None:
            return JSONResponse({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown",
                                             "detail": {"Tag": params["tag"]}}]}, status_code=404)
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        return Response(manifest, media_type=MANIFEST_TYPE, headers={"Docker-Content-Digest": digest})

    async def _blob(self, request: Request) -> Response:
        self.hits[request.url.path] += 1
        digest = request.path_params["digest"]
        if digest not in self.blobs:
            return JSONResponse({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry",
                                             "detail": digest}]}, status_code=404)
        return RedirectResponse(f"{request.base_url}storage/{digest}", status_code=307)

    async def _storage(self, request: Request) -> Response:
        digest = request.path_params["digest"]
        self.hits[request.url.path] += 1
        self.range_requests.append((request.url.path, request.headers.get("range")))
        blob = self.blobs.get(digest)
        if blob is None:
            return Response(status_code=404)
        start, stop, status = 0, blob.size, 200
        if (header := request.headers.get("range")) is not None:
            found = _RANGE.fullmatch(header.strip())
            if found is None or (not found.group(1) and not found.group(2)):
                return Response(status_code=416, headers={"Content-Range": f"bytes */{blob.size}"})
            if found.group(1):
                start = int(found.group(1))
                stop = min(int(found.group(2)) + 1, blob.size) if found.group(2) else blob.size
            else:  # a suffix: the last n bytes
                start = max(blob.size - int(found.group(2)), 0)
            if start >= blob.size:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{blob.size}"})
            status = 206
        headers = {"Content-Length": str(stop - start), "Accept-Ranges": "bytes", "ETag": f'"{digest}"'}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{blob.size}"
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)

        async def body() -> AsyncIterator[bytes]:
            for offset in range(start, stop, CHUNK):
                piece = blob.read(offset, min(offset + CHUNK, stop))
                self.bytes_sent[digest] += len(piece)
                yield piece

        return StreamingResponse(body(), status_code=status, headers=headers,
                                 media_type="application/octet-stream")


def _key(name: str) -> str:
    """"library/gemma:2b" for gemma:2b, gemma:2b or library/gemma:2b."""
    base, _, tag = name.partition(":")
    return f"{base if '/' in base else 'library/' + base}:{tag or 'latest'}"
