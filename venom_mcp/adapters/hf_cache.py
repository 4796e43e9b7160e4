"""Models already in a huggingface_hub cache folder (fetched by another tool, or before venom-mcp's manifest knew
them), read with huggingface_hub's own cache scanner. Synchronous: it walks the disk, so callers run it in a thread."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .huggingface import file_quant

if TYPE_CHECKING:
    from huggingface_hub import CachedFileInfo, CachedRevisionInfo, HFCacheInfo

GGUF_SUFFIX = ".gguf"
OTHER_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
# A file removed while the scan walks the folder (a concurrent removal or download) fails the whole scan; retry.
SCAN_ATTEMPTS = 3


@dataclass(frozen=True)
class CachedModel:
    name: str  # "org/repo", or "org/repo:Q4_K_M" for each GGUF quantization found
    repo_id: str
    revision: str  # the commit hash of the snapshot
    gguf: bool
    quantization: str | None
    # The snapshot folder, or the (first part of the) GGUF file in it; under the cache folder with its symlinks
    # resolved, as huggingface_hub's downloads (and so installs) report paths.
    local_path: Path
    size_bytes: int  # blob bytes of the files this entry needs
    last_modified: datetime | None  # aware UTC


def scan_cache(cache_dir: Path) -> list[CachedModel]:
    """One entry per model repo, or per GGUF quantization of a repo, each from the newest revision holding its files.

    Datasets, spaces, repos without weight files and entries huggingface_hub reports as corrupted are left out;
    a missing folder gives [].
    """
    info = _scan(cache_dir.expanduser())
    if info is None:
        return []
    found: list[CachedModel] = []
    for repo in info.repos:
        if repo.repo_type == "model":
            found += _repo_entries(repo.repo_id, repo.revisions)
    return sorted(found, key=lambda m: m.name)


def _scan(cache_dir: Path) -> HFCacheInfo | None:
    from huggingface_hub import CacheNotFound, scan_cache_dir

    attempts = SCAN_ATTEMPTS
    while True:
        if not cache_dir.is_dir():
            return None
        try:
            # Corrupted repos do not raise: scan_cache_dir leaves them out and lists them in `warnings`.
            return scan_cache_dir(cache_dir)
        except CacheNotFound:
            return None
        except FileNotFoundError:
            attempts -= 1
            if not attempts:
                raise


def _repo_entries(repo_id: str, revisions: Iterable[CachedRevisionInfo]) -> list[CachedModel]:
    # Newest revision first, but each entry from the newest one that holds its files: an interrupted update leaves a
    # newer snapshot folder with nothing in it, and one quantization may have been fetched at an older commit.
    ordered = sorted(revisions, key=lambda r: (r.last_modified, "main" in r.refs, r.commit_hash), reverse=True)
    found: dict[str, CachedModel] = {}
    for revision in ordered:
        for entry in _revision_entries(repo_id, revision):
            found.setdefault(entry.name, entry)
    return list(found.values())


def _revision_entries(repo_id: str, revision: CachedRevisionInfo) -> list[CachedModel]:
    def relative(file: CachedFileInfo) -> str:
        return file.file_path.relative_to(revision.snapshot_path).as_posix()

    def entry(name: str, gguf: bool, quant: str | None, files: list[CachedFileInfo], path: Path) -> CachedModel:
        # A blob that two file names share is on disk once.
        size = sum({f.blob_path: f.size_on_disk for f in files}.values())
        stamp = datetime.fromtimestamp(max(f.blob_last_modified for f in files), UTC)
        return CachedModel(name, repo_id, revision.commit_hash, gguf, quant, path, size, stamp)

    files = sorted(revision.files, key=relative)
    entries: list[CachedModel] = []
    has_other_weights = any(f.file_name.endswith(OTHER_WEIGHT_SUFFIXES) for f in files)
    if has_other_weights:
        # The whole revision, less GGUF files a safetensors runtime never reads (a repo may ship both).
        rest = [f for f in files if not f.file_name.endswith(GGUF_SUFFIX)]
        entries.append(entry(repo_id, False, None, rest, revision.snapshot_path))
    quants: dict[str | None, list[CachedFileInfo]] = {}
    for file in files:
        # mmproj files are vision projectors that go with a model, not models; installs skip them too.
        if file.file_name.endswith(GGUF_SUFFIX) and "mmproj" not in file.file_name.lower():
            # The file name's quantization first, else its folder's ("Q8_0/x-00001-of-00002.gguf").
            quants.setdefault(file_quant(relative(file)), []).append(file)
    for quant, parts in quants.items():
        if quant is None and has_other_weights:
            continue  # "org/repo" already names the safetensors weights, as an install of the repo would
        entries.append(entry(f"{repo_id}:{quant}" if quant else repo_id, True, quant, parts, parts[0].file_path))
    return entries

