"""The Hugging Face Hub through huggingface_hub: model listing and search (more comes with installs)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..aio import run_blocking
from ..errors import InvalidArgument, NotFound, UpstreamError
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
        self.token = token
        self.timeout = timeout

    @cached_property
    def api(self) -> HfApi:
        from huggingface_hub import HfApi

        from .hub_session import use_shared_pool

        # One pool that huggingface_hub's error handling cannot close under other threads, with a deadline per request.
        use_shared_pool(self.timeout)
        # token=False stops huggingface_hub from sending a token it found elsewhere (~/.cache/huggingface).
        return HfApi(endpoint=self.endpoint, token=self.token or False)

    async def list_models(self, *, search: str | None, sort: HubSort, limit: int) -> list[CatalogModel]:
        def call() -> list[CatalogModel]:
            infos = self.api.list_models(search=search or None, sort=sort, limit=limit, expand=LIST_EXPAND)
            return [self.to_catalog(info) for info in infos]

        return await run_blocking(call, deadline=self.timeout, what=f"the Hugging Face Hub at {self.endpoint}")

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


# What a runtime needs of a transformers repo besides the weights; everything else (original/, onnx/...) is skipped.
SUPPORT_FILES = {
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
    "special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt", "merges.txt",
    "chat_template.jinja", "chat_template.json", "preprocessor_config.json", "processor_config.json",
}
CANCEL_GRACE_SECONDS = 5.0
GGUF_PREFERENCE = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q6_K", "Q8_0", "F16")


@dataclass(frozen=True)
class HubFile:
    path: str
    size: int
    sha256: str | None  # the LFS oid, where the Hub gives one

    @property
    def is_weight(self) -> bool:
        return self.path.endswith((".safetensors", ".gguf", ".bin"))


@dataclass
class HubPlan:
    """What an install of one repo will fetch, known before a byte is written."""

    repo_id: str
    revision: str
    files: list[HubFile]
    gguf: bool
    quantization: str | None = None
    cached_bytes: int = 0
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def quant_of(path: str) -> str | None:
    for quant in re.findall(r"(?i)(?:^|[._-])((?:I?Q\d[A-Z0-9_]*)|F16|BF16|F32)(?=[._-])", path):
        return str(quant).upper()
    return None


def select_files(paths: dict[str, HubFile], *, want_gguf: bool, quant: str | None) -> tuple[list[HubFile], str | None]:
    """The files a runtime needs: one GGUF quantization, or config, tokenizer and safetensors weights."""
    top = {p: f for p, f in paths.items() if "/" not in p}
    if want_gguf:
        ggufs = [f for p, f in paths.items() if p.endswith(".gguf") and "mmproj" not in p.lower()]
        if not ggufs:
            raise InvalidArgument("this repo holds no GGUF files; install it for runtime 'vllm' instead")
        available = sorted({q for f in ggufs if (q := quant_of(f.path))})
        if quant:
            chosen = [f for f in ggufs if (quant_of(f.path) or "").upper() == quant.upper()]
            if not chosen:
                raise InvalidArgument(
                    f"no {quant} file in this repo; available quantizations: {', '.join(available) or 'none named'}"
                )
        else:
            preferred = next((q for q in GGUF_PREFERENCE if q in available), None)
            if preferred:
                chosen = [f for f in ggufs if quant_of(f.path) == preferred]
            else:
                chosen = [min(ggufs, key=lambda f: f.size)]
        return sorted(chosen, key=lambda f: f.path), quant_of(chosen[0].path)
    weights = [f for p, f in top.items() if p.endswith(".safetensors")]
    index = ["model.safetensors.index.json"]
    if not weights:
        weights = [f for p, f in top.items() if p.startswith("pytorch_model") and p.endswith(".bin")]
        index = ["pytorch_model.bin.index.json"]
    if not weights:
        hint = ("; it holds GGUF files: install it for runtime 'llamacpp'" if any(p.endswith(".gguf") for p in paths)
                else "")
        raise InvalidArgument(f"this repo holds no safetensors or PyTorch weights that vLLM could load{hint}")
    support = [f for p, f in top.items() if p in SUPPORT_FILES or p in index]
    return sorted(support + weights, key=lambda f: f.path), None


class DownloadProgress:
    """A tqdm-compatible class for huggingface_hub that feeds real byte counts to a callback.

    snapshot_download makes several bars: a file counter, and byte bars for bytes received and bytes
    written (the latter starting at the bytes a resumed file already had). The largest byte count is
    what has really arrived. Raising from update() is how a cancel stops the worker threads.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.total = kwargs.get("total")
        self.n = int(kwargs.get("initial") or 0)
        self._bytes = kwargs.get("unit") == "B"
        self._sink: _ProgressSink = type(self).sink
        if self._bytes:
            self._sink.report(self)

    sink: _ProgressSink

    def update(self, n: float | None = 1) -> None:
        self._sink.check_cancel()
        self.n += int(n or 0)
        if self._bytes:
            self._sink.report(self)

    def __enter__(self) -> DownloadProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        # refresh, close, set_description(_str), set_postfix_str ... : nothing to draw.
        return lambda *args, **kwargs: None


