"""venom-mcp on the wire, as ratios to a bare FastMCP server (bench/bare_server.py) measured in the same run.

    python bench/startup.py [--runs 7] [--calls 100] [--check]

1. Cold start: spawning `venom-mcp serve` (stdio) to the answer of its first tools/list (initialize,
   initialized, tools/list over the pipes). Target <= 1.2x. The tools' schemas are kept between runs
   ($VENOM_HOME/cache/tool_schemas.json, under a key of the sources): the first start after an install or an
   upgrade builds them, and is shown on its own line (no target).
2. Idle RSS of the server once it has answered that tools/list. Target <= 1.3x.
3. A cached tools/call through the Python SDK's ClientSession (the client of Semantic Kernel's MCP plugin and
   most Python agents), for every read-only tool, against the bare server's echo through ClientSession; the
   two sessions take turns call by call, so machine noise hits both alike. Target <= 1.5x for each tool.
   ClientSession checks every structured result against the tool's outputSchema with `jsonschema.validate`,
   which first checks the schema itself against the JSON Schema metaschema, on every call: the size of our
   output schemas is paid on each call, on top of the server's own time.
4. The raw round trip of a cached trending_models with a plain JSON-RPC client over the pipes (the server's
   own cost). Target <= 1.3x (issue 2).
5. What an LLM reads: tools/list in bytes, and per tool the part a client shows a model (name, title,
   description, input schema as compact JSON) in tokens of OpenAI's o200k_base, counted with bpe-openai
   (`pip install bpe-openai`, which bundles the encodings) or, without it, estimated as characters / 4 and
   said so. Target <= 150 tokens per tool on average.

The fake Hub and Ollama run in their own process (bench/fake_servers.py); a model is installed first (pulled
from the fake Ollama), so that installed_models, operation_status and model_capabilities answer with a real row.
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
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psutil
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.install import Servers  # noqa: E402

MODEL = "llama3.2:1b"  # pulled from the fake Ollama (the default profile runs Ollama only)
ECHO = ("echo", {"text": "hi"})
TRENDING = {"provider": "huggingface", "limit": 12}
# Arguments for the read-only tools that need some; the others are called without any.
EXAMPLES: dict[str, dict[str, Any]] = {
    "list_models": {"provider": "huggingface", "query": "tiny", "limit": 12},
    "trending_models": TRENDING,
    "model_news": {"kind": "blog", "limit": 5},
    "check_fit": {"name": MODEL},
    "model_capabilities": {"name": MODEL},
    "operation_status": {"operation_id": "<install>"},  # the install's, filled in at run time
}
TARGETS = {"cold": 1.2, "rss": 1.3, "session": 1.5, "raw": 1.3, "tokens": 150}


def params(kind: str, env: dict[str, str]) -> StdioServerParameters:
    args = [str(ROOT / "bench" / "bare_server.py")] if kind == "bare" else ["-m", "venom_mcp", "serve"]
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(ROOT))


class RawClient:
    """JSON-RPC over the server's pipes, one line each way: what the server costs, without a client library."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc, self.stdin, self.stdout = proc, proc.stdin, proc.stdout
        self.last_line = b""

    @classmethod
    async def start(cls, p: StdioServerParameters) -> RawClient:
        proc = await asyncio.create_subprocess_exec(
            p.command, *p.args, env=p.env, cwd=p.cwd, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=16 * 1024 * 1024,
        )
        return cls(proc)

    async def send(self, message: dict[str, Any]) -> None:
        self.stdin.write((json.dumps(message) + "\n").encode())
        await self.stdin.drain()

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.send(message)
        while True:
            self.last_line = await self.stdout.readline()
            reply = json.loads(self.last_line)
            if reply.get("id") == message["id"]:
                return dict(reply)

    async def open(self) -> dict[str, Any]:
        """initialize, initialized, tools/list: returns the tools/list result."""
        await self.request({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}})
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return dict((await self.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))["result"])

    async def close(self) -> None:
        self.stdin.close()
        await self.proc.wait()


