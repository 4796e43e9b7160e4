"""The fake Hub serves real repository files: huggingface_hub's own download functions must work against it."""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jinja2
import jinja2.sandbox
import pytest
from huggingface_hub import (
    HfApi,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    scan_cache_dir,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from tests.fakes import FakeHub, LiveServer
from tests.fakes.hub import GATED_MODEL, REPO_COMMITS, TINY_CHAT, TINY_GEMMA, TINY_GGUF, MiB

# --------------------------------------------------------------------------------------------------
# fixtures (names distinct from conftest's hub / hub_server / hub_url)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files_hub_server() -> Iterator[tuple[FakeHub, LiveServer]]:
    fake = FakeHub()
    with LiveServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def files_hub(files_hub_server: tuple[FakeHub, LiveServer]) -> Iterator[FakeHub]:
    fake = files_hub_server[0]
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def files_url(files_hub_server: tuple[FakeHub, LiveServer], files_hub: FakeHub) -> str:
    return files_hub_server[1].url


@pytest.fixture
def files_api(files_url: str) -> HfApi:
    return HfApi(endpoint=files_url, token=False)


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    return tmp_path / "hf-cache"


# Independent re-implementations of what the Hub computes (so a wrong fake cannot agree with itself).
def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob " + str(len(data)).encode() + b"\0" + data).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pointer(data: bytes) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{_sha256(data)}\nsize {len(data)}\n".encode()


LFS_FILES = {"model.safetensors", "model-00002-of-00002.safetensors", "original/consolidated.pth", "onnx/model.onnx"}
RUNTIME_FILES = {
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "model.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# seeded repositories
# --------------------------------------------------------------------------------------------------


def test_seeded_repos_and_catalog_entries(files_hub: FakeHub) -> None:
    chat = files_hub.files[TINY_CHAT]
    assert set(chat) == RUNTIME_FILES | {".gitattributes", "README.md", "original/consolidated.pth", "onnx/model.onnx"}
    assert 5.5 * MiB < len(chat["model.safetensors"]) < 6.5 * MiB
    assert 2.5 * MiB < len(chat["model-00002-of-00002.safetensors"]) < 3.5 * MiB
    assert len(chat["original/consolidated.pth"]) == 2 * MiB and len(chat["onnx/model.onnx"]) == MiB
    gguf = files_hub.files[TINY_GGUF]
    assert {p for p in gguf if p.endswith(".gguf")} == {
        "tiny.Q4_K_M.gguf", "tiny.Q8_0.gguf", "tiny.F16.gguf", "tiny.F32.gguf",
    }  # fmt: skip
    assert [len(gguf[f"tiny.{q}.gguf"]) for q in ("Q4_K_M", "Q8_0", "F16")] == [3 * MiB, 5 * MiB, 8 * MiB]
    # Deterministic: a second fake has byte-identical content.
    assert FakeHub().files[TINY_CHAT]["model.safetensors"] == chat["model.safetensors"]

    for repo in (TINY_CHAT, TINY_GEMMA, TINY_GGUF):
        model = files_hub.model(repo)
        assert model is not None and model["sha"] == REPO_COMMITS[repo] == files_hub.commit(repo)
        assert sorted(s["rfilename"] for s in model["siblings"]) == sorted(files_hub.files[repo])
        assert model["usedStorage"] == sum(len(c) for c in files_hub.files[repo].values())
    assert "gguf" in files_hub.model(TINY_GGUF)["tags"]  # type: ignore[index]
    assert files_hub.model(GATED_MODEL) is None  # gated: not listed (every listed seed model is public)
    assert len(set(REPO_COMMITS.values())) == 4 and all(len(sha) == 40 for sha in REPO_COMMITS.values())


def test_seeded_configs_templates_and_weights(files_hub: FakeHub) -> None:
    chat = files_hub.files[TINY_CHAT]
    config = json.loads(chat["config.json"])
    assert config["max_position_embeddings"] == 4096 and config["model_type"] == "llama"
    assert config["architectures"] == ["LlamaForCausalLM"]
    gemma_config = json.loads(files_hub.files[TINY_GEMMA]["config.json"])
    assert gemma_config["max_position_embeddings"] == 8192 and gemma_config["model_type"] == "gemma2"

    def raise_exception(message: str) -> None:
        raise jinja2.TemplateError(message)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    chat_tok = json.loads(chat["tokenizer_config.json"])
    template = env.from_string(chat_tok["chat_template"])
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
    text = template.render(messages=messages, tools=tools, add_generation_prompt=True, bos_token="<s>")
    assert "get_weather" in text and "Be brief." in text
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert "get_weather" not in template.render(messages=messages, tools=None, bos_token="<s>")

    gemma_tok = json.loads(files_hub.files[TINY_GEMMA]["tokenizer_config.json"])
    gemma = env.from_string(gemma_tok["chat_template"])
    assert "<start_of_turn>user\nhi" in gemma.render(messages=[{"role": "user", "content": "hi"}], bos_token="")
    with pytest.raises(jinja2.TemplateError, match="System role not supported"):
        gemma.render(messages=messages, bos_token="")

    # Weights are valid safetensors files (header + data of exactly the declared size).
    index = json.loads(chat["model.safetensors.index.json"])
    assert set(index["weight_map"].values()) == {"model.safetensors", "model-00002-of-00002.safetensors"}
    data_bytes = 0
    for name in ("model.safetensors", "model-00002-of-00002.safetensors"):
        content = chat[name]
        (length,) = struct.unpack("<Q", content[:8])
        header = json.loads(content[8 : 8 + length])
        end = max(t["data_offsets"][1] for k, t in header.items() if k != "__metadata__")
        assert 8 + length + end == len(content)
        data_bytes += end
    assert data_bytes == index["metadata"]["total_size"]
    for quant in ("Q4_K_M", "Q8_0", "F16", "F32"):
        head = files_hub.files[TINY_GGUF][f"tiny.{quant}.gguf"][:4096]
        assert head[:4] == b"GGUF" and struct.unpack("<IQQ", head[4:24])[:2] == (3, 0)
        assert b"llama.context_length" in head and b"tokenizer.chat_template" in head


# --------------------------------------------------------------------------------------------------
# huggingface_hub against the fake
# --------------------------------------------------------------------------------------------------


def test_snapshot_download_uses_standard_cache_layout(files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    sha = REPO_COMMITS[TINY_CHAT]
    folder = snapshot_download(
        TINY_CHAT, endpoint=files_url, cache_dir=hf_cache, token=False,
        allow_patterns=["config.json", "generation_config.json", "tokenizer*", "*.safetensors",
                        "model.safetensors.index.json"],
    )  # fmt: skip
    repo_dir = hf_cache / "models--venom-test--tiny-chat"
    assert Path(folder) == repo_dir / "snapshots" / sha
    got = {str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()}
    assert got == RUNTIME_FILES
    content = files_hub.files[TINY_CHAT]
    for name in got:
        assert (Path(folder) / name).read_bytes() == content[name], name
    assert (repo_dir / "refs" / "main").read_text() == sha
    # Blobs are named by ETag: sha256 for LFS files, git blob sha1 for the others.
    expected_blobs = {_sha256(content[n]) if n in LFS_FILES else _git_blob_sha1(content[n]) for n in got}
    assert {p.name for p in (repo_dir / "blobs").iterdir()} == expected_blobs
    assert all((Path(folder) / name).is_symlink() for name in got)

    cache = scan_cache_dir(hf_cache)
    (repo,) = cache.repos
    assert repo.repo_id == TINY_CHAT and repo.repo_type == "model"
    assert repo.size_on_disk == sum(len(content[n]) for n in got) and repo.nb_files == len(got)
    assert {rev.commit_hash for rev in repo.revisions} == {sha}
    assert set(files_hub.downloads) == {f"{TINY_CHAT}/{n}" for n in got}
    assert set(files_hub.downloads.values()) == {1}

    # Again: everything is cached, nothing is fetched.
    assert snapshot_download(
        TINY_CHAT, endpoint=files_url, cache_dir=hf_cache, token=False, allow_patterns=["*.safetensors"]
    ) == folder  # fmt: skip
    assert set(files_hub.downloads.values()) == {1}


def test_model_info_files_metadata(files_api: HfApi, files_hub: FakeHub) -> None:
    info = files_api.model_info(TINY_CHAT, files_metadata=True)
    assert info.sha == REPO_COMMITS[TINY_CHAT]
    assert info.safetensors is not None and info.safetensors.total == files_hub.model(TINY_CHAT)["safetensors"]["total"]  # type: ignore[index]
    assert info.siblings is not None
    content = files_hub.files[TINY_CHAT]
    assert {s.rfilename for s in info.siblings} == set(content)
    for sibling in info.siblings:
        data = content[sibling.rfilename]
        assert sibling.size == len(data)
        if sibling.rfilename in LFS_FILES:
            assert sibling.lfs is not None
            assert sibling.lfs.sha256 == _sha256(data) and sibling.lfs.size == len(data)
            assert sibling.lfs.pointer_size == len(_pointer(data))
            assert sibling.blob_id == _git_blob_sha1(_pointer(data))
        else:
            assert sibling.lfs is None and sibling.blob_id == _git_blob_sha1(data)
    plain = files_api.model_info(TINY_CHAT)
    assert plain.siblings is not None and all(s.size is None and s.lfs is None for s in plain.siblings)
    # A revision: the branch or the commit sha; anything else is unknown.
    assert files_api.model_info(TINY_CHAT, revision=REPO_COMMITS[TINY_CHAT]).sha == REPO_COMMITS[TINY_CHAT]
    with pytest.raises(RevisionNotFoundError):
        files_api.model_info(TINY_CHAT, revision="no-such-branch")


def test_list_repo_tree_and_get_paths_info(files_api: HfApi, files_hub: FakeHub) -> None:
    content = files_hub.files[TINY_CHAT]
    entries = list(files_api.list_repo_tree(TINY_CHAT, recursive=True))
    files = {e.path: e for e in entries if isinstance(e, RepoFile)}
    folders = {e.path: e for e in entries if isinstance(e, RepoFolder)}
    assert set(files) == set(content) and set(folders) == {"onnx", "original"}
    for path, entry in files.items():
        assert entry.size == len(content[path])
        if path in LFS_FILES:
            assert entry.lfs is not None and entry.lfs.sha256 == _sha256(content[path])
            assert entry.lfs.size == len(content[path])
        else:
            assert entry.lfs is None and entry.blob_id == _git_blob_sha1(content[path])
        assert entry.xet_hash is None
    top = {e.path for e in files_api.list_repo_tree(TINY_CHAT)}
    assert top == {p for p in content if "/" not in p} | {"onnx", "original"}
    (onnx,) = files_api.list_repo_tree(TINY_CHAT, path_in_repo="onnx")
    assert isinstance(onnx, RepoFile) and onnx.path == "onnx/model.onnx" and onnx.size == MiB
    expanded = [e for e in files_api.list_repo_tree(TINY_CHAT, expand=True) if isinstance(e, RepoFile)]
    assert expanded and all(e.last_commit and e.last_commit.oid == REPO_COMMITS[TINY_CHAT] for e in expanded)
    assert all(e.security is not None and e.security.safe for e in expanded)

    infos = files_api.get_paths_info(TINY_CHAT, ["config.json", "onnx", "model.safetensors", "not-there.txt"])
    assert [type(i).__name__ for i in infos] == ["RepoFile", "RepoFolder", "RepoFile"]
    config, folder, weights = infos
    assert isinstance(config, RepoFile) and config.size == len(content["config.json"])
    assert isinstance(folder, RepoFolder) and folder.tree_id == folders["onnx"].tree_id
    assert isinstance(weights, RepoFile) and weights.lfs is not None
    assert weights.lfs.sha256 == _sha256(content["model.safetensors"])
    with pytest.raises(EntryNotFoundError):
        list(files_api.list_repo_tree(TINY_CHAT, path_in_repo="no-such-folder"))


def test_hf_hub_download_gguf_and_file_metadata(files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    name = "tiny.Q4_K_M.gguf"
    data = files_hub.files[TINY_GGUF][name]
    path = hf_hub_download(TINY_GGUF, name, endpoint=files_url, cache_dir=hf_cache, token=False)
    assert Path(path).read_bytes() == data
    assert Path(path).resolve().name == _sha256(data)
    assert files_hub.range_requests == [(f"{TINY_GGUF}/{name}", None)]
    assert files_hub.hits[f"/{TINY_GGUF}/resolve/main/{name}"] == 2  # HEAD, then GET

    meta = get_hf_file_metadata(hf_hub_url(TINY_GGUF, name, endpoint=files_url), token=False)
    assert meta.commit_hash == REPO_COMMITS[TINY_GGUF] and meta.etag == _sha256(data) and meta.size == len(data)
    assert meta.xet_file_data is None  # plain HTTP, no Xet
    readme = get_hf_file_metadata(hf_hub_url(TINY_GGUF, "README.md", endpoint=files_url), token=False)
    assert readme.etag == _git_blob_sha1(files_hub.files[TINY_GGUF]["README.md"])


def test_safetensors_metadata_through_range_requests(files_api: HfApi, files_hub: FakeHub) -> None:
    gemma = files_api.get_safetensors_metadata(TINY_GEMMA)
    assert gemma.parameter_count == files_hub.model(TINY_GEMMA)["safetensors"]["parameters"]  # type: ignore[index]
    total = 0
    for shard in ("model.safetensors", "model-00002-of-00002.safetensors"):
        meta = files_api.parse_safetensors_file_metadata(TINY_CHAT, shard)
        total += sum(math.prod(t.shape) for t in meta.tensors.values())
    assert total == files_hub.model(TINY_CHAT)["safetensors"]["total"]  # type: ignore[index]
    assert (f"{TINY_CHAT}/model.safetensors", "bytes=0-100000") in files_hub.range_requests


def test_download_errors(files_api: HfApi, files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    with pytest.raises(GatedRepoError) as gated:
        hf_hub_download(GATED_MODEL, "config.json", endpoint=files_url, cache_dir=hf_cache, token=False)
    assert gated.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as gated_with_token:
        hf_hub_download(GATED_MODEL, "config.json", endpoint=files_url, cache_dir=hf_cache, token="hf_no_access")
    assert gated_with_token.value.response.status_code == 403
    with pytest.raises(GatedRepoError):
        files_api.model_info(GATED_MODEL, files_metadata=True)
    r = httpx.head(f"{files_url}/{GATED_MODEL}/resolve/main/model.safetensors")
    assert r.status_code == 401 and r.headers["X-Error-Code"] == "GatedRepo"
    body = httpx.get(f"{files_url}/api/models/{GATED_MODEL}").json()
    assert body["error"].startswith(f"Access to model {GATED_MODEL} is restricted")
    assert files_hub.downloads[f"{GATED_MODEL}/config.json"] == 0

    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(TINY_CHAT, "missing.bin", endpoint=files_url, cache_dir=hf_cache, token=False)
    # The 404 carried X-Repo-Commit, so huggingface_hub cached the file's absence for that commit.
    assert (hf_cache / "models--venom-test--tiny-chat" / ".no_exist" / REPO_COMMITS[TINY_CHAT] / "missing.bin").exists()
    with pytest.raises(RepositoryNotFoundError) as missing_repo:
        hf_hub_download("nobody/nothing", "config.json", endpoint=files_url, cache_dir=hf_cache, token=False)
    assert not isinstance(missing_repo.value, GatedRepoError)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(TINY_CHAT, "config.json", revision="v9", endpoint=files_url, cache_dir=hf_cache, token=False)
    with pytest.raises(RepositoryNotFoundError):
        list(files_api.list_repo_tree("nobody/nothing"))


def test_raw_resolve_headers_and_ranges(files_hub: FakeHub, files_url: str) -> None:
    data = files_hub.files[TINY_CHAT]["model.safetensors"]
    url = f"{files_url}/{TINY_CHAT}/resolve/main/model.safetensors"
    head = httpx.head(url)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(data) and head.headers["Accept-Ranges"] == "bytes"
    assert head.headers["ETag"] == f'"{_sha256(data)}"' == head.headers["X-Linked-Etag"]
    assert int(head.headers["X-Linked-Size"]) == len(data)
    assert head.headers["X-Repo-Commit"] == REPO_COMMITS[TINY_CHAT]
    assert not any(h.lower().startswith("x-xet") for h in head.headers) and "Link" not in head.headers
    config = httpx.head(f"{files_url}/{TINY_CHAT}/resolve/{REPO_COMMITS[TINY_CHAT]}/config.json")
    assert config.headers["ETag"] == f'"{_git_blob_sha1(files_hub.files[TINY_CHAT]["config.json"])}"'
    assert "X-Linked-Etag" not in config.headers and "X-Linked-Size" not in config.headers

    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}" and part.headers["Content-Length"] == "10"
    tail = httpx.get(url, headers={"Range": f"bytes={len(data) - 5}-"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    assert httpx.get(url, headers={"Range": "bytes=-3"}).content == data[-3:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    assert files_hub.range_requests == [
        (f"{TINY_CHAT}/model.safetensors", "bytes=10-19"),
        (f"{TINY_CHAT}/model.safetensors", f"bytes={len(data) - 5}-"),
        (f"{TINY_CHAT}/model.safetensors", "bytes=-3"),
        (f"{TINY_CHAT}/model.safetensors", f"bytes={len(data)}-"),
    ]
    assert files_hub.bytes_sent[f"{TINY_CHAT}/model.safetensors"] == 10 + 5 + 3

    missing = httpx.head(f"{files_url}/{TINY_CHAT}/resolve/main/nope.json")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
    no_repo = httpx.head(f"{files_url}/nobody/nothing/resolve/main/config.json")
    assert no_repo.status_code == 404 and no_repo.headers["X-Error-Code"] == "RepoNotFound"


# --------------------------------------------------------------------------------------------------
# download controls: cut connections, throttling, faults
# --------------------------------------------------------------------------------------------------


def test_cut_under_10_mib_restarts_from_zero(files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    """huggingface_hub 2.4 writes downloads in 10 MiB chunks: a cut before the first 10 MiB leaves nothing on
    disk, so its internal retry (same call, after 1 s) fetches the file again without a Range header."""
    key = f"{TINY_CHAT}/model.safetensors"
    data = files_hub.files[TINY_CHAT]["model.safetensors"]
    files_hub.drop_after_bytes["model.safetensors"] = 1_000_000  # a bare path matches in any repo
    path = hf_hub_download(TINY_CHAT, "model.safetensors", endpoint=files_url, cache_dir=hf_cache, token=False)
    assert Path(path).read_bytes() == data  # the call itself succeeded
    assert files_hub.drop_after_bytes == {}  # once
    assert files_hub.range_requests == [(key, None), (key, None)]
    assert files_hub.downloads[key] == 2
    assert files_hub.bytes_sent[key] == 1_000_000 + len(data) < 2 * len(data)


def test_cut_after_10_mib_resumes_with_range(files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    key = f"{TINY_GGUF}/tiny.F32.gguf"
    data = files_hub.files[TINY_GGUF]["tiny.F32.gguf"]
    assert len(data) > 10 * MiB
    files_hub.drop_after_bytes[key] = 12 * MiB
    path = hf_hub_download(TINY_GGUF, "tiny.F32.gguf", endpoint=files_url, cache_dir=hf_cache, token=False)
    assert Path(path).read_bytes() == data
    # The first 10 MiB chunk was written; the 2 MiB after it were lost with the connection.
    assert files_hub.range_requests == [(key, None), (key, f"bytes={10 * MiB}-")]
    assert files_hub.downloads[key] == 2 and files_hub.drop_after_bytes == {}
    assert files_hub.bytes_sent[key] == 12 * MiB + (len(data) - 10 * MiB) < 2 * len(data)


def test_throttle_paces_downloads(files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    files_hub.throttle_bytes_per_second = 2 * MiB
    start = time.monotonic()
    path = hf_hub_download(TINY_CHAT, "onnx/model.onnx", endpoint=files_url, cache_dir=hf_cache, token=False)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.4
    assert Path(path).read_bytes() == files_hub.files[TINY_CHAT]["onnx/model.onnx"]
    files_hub.throttle_bytes_per_second = None
    start = time.monotonic()
    hf_hub_download(TINY_CHAT, "original/consolidated.pth", endpoint=files_url, cache_dir=hf_cache, token=False)
    assert time.monotonic() - start < elapsed  # twice the bytes, unthrottled


def test_throttled_download_can_be_abandoned_mid_way(files_hub: FakeHub, files_url: str) -> None:
    key = f"{TINY_CHAT}/model.safetensors"
    files_hub.throttle_bytes_per_second = 512 * 1024
    received = 0
    with httpx.stream("GET", f"{files_url}/{TINY_CHAT}/resolve/main/model.safetensors") as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += len(chunk)
            if received >= 128 * 1024:
                break
    time.sleep(0.3)
    sent = files_hub.bytes_sent[key]
    time.sleep(0.3)
    assert files_hub.bytes_sent[key] == sent < MiB  # the server stopped when the client went away


def test_faults_apply_to_file_routes(files_hub: FakeHub, files_url: str, hf_cache: Path) -> None:
    files_hub.fault = "garbage"
    files_hub.fault_paths = {f"/{TINY_CHAT}/resolve/"}
    # 200 without X-Repo-Commit: huggingface_hub refuses it as "not a Hub endpoint".
    with pytest.raises(LocalEntryNotFoundError, match="X-Repo-Commit"):
        hf_hub_download(TINY_CHAT, "config.json", endpoint=files_url, cache_dir=hf_cache, token=False)
    assert hf_hub_download(TINY_GEMMA, "config.json", endpoint=files_url, cache_dir=hf_cache, token=False)
    files_hub.fault = "error"
    assert httpx.get(f"{files_url}/{TINY_CHAT}/resolve/main/config.json").status_code == 500
    files_hub.fault = "slow"
    files_hub.slow_seconds = 0.3
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.head(f"{files_url}/{TINY_CHAT}/resolve/main/config.json", timeout=0.05)
    finally:
        files_hub.slow_seconds = 5.0


def test_reset_clears_download_controls(files_hub: FakeHub, files_url: str) -> None:
    httpx.get(f"{files_url}/{TINY_CHAT}/resolve/main/config.json", headers={"Range": "bytes=0-1"})
    files_hub.throttle_bytes_per_second = 1.0
    files_hub.drop_after_bytes["x"] = 1
    assert files_hub.range_requests and files_hub.downloads and files_hub.bytes_sent
    files_hub.reset()
    assert files_hub.throttle_bytes_per_second is None and files_hub.drop_after_bytes == {}
    assert files_hub.range_requests == [] and not files_hub.downloads and not files_hub.bytes_sent
    assert files_hub.hits == {} and files_hub.files[TINY_CHAT]  # content stays


def test_concurrent_snapshot_downloads_share_the_server(files_hub: FakeHub, files_url: str, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def fetch(index: int) -> None:
        try:
            snapshot_download(TINY_GEMMA, endpoint=files_url, cache_dir=tmp_path / str(index), token=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert files_hub.downloads[f"{TINY_GEMMA}/model.safetensors"] == 3
    for i in range(3):
        snapshot = tmp_path / str(i) / "models--venom-test--tiny-gemma" / "snapshots" / REPO_COMMITS[TINY_GEMMA]
        assert {p.name for p in snapshot.iterdir()} == set(files_hub.files[TINY_GEMMA])
        assert os.path.getsize(snapshot / "model.safetensors") == len(files_hub.files[TINY_GEMMA]["model.safetensors"])
