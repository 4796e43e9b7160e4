"""scan_cache on caches that huggingface_hub itself filled from the fake Hub: names, kinds, quantizations, paths,
sizes and revisions of what another tool downloaded, and what is not a model."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download

from tests.fakes import FakeHub, LiveServer
from tests.fakes.hub import TINY_CHAT, TINY_GEMMA, TINY_GGUF, MiB, seed_files
from venom_mcp.adapters.hf_cache import CachedModel, scan_cache

# Repos only this module serves: split GGUF quantizations (one in a folder, as unsloth lays them out) with a vision
# projector, a repo holding both safetensors and GGUF, and a GGUF file whose name carries no quantization.
SPLIT = "venom-test/split-GGUF"
MIXED = "venom-test/mixed"
PLAIN = "venom-test/plain-GGUF"
SPLIT_Q4 = ["split-Q4_K_M-00001-of-00002.gguf", "split-Q4_K_M-00002-of-00002.gguf"]
SPLIT_Q8 = ["Q8_0/split-Q8_0-00001-of-00002.gguf", "Q8_0/split-Q8_0-00002-of-00002.gguf"]
TINY_CHAT_RUNTIME = ["config.json", "generation_config.json", "tokenizer*", "*.safetensors",
                     "model.safetensors.index.json"]  # fmt: skip


def _bytes(seed: str, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _extra_repos() -> dict[str, dict[str, bytes]]:
    split_sizes = dict(zip([*SPLIT_Q4, *SPLIT_Q8], [300_000, 200_000, 400_000, 100_000], strict=True))
    return {
        SPLIT: {"README.md": b"# split\n", "mmproj-split-F16.gguf": _bytes("mmproj", 50_000),
                **{path: _bytes(path, size) for path, size in split_sizes.items()}},
        MIXED: {"config.json": b'{"model_type": "llama"}', "model.safetensors": _bytes("mixed-st", 120_000),
                "mixed-Q4_K_M.gguf": _bytes("mixed-gguf", 70_000)},
        PLAIN: {"README.md": b"# plain\n", "model.gguf": _bytes("plain", 90_000)},
    }  # fmt: skip


@pytest.fixture(scope="module")
def scan_hub_server() -> Iterator[tuple[FakeHub, LiveServer]]:
    fake = FakeHub(files={**seed_files(), **_extra_repos()})
    with LiveServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def scan_hub(scan_hub_server: tuple[FakeHub, LiveServer]) -> FakeHub:
    scan_hub_server[0].reset()
    return scan_hub_server[0]


@pytest.fixture
def url(scan_hub_server: tuple[FakeHub, LiveServer], scan_hub: FakeHub) -> str:
    return scan_hub_server[1].url


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "hub"


def fetch(url: str, cache: Path, repo: str, *patterns: str) -> Path:
    # token=False: no token from the environment or ~/.cache/huggingface reaches the fake.
    return Path(snapshot_download(repo, cache_dir=cache, endpoint=url, token=False, allow_patterns=list(patterns)))


def by_name(cache: Path) -> dict[str, CachedModel]:
    found = scan_cache(cache)
    assert [m.name for m in found] == sorted({m.name for m in found}), "one entry per name, sorted"
    return {m.name: m for m in found}


def assert_recent(stamp: datetime | None) -> None:
    assert stamp is not None and stamp.tzinfo is UTC
    assert abs(stamp.timestamp() - time.time()) < 300


def test_safetensors_repo_is_one_entry_of_its_whole_revision(scan_hub: FakeHub, url: str, cache: Path) -> None:
    folder = fetch(url, cache, TINY_CHAT, *TINY_CHAT_RUNTIME)
    (model,) = scan_cache(cache)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) == 7 and all(p.is_symlink() for p in files)
    assert model.name == model.repo_id == TINY_CHAT and not model.gguf and model.quantization is None
    assert model.local_path == folder and (model.local_path / "config.json").is_file()
    assert model.revision == scan_hub.commit(TINY_CHAT) == folder.name
    # The blobs' bytes (the symlinks in the snapshot are a few dozen bytes each).
    real = sum(len(scan_hub.files[TINY_CHAT][p.relative_to(folder).as_posix()]) for p in files)
    assert model.size_bytes == real == sum(p.stat().st_size for p in files) > 9 * MiB
    assert_recent(model.last_modified)


def test_one_entry_per_cached_gguf_quantization(scan_hub: FakeHub, url: str, cache: Path) -> None:
    paths = {quant: Path(hf_hub_download(TINY_GGUF, f"tiny.{quant}.gguf", cache_dir=cache, endpoint=url, token=False))
             for quant in ("Q4_K_M", "Q8_0")}  # fmt: skip
    hf_hub_download(TINY_GGUF, "README.md", cache_dir=cache, endpoint=url, token=False)
    found = by_name(cache)
    assert set(found) == {f"{TINY_GGUF}:Q4_K_M", f"{TINY_GGUF}:Q8_0"}, "F16 and F32 were never downloaded"
    for quant, path in paths.items():
        model = found[f"{TINY_GGUF}:{quant}"]
        assert model.repo_id == TINY_GGUF and model.gguf and model.quantization == quant
        assert model.local_path == path and model.local_path.is_file() and path.parent.name == model.revision
        assert model.revision == scan_hub.commit(TINY_GGUF)
        assert model.size_bytes == len(scan_hub.files[TINY_GGUF][f"tiny.{quant}.gguf"]) == path.stat().st_size
        assert_recent(model.last_modified)


def test_split_gguf_parts_add_up_and_the_vision_projector_is_no_model(
    scan_hub: FakeHub, url: str, cache: Path
) -> None:
    folder = fetch(url, cache, SPLIT, "*")
    found = by_name(cache)
    assert set(found) == {f"{SPLIT}:Q4_K_M", f"{SPLIT}:Q8_0"}
    # Q8_0 sits in a folder named after it: the file name still says Q8_0 (the folder alone would read as "Q8").
    for quant, parts in (("Q4_K_M", SPLIT_Q4), ("Q8_0", SPLIT_Q8)):
        model = found[f"{SPLIT}:{quant}"]
        assert model.gguf and model.quantization == quant
        assert model.local_path == folder / parts[0] and model.local_path.is_file(), "the first part"
        assert model.size_bytes == sum(len(scan_hub.files[SPLIT][p]) for p in parts)
        assert model.size_bytes == sum((folder / p).stat().st_size for p in parts)


def test_repo_with_safetensors_and_gguf_and_a_gguf_without_a_quantization(
    scan_hub: FakeHub, url: str, cache: Path
) -> None:
    mixed = fetch(url, cache, MIXED, "*")
    plain = fetch(url, cache, PLAIN, "*")
    found = by_name(cache)
    assert set(found) == {MIXED, f"{MIXED}:Q4_K_M", PLAIN}
    files = scan_hub.files[MIXED]
    # The safetensors entry counts its revision without the GGUF file; the GGUF entry counts only that file.
    assert found[MIXED].local_path == mixed and not found[MIXED].gguf
    assert found[MIXED].size_bytes == len(files["config.json"]) + len(files["model.safetensors"])
    assert found[f"{MIXED}:Q4_K_M"].size_bytes == len(files["mixed-Q4_K_M.gguf"])
    # Named as an install of it would be: the repo alone, runtime llama.cpp.
    assert found[PLAIN].gguf and found[PLAIN].quantization is None
    assert found[PLAIN].local_path == plain / "model.gguf"
    assert found[PLAIN].size_bytes == len(scan_hub.files[PLAIN]["model.gguf"])


def test_config_only_repo_dataset_and_corrupted_entry_are_left_out(url: str, cache: Path) -> None:
    hf_hub_download(TINY_GGUF, "tiny.Q4_K_M.gguf", cache_dir=cache, endpoint=url, token=False)
    fetch(url, cache, TINY_GEMMA, "config.json", "README.md")
    # The fake Hub serves no datasets: lay one out as huggingface_hub would, with a weight file in it.
    dataset = cache / "datasets--venom-test--data"
    (dataset / "snapshots" / ("d" * 40)).mkdir(parents=True)
    (dataset / "snapshots" / ("d" * 40) / "data.safetensors").write_bytes(b"x" * 1000)
    (dataset / "refs").mkdir()
    (dataset / "refs" / "main").write_text("d" * 40)
    (cache / "models--bad").mkdir()  # no snapshots/ folder
    info = scan_cache_dir(cache)
    assert {(r.repo_type, r.repo_id) for r in info.repos} == {
        ("model", TINY_GGUF), ("model", TINY_GEMMA), ("dataset", "venom-test/data"),
    }  # fmt: skip
    assert len(info.warnings) == 1 and "models--bad" in str(info.warnings[0])
    assert [m.name for m in scan_cache(cache)] == [f"{TINY_GGUF}:Q4_K_M"]


def test_missing_folder_or_a_file_gives_nothing(tmp_path: Path) -> None:
    assert scan_cache(tmp_path / "nowhere") == []
    (tmp_path / "a-file").write_text("not a cache")
    assert scan_cache(tmp_path / "a-file") == []
    assert scan_cache(tmp_path) == [], "an empty folder"


class Cut:
    """A tqdm stand-in whose byte bar stops the download, as a killed process or a lost disk would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.bytes = kwargs.get("unit") == "B"

    def update(self, n: float | None = 1) -> None:
        if self.bytes:
            raise KeyboardInterrupt("cut")

    def __enter__(self) -> Cut:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def test_each_entry_comes_from_the_newest_revision_holding_its_files(
    scan_hub: FakeHub, url: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scan_hub.model(TINY_GGUF)
    assert model is not None
    first, second, third = scan_hub.commit(TINY_GGUF), "b" * 40, "c" * 40
    q4 = Path(hf_hub_download(TINY_GGUF, "tiny.Q4_K_M.gguf", cache_dir=cache, endpoint=url, token=False))
    hour_ago = time.time() - 3600
    os.utime(q4.resolve(), (hour_ago, hour_ago))
    monkeypatch.setitem(model, "sha", second)  # the repo moves on; Q8_0 is fetched at the new commit
    q8 = Path(hf_hub_download(TINY_GGUF, "tiny.Q8_0.gguf", cache_dir=cache, endpoint=url, token=False))
    os.utime(q8.resolve(), (hour_ago + 1800, hour_ago + 1800))  # clearly older than the next snapshot folder
    monkeypatch.setitem(model, "sha", third)  # and again, but this download dies before any byte lands
    with pytest.raises(KeyboardInterrupt):
        hf_hub_download(TINY_GGUF, "tiny.F16.gguf", cache_dir=cache, endpoint=url, token=False, tqdm_class=Cut)
    (repo,) = scan_cache_dir(cache).repos
    revisions = {r.commit_hash: r for r in repo.revisions}
    assert revisions.keys() == {first, second, third} and revisions[third].refs == {"main"}
    newest = max(revisions.values(), key=lambda r: r.last_modified)
    assert newest.commit_hash == third and not newest.files, "the newest snapshot is an empty folder"

    found = by_name(cache)
    assert set(found) == {f"{TINY_GGUF}:Q4_K_M", f"{TINY_GGUF}:Q8_0"}, "F16 never landed"
    assert found[f"{TINY_GGUF}:Q4_K_M"].revision == first and found[f"{TINY_GGUF}:Q8_0"].revision == second
    assert found[f"{TINY_GGUF}:Q4_K_M"].last_modified == datetime.fromtimestamp(hour_ago, UTC)
    assert found[f"{TINY_GGUF}:Q8_0"].size_bytes == len(scan_hub.files[TINY_GGUF]["tiny.Q8_0.gguf"])

    # Q4_K_M again at the commit main names: the same blob, linked into that snapshot, so equally old; main wins.
    hf_hub_download(TINY_GGUF, "tiny.Q4_K_M.gguf", cache_dir=cache, endpoint=url, token=False)
    again = by_name(cache)[f"{TINY_GGUF}:Q4_K_M"]
    assert again.revision == third and again.local_path == q4.parent.parent / third / "tiny.Q4_K_M.gguf"


def test_paths_are_under_the_resolved_folder_as_downloads_report_them(url: str, tmp_path: Path) -> None:
    (tmp_path / "disk").mkdir()
    link = tmp_path / "models"
    link.symlink_to(tmp_path / "disk", target_is_directory=True)
    folder = fetch(url, link, TINY_GEMMA, "config.json", "*.safetensors")
    (model,) = scan_cache(link)
    # huggingface_hub resolves the cache folder, in snapshot_download and in scan_cache_dir alike.
    assert folder.is_relative_to(tmp_path / "disk") and model.local_path == folder


def test_a_scan_broken_by_a_concurrent_removal_is_retried(
    url: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hf_hub_download(TINY_GGUF, "tiny.Q4_K_M.gguf", cache_dir=cache, endpoint=url, token=False)
    real = huggingface_hub.scan_cache_dir
    calls: list[Path] = []

    def flaky(cache_dir: Path) -> huggingface_hub.HFCacheInfo:
        calls.append(cache_dir)
        if len(calls) == 1:
            raise FileNotFoundError("a blob went away mid-scan")
        return real(cache_dir)

    monkeypatch.setattr(huggingface_hub, "scan_cache_dir", flaky)
    assert [m.name for m in scan_cache(cache)] == [f"{TINY_GGUF}:Q4_K_M"] and len(calls) == 2