async def cold_start(p: StdioServerParameters) -> tuple[float, int, dict[str, Any], int]:
    """Seconds to the first tools/list answer, idle RSS after it, the tools/list result and its size."""
    started = time.perf_counter()
    client = await RawClient.start(p)
    listing = await client.open()
    elapsed = time.perf_counter() - started
    rss = psutil.Process(client.proc.pid).memory_info().rss
    size = len(client.last_line)
    await client.close()
    return elapsed, rss, listing, size


async def raw_round_trips(p: StdioServerParameters, tool: str, arguments: dict[str, Any], calls: int) -> float:
    client = await RawClient.start(p)
    await client.open()
    call = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    first = await client.request({**call, "id": 2})
    assert not first["result"].get("isError"), first
    times = []
    for n in range(calls):
        started = time.perf_counter()
        reply = await client.request({**call, "id": n + 3})
        times.append(time.perf_counter() - started)
        assert not reply["result"].get("isError")
    await client.close()
    return statistics.median(times)


async def timed_call(session: ClientSession, tool: str, arguments: dict[str, Any]) -> float:
    started = time.perf_counter()
    result = await session.call_tool(tool, arguments)
    elapsed = time.perf_counter() - started
    assert not result.isError, (tool, result.content)
    return elapsed


async def session_calls(bare: StdioServerParameters, venom: StdioServerParameters,
                        calls: int) -> dict[str, tuple[float, float]]:
    """Per read-only tool: (median venom call, median bare echo taken in turn with it), through ClientSession."""
    async with AsyncExitStack() as stack:
        sessions = []
        for p in (bare, venom):
            quiet = stack.enter_context(Path(os.devnull).open("w"))  # noqa: ASYNC230, SIM115 (/dev/null, closed by the stack)
            read, write = await stack.enter_async_context(stdio_client(p, errlog=quiet))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            sessions.append(session)
        bare_session, venom_session = sessions
        installed = await venom_session.call_tool("install_model", {"name": MODEL, "provider": "ollama", "wait": True})
        assert not installed.isError and installed.structuredContent, installed.content
        examples = {**EXAMPLES, "operation_status": {"operation_id": installed.structuredContent["operation_id"]}}
        tools = (await venom_session.list_tools()).tools
        read_only = [t for t in tools if t.annotations and t.annotations.readOnlyHint]
        results = {}
        for tool in read_only:
            required = tool.inputSchema.get("required") or []
            if required and tool.name not in examples:
                raise SystemExit(f"bench/startup.py: add example arguments for the read-only tool {tool.name}")
            arguments = examples.get(tool.name, {})
            await timed_call(venom_session, tool.name, arguments)  # fills the caches, imports what it needs
            await timed_call(bare_session, *ECHO)
            venom_times, bare_times = [], []
            for _ in range(calls):
                venom_times.append(await timed_call(venom_session, tool.name, arguments))
                bare_times.append(await timed_call(bare_session, *ECHO))
            results[tool.name] = (statistics.median(venom_times), statistics.median(bare_times))
    return results


def token_counter() -> tuple[Any, str]:
    try:
        import bpe_openai

        encoding = bpe_openai.get_encoding("o200k_base")
        return (lambda text: len(encoding.encode(text))), "o200k_base tokens (bpe-openai)"
    except ImportError:
        return (lambda text: round(len(text) / 4)), "tokens ESTIMATED as characters/4 (pip install bpe-openai)"


def llm_view(tool: dict[str, Any]) -> str:
    """What a client puts in a model's context for one tool."""
    seen = {key: tool[key] for key in ("name", "title", "description", "inputSchema") if key in tool}
    return json.dumps(seen, separators=(",", ":"), ensure_ascii=False)


