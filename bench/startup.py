"""Stdio cold start and cached tools/call round trip of venom-mcp, as ratios to a bare FastMCP server.

    python bench/startup.py [--runs 7] [--calls 200] [--check]

Both servers are measured in the same run, alternating, so machine noise hits both alike.
Targets (issue 2): cold start within 1.5x, round trip of a cached trending_models within 1.3x.

The round trip is timed with a plain JSON-RPC client over the pipes (one request line out, one response
line back), which measures the servers. It is also timed with the Python SDK's ClientSession, for
information: that client re-validates every structured result with `jsonschema.validate`, whose cost
grows with the schema and the payload, so there it measures the client as much as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.hub import FakeHub  # noqa: E402
from tests.fakes.live import LiveServer  # noqa: E402


def params(kind: str, env: dict[str, str]) -> StdioServerParameters:
    args = [str(ROOT / "bench" / "bare_server.py")] if kind == "bare" else ["-m", "venom_mcp", "serve"]
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(ROOT))


async def cold_start(p: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with stdio_client(p) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        elapsed = time.perf_counter() - started
    return elapsed


async def round_trips(p: StdioServerParameters, tool: str, arguments: dict[str, Any], calls: int) -> float:
    async with stdio_client(p) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        first = await session.call_tool(tool, arguments)  # warms the cache (venom) and imports
        assert not first.isError, first.content
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            result = await session.call_tool(tool, arguments)
            times.append(time.perf_counter() - started)
            assert not result.isError
    return statistics.median(times)


async def raw_round_trips(p: StdioServerParameters, tool: str, arguments: dict[str, Any], calls: int) -> float:
    proc = await asyncio.create_subprocess_exec(
        p.command, *p.args, env=p.env, cwd=p.cwd, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    async def request(message: dict[str, Any]) -> dict[str, Any]:
        stdin.write((json.dumps(message) + "\n").encode())
        await stdin.drain()
        while True:
            reply = json.loads(await stdout.readline())
            if reply.get("id") == message["id"]:
                return dict(reply)

    await request({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}})
    stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
    call = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    first = await request({**call, "id": 1})
    assert not first["result"].get("isError"), first
    times = []
    for n in range(calls):
        started = time.perf_counter()
        reply = await request({**call, "id": n + 2})
        times.append(time.perf_counter() - started)
        assert not reply["result"].get("isError")
    stdin.close()
    await proc.wait()
    return statistics.median(times)


async def main(runs: int, calls: int, check: bool) -> int:
    hub = FakeHub()
    with LiveServer(hub.app) as server, tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VENOM_", "HF_"))}
        env.update(VENOM_HOME=home, HF_ENDPOINT=server.url, VENOM_OLLAMA_LIBRARY_URL=server.url)
        bare, venom = params("bare", env), params("venom", env)
        await cold_start(bare)  # first spawns pay for the OS file cache; not measured
        await cold_start(venom)
        bare_cold, venom_cold = [], []
        for _ in range(runs):
            bare_cold.append(await cold_start(bare))
            venom_cold.append(await cold_start(venom))
        trending = {"provider": "huggingface", "limit": 12}
        bare_rt = await raw_round_trips(bare, "echo", {"text": "hi"}, calls)
        venom_rt = await raw_round_trips(venom, "trending_models", trending, calls)
        bare_sdk = await round_trips(bare, "echo", {"text": "hi"}, calls)
        venom_sdk = await round_trips(venom, "trending_models", trending, calls)
    cold_ratio = statistics.median(venom_cold) / statistics.median(bare_cold)
    rt_ratio = venom_rt / bare_rt
    print(f"cold start  bare {statistics.median(bare_cold) * 1000:7.1f} ms   "
          f"venom {statistics.median(venom_cold) * 1000:7.1f} ms   ratio {cold_ratio:.2f}x (target <= 1.5x)")
    print(f"round trip  bare {bare_rt * 1000:7.2f} ms   venom {venom_rt * 1000:7.2f} ms   "
          f"ratio {rt_ratio:.2f}x (target <= 1.3x, cached trending_models limit=12)")
    print(f"  (Python SDK client: bare {bare_sdk * 1000:.2f} ms, venom {venom_sdk * 1000:.2f} ms, "
          f"ratio {venom_sdk / bare_sdk:.2f}x; most of the difference is the client's jsonschema check)")
    ok = cold_ratio <= 1.5 and rt_ratio <= 1.3
    print("targets met" if ok else "targets MISSED")
    return 0 if ok or not check else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.runs, args.calls, args.check)))
