"""`chat` overhead of venom-mcp over calling the same llama.cpp server directly with the `openai` client.

    python bench/runtime.py [--calls 60] [--check]

`venom-mcp serve` (stdio) installs a tiny generated GGUF model and starts llama-cpp-python's server on it with
activate_model; then the same 8-token chat is sent alternately through venom-mcp's `chat` tool (a bare JSON-RPC
client on the pipes) and straight to the server with `openai.AsyncOpenAI`. Target: under 10 % at the median.
It also times a bare FastMCP echo over stdio, to show how much of the difference is the MCP transport itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openai import AsyncOpenAI  # noqa: E402

from bench.jsonrpc import StdioRpc  # noqa: E402
from tests.fakes.hub import FakeHub, seed_files  # noqa: E402
from tests.fakes.live import LiveServer, free_port  # noqa: E402
from tests.fakes.tiny_gguf import write_tiny_llama  # noqa: E402

REPO = "venom-bench/tiny-GGUF"
MODEL = f"{REPO}:Q8_0"
COMMAND = (f"{sys.executable} -m llama_cpp.server --model {{model_path}} --model_alias {{served_model_name}} "
           "--host {host} --port {port} --n_ctx 512 --interrupt_requests False")



async def bare_echo(calls: int) -> float:
    """The MCP stdio round trip of a bare FastMCP server with one echo tool: the transport's own share."""
    rpc = await StdioRpc.spawn([sys.executable, str(ROOT / "bench" / "bare_server.py")], dict(os.environ))
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await rpc.tool("echo", {"text": "hi"})
        times.append(time.perf_counter() - started)
    await rpc.close()
    return statistics.median(times)


async def main(calls: int, tokens: int, check: bool) -> int:
    with tempfile.TemporaryDirectory() as home:
        files = seed_files()
        files[REPO] = {"tiny.Q8_0.gguf": write_tiny_llama(Path(home) / "tiny.gguf").read_bytes()}
        with LiveServer(FakeHub(files=files).app) as hub:
            endpoint = f"http://127.0.0.1:{free_port()}/v1"
            env = {k: v for k, v in os.environ.items() if not k.startswith(("VENOM_", "HF_", "OLLAMA_"))}
            env.update(VENOM_HOME=str(Path(home) / "venom"), HF_ENDPOINT=hub.url, VENOM_RUNTIME_PROFILE="full",
                       LLAMACPP_ENDPOINT=endpoint, VENOM_LLAMACPP_COMMAND=COMMAND)
            rpc = await StdioRpc.spawn([sys.executable, "-m", "venom_mcp", "serve"], env, str(ROOT))
            direct = AsyncOpenAI(base_url=endpoint, api_key="none", max_retries=0)
            try:
                await rpc.tool("install_model", {"name": MODEL, "provider": "hf", "wait": True})
                await rpc.tool("activate_model", {"name": MODEL, "runtime": "llamacpp"})
                prompt = {"prompt": "Say something", "max_tokens": tokens, "temperature": 0}
                messages = [{"role": "user", "content": "Say something"}]
                venom_times, direct_times, inner_times = [], [], []
                for n in range(calls + 5):
                    started = time.perf_counter()
                    result = await rpc.tool("chat", prompt)
                    through = time.perf_counter() - started
                    started = time.perf_counter()
                    await direct.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                                         max_tokens=tokens, temperature=0)
                    straight = time.perf_counter() - started
                    if n >= 5:  # the first calls warm both paths up
                        venom_times.append(through)
                        direct_times.append(straight)
                        inner_times.append(result["structuredContent"]["latency_ms"] / 1000)
            finally:
                await direct.close()
                await rpc.tool("control_runtime", {"server": "llamacpp", "action": "stop", "confirm": True})
                await rpc.close()
    transport = await bare_echo(calls)
    base, ours = statistics.median(direct_times), statistics.median(venom_times)
    overhead = ours / base - 1
    print(f"chat ({tokens} tokens)  openai client direct {base * 1000:7.2f} ms   via venom-mcp (stdio) "
          f"{ours * 1000:7.2f} ms   overhead {overhead * 100:+.1f} % (target < 10 %)")
    inner = statistics.median(inner_times)
    print(f"  inside venom-mcp the request to llama.cpp took {inner * 1000:.2f} ms (latency_ms); the MCP hop and "
          f"venom-mcp's handling {(ours - inner) * 1000:.2f} ms; "
          f"a bare FastMCP echo over stdio: {transport * 1000:.2f} ms")
    ok = overhead < 0.10
    print("target met" if ok else "target MISSED")
    return 0 if ok or not check else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=64, help="max_tokens of each chat")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.calls, args.tokens, args.check)))
