"""The work an install or removal Operation runs once the registry decided to start it: an Ollama pull, a Hub
download with its sha256 check, a deletion. Each records the outcome in the manifest and returns the operation's
final message."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ...adapters.huggingface import HubDownloads, HubPlan
from ...adapters.ollama import OllamaAdapter
from ...errors import NotFound, QuotaExceeded
from ...records import ModelMetadata, Provider, Runtime
from .. import capabilities as caps
from ..manifest import Manifest
from ..operations import Progress

log = logging.getLogger(__name__)
GB = 1e9


async def pull(ollama: OllamaAdapter, store: Manifest, within_quota: Callable[[float], bool], quota_gb: float,
               name: str, progress: Progress) -> str:
    """`ollama pull`, with the bytes Ollama reports per layer as progress; stops once the layers known so far
    would exceed the disk quota."""
    layers: dict[str, tuple[int, int]] = {}
    quota_checked: set[str] = set()
    async for event in ollama.pull(name):
        digest, total = event.get("digest"), event.get("total")
        if digest and total:
            layers[digest] = (int(event.get("completed") or 0), int(total))
            if digest not in quota_checked:
                quota_checked.add(digest)
                total_gb = sum(t for _, t in layers.values()) / GB
                if not within_quota(total_gb):
                    raise QuotaExceeded(
                        f"{name} needs {total_gb:.2f} GB, over the MODELS_MAX_DISK_GB quota of "
                        f"{quota_gb:g} GB: remove a model or raise the quota"
                    )
        done = sum(c for c, _ in layers.values())
        progress.update(done, sum(t for _, t in layers.values()) or None, event.get("status"))
    show = await ollama.show(name)
    tag = next((t for t in await ollama.tags() if t.get("name") == name), {})
    size, digest = tag.get("size"), tag.get("digest")
    store.record(ModelMetadata(
        name=name, provider="ollama", runtime="ollama", display_name=name,
        size_gb=round(size / GB, 3) if size else None, sha256=digest, installed_at=datetime.now(UTC),
        capabilities=caps.merge(name, caps.detect_ollama(show)),
    ))
    return f"installed {name}"


async def download(downloads: HubDownloads, store: Manifest, name: str, plan: HubPlan, runtime: Runtime,
                   progress: Progress) -> str:
    """The planned Hub files, then their sha256 against the Hub's, then the capabilities read from the snapshot."""
    loop = asyncio.get_running_loop()
    total = plan.total_bytes
    progress.update(plan.cached_bytes, total, f"downloading {len(plan.files)} files")

    def on_bytes(done: int) -> None:  # called from huggingface_hub's worker threads
        loop.call_soon_threadsafe(progress.update, done, total, "downloading")

    snapshot, hashed = await downloads.download(plan, on_bytes)
    progress.update(total, total, "verifying sha256")
    hashes = await downloads.verify(plan, snapshot, hashed)
    detected = await asyncio.to_thread(caps.detect_huggingface, snapshot, plan.quantization)
    weights = [f.path for f in plan.files if f.is_weight]
    local = snapshot / weights[0] if plan.gguf and len(weights) == 1 else snapshot
    store.record(ModelMetadata(
        name=name, provider="huggingface", runtime=runtime, display_name=name.split("/", 1)[-1],
        size_gb=round(total / GB, 3), local_path=str(local), sha256=combined_sha(hashes),
        installed_at=datetime.now(UTC), revision=plan.revision, files=hashes,
        capabilities=caps.merge(name, detected),
    ))
    size = f"{total / GB:.2f} GB" if total >= GB / 10 else f"{total / 1e6:.1f} MB"
    count = len(plan.files)
    return f"installed {name} ({size}, {count} file{'s' if count != 1 else ''})"


async def delete(ollama: OllamaAdapter, downloads: HubDownloads, store: Manifest, name: str,
                 provider: Provider) -> str:
    """Ollama deletes its own model; Hub files go unless another installed quantization of the repo shares them."""
    if provider == "ollama":
        try:
            await ollama.delete(name)
        except NotFound:
            log.info("%s was already gone from Ollama", name)
        freed = ""
    else:
        repo = name.split(":")[0]
        others = [m for m in store.read() if m.name != name and m.name.split(":")[0] == repo]
        if others:
            freed = f"; files kept for {', '.join(m.name for m in others)}"
        else:
            freed_bytes = await downloads.delete(repo)
            freed = f"; freed {freed_bytes / GB:.2f} GB"
    store.update(lambda models: [m for m in models if m.name != name])
    return f"removed {name}{freed}"


async def noted(job: Awaitable[str], note: str | None) -> str:
    """The job's final message, with the fit check's warning or note (services/fit) after it."""
    message = await job
    return f"{message}; {note}" if note else message


def combined_sha(hashes: dict[str, str]) -> str | None:
    """One weight file: its sha256. Several: the sha256 of their sorted 'path sha256' lines."""
    if not hashes:
        return None
    if len(hashes) == 1:
        return next(iter(hashes.values()))
    lines = "".join(f"{path} {digest}\n" for path, digest in sorted(hashes.items()))
    return hashlib.sha256(lines.encode()).hexdigest()
