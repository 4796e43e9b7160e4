"""Reading the head of a Hub file with HTTP Range requests: a GGUF header without its weights, a small config file.

A GGUF header is read by asking for its first `HEAD_FIRST` bytes and, while the header goes on past them, for the
next ones (each request continues where the last stopped, the wanted size at least doubling), up to `HEAD_MAX`.
Requests go through huggingface_hub's client with its headers (HF_TOKEN only to HF_ENDPOINT; a redirect to the
storage drops it), and the body is read only as far as it was asked for, so a server that ignores `Range` and
sends the whole file still costs only the head.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...aio import run_blocking
from ...errors import InvalidArgument, NotFound, UpstreamError
from ..gguf import GGUFHeader, NotGGUF, Truncated, parse_header

if TYPE_CHECKING:
    from .hub import HubAdapter

HEAD_FIRST = 512 * 1024
HEAD_MAX = 64 * 1024 * 1024
CONFIG_MAX = 4 * 1024 * 1024


@dataclass(frozen=True)
class HeadRead:
    header: GGUFHeader
    bytes_read: int  # what was fetched, over every request
    requests: int


def _fetch(hub: HubAdapter, url: str, start: int, stop: int | None) -> bytes:
    """Bytes [start, stop) of `url` (to the whole small file when stop is None), never more than asked for."""
    from huggingface_hub import get_session
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status  # type: ignore[attr-defined]

    headers = build_hf_headers(token=hub.token or False)
    limit = (stop - start) if stop is not None else CONFIG_MAX
    if stop is not None:
        headers["Range"] = f"bytes={start}-{stop - 1}"
    with get_session().stream("GET", url, headers=headers) as response:
        if response.status_code == 416:  # asked past the end of the file
            return b""
        hf_raise_for_status(response)
        skip = start if response.status_code == 200 else 0  # the server ignored Range and sends from byte 0
        chunks: list[bytes] = []
        got = 0
        for chunk in response.iter_bytes():
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            chunks.append(chunk)
            got += len(chunk)
            if got >= limit:
                break
    return b"".join(chunks)[:limit]


def _translate(exc: Exception, repo_id: str, path: str, endpoint: str) -> Exception:
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, RepositoryNotFoundError

    if isinstance(exc, GatedRepoError):
        return UpstreamError(f"{repo_id} is gated: accept its terms on the Hub and set HF_TOKEN to a token with access")
    if isinstance(exc, (EntryNotFoundError, RepositoryNotFoundError)):
        return NotFound(f"no {path} in {repo_id} on the Hub at {endpoint}")
    return UpstreamError(f"reading {path} of {repo_id} from {endpoint} failed ({type(exc).__name__}: {exc})")


async def read_gguf_head(hub: HubAdapter, repo_id: str, path: str, revision: str | None = None, *,
                         first: int = HEAD_FIRST, limit: int = HEAD_MAX) -> HeadRead:
    """The GGUF header of one file of a repo, read with Range requests of its head only."""
    from huggingface_hub import hf_hub_url

    url = hf_hub_url(repo_id, path, revision=revision, endpoint=hub.endpoint)

    def call() -> HeadRead:
        buffer = bytearray()
        want, requests = first, 0
        while True:
            try:
                part = _fetch(hub, url, len(buffer), want)
            except Exception as exc:
                raise _translate(exc, repo_id, path, hub.endpoint) from exc
            requests += 1
            buffer += part
            try:
                return HeadRead(parse_header(bytes(buffer)), len(buffer), requests)
            except Truncated as short:
                if len(buffer) < want:  # the file ended inside its header
                    raise InvalidArgument(f"{path} of {repo_id} ends inside its GGUF header") from short
                if want >= limit:
                    raise UpstreamError(f"the GGUF header of {path} in {repo_id} is larger than "
                                        f"{limit // 2**20} MiB; not read further") from short
                want = min(limit, max(short.needed + 64 * 1024, 2 * want))
            except NotGGUF as exc:
                raise InvalidArgument(f"{path} of {repo_id} is not a GGUF file ({exc})") from exc

    return await run_blocking(call, deadline=max(30.0, hub.timeout * 3), what=f"the Hub ({repo_id}/{path} header)")


async def read_json(hub: HubAdapter, repo_id: str, path: str, revision: str | None = None) -> dict[str, Any]:
    """A small JSON file of a repo (config.json), read without writing anything to the cache."""
    from huggingface_hub import hf_hub_url

    url = hf_hub_url(repo_id, path, revision=revision, endpoint=hub.endpoint)

    def call() -> dict[str, Any]:
        try:
            body = _fetch(hub, url, 0, None)
        except Exception as exc:
            raise _translate(exc, repo_id, path, hub.endpoint) from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UpstreamError(f"{path} of {repo_id} is not JSON") from exc
        if not isinstance(data, dict):
            raise UpstreamError(f"{path} of {repo_id} is not a JSON object")
        return data

    return await run_blocking(call, deadline=max(10.0, hub.timeout * 2), what=f"the Hub ({repo_id}/{path})")