class Cancelled(Exception):
    """Raised inside huggingface_hub's worker threads when the operation was cancelled."""


class _ProgressSink:
    def __init__(self, base: int, callback: Any) -> None:
        self._base = base
        self._callback = callback
        self._best = 0
        self._lock = threading.Lock()
        self.cancelled = threading.Event()

    def report(self, bar: DownloadProgress) -> None:
        with self._lock:
            if bar.n > self._best:
                self._best = bar.n
                self._callback(self._base + self._best)

    def check_cancel(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("download cancelled")


class _TailHasher(threading.Thread):
    """Hashes a file while huggingface_hub writes it, so that verifying costs no second pass over the bytes.

    huggingface_hub writes `blobs/<sha256>.<random>.incomplete` and renames it into place; the open handle
    keeps reading the same inode after the rename. If the download restarts into another temp file, the digest
    read here will not match and the caller hashes the finished file instead.
    """

    def __init__(self, blobs: Path, file: HubFile, finished: threading.Event) -> None:
        super().__init__(name=f"venom:sha256:{file.path}", daemon=True)
        self._blobs = blobs
        self._file = file
        self._finished = finished
        self.digest: str | None = None

    def run(self) -> None:
        handle = None
        while handle is None and not self._finished.is_set():
            found = next(iter(self._blobs.glob(f"{self._file.sha256}.*.incomplete")), None) if self._blobs.is_dir() \
                else None
            if found is not None:
                with contextlib.suppress(OSError):
                    handle = found.open("rb")
            if handle is None:
                self._finished.wait(0.01)
        if handle is None:
            return
        digest, count = hashlib.sha256(), 0
        with handle:
            while True:
                chunk = handle.read(8 << 20)
                if chunk:
                    digest.update(chunk)
                    count += len(chunk)
                elif self._finished.is_set():
                    if not (chunk := handle.read()):
                        break
                else:
                    self._finished.wait(0.005)
        if count == self._file.size:
            self.digest = digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class HubDownloads:
    """Installs from the Hub into MODELS_CACHE_DIR (the standard huggingface_hub cache layout)."""

    def __init__(self, hub: HubAdapter, cache_dir: Path) -> None:
        self._hub = hub
        self.cache_dir = cache_dir

    async def plan(self, repo_id: str, *, runtime: str | None, quant: str | None) -> HubPlan:
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

        def call() -> HubPlan:
            try:
                info = self._hub.api.model_info(repo_id, files_metadata=True)
            except GatedRepoError as exc:
                raise UpstreamError(
                    f"{repo_id} is gated: accept its terms on the Hub and set HF_TOKEN to a token with access"
                ) from exc
            except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
                raise NotFound(f"no model {repo_id!r} on the Hub at {self._hub.endpoint} (or it is private)") from exc
            except Exception as exc:  # refused, reset, TLS, 5xx: huggingface_hub's own HTTP errors
                raise UpstreamError(
                    f"the Hugging Face Hub at {self._hub.endpoint} could not be reached ({type(exc).__name__}: "
                    f"{exc}); check HF_ENDPOINT and the network, then install again"
                ) from exc
            paths = {
                s.rfilename: HubFile(s.rfilename, int(s.size or (s.lfs.size if s.lfs else 0) or 0),
                                     s.lfs.sha256 if s.lfs else None)
                for s in info.siblings or []
            }
            has_gguf = any(p.endswith(".gguf") for p in paths)
            want_gguf = runtime == "llamacpp" or (runtime is None and has_gguf and not any(
                p.endswith(".safetensors") for p in paths))
            if runtime == "llamacpp" and not has_gguf:
                raise InvalidArgument(
                    f"{repo_id} holds no GGUF files, so runtime 'llamacpp' cannot serve it; use runtime 'vllm'"
                )
            files, quantization = select_files(paths, want_gguf=want_gguf, quant=quant)
            plan = HubPlan(repo_id, str(info.sha), files, want_gguf, quantization)
            plan.cached_bytes = sum(f.size for f in files if self.cached_path(plan, f) is not None)
            return plan

        return await run_blocking(call, deadline=max(30.0, self._hub.timeout * 3), what=f"the Hub ({repo_id})")

    def cached_path(self, plan: HubPlan, file: HubFile) -> Path | None:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(plan.repo_id, file.path, cache_dir=self.cache_dir, revision=plan.revision)
        return Path(found) if isinstance(found, str) else None

    async def download(self, plan: HubPlan, on_bytes: Any) -> tuple[Path, dict[str, str]]:
        """Fetch the plan's files. Files already in the cache are not fetched again (so a retried install
        continues where it stopped, file by file); within one call huggingface_hub resumes a broken file
        with a Range request. Cancelling the awaiting task stops the threads at their next chunk."""
        from huggingface_hub import snapshot_download

        sink = _ProgressSink(plan.cached_bytes, on_bytes)
        progress = type("VenomDownloadProgress", (DownloadProgress,), {"sink": sink})
        hub = self._hub

        def call() -> str:
            return str(snapshot_download(
                plan.repo_id, revision=plan.revision, cache_dir=self.cache_dir, endpoint=hub.endpoint,
                token=hub.token or False, allow_patterns=[f.path for f in plan.files], tqdm_class=progress,
                max_workers=4,
            ))

        from huggingface_hub.file_download import repo_folder_name

        blobs = self.cache_dir / repo_folder_name(repo_id=plan.repo_id, repo_type="model") / "blobs"
        finished = threading.Event()
        hashers = [
            _TailHasher(blobs, f, finished) for f in plan.files
            if f.is_weight and f.sha256 and self.cached_path(plan, f) is None
        ]
        for hasher in hashers:
            hasher.start()
        worker = asyncio.ensure_future(asyncio.to_thread(call))
        try:
            snapshot = Path(await asyncio.shield(worker))
            finished.set()
            for hasher in hashers:
                await asyncio.to_thread(hasher.join)
            return snapshot, {h._file.path: h.digest for h in hashers if h.digest}
        except asyncio.CancelledError:
            finished.set()
            # The threads stop at their next chunk (huggingface_hub reads 10 MiB at a time); give them a
            # moment so the runtime lock is not freed under a running download, but do not hang on it.
            sink.cancelled.set()
            await asyncio.wait({worker}, timeout=CANCEL_GRACE_SECONDS)
            worker.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise
        finally:
            finished.set()  # on any failure too: the hashing threads must not poll and read forever

    async def verify(self, plan: HubPlan, snapshot: Path, hashed: dict[str, str] | None = None) -> dict[str, str]:
        """sha256 of each weight file, checked against the Hub's LFS oid where it gives one.

        `hashed` holds digests already taken while the files were written; the others are read now."""

        def call() -> dict[str, str]:
            hashes = {}
            for file in plan.files:
                if not file.is_weight:
                    continue
                digest = (hashed or {}).get(file.path) or sha256_of(snapshot / file.path)
                if file.sha256 and digest != file.sha256:
                    raise UpstreamError(
                        f"{file.path} of {plan.repo_id} is corrupt: sha256 {digest[:12]}… but the Hub says "
                        f"{file.sha256[:12]}…; install again to fetch it anew"
                    )
                hashes[file.path] = digest
            return hashes

        return await asyncio.to_thread(call)

    async def delete(self, repo_id: str) -> int:
        """Delete every cached revision of the repo through huggingface_hub's cache API; returns bytes freed."""
        from huggingface_hub import scan_cache_dir

        def call() -> int:
            if not self.cache_dir.is_dir():
                return 0
            info = scan_cache_dir(self.cache_dir)
            revisions = [
                rev.commit_hash for repo in info.repos if repo.repo_id == repo_id and repo.repo_type == "model"
                for rev in repo.revisions
            ]
            if not revisions:
                return 0
            strategy = info.delete_revisions(*revisions)
            strategy.execute()
            return int(strategy.expected_freed_size)

        return await asyncio.to_thread(call)
