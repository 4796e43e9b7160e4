"""Time to first token through the OpenAI-compatible gateway, against the same llama.cpp server called directly.

    python bench/gateway.py [--runs 40] [--check]

`venom-mcp serve --transport http` runs in its own process; it installs a tiny generated GGUF model and starts
llama-cpp-python's server on it (activate_model, over the REST API). Then the same streamed chat is sent in turn
through the gateway (`/v1/chat/completions`), straight to the server, and through a bare pass-through proxy
(Starlette + httpx relaying the bytes, in its own process: what one Python HTTP hop costs by itself), all with
`openai.AsyncOpenAI`. The time to the first chunk that carries text is taken after a few warm-up rounds, and the
medians are compared. Target: the gateway under 1.05 times the direct call.

The same run then repeats the measurement against the fake OpenAI server in its own process, writing a piece every
`--delay` seconds (default 0.1: the first token of a small real model on a CPU takes 50 to 300 ms; the tiny
generated model answers in about 5 ms, less than one Python HTTP hop costs, so no proxy can stay within 5 % of it).
`--fake` measures only that second case (also when llama-cpp-python is not installed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from tests.fakes.hub import FakeHub, seed_files  # noqa: E402
from tests.fakes.live import LiveServer, free_port, have_llamacpp_server  # noqa: E402
from tests.fakes.tiny_gguf import write_tiny_llama  # noqa: E402

REPO = "venom-bench/tiny-GGUF"
MODEL = f"{REPO}:Q8_0"
COMMAND = (f"{sys.executable} -m llama_cpp.server --model {{model_path}} --model_alias {{served_model_name}} "
           "--host {host} --port {port} --n_ctx 512 --interrupt_requests False")
PROMPT = ("You are a helpful assistant. Answer in one short paragraph. Question: what makes the sky look blue on a "
          "clear day, and why does it turn red and orange at sunset?")
FAKE_SERVER = """
import sys
sys.path.insert(0, {root!r})
from tests.fakes.live import LiveServer
from tests.fakes.openai_server import FakeOpenAI
fake = FakeOpenAI(models=["gpt-4o-mini"], token_delay={delay})
with LiveServer(fake.app) as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""
BARE_PROXY = """
import sys
import httpx, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

upstream, port = sys.argv[1], int(sys.argv[2])
client = httpx.AsyncClient(timeout=120)

async def chat(request):
    sent = client.build_request("POST", upstream + "/chat/completions", content=await request.body(),
                                headers={"content-type": "application/json", "authorization": "Bearer none"})
    response = await client.send(sent, stream=True)

    async def relay():
        try:
            async for piece in response.aiter_raw():
                yield piece
        finally:
            await response.aclose()

    return StreamingResponse(relay(), media_type="text/event-stream")

async def health(request):
    return Response("ok")

app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/health", health)])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


async def first_token(client: AsyncOpenAI, model: str, tokens: int, prompt: str) -> float:
    """Seconds from sending the request to the first chunk with text; the stream is read to its end."""
    started = time.perf_counter()
    first = None
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=tokens, temperature=0, stream=True)
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    if first is None:
        raise RuntimeError(f"{model} streamed no text")
    return first


async def measure(paths: dict[str, Callable[[], Awaitable[float]]], runs: int,
                  warmup: int) -> dict[str, list[float]]:
    """Each round asks every path once, in turn, so that machine noise hits them alike; each request follows one of
    another path, so each server has finished what it does after a stream (venom-mcp: the ledger line, written with
    fsync) before its next request comes."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for n in range(runs + warmup):
        for name, path in paths.items():
            took = await path()
            if n >= warmup:
                times[name].append(took)
    return times


