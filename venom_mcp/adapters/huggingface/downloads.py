"""Installs from the Hub into MODELS_CACHE_DIR (the standard huggingface_hub cache layout), with real byte
counts, cancellation, and sha256 checks against the Hub's LFS oids."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from pathlib import Path
from typing import Any

from ...aio import run_blocking
from ...errors import InvalidArgument, UpstreamError
from ..upstream import hub_failure
from .files import HubFile, HubPlan, quantization_sizes, select_files
from .hub import HubAdapter, hub_files

CANCEL_GRACE_SECONDS = 5.0


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
            found = (
                next(iter(self._blobs.glob(f"{self._file.sha256}.*.incomplete")), None)
                if self._blobs.is_dir()
                else None
            )
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
        def call() -> HubPlan:
            try:
                info = self._hub.api.model_info(repo_id, files_metadata=True)
            except Exception as exc:  # gated, unknown, refused, reset, TLS, 5xx: huggingface_hub's own errors
                raise hub_failure(exc, self._hub.endpoint, repo_id) from exc
            paths = hub_files(info)
            has_gguf = any(p.endswith(".gguf") for p in paths)
            want_gguf = runtime == "llamacpp" or (
                runtime is None and has_gguf and not any(p.endswith(".safetensors") for p in paths)
            )
            if runtime == "llamacpp" and not has_gguf:
                raise InvalidArgument(
                    f"{repo_id} holds no GGUF files, so runtime 'llamacpp' cannot serve it; use runtime 'vllm'"
                )
            files, quantization = select_files(paths, want_gguf=want_gguf, quant=quant)
            plan = HubPlan(repo_id, str(info.sha), files, want_gguf, quantization,
                           quantizations=quantization_sizes(paths) if want_gguf else {})
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
            return str(
                snapshot_download(
                    plan.repo_id,
                    revision=plan.revision,
                    cache_dir=self.cache_dir,
                    endpoint=hub.endpoint,
                    token=hub.token or False,
                    allow_patterns=[f.path for f in plan.files],
                    tqdm_class=progress,
                    max_workers=4,
                )
            )

        from huggingface_hub.file_download import repo_folder_name

        blobs = self.cache_dir / repo_folder_name(repo_id=plan.repo_id, repo_type="model") / "blobs"
        finished = threading.Event()
        hashers = [
            _TailHasher(blobs, f, finished)
            for f in plan.files
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
                rev.commit_hash
                for repo in info.repos
                if repo.repo_id == repo_id and repo.repo_type == "model"
                for rev in repo.revisions
            ]
            if not revisions:
                return 0
            strategy = info.delete_revisions(*revisions)
            strategy.execute()
            return int(strategy.expected_freed_size)

        return await asyncio.to_thread(call)
