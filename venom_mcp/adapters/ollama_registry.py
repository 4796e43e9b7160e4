"""The Ollama registry (registry.ollama.ai): a model's manifest and the head of its GGUF file, without a pull.

`ollama pull` reads `GET /v2/<namespace>/<model>/manifests/<tag>` (a Docker distribution manifest, schema 2:
layers with mediaType, digest and size), then each layer's blob, `GET /v2/<namespace>/<model>/blobs/<digest>`,
which the registry answers with a redirect to the storage that serves it; that storage honours Range (Ollama's
own downloader fetches parts of a blob with it). The model layer (`application/vnd.ollama.image.model`) is the
GGUF file, so its header is read with Range requests of its head only (adapters/gguf.py `HeadReader`), as a Hub
file's is. Public library models need no token; a private one answers 401 and is reported as such.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import InvalidArgument, NotFound, UpstreamError
from .gguf import HEAD_FIRST, HEAD_MAX, HeadRead, HeadReader
from .upstream import Upstream

MEDIA_MODEL = "application/vnd.ollama.image.model"
MEDIA_PROJECTOR = "application/vnd.ollama.image.projector"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_MAX = 1024 * 1024
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class RegistryManifest:
    """A model's manifest: where it is (namespace, model, tag) and its layers."""

    namespace: str
    model: str
    tag: str
    layers: tuple[Layer, ...]

    @property
    def name(self) -> str:
        prefix = "" if self.namespace == "library" else f"{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"

    def layer(self, media_type: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.media_type == media_type), None)


def parse_manifest(data: Any, namespace: str, model: str, tag: str) -> RegistryManifest:
    """The layers of a manifest answer; a layer without a sha256 digest or a size is refused."""
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise UpstreamError(f"the Ollama registry's manifest of {model}:{tag} has no layer list")
    layers = []
    for item in data["layers"]:
        entry = item if isinstance(item, dict) else {}
        digest, size = entry.get("digest"), entry.get("size")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest) or not isinstance(size, int) or size < 0:
            raise UpstreamError(f"the Ollama registry's manifest of {model}:{tag} has a malformed layer: {item!r:.200}")
        layers.append(Layer(str(entry.get("mediaType") or ""), digest, size))
    return RegistryManifest(namespace, model, tag, tuple(layers))


class OllamaRegistryAdapter:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._host = urlsplit(self.base_url).netloc
        self._client = client

    def locate(self, name: str) -> tuple[str, str, str]:
        """(namespace, model, tag) of an Ollama model name: `qwen3`, `qwen3:0.6b`, `user/model:tag`, or with this
        registry's host in front (`registry.ollama.ai/library/qwen3:0.6b`). A name on another host is refused."""
        head, _, last = name.rpartition("/")
        model, _, tag = last.partition(":")
        parts = [*head.split("/"), model] if head else [model]
        if len(parts) == 3:
            host, parts = parts[0], parts[1:]
            if host not in (self._host, "registry.ollama.ai"):
                raise InvalidArgument(f"{name} is on {host}; only the Ollama registry at {self.base_url} is read "
                                      "(VENOM_OLLAMA_REGISTRY_URL)")
        if len(parts) == 1:
            parts = ["library", parts[0]]
        tag = tag or "latest"
        if len(parts) != 2 or not all(_PART.fullmatch(p) for p in (*parts, tag)):
            raise InvalidArgument(f"{name!r} is not an Ollama model name; write it as model:tag or user/model:tag")
        return parts[0], parts[1], tag

    async def manifest(self, name: str) -> RegistryManifest:
        namespace, model, tag = self.locate(name)
        url = f"{self.base_url}/v2/{namespace}/{model}/manifests/{tag}"
        try:
            async with self._client.stream("GET", url, headers={"Accept": MANIFEST_TYPE},
                                           follow_redirects=True) as response:
                if response.status_code == 404:
                    raise NotFound(f"the Ollama registry at {self.base_url} has no {name} (check the name and tag "
                                   "on ollama.com/library)")
                self._raise_for(response, name)
                body = await _read_up_to(response, MANIFEST_MAX)
        except httpx.HTTPError as exc:
            raise self._failed(exc) from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UpstreamError(f"the Ollama registry answered {name}'s manifest with something not JSON") from exc
        return parse_manifest(data, namespace, model, tag)

    async def gguf_head(self, manifest: RegistryManifest, layer: Layer, *, first: int = HEAD_FIRST,
                        limit: int = HEAD_MAX) -> HeadRead:
        """The GGUF header at the start of a layer's blob, read with Range requests of its head only."""
        url = f"{self.base_url}/v2/{manifest.namespace}/{manifest.model}/blobs/{layer.digest}"
        reader = HeadReader(first, min(limit, max(layer.size, 1)))
        while True:
            start, stop = reader.next_range
            part = await self._range(url, start, stop, manifest.name)
            done = reader.add_or_raise(part, f"the model file of {manifest.name}", UpstreamError)
            if done is not None:
                return done

    async def _range(self, url: str, start: int, stop: int, name: str) -> bytes:
        """Bytes [start, stop) of a blob, following the registry's redirect; never more than asked for, even from
        a server that ignores Range."""
        chunks: list[bytes] = []
        try:
            async with self._client.stream("GET", url, headers={"Range": f"bytes={start}-{stop - 1}"},
                                           follow_redirects=True) as response:
                if response.status_code == 416:  # asked past the end
                    return b""
                if response.status_code == 404:
                    raise NotFound(f"the Ollama registry has no blob {url.rsplit('/', 1)[-1]} of {name}")
                self._raise_for(response, name)
                skip = start if response.status_code == 200 else 0  # Range ignored: the body starts at byte 0
                got = 0
                async for chunk in response.aiter_bytes():
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                    chunks.append(chunk)
                    got += len(chunk)
                    if got >= stop - start:
                        break
        except httpx.HTTPError as exc:
            raise self._failed(exc) from exc
        return b"".join(chunks)[: stop - start]

    def _failed(self, exc: httpx.HTTPError) -> UpstreamError:
        return Upstream(f"the Ollama registry at {self.base_url}", "VENOM_OLLAMA_REGISTRY_URL").unreachable(exc)

    def _raise_for(self, response: httpx.Response, name: str) -> None:
        if response.status_code in (401, 403):
            raise UpstreamError(f"the Ollama registry refused {name} (HTTP {response.status_code}): a private model "
                                "is not read; pull it, and check_fit reads it from Ollama")
        if response.status_code >= 400:
            raise Upstream(f"the Ollama registry at {self.base_url}").refused(response, name)


async def _read_up_to(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        got += len(chunk)
        if got > limit:
            raise UpstreamError(f"the Ollama registry's answer is larger than {limit} bytes")
    return b"".join(chunks)


__all__ = ["MEDIA_MODEL", "MEDIA_PROJECTOR", "Layer", "OllamaRegistryAdapter", "RegistryManifest", "parse_manifest"]
