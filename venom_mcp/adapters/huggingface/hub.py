"""Hub model listing and search through huggingface_hub, as catalog rows with the facts the Hub gives.

A row's `size_gb` is what an install of the repo with the default runtime would download: the safetensors
weights (parameter counts times each dtype's width, see dtypes.py), or, for a repo of GGUF files only, the
files of the quantization an install picks (files.py). A GGUF repo's row also lists every quantization with
its size (`quantizations`, the parts of a split file together). The list API gives file names only, never
sizes (its `expand=siblings` and `full` answers carry `rfilename` alone; huggingface_hub has no
`files_metadata` for lists), so GGUF repos are read with one more request each (`/api/models/<repo>?blobs=true`,
what an install plans with), run side by side within one time budget and kept per commit; a repo not read in
time keeps `size_gb` null and no quantizations rather than a guess.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ...aio import run_blocking
from ...records import CatalogModel, GGUFQuantization
from .dtypes import weights_bytes
from .files import HubFile, default_quant, gguf_groups, quantization_sizes

if TYPE_CHECKING:
    from huggingface_hub import HfApi, ModelInfo
    from huggingface_hub.hf_api import ExpandModelProperty_T

log = logging.getLogger(__name__)

# Properties asked of /api/models: enough for a catalog row, without the file list. `sha` keys the GGUF sizes.
LIST_EXPAND: list[ExpandModelProperty_T] = [
    "downloads", "likes", "tags", "pipeline_tag", "library_name", "lastModified", "trendingScore",
    "safetensors", "gguf", "sha",
]  # fmt: skip
SIZING_CONCURRENCY = 8
MAX_SIZES_KEPT = 4096  # a commit's file sizes never change; the bound only keeps memory flat

HubSort = Literal["trending_score", "downloads", "likes", "last_modified", "created_at"]


def hub_files(info: ModelInfo) -> dict[str, HubFile]:
    """path -> HubFile from a model info asked with files_metadata (`?blobs=true`)."""
    return {
        s.rfilename: HubFile(s.rfilename, int(s.size or (s.lfs.size if s.lfs else 0) or 0),
                             s.lfs.sha256 if s.lfs else None)
        for s in info.siblings or []
    }  # fmt: skip


class GGUFListing(NamedTuple):
    """What a repo's file list tells of its GGUF models: each named quantization, and the default's bytes."""

    quantizations: list[GGUFQuantization]
    default_bytes: int | None


def gguf_listing(paths: dict[str, HubFile]) -> GGUFListing:
    """Every named quantization of a repo's model GGUF files with its size, smallest first, the default an install
    takes marked; and the bytes of that default (also when its file names no quantization)."""
    groups = gguf_groups(paths)
    default = default_quant(groups) if groups else None
    found = [GGUFQuantization(name=key, size_gb=round(size / 1e9, 2), files=len(groups[key]),
                              install_default=key == default)
             for key, size in quantization_sizes(paths).items()]
    size = sum(f.size for f in groups[default]) if default is not None else None
    return GGUFListing(sorted(found, key=lambda q: (q.size_gb, q.name)), size)


def is_gguf_repo(info: ModelInfo) -> bool:
    """The Hub tags every repo holding GGUF files `gguf` and describes the first one under `gguf`."""
    return bool(info.gguf) or "gguf" in (info.tags or [])


def serves_gguf(info: ModelInfo) -> bool:
    """Whether an install with no runtime named takes the GGUF files: a repo with safetensors goes to vLLM."""
    return is_gguf_repo(info) and not info.safetensors


class HubAdapter:
    def __init__(self, endpoint: str, token: str | None, timeout: float) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._gguf_listings: dict[tuple[str, str], GGUFListing] = {}  # (repo, commit) -> its GGUF files

    @cached_property
    def api(self) -> HfApi:
        from huggingface_hub import HfApi

        from ..hub_session import use_shared_pool

        # One pool that huggingface_hub's error handling cannot close under other threads, with a deadline per request.
        use_shared_pool(self.timeout)
        # token=False stops huggingface_hub from sending a token it found elsewhere (~/.cache/huggingface).
        return HfApi(endpoint=self.endpoint, token=self.token or False)

    async def list_models(self, *, search: str | None, sort: HubSort, limit: int) -> list[CatalogModel]:
        def call() -> list[ModelInfo]:
            return list(self.api.list_models(search=search or None, sort=sort, limit=limit, expand=LIST_EXPAND))

        infos = await run_blocking(call, deadline=self.timeout, what=f"the Hugging Face Hub at {self.endpoint}")
        rows = [self.to_catalog(info) for info in infos]
        await self._size_gguf_rows([(row, info) for row, info in zip(rows, infos, strict=True) if is_gguf_repo(info)])
        return rows

    def to_catalog(self, info: ModelInfo) -> CatalogModel:
        gguf: dict[str, Any] = info.gguf or {}
        safetensors = info.safetensors
        parameters = safetensors.total if safetensors else gguf.get("total")
        size_gb = None
        if safetensors and safetensors.parameters:
            size_gb = round(weights_bytes(safetensors.parameters) / 1e9, 2)
        context_length = gguf.get("context_length")
        return CatalogModel(
            provider="huggingface",
            model_name=info.id,
            display_name=info.id.rsplit("/", 1)[-1],
            size_gb=size_gb,
            runtime="llamacpp" if serves_gguf(info) else "vllm",
            tags=list(info.tags or []),
            downloads=info.downloads,
            likes=info.likes,
            url=f"{self.endpoint}/{info.id}",
            updated_at=info.last_modified,
            pipeline_tag=info.pipeline_tag,
            parameter_count=parameters if isinstance(parameters, int) else None,
            context_length=context_length if isinstance(context_length, int) else None,
        )

    async def gguf_files(self, repo_id: str, revision: str | None = None) -> GGUFListing:
        """The quantizations of a GGUF repo with their sizes: one `?blobs=true` request."""

        def call() -> GGUFListing:
            info = self.api.model_info(repo_id, revision=revision, files_metadata=True)
            return gguf_listing(hub_files(info))

        return await run_blocking(call, deadline=self.timeout, what=f"the Hub ({repo_id} files)")

    async def _size_gguf_rows(self, rows: list[tuple[CatalogModel, ModelInfo]]) -> None:
        """Fill the quantizations of GGUF rows, and `size_gb` of those an install takes as GGUF, side by side and
        within one timeout; a failure leaves a row as it was."""
        gate = asyncio.Semaphore(SIZING_CONCURRENCY)

        async def size(row: CatalogModel, info: ModelInfo) -> None:
            key = (info.id, info.sha or "")
            found = self._gguf_listings.get(key)
            if found is None:
                async with gate:
                    try:
                        found = await self.gguf_files(info.id, info.sha)
                    except Exception as exc:  # unreachable, gated: unsized now, asked again next time
                        log.info("no GGUF files listed for %s: %s", info.id, exc)
                        return
                if len(self._gguf_listings) >= MAX_SIZES_KEPT:
                    self._gguf_listings.clear()
                self._gguf_listings[key] = found
            gguf_only = serves_gguf(info)
            row.quantizations = [q if gguf_only else q.model_copy(update={"install_default": False})
                                 for q in found.quantizations]
            if gguf_only and found.default_bytes is not None:
                row.size_gb = round(found.default_bytes / 1e9, 2)

        tasks = [asyncio.ensure_future(size(row, info)) for row, info in rows]
        if not tasks:
            return
        try:
            _, pending = await asyncio.wait(tasks, timeout=self.timeout)
        finally:  # on a timeout, and when the list itself is cancelled
            for task in tasks:
                task.cancel()
        if pending:
            log.info("%d GGUF repos not sized within %g s", len(pending), self.timeout)
