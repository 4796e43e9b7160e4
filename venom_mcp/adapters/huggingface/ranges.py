"""Reading the head of a Hub file with HTTP Range requests: a GGUF header without its weights, a small config file.

A GGUF header is read by asking for its first `HEAD_FIRST` bytes and, while the header goes on past them, for the
next ones (each request continues where the last stopped, the wanted size at least doubling), up to `HEAD_MAX`
(adapters/gguf.py `HeadReader`, which the Ollama registry's blobs are read with too).
Requests go through huggingface_hub's client with its headers (HF_TOKEN only to HF_ENDPOINT; a redirect to the
storage drops it), and the body is read only as far as it was asked for, so a server that ignores `Range` and
sends the whole file still costs only the head.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...aio import run_blocking
from ...errors import InvalidArgument, UpstreamError
from ..gguf import HEAD_FIRST, HEAD_MAX, HeadRead, HeadReader
from ..upstream import hub_failure

if TYPE_CHECKING:
    from .hub import HubAdapter

CONFIG_MAX = 4 * 1024 * 1024


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


async def read_gguf_head(hub: HubAdapter, repo_id: str, path: str, revision: str | None = None, *,
                         first: int = HEAD_FIRST, limit: int = HEAD_MAX) -> HeadRead:
    """The GGUF header of one file of a repo, read with Range requests of its head only."""
    from huggingface_hub import hf_hub_url

    url = hf_hub_url(repo_id, path, revision=revision, endpoint=hub.endpoint)

    def call() -> HeadRead:
        reader = HeadReader(first, limit)
        while True:
            start, stop = reader.next_range
            try:
                part = _fetch(hub, url, start, stop)
            except Exception as exc:
                raise hub_failure(exc, hub.endpoint, repo_id, path) from exc
            done = reader.add_or_raise(part, f"{path} of {repo_id}", InvalidArgument)
            if done is not None:
                return done

    return await run_blocking(call, deadline=max(30.0, hub.timeout * 3), what=f"the Hub ({repo_id}/{path} header)")


async def read_json(hub: HubAdapter, repo_id: str, path: str, revision: str | None = None) -> dict[str, Any]:
    """A small JSON file of a repo (config.json), read without writing anything to the cache."""
    from huggingface_hub import hf_hub_url

    url = hf_hub_url(repo_id, path, revision=revision, endpoint=hub.endpoint)

    def call() -> dict[str, Any]:
        try:
            body = _fetch(hub, url, 0, None)
        except Exception as exc:
            raise hub_failure(exc, hub.endpoint, repo_id, path) from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UpstreamError(f"{path} of {repo_id} is not JSON") from exc
        if not isinstance(data, dict):
            raise UpstreamError(f"{path} of {repo_id} is not a JSON object")
        return data

    return await run_blocking(call, deadline=max(10.0, hub.timeout * 2), what=f"the Hub ({repo_id}/{path})")
