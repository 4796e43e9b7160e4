"""check_fit against what llama.cpp itself reports: the real server (llama-cpp-python, its verbose log on stderr) loads
the generated models at two context lengths, and its model buffer, KV cache and compute buffer sizes are compared
with the estimate check_fit makes from the same file's header, read from a fake Hub with Range requests.

Skipped where `llama_cpp` (`pip install "llama-cpp-python[server]"`) or `gguf` is not installed.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.live import have_llamacpp_server

if not have_llamacpp_server():  # found without importing llama_cpp, which leaks two open files
    pytest.skip("llama-cpp-python[server] and gguf are not installed", allow_module_level=True)

from tests.conftest import make_settings
from tests.fakes.hub import FakeHub
from tests.fakes.live import LiveServer, free_port
from tests.fakes.tiny_gguf import write_tiny_llama
from tests.test_fit import refit, write_gqa_model
from venom_mcp.app import App
from venom_mcp.records import Fit

GQA = "venom-test/gqa-GGUF"
TINY = "venom-test/tiny-llama-GGUF"
READY_DEADLINE_S = 60.0
MIB = 2**20
_SIZE = r"\s*=\s+([\d.]+) MiB"


def llama_cpp_report(model: Path, context: int, log: Path) -> dict[str, float]:
    """Start llama_cpp.server on `model` with `--n_ctx context`, wait until it serves, and read its buffers (MiB)."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "m",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            raise TimeoutError(f"llama_cpp.server not ready:\n{log.read_text(errors='replace')[-3000:]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    text = log.read_text(errors="replace")

    def total(pattern: str) -> float:
        return sum(float(v) for v in re.findall(pattern + _SIZE, text))

    kv = re.search(r"llama_kv_cache: size =\s+([\d.]+) MiB", text)
    assert kv is not None, text[-3000:]
    return {"weights": total(r"model buffer size"), "kv": float(kv.group(1)),
            "compute": total(r"compute buffer size"), "n_ctx": float(re.findall(r"n_ctx\s+= (\d+)", text)[0])}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Path], str]]:
    folder = tmp_path_factory.mktemp("fit-llamacpp")
    paths = {GQA: write_gqa_model(folder / "gqa-Q8_0.gguf"), TINY: write_tiny_llama(folder / "tiny-F16.gguf")}
    hub = FakeHub(files={GQA: {"README.md": b"gqa", "gqa-Q8_0.gguf": paths[GQA].read_bytes()},
                         TINY: {"README.md": b"tiny", "tiny-F16.gguf": paths[TINY].read_bytes()}})
    with LiveServer(hub.app) as server:
        yield paths, server.url


@pytest.mark.parametrize(("repo", "context"), [(GQA, 512), (GQA, 4096), (TINY, 2048)])
def test_estimate_within_ten_percent_of_llama_cpp(
        models: tuple[dict[str, Path], str], repo: str, context: int, tmp_path: Path, home: Path,
        library_url: str, ollama_url: str) -> None:
    paths, hub_url = models
    async def estimate_fit() -> Fit:
        app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full"))
        refit(app)
        try:
            return await app.fit.check(repo, runtime="llamacpp", context_length=context)
        finally:
            await app.aclose()

    fit = asyncio.run(estimate_fit())  # a plain test: the parameters and asyncio's own loop, no async fixture
    reported = llama_cpp_report(paths[repo], context, tmp_path / "llama.log")
    assert reported["n_ctx"] == context
    estimate = {"weights": fit.weights_gb * 1e9 / MIB, "kv": fit.kv_cache_gb * 1e9 / MIB,
                "compute": fit.overhead_gb * 1e9 / MIB}  # no GPU in the probe: the overhead is the compute buffer
    print(f"\n[fit vs llama.cpp] {repo} n_ctx={context}: " + ", ".join(
        f"{k} {estimate[k]:.2f} vs {reported[k]:.2f} MiB ({(estimate[k] / reported[k] - 1) * 100:+.1f} %)"
        for k in ("weights", "kv", "compute")))
    for key in ("weights", "kv", "compute"):
        # the log prints two decimals of MiB: allow that rounding besides the 10 %
        assert abs(estimate[key] - reported[key]) <= 0.10 * reported[key] + 0.005, (key, estimate, reported)
