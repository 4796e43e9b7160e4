"""Install throughput and progress-relay overhead, each against a baseline measured in the same run.

    python bench/install.py [--mib 256] [--runs 3] [--check]

1. Hugging Face: venom-mcp's install (plan, quota, download with progress, sha256 verify, manifest) of a GGUF
   file from the fake Hub on loopback, as a throughput ratio to `huggingface_hub.snapshot_download` of the
   same file into a fresh cache. Target >= 0.9.
2. Ollama: an install through MCP with wait=true (every NDJSON line parsed, summed per layer, relayed as MCP
   progress) against consuming the same pull stream with the official `ollama` client. Target < 5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp.shared.memory import create_connected_server_and_client_session  # noqa: E402

from tests.fakes.hub import TINY_GGUF  # noqa: E402
from venom_mcp.app import App  # noqa: E402
from venom_mcp.config import Settings  # noqa: E402
from venom_mcp.server import build_server  # noqa: E402

FILE = "tiny.Q4_K_M.gguf"


def settings(home: str, hub_url: str, ollama_url: str) -> Settings:
    return Settings(_env_file=None, venom_home=Path(home), hf_endpoint=hub_url, ollama_host=ollama_url,
                    hf_token=None, models_max_disk_gb=1000)  # type: ignore[call-arg]


async def venom_install(hub_url: str, ollama_url: str) -> float:
    with tempfile.TemporaryDirectory() as home:
        app = App(settings(home, hub_url, ollama_url))
        try:
            started = time.perf_counter()
            op = await app.registry.install(f"{TINY_GGUF}:Q4_K_M", "huggingface")
            done = await app.operations.wait(op.operation_id)
            elapsed = time.perf_counter() - started
            assert done.status == "completed", done.error
            return elapsed
        finally:
            await app.aclose()


def baseline_download(hub_url: str) -> float:
    from huggingface_hub import snapshot_download

    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        snapshot_download(TINY_GGUF, cache_dir=cache, endpoint=hub_url, token=False, allow_patterns=[FILE])
        return time.perf_counter() - started


class Servers:
    """bench/fake_servers.py in a child process: the fakes do not compete with the measured client for the GIL."""

    def __init__(self, mib: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "fake_servers.py"), "--mib", str(mib)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        fields = dict(part.split("=", 1) for part in self.proc.stdout.readline().split())
        self.hub_url, self.ollama_url = fields["hub"], fields["ollama"]

    def reset(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("reset\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


async def venom_pull(servers: Servers, hub_url: str, ollama_url: str) -> float:
    servers.reset()
    with tempfile.TemporaryDirectory() as home:
        app = App(settings(home, hub_url, ollama_url))
        notifications = 0

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            nonlocal notifications
            notifications += 1

        try:
            async with create_connected_server_and_client_session(build_server(app)) as client:
                started = time.perf_counter()
                result = await client.call_tool(
                    "install_model", {"name": "llama3.2:1b", "provider": "ollama", "wait": True},
                    progress_callback=on_progress,
                )
                elapsed = time.perf_counter() - started
        finally:
            await app.aclose()
        assert not result.isError, result.content
        return elapsed


def baseline_pull(servers: Servers, ollama_url: str) -> float:
    import ollama as official

    servers.reset()
    client = official.Client(host=ollama_url)
    started = time.perf_counter()
    for _ in client.pull("llama3.2:1b", stream=True):
        pass
    return time.perf_counter() - started


async def main(mib: int, runs: int, check: bool) -> int:
    servers = Servers(mib)
    try:
        hub_url, ollama_url = servers.hub_url, servers.ollama_url
        await venom_install(hub_url, ollama_url)  # warm-up: imports and the OS file cache, not measured
        venom_times, base_times = [], []
        for _ in range(runs):
            base_times.append(await asyncio.to_thread(baseline_download, hub_url))
            venom_times.append(await venom_install(hub_url, ollama_url))
        pull_venom, pull_base = [], []
        for _ in range(runs):
            pull_base.append(await asyncio.to_thread(baseline_pull, servers, ollama_url))
            pull_venom.append(await venom_pull(servers, hub_url, ollama_url))
    finally:
        servers.close()
    size_mb = mib * 1.048576
    base_mbs, venom_mbs = size_mb / statistics.median(base_times), size_mb / statistics.median(venom_times)
    ratio = venom_mbs / base_mbs
    overhead = statistics.median(pull_venom) / statistics.median(pull_base) - 1
    print(f"HF install    snapshot_download {base_mbs:7.1f} MB/s   venom-mcp {venom_mbs:7.1f} MB/s   "
          f"ratio {ratio:.2f} (target >= 0.9; venom also hashes the file with sha256)")
    print(f"Ollama pull   ollama client {statistics.median(pull_base):.3f} s   venom-mcp via MCP "
          f"{statistics.median(pull_venom):.3f} s   relay overhead {overhead * 100:+.1f} % (target < 5 %)")
    ok = ratio >= 0.9 and overhead < 0.05
    print("targets met" if ok else "targets MISSED")
    return 0 if ok or not check else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the downloaded file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.mib, args.runs, args.check)))
