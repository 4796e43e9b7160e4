"""Time to first token through the OpenAI-compatible gateway, against the same llama.cpp server called directly.

    python bench/gateway.py [--runs 40] [--check]

`venom-mcp serve --transport http` runs in its own process; it installs a tiny generated GGUF model and starts
llama-cpp-python's server on it (activate_model, over the REST API). Then the same streamed chat is sent alternately
through the gateway (`/v1/chat/completions`) and straight to the server, both with `openai.AsyncOpenAI`; the time to
the first chunk that carries text is taken, after a few warm-up rounds, and the medians are compared.
Target: the gateway's median under 1.05 times the direct one. Without llama-cpp-python (`--fake`, or when it is not
installed) the runtime is the fake OpenAI server in its own process, writing one piece every `--delay` seconds.
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


async def first_token(client: AsyncOpenAI, model: str, tokens: int, prompt: str = PROMPT) -> float:
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


async def measure(through: Callable[[], Awaitable[float]], direct: Callable[[], Awaitable[float]], runs: int,
                  warmup: int) -> tuple[list[float], list[float]]:
    ours, base = [], []
    for n in range(runs + warmup):
        # Strictly alternating: each request follows one of the other path, so each server has finished what it
        # does after a stream (venom-mcp: the ledger line, written with fsync) before its next request comes.
        gateway, runtime = await through(), await direct()
        if n >= warmup:
            ours.append(gateway)
            base.append(runtime)
    return ours, base


async def wait_served(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(url + "/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"venom-mcp did not come up at {url}")
            await asyncio.sleep(0.1)


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


async def run(url: str, endpoint: str, model: str, fake: bool, runs: int, tokens: int,
              prompt: str) -> tuple[list[float], list[float]]:
    """Set the runtime up through venom-mcp, then time both paths."""
    await wait_served(url)
    if fake:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await http.post("/api/v1/system/llm-runtime/active", json={"provider": "openai", "model": model})
    else:
        await install_and_activate(url, "llamacpp")
    gateway = AsyncOpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
    direct = AsyncOpenAI(base_url=endpoint, api_key="none", max_retries=0)
    try:
        return await measure(lambda: first_token(gateway, model, tokens, prompt),
                             lambda: first_token(direct, model, tokens, prompt), runs, warmup=5)
    finally:
        await gateway.close()
        await direct.close()


def main(runs: int, tokens: int, repeat: int, fake: bool, delay: float, check: bool) -> int:
    prompt = " ".join([PROMPT] * repeat)
    with tempfile.TemporaryDirectory() as home:
        files = seed_files()
        files[REPO] = {"tiny.Q8_0.gguf": write_tiny_llama(Path(home) / "tiny.gguf").read_bytes()}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
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
        with LiveServer(FakeHub(files=files).app) as hub:
            env.update(HF_ENDPOINT=hub.url)
            serve = subprocess.Popen([sys.executable, "-m", "venom_mcp", "serve", "--transport", "http", "--port",
                                      str(port)], env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            try:
                ours, base = asyncio.run(run(url, endpoint, model, fake, runs, tokens, prompt))
            finally:
                if not fake:  # the llama.cpp server venom-mcp started
                    subprocess.run([sys.executable, "-m", "venom_mcp", "call", "control_runtime", "server=llamacpp",
                                    "action=stop"], env=env, cwd=str(ROOT), capture_output=True, check=False)
                serve.terminate()
                serve.wait(10)
                if fake_server is not None:
                    fake_server.communicate("", timeout=10)
    runtime = f"fake OpenAI server, {delay * 1000:g} ms a piece" if fake else "llama.cpp (tiny GGUF)"
    return report(ours, base, f"{runtime}, a prompt of {len(prompt.split())} words", check)


def report(ours: list[float], base: list[float], runtime: str, check: bool) -> int:
    direct, through = statistics.median(base), statistics.median(ours)
    ratio = through / direct
    print(f"time to first token, {runtime}, median of {len(ours)} streamed chats each (interleaved):")
    print(f"  direct to the runtime (openai client)   {direct * 1000:7.2f} ms")
    print(f"  through the venom-mcp gateway (/v1)     {through * 1000:7.2f} ms   ratio {ratio:.3f} (target < 1.05)")
    print(f"  the gateway's share: {(through - direct) * 1000:+.2f} ms at the median")
    ok = ratio < 1.05
    print("target met" if ok else "target MISSED")
    return 0 if ok or not check else 1


def parse() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=16, help="max_tokens of each chat")
    parser.add_argument("--repeat", type=int, default=1, help="the prompt is the question this many times")
    parser.add_argument("--fake", action="store_true", help="the fake OpenAI server instead of llama.cpp")
    parser.add_argument("--delay", type=float, default=0.05, help="the fake's seconds per piece (--fake)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    return {"runs": args.runs, "tokens": args.tokens, "repeat": args.repeat,
            "fake": args.fake or not have_llamacpp_server(),
            "delay": args.delay, "check": args.check}


if __name__ == "__main__":
    raise SystemExit(main(**parse()))
