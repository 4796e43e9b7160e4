"""The latency Ray Serve adds to a chat, against the same llama.cpp model called directly.

    python bench/ray.py [--runs 40] [--tokens 16,256] [--check]

One run starts an isolated local Ray cluster (tests/ray_cluster.py: `ray start --head` with its own temp dir and
ports, stopped by its own pids), installs a tiny generated GGUF model from a fake Hub and activates it on the `ray`
runtime through venom-mcp (one replica, one CPU: venom-mcp's llama.cpp deployment). The baseline is llama-cpp-python's
own OpenAI-compatible server on the same file, with the same context and one thread, in its own process. The same
chat (greedy, so both paths generate the same tokens) is then sent in turn to each, with `openai.AsyncOpenAI`, after
a few warm-up rounds, and the medians of the whole request are compared: Serve's HTTP proxy, its router and the
replica's ingress against one HTTP server. Target: under 1.10 times the direct call at the median.

Serve adds a fixed few milliseconds a request (an HTTP proxy and an actor call before the replica), so the ratio
depends on how long the model takes: the default run measures a short answer (16 tokens: the tiny model needs about
6 ms) and a longer one (256 tokens, about 80 ms) with the same cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from tests.fakes.hub import FakeHub, seed_files  # noqa: E402
from tests.fakes.live import LiveServer, free_port  # noqa: E402
from tests.fakes.tiny_gguf import write_tiny_llama  # noqa: E402
from tests.ray_cluster import RayCluster  # noqa: E402
from venom_mcp.adapters.ray import serve_url  # noqa: E402
from venom_mcp.app import App  # noqa: E402

REPO = "venom-bench/tiny-GGUF"
MODEL = f"{REPO}:Q8_0"
N_CTX = 2048  # the ray deployment's default context (app_config.DEFAULT_CONTEXT)
# Every sampling setting named, so that both servers (whose defaults differ) generate the same tokens.
SAMPLING = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
PROMPT = ("You are a helpful assistant. Answer in one short paragraph. Question: what makes the sky look blue on a "
          "clear day, and why does it turn red and orange at sunset?")


async def one_chat(client: AsyncOpenAI, tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    answer = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], max_tokens=tokens, temperature=0, seed=1,
        top_p=1.0, extra_body=SAMPLING)
    took = time.perf_counter() - started
    return took, answer.usage.completion_tokens if answer.usage else 0


async def measure(clients: dict[str, AsyncOpenAI], runs: int, tokens: int,
                  warmup: int = 5) -> tuple[dict[str, list[float]], dict[str, set[int]]]:
    """Each round asks every path once, in turn, so that machine noise hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in clients}
    generated: dict[str, set[int]] = {name: set() for name in clients}
    for n in range(runs + warmup):
        for name, client in clients.items():
            took, count = await one_chat(client, tokens)
            if n >= warmup:
                times[name].append(took)
                generated[name].add(count)
    return times, generated


async def wait_models(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url + "/models")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"nothing came up at {url}")


Measured = dict[int, tuple[dict[str, list[float]], dict[str, set[int]]]]


async def run(cluster: RayCluster, hub_url: str, home: Path, runs: int, lengths: list[int]) -> Measured:
    settings = make_settings(home, hub_url, "http://127.0.0.1:9", runtime_profile="full",
                             ray_address=cluster.address, ray_serve_endpoint=cluster.serve_endpoint,
                             start_timeout_seconds=300, http_timeout_seconds=10)
    app = App(settings)
    direct: asyncio.subprocess.Process | None = None
    try:
        operation = await app.registry.install(MODEL, "huggingface")
        done = await app.operations.wait(operation.operation_id)
        if done.status != "completed":
            raise RuntimeError(f"the install failed: {done.error}")
        await app.model_config.config(MODEL, {"num_replicas": 1, "num_cpus": 1, "context_length": N_CTX})
        await app.runtimes.activate(MODEL, "ray")
        path = app.registry.find(MODEL).local_path or ""
        port = free_port()
        direct = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "llama_cpp.server", "--model", path, "--model_alias", MODEL, "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", "1", "--interrupt_requests", "False",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        urls = {"direct": f"http://127.0.0.1:{port}/v1", "ray serve": serve_url(cluster.serve_endpoint, MODEL)}
        await wait_models(urls["direct"])
        clients = {name: AsyncOpenAI(base_url=url, api_key="none", max_retries=0, timeout=120)
                   for name, url in urls.items()}
        try:
            return {tokens: await measure(clients, runs, tokens) for tokens in lengths}
        finally:
            for client in clients.values():
                await client.close()
    finally:
        if direct is not None:
            direct.terminate()
            await asyncio.wait_for(direct.wait(), 10)
        await app.runtimes.unload("ray")
        await app.aclose()


def main(runs: int, lengths: list[int], check: bool) -> int:
    with tempfile.TemporaryDirectory() as folder:
        files = seed_files()
        files[REPO] = {"tiny.Q8_0.gguf": write_tiny_llama(Path(folder) / "tiny.gguf").read_bytes()}
        cluster = RayCluster(num_cpus=2).start()
        try:
            with LiveServer(FakeHub(files=files).app) as hub:
                measured = asyncio.run(run(cluster, hub.url, Path(folder) / "venom", runs, lengths))
        finally:
            cluster.stop()
    missed = 0
    for tokens, (times, generated) in measured.items():
        direct, ray = statistics.median(times["direct"]), statistics.median(times["ray serve"])
        ratio = ray / direct
        missed += ratio >= 1.10
        print(f"whole chat, max_tokens={tokens}, greedy (tokens generated: direct {sorted(generated['direct'])}, "
              f"ray {sorted(generated['ray serve'])}), median of {runs} each, interleaved:")
        print(f"  llama.cpp called directly (llama_cpp.server, 1 thread)   {direct * 1000:8.2f} ms")
        print(f"  the same model through Ray Serve (1 replica, 1 CPU)      {ray * 1000:8.2f} ms   ratio {ratio:.3f} "
              f"(target < 1.10: {'met' if ratio < 1.10 else 'MISSED'})")
        print(f"  added by Ray Serve at the median: {(ray - direct) * 1000:+.2f} ms")
    return 1 if missed and check else 0


def parse() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tokens", default="16,256", help="max_tokens of each chat; several, comma-separated")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    return {"runs": args.runs, "lengths": [int(t) for t in args.tokens.split(",")], "check": args.check}


if __name__ == "__main__":
    raise SystemExit(main(**parse()))
