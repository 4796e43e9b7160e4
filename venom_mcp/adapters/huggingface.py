"""The Hugging Face Hub through huggingface_hub: model listing and search (more comes with installs)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from ..aio import run_blocking
from ..records import CatalogModel

if TYPE_CHECKING:
    from huggingface_hub import HfApi, ModelInfo
    from huggingface_hub.hf_api import ExpandModelProperty_T

# Properties asked of /api/models: enough for a catalog row, without the file list.
LIST_EXPAND: list[ExpandModelProperty_T] = [
    "downloads", "likes", "tags", "pipeline_tag", "library_name", "lastModified", "trendingScore",
    "safetensors", "gguf",
]

# Bytes per parameter of each safetensors dtype, to estimate a repo's download size.
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "BF16": 2, "F16": 2, "I16": 2, "U16": 2,
    "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}

HubSort = Literal["trending_score", "downloads", "likes", "last_modified", "created_at"]


class HubAdapter:
    def __init__(self, endpoint: str, token: str | None, timeout: float) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self._timeout = timeout

    @cached_property
    def api(self) -> HfApi:
        from huggingface_hub import HfApi, get_session

        # huggingface_hub's shared client waits forever on a silent server; give every request a deadline.
        get_session().timeout = self._timeout
        # token=False stops huggingface_hub from sending a token it found elsewhere (~/.cache/huggingface).
        return HfApi(endpoint=self.endpoint, token=self._token or False)

    async def list_models(self, *, search: str | None, sort: HubSort, limit: int) -> list[CatalogModel]:
        def call() -> list[CatalogModel]:
            infos = self.api.list_models(search=search or None, sort=sort, limit=limit, expand=LIST_EXPAND)
            return [self.to_catalog(info) for info in infos]

        return await run_blocking(call, deadline=self._timeout, what=f"the Hugging Face Hub at {self.endpoint}")

    def to_catalog(self, info: ModelInfo) -> CatalogModel:
        gguf: dict[str, Any] = info.gguf or {}
        tags = list(info.tags or [])
        is_gguf = bool(gguf) or "gguf" in tags
        safetensors = info.safetensors
        parameters = safetensors.total if safetensors else gguf.get("total")
        size_gb = None
        if safetensors and safetensors.parameters:
            size = sum(count * DTYPE_BYTES.get(dtype, 2) for dtype, count in safetensors.parameters.items())
            size_gb = round(size / 1e9, 2)
        return CatalogModel(
            provider="huggingface",
            model_name=info.id,
            display_name=info.id.rsplit("/", 1)[-1],
            size_gb=size_gb,
            runtime="llamacpp" if is_gguf else "vllm",
            tags=tags,
            downloads=info.downloads,
            likes=info.likes,
            url=f"{self.endpoint}/{info.id}",
            updated_at=info.last_modified,
            pipeline_tag=info.pipeline_tag,
            parameter_count=parameters if isinstance(parameters, int) else None,
            context_length=gguf.get("context_length") if isinstance(gguf.get("context_length"), int) else None,
        )
