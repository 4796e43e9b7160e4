"""The checked-in example proxy (proxies/examples/echo_proxy.py) is what the generator makes today from
tests/fakes/echo_mcp_server.py; and the loader turns proxies into Semantic Kernel plugins."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from proxies import EXAMPLES, load_module, load_plugins
from venom_mcp.services.proxygen import ToolSpec, check_proxy, load_spec


async def test_example_proxy_is_not_stale() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "tests.fakes.echo_mcp_server"])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        live = (await session.list_tools()).tools
    tools = [ToolSpec(t.name, t.description, dict(t.inputSchema), dict(t.outputSchema) if t.outputSchema else None)
             for t in live]
    launch, recorded = load_spec(json.loads((EXAMPLES / "echo_proxy.json").read_text()))
    assert recorded == tools, "the echo server changed: regenerate proxies/examples (see its header)"
    assert check_proxy(EXAMPLES / "echo_proxy.py", launch, tools), "proxies/examples/echo_proxy.py is stale"


def test_loader_makes_plugins(tmp_path: Path) -> None:
    (tmp_path / "echo_proxy.py").write_text((EXAMPLES / "echo_proxy.py").read_text())
    (tmp_path / "notes.py").write_text("raise SystemExit('not a proxy')")
    plugins = load_plugins(tmp_path)
    assert [p.name for p in plugins] == ["echo"]
    assert sorted(plugins[0].functions) == ["echo", "stats"]
    module = load_module(EXAMPLES / "echo_proxy.py")
    assert module.PLUGIN_NAME == "echo" and len(module.TOOLS_SHA256) == 64
