"""The command line: `serve`, `tools`, `call`, `proxies` and `proxygen`. Heavy modules are imported only by the
command that needs them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

LONG_TOOLS = {"install_model"}


class ProgressBar:
    """A one-line progress bar on stderr, drawn from the MCP progress notifications of a call."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._drawn = False

    async def update(self, progress: float, total: float | None, message: str | None) -> None:
        fraction = min(max(progress / total, 0.0), 1.0) if total else 0.0
        filled = int(fraction * self._width)
        line = f"\r[{'#' * filled}{'.' * (self._width - filled)}] {fraction * 100:5.1f}% {(message or '')[:50]:<50}"
        self._stream.write(line)
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="venom-mcp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    commands.add_parser("tools", help="list the tools, one line each")
    commands.add_parser("proxygen", help="write or --check a proxy from a spec file (see proxygen --help)")
    proxies = commands.add_parser("proxies", help="imported MCP servers' proxies")
    proxies.add_argument("--check", action="store_true", help="list proxies whose server now publishes other tools")
    call = commands.add_parser("call", help="call one tool in-process and print its result as JSON")
    call.add_argument("tool")
    call.add_argument("arguments", nargs="*", metavar="key=value")
    call.add_argument("--json", dest="json_arguments", default=None, help="arguments as a JSON object")
    return parser


def parse_arguments(pairs: list[str], json_arguments: str | None) -> tuple[dict[str, Any], set[str]]:
    """key=value pairs merged over --json, and the names given as text (key=value): those are read as the type
    the tool's schema gives them (textargs) before the call; --json values go as they are."""
    arguments: dict[str, Any] = {}
    if json_arguments:
        loaded = json.loads(json_arguments)
        if not isinstance(loaded, dict):
            raise ValueError("--json takes a JSON object, e.g. --json '{\"provider\": \"ollama\"}'")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        arguments[key] = value
    return arguments, {pair.partition("=")[0] for pair in pairs}


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["proxygen"]:  # a generator of files, needing no server settings
        from .proxygen import main as proxygen_main

        return proxygen_main(argv[1:])
    args = _parser().parse_args(argv)
    from ..app import App
    from ..errors import VenomError
    from ..logs import configure

    try:
        app = App()
        if args.command == "serve":
            configure(app.settings)
            from ..server import serve_http, serve_stdio

            if args.transport == "http":
                serve_http(app, args.host, args.port)
            else:
                serve_stdio(app)
            return 0
        configure(app.settings, level="WARNING")
        if args.command == "tools":
            return asyncio.run(_list_tools(app))
        if args.command == "proxies":
            return asyncio.run(_proxies(app, args.check))
        return asyncio.run(_call(app, args.tool, *parse_arguments(args.arguments, args.json_arguments)))
    except (VenomError, ValueError) as exc:
        print(f"venom-mcp: {exc}", file=sys.stderr)
        return 2


async def _list_tools(app: Any) -> int:
    from ..tools import ToolCatalog

    for tool in ToolCatalog(app).infos():
        summary = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
        print(f"{tool.name:<24} {summary}")
    return 0


async def _proxies(app: Any, check: bool) -> int:
    importer = app.mcp_import
    if not check:
        for record in importer.servers():
            print(f"{record['name']:<20} {record['proxy_path']}")
        return 0
    stale = await importer.stale_proxies()
    for name, why in stale:
        print(f"{name}: stale: {why}")
    if not stale:
        print(f"{len(importer.servers())} proxies up to date", file=sys.stderr)
    return 1 if stale else 0


async def _call(app: Any, name: str, arguments: dict[str, Any], as_text: set[str]) -> int:
    from mcp.shared.memory import create_connected_server_and_client_session

    from ..server import build_server
    from ..textargs import from_text, json_type
    from ..tools import ToolCatalog

    if name in LONG_TOOLS:
        # The process ends with the call, so a background install would die with it: wait, with a bar.
        arguments.setdefault("wait", True)
    bar = ProgressBar(sys.stderr)
    try:
        catalog = ToolCatalog(app)
        schema = catalog.info(name).input_schema  # NotFound names the tools
        if "confirm" in schema.get("properties", {}):  # the command typed is the confirmation (README)
            arguments.setdefault("confirm", True)
        for key in as_text & arguments.keys():
            arguments[key] = from_text(arguments[key], json_type(schema, key))
        # Through an in-memory MCP session (the SDK's, which takes a FastMCP server as it is), so that the call's
        # progress notifications draw the bar.
        async with create_connected_server_and_client_session(build_server(app, catalog=catalog)) as client:
            result = await client.call_tool(name, arguments, progress_callback=bar.update)
    finally:
        bar.close()
        await app.aclose()
    if result.isError:
        text = " ".join(block.text for block in result.content if hasattr(block, "text"))
        print(f"venom-mcp: {text}", file=sys.stderr)
        return 1
    print(json.dumps(result.structuredContent, indent=2, ensure_ascii=False, default=str))
    return 0