def report_tools(listing: dict[str, Any], size: int) -> bool:
    count, label = token_counter()
    tools = listing["tools"]
    tokens = {t["name"]: count(llm_view(t)) for t in tools}
    average = sum(tokens.values()) / len(tokens)
    output = sum(len(json.dumps(t.get("outputSchema"), separators=(",", ":"))) for t in tools)
    print(f"tools/list  {len(tools)} tools, {size / 1000:.1f} kB ({100 * output / size:.0f} % output schemas); "
          f"an LLM sees {sum(tokens.values())} {label}")
    print(f"  per tool: {average:.0f} on average (target <= {TARGETS['tokens']}); the largest: "
          + ", ".join(f"{name} {n}" for name, n in sorted(tokens.items(), key=lambda kv: -kv[1])[:5]))
    return bool(average <= TARGETS["tokens"])


def ratio_line(label: str, bare: float, venom: float, unit: str, scale: float, target: float, note: str = "") -> bool:
    ratio = venom / bare
    print(f"{label:<29}bare {bare * scale:8.2f} {unit}   venom {venom * scale:8.2f} {unit}   ratio {ratio:5.2f}x "
          f"(target <= {target}x){note}")
    return ratio <= target


async def main(runs: int, calls: int, check: bool) -> int:
    servers = Servers(mib=1)
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("VENOM_", "HF_", "OLLAMA_"))}
            env.update(VENOM_HOME=home, HF_ENDPOINT=servers.hub_url, VENOM_OLLAMA_LIBRARY_URL=servers.hub_url,
                       OLLAMA_HOST=servers.ollama_url)
            bare, venom = params("bare", env), params("venom", env)
            await cold_start(bare)  # first spawns pay for the OS file cache; not measured
            await cold_start(venom)
            bare_cold, venom_cold, bare_rss, venom_rss = [], [], [], []
            for _ in range(runs):
                elapsed, rss, _, _ = await cold_start(bare)
                bare_cold.append(elapsed)
                bare_rss.append(rss)
                elapsed, rss, listing, size = await cold_start(venom)
                venom_cold.append(elapsed)
                venom_rss.append(rss)
            first = []
            for _ in range(max(3, runs // 3)):
                (Path(home) / "cache" / "tool_schemas.json").unlink(missing_ok=True)
                first.append((await cold_start(venom))[0])
            bare_rt = await raw_round_trips(bare, *ECHO, calls)
            venom_rt = await raw_round_trips(venom, "trending_models", TRENDING, calls)
            per_tool = await session_calls(bare, venom, calls)
    finally:
        servers.close()
    ok = ratio_line("cold start", statistics.median(bare_cold), statistics.median(venom_cold), "ms", 1000,
                    TARGETS["cold"], " to the first tools/list answer")
    bare_median, first_median = statistics.median(bare_cold), statistics.median(first)
    print(f"{'  first start (no cache)':<29}bare {bare_median * 1000:8.2f} ms   venom {first_median * 1000:8.2f} ms   "
          f"ratio {first_median / bare_median:5.2f}x (after an install or upgrade: the schemas are built, then kept)")
    ok &= ratio_line("idle RSS", statistics.median(bare_rss), statistics.median(venom_rss), "MB", 1e-6,
                     TARGETS["rss"])
    ok &= ratio_line("round trip", bare_rt, venom_rt, "ms", 1000, TARGETS["raw"],
                     " raw JSON-RPC, cached trending_models limit=12")
    print(f"ClientSession: a cached tools/call of each read-only tool against the bare echo (target <= "
          f"{TARGETS['session']}x each)")
    for name, (venom_time, bare_time) in per_tool.items():
        ok &= ratio_line(f"  {name}", bare_time, venom_time, "ms", 1000, TARGETS["session"])
    worst = max(per_tool, key=lambda name: per_tool[name][0] / per_tool[name][1])
    print(f"  the slowest: {worst} at {per_tool[worst][0] / per_tool[worst][1]:.2f}x")
    ok &= report_tools(listing, size)
    print("targets met" if ok else "targets MISSED")
    return 0 if ok or not check else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.runs, args.calls, args.check)))