async def wait_served(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(int(seconds * 10)):
            try:
                if (await http.get(url + "/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing came up at {url}")


async def install_and_activate(url: str, runtime: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        operation = (await http.post("/api/v1/models/registry/install",
                                     json={"name": MODEL, "provider": "hf"})).json()["operation_id"]
        for _ in range(1200):
            status = (await http.get(f"/api/v1/models/operations/{operation}")).json()["operation"]
            if status["status"] not in ("pending", "in_progress"):
                break
            await asyncio.sleep(0.1)
        if status["status"] != "completed":
            raise RuntimeError(f"the install failed: {status}")
        active = await http.post("/api/v1/models/activate", json={"name": MODEL, "runtime": runtime})
        if active.status_code != 200:
            raise RuntimeError(f"the activation failed: {active.text}")


async def run(urls: dict[str, str], model: str, fake: bool, runs: int, tokens: int,
              prompt: str) -> dict[str, list[float]]:
    """Set the runtime up through venom-mcp, then time every path."""
    for url in (urls["gateway"], urls["bare proxy"]):
        await wait_served(url.removesuffix("/v1"))
    if fake:
        async with httpx.AsyncClient(base_url=urls["gateway"].removesuffix("/v1"), timeout=30) as http:
            await http.post("/api/v1/system/llm-runtime/active", json={"provider": "openai", "model": model})
    else:
        await install_and_activate(urls["gateway"].removesuffix("/v1"), "llamacpp")
    clients = {name: AsyncOpenAI(base_url=url, api_key="none", max_retries=0) for name, url in urls.items()}
    try:
        return await measure({name: (lambda c=c: first_token(c, model, tokens, prompt))
                              for name, c in clients.items()}, runs, warmup=5)
    finally:
        for c in clients.values():
            await c.close()


def main(runs: int, tokens: int, repeat: int, fake: bool, delay: float, check: bool) -> int:
    prompt = " ".join([PROMPT] * repeat)
    with tempfile.TemporaryDirectory() as home:
        files = seed_files()
        files[REPO] = {"tiny.Q8_0.gguf": write_tiny_llama(Path(home) / "tiny.gguf").read_bytes()}
        port, bare_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VENOM_", "HF_", "OLLAMA_", "OPENAI_"))}
        env.update(VENOM_HOME=str(Path(home) / "venom"), VENOM_RUNTIME_PROFILE="full")
        fake_server = None
        if fake:  # in its own process, so that it shares the GIL with neither side
            fake_server = subprocess.Popen([sys.executable, "-c", FAKE_SERVER.format(root=str(ROOT), delay=delay)],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert fake_server.stdout is not None
            endpoint, model = fake_server.stdout.readline().strip() + "/v1", "gpt-4o-mini"
            env.update(OPENAI_BASE_URL=endpoint, OPENAI_API_KEY="sk-bench-0000")  # the fake stands in for OpenAI
        else:
            endpoint, model = f"http://127.0.0.1:{free_port()}/v1", MODEL
            env.update(LLAMACPP_ENDPOINT=endpoint, VENOM_LLAMACPP_COMMAND=COMMAND)
        urls = {"gateway": f"http://127.0.0.1:{port}/v1", "direct": endpoint,
                "bare proxy": f"http://127.0.0.1:{bare_port}/v1"}
        with LiveServer(FakeHub(files=files).app) as hub:
            env.update(HF_ENDPOINT=hub.url)
            serve = subprocess.Popen([sys.executable, "-m", "venom_mcp", "serve", "--transport", "http", "--port",
                                      str(port)], env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            bare = subprocess.Popen([sys.executable, "-c", BARE_PROXY, endpoint, str(bare_port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                times = asyncio.run(run(urls, model, fake, runs, tokens, prompt))
            finally:
                if not fake:  # the llama.cpp server venom-mcp started
                    subprocess.run([sys.executable, "-m", "venom_mcp", "call", "control_runtime", "server=llamacpp",
                                    "action=stop"], env=env, cwd=str(ROOT), capture_output=True, check=False)
                for process in (serve, bare):
                    process.terminate()
                    process.wait(10)
                if fake_server is not None:
                    fake_server.communicate("", timeout=10)
    runtime = f"fake OpenAI server, {delay * 1000:g} ms a piece" if fake else "llama.cpp (tiny GGUF)"
    return report(times, f"{runtime}, a prompt of {len(prompt.split())} words", check)


def report(times: dict[str, list[float]], runtime: str, check: bool) -> int:
    direct, through, bare = (statistics.median(times[name]) for name in ("direct", "gateway", "bare proxy"))
    ratio = through / direct
    print(f"time to first token, {runtime}, median of {len(times['gateway'])} streamed chats each (interleaved):")
    print(f"  direct to the runtime (openai client)   {direct * 1000:7.2f} ms")
    print(f"  through the venom-mcp gateway (/v1)     {through * 1000:7.2f} ms   ratio {ratio:.3f} (target < 1.05)")
    print(f"  through a bare pass-through proxy       {bare * 1000:7.2f} ms   ratio {bare / direct:.3f} (one Python "
          "HTTP hop, nothing else)")
    print(f"  the gateway's share: {(through - direct) * 1000:+.2f} ms, of which beyond a bare hop "
          f"{(through - bare) * 1000:+.2f} ms")
    ok = ratio < 1.05
    print("target met" if ok else "target MISSED")
    return 0 if ok or not check else 1


def parse() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=16, help="max_tokens of each chat")
    parser.add_argument("--repeat", type=int, default=1, help="the prompt is the question this many times")
    parser.add_argument("--fake", action="store_true", help="the fake OpenAI server instead of llama.cpp")
    parser.add_argument("--delay", type=float, default=0.1, help="the fake runtime's seconds per piece")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    return {"runs": args.runs, "tokens": args.tokens, "repeat": args.repeat,
            "fake": args.fake or not have_llamacpp_server(), "delay": args.delay, "check": args.check}


def both(runs: int, tokens: int, repeat: int, fake: bool, delay: float, check: bool) -> int:
    """The tiny llama.cpp model, then the fake runtime at a real model's pace; the exit status is the fake's (the
    tiny model's first token comes sooner than any HTTP hop can add nothing to it)."""
    if not fake:
        main(runs, tokens, repeat, False, delay, check=False)
        print()
    return main(runs, tokens, repeat, True, delay, check)


if __name__ == "__main__":
    raise SystemExit(both(**parse()))
