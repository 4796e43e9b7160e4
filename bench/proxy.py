"""Per-call latency of a generated proxy (one persistent session) against a direct MCP client session on the
same server, and against Semantic Kernel's own MCPStdioPlugin, measured in the same run.

    python bench/proxy.py [--calls 300]

Target (issue 6): the proxy within 1.2x of the direct session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from proxies import load_module  # noqa: E402
from venom_mcp.services.proxygen import ServerLaunch, ToolSpec, write_proxy  # noqa: E402

ARGS = ["-m", "tests.fakes.echo_mcp_server"]
ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}


async def timed(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(20):  # warm up
        await call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def main(calls: int) -> int:
    from semantic_kernel import Kernel
    from semantic_kernel.connectors.mcp import MCPStdioPlugin

    params = StdioServerParameters(command=sys.executable, args=ARGS, env=ENV, cwd=str(ROOT))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [ToolSpec(t.name, t.description, dict(t.inputSchema), dict(t.outputSchema) if t.outputSchema
                          else None) for t in (await session.list_tools()).tools]
        direct = await timed(lambda: session.call_tool("echo", {"text": "hi"}), calls)
    with tempfile.TemporaryDirectory() as folder:
        launch = ServerLaunch(name="echo", command=sys.executable, args=ARGS, env=ENV, cwd=str(ROOT))
        module = load_module(write_proxy(Path(folder), launch, tools))
        proxy = module.EchoProxy()
        try:
            through_proxy = await timed(lambda: proxy.echo(text="hi"), calls)
            kernel = Kernel()
            kernel.add_plugin(module.create_plugin(proxy))
            proxy_kernel = await timed(lambda: kernel.invoke(plugin_name="echo", function_name="echo", text="hi"),
                                       calls)
        finally:
            await proxy.aclose()
    async with MCPStdioPlugin(name="skecho", command=sys.executable, args=ARGS, env=ENV) as plugin:
        kernel = Kernel()
        kernel.add_plugin(plugin)
        sk_plugin = await timed(lambda: kernel.invoke(plugin_name="skecho", function_name="echo", text="hi"), calls)
    print(f"direct ClientSession {direct * 1000:6.2f} ms   generated proxy {through_proxy * 1000:6.2f} ms   "
          f"ratio {through_proxy / direct:.2f}x (target <= 1.2x)")
    print(f"through a Kernel: generated proxy {proxy_kernel * 1000:6.2f} ms   SK MCPStdioPlugin "
          f"{sk_plugin * 1000:6.2f} ms   ratio {proxy_kernel / sk_plugin:.2f}x")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.calls)))
