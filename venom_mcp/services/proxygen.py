"""Generate the Semantic Kernel plugin module ("proxy") for an imported MCP server.

The module has one `@kernel_function` per tool; each calls the server over one persistent MCP stdio session.
Tool names, descriptions and schemas come from the imported server and are untrusted: they reach the generated
source only as `repr()` of plain strings (split into short literals), and Python names are derived from them by
sanitising, so no input can become code. Output is deterministic, so a proxy can be checked against its spec:

    python -m venom_mcp.services.proxygen DIRECTORY SPEC_JSON            # write DIRECTORY/<name>_proxy.py
    python -m venom_mcp.services.proxygen --check PROXY_FILE SPEC_JSON   # exit 1 when the file is stale

SPEC_JSON holds {"launch": {name, command, args, env, cwd}, "tools": [{name, description, input_schema,
output_schema}, ...]} (`spec_data` writes it).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import json
import keyword
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from ..store import _fsync_dir

# fullmatch, not `$`: `$` also matches before a trailing newline.
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Semantic Kernel's FUNCTION_NAME_REGEX: a tool name outside it is exposed under its Python name instead.
SK_FUNCTION_NAME = re.compile(r"[0-9A-Za-z_-]+")
LINE = 120
# Long names would make lines ruff rejects, and function-calling APIs cap names at 64 characters.
MAX_IDENTIFIER = 60

_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list[Any]",
    "object": "dict[str, Any]",
}
# Names the class body reads after tool methods are bound (decorator, annotations) or defines itself: a tool
# method with one of these names would shadow it.
_CLASS_NAMES = frozenset(
    {"kernel_function", "Annotated", "Any", "str", "int", "float", "bool", "list", "dict", "None"}
    | {"aclose", "_session", "_serve", "_shutdown", "_drop", "_call", "_request", "_client", "_runner"}
    | {"_stop", "_lock"}
)
# `self`, plus the parameter names Semantic Kernel fills itself instead of from the arguments.
_PARAMETER_NAMES = frozenset({"self", "kernel", "service", "execution_settings", "arguments"})


GENERATOR_VERSION = "2"  # bump when the generated code changes shape


@dataclass(frozen=True)
class ServerLaunch:
    name: str
    command: str
    args: list[str]
    env: dict[str, str]
    cwd: str | None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None


# --- rendering untrusted strings -------------------------------------------------------------------------------


def _width(text: str) -> int:
    # Counts every non-ASCII character as two columns: never less than ruff's display width.
    return sum(1 if ord(char) < 128 else 2 for char in text)


def _chunks(value: str, budget: int) -> list[str]:
    """`value` cut into pieces whose repr() each fits in `budget` columns."""
    pieces: list[str] = []
    current = ""
    for char in value:
        if current and _width(repr(current + char)) > budget:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return pieces


def _string(value: str, indent: int, column: int, tail: int) -> str:
    """A literal for `value`, starting at `column` of a line indented by `indent`, with `tail` columns after it.

    A literal that does not fit becomes adjacent repr() pieces in parentheses, one per line. Only repr() output
    and the structure around it are emitted, so the text cannot end the literal early.
    """
    literal = repr(value)
    if column + _width(literal) + tail <= LINE:
        return literal
    inner = " " * (indent + 4)
    body = "\n".join(inner + piece for piece in map(repr, _chunks(value, LINE - indent - 4)))
    return "(\n" + body + "\n" + " " * indent + ")"


def _end(column: int, text: str) -> int:
    """The column where the line continues after `text` was written at `column`."""
    return _width(text.rsplit("\n", 1)[1]) if "\n" in text else column + _width(text)


def _string_list(values: Sequence[str], indent: int) -> str:
    if not values:
        return "[]"
    inner = " " * (indent + 4)
    return "[\n" + "".join(f"{inner}{_string(v, indent + 4, indent + 4, 1)},\n" for v in values) + " " * indent + "]"


def _string_dict(items: Sequence[tuple[str, str]], indent: int) -> str:
    """A dict literal of string keys to either string values (`repr`) or Python names (already safe)."""
    if not items:
        return "{}"
    inner = " " * (indent + 4)
    lines = []
    for key, value in items:
        key_source = _string(key, indent + 4, indent + 4, len(value) + 3)
        lines.append(f"{inner}{key_source}: {value},\n")
    return "{\n" + "".join(lines) + " " * indent + "}"


def _constant_dict(data: dict[str, str], indent: int) -> str:
    if not data:
        return "{}"
    inner = " " * (indent + 4)
    lines = []
    for key, value in data.items():
        key_source = _string(key, indent + 4, indent + 4, 2)
        column = _end(indent + 4, key_source) + 2
        lines.append(f"{inner}{key_source}: {_string(value, indent + 4, column, 1)},\n")
    return "{\n" + "".join(lines) + " " * indent + "}"


# --- names and types -------------------------------------------------------------------------------------------


def _identifier(name: str, taken: set[str], reserved: frozenset[str]) -> str:
    """A Python name for `name`, unique in `taken` (which it joins)."""
    ident = re.sub(r"\W", "_", name, flags=re.ASCII)[:MAX_IDENTIFIER] or "_"
    if ident[0].isdigit():
        ident = "_" + ident
    if ident.startswith("__"):
        ident = "x" + ident  # `__x` would be name-mangled, `__x__` is Python's own namespace
    if keyword.iskeyword(ident) or ident in reserved:
        ident += "_"
    unique, n = ident, 1
    while unique in taken:
        n += 1
        unique = f"{ident}_{n}"
    taken.add(unique)
    return unique


def _unique(name: str, taken: set[str]) -> str:
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name}_{n}"
    taken.add(unique)
    return unique


def _python_type(schema: Any) -> tuple[str, bool]:
    """The annotation for a property's JSON schema, and whether the schema allows null.

    One non-null JSON type maps to its Python type; anything else (unions, `$ref`, no type) is `Any`, which
    Semantic Kernel passes through unconverted.
    """
    if not isinstance(schema, dict):
        return "Any", False
    options: list[Any] = []
    kind = schema.get("type")
    if isinstance(kind, list):
        options = [{"type": k} for k in kind]
    elif isinstance(schema.get("anyOf"), list):
        options = schema["anyOf"]
    elif isinstance(schema.get("oneOf"), list):
        options = schema["oneOf"]
    else:
        options = [schema]
    nullable = any(isinstance(o, dict) and o.get("type") == "null" for o in options)
    rest = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
    if len(rest) == 1 and isinstance(rest[0], dict) and isinstance(rest[0].get("type"), str):
        found = _TYPES.get(rest[0]["type"])
        if found is not None:
            return found, nullable
    return "Any", nullable


@dataclass(frozen=True)
class _Parameter:
    key: str  # the property name the server knows
    ident: str
    annotation: str
    description: str | None
    required: bool


def _parameters(schema: dict[str, Any]) -> list[_Parameter]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required = schema.get("required")
    required_names = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    taken: set[str] = set()
    parameters = []
    for key, prop in properties.items():
        annotation, nullable = _python_type(prop)
        is_required = key in required_names
        if annotation != "Any" and (nullable or not is_required):
            annotation += " | None"
        description = prop.get("description") if isinstance(prop, dict) else None
        parameters.append(
            _Parameter(
                key=str(key),
                ident=_identifier(str(key), taken, _PARAMETER_NAMES),
                annotation=annotation,
                description=description if isinstance(description, str) else None,
                required=is_required,
            )
        )
    return parameters


# --- the module ------------------------------------------------------------------------------------------------

_HEADER = '''\
# Generated by venom_mcp.services.proxygen for the MCP server {name!r}: do not edit, regenerate.
# Generator: venom-mcp proxygen {version}; tools sha256 {tools_hash}
# Regenerate: python -m venom_mcp.services.proxygen DIRECTORY SPEC_JSON
# Check:      python -m venom_mcp.services.proxygen --check THIS_FILE SPEC_JSON
{waivers}"""Semantic Kernel plugin for the MCP server {name!r}: its tools as kernel functions, over one session."""

import asyncio
import contextlib
import json
import logging
from typing import {typing}

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import McpError
from mcp.types import CONNECTION_CLOSED, CallToolResult, TextContent
from semantic_kernel.functions import KernelPlugin, kernel_function

'''

_RUNTIME = '''
# How long the server may take to start and answer `initialize`.
START_SECONDS = 60.0

log = logging.getLogger(__name__)


def _gone(exc: BaseException) -> bool:
    """True when `exc` says the connection to the server is lost, rather than that the call failed."""
    if isinstance(exc, McpError):
        return exc.error.code == CONNECTION_CLOSED
    return isinstance(exc, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError))


def _text(result: CallToolResult) -> str:
    text = "\\n".join(block.text for block in result.content if isinstance(block, TextContent))
    if result.isError:
        raise RuntimeError(text or "the tool failed without a message")
    if result.structuredContent is not None:
        return json.dumps(result.structuredContent, ensure_ascii=False)
    return text


class {cls}:
    """The MCP server's tools as kernel functions: the server starts on the first call and is restarted (once
    per call) when it died. Call `aclose()` to stop it."""

    def __init__(self) -> None:
        self._client: ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    async def _session(self) -> tuple[ClientSession, asyncio.Task[None]]:
        """The live session and the task that holds it, starting the server when there is none."""
        async with self._lock:
            if self._client is None or self._runner is None or self._runner.done():
                await self._shutdown()
                ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
                self._stop = stop = asyncio.Event()
                self._runner = asyncio.create_task(self._serve(ready, stop))
                try:
                    self._client = await ready
                except BaseException:
                    await self._shutdown()
                    raise
            return self._client, self._runner

    async def _serve(self, ready: asyncio.Future[ClientSession], stop: asyncio.Event) -> None:
        # The stdio client's task groups must open and close in one task: a task of its own, so that any task
        # (Semantic Kernel runs parallel tool calls in several) may call tools and close the proxy.
        try:
            async with contextlib.AsyncExitStack() as stack:
                params = StdioServerParameters(command=COMMAND, args=ARGS, env=ENV, cwd=CWD)
                read, write = await stack.enter_async_context(stdio_client(params))
                session = await stack.enter_async_context(ClientSession(read, write))
                with anyio.fail_after(START_SECONDS):
                    await session.initialize()
                    # Listing once lets the client check structured results (and keeps it from warning per call).
                    await session.list_tools()
                if not ready.done():
                    ready.set_result(session)
                await stop.wait()
        except Exception as exc:
            while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            if ready.done():
                log.info("the MCP server %s stopped: %r", PLUGIN_NAME, exc)
            else:
                ready.set_exception(exc)
        finally:
            if not ready.done():
                ready.cancel()

    async def _shutdown(self) -> None:
        runner, self._runner, self._client = self._runner, None, None
        self._stop.set()
        if runner is not None:
            # The client closes the server's stdin, then escalates to SIGTERM and SIGKILL.
            await asyncio.wait([runner])
            if not runner.cancelled():
                runner.exception()  # retrieved, so asyncio does not report it: _serve logged what matters

    async def _drop(self, client: ClientSession) -> None:
        async with self._lock:
            if self._client is client:  # not yet replaced by a concurrent call
                await self._shutdown()

    async def aclose(self) -> None:
        """Stop the server; a later call starts it again."""
        async with self._lock:
            await self._shutdown()

    @staticmethod
    async def _request(
        client: ClientSession, runner: asyncio.Task[None], tool: str, arguments: dict[str, Any]
    ) -> CallToolResult:
        call = asyncio.create_task(client.call_tool(tool, arguments))
        try:
            # A transport that fails (rather than ends) stops the runner without answering pending requests.
            await asyncio.wait([call, runner], return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            call.cancel()
            raise
        if not call.done():
            call.cancel()
            raise ConnectionError("the MCP server connection failed during the call")
        return call.result()

    async def _call(self, tool: str, required: dict[str, Any], optional: dict[str, Any]) -> str:
        # Optional parameters left at None are not sent: the server applies its own defaults.
        arguments = required | {{key: value for key, value in optional.items() if value is not None}}
        client, runner = await self._session()
        try:
            result = await self._request(client, runner, tool, arguments)
        except Exception as exc:
            if not _gone(exc):
                raise
            # The server died since the last call, or during this one: start it again and retry, once.
            log.warning("the MCP server %s is gone (%r); restarting it", PLUGIN_NAME, exc)
            await self._drop(client)
            client, runner = await self._session()
            result = await self._request(client, runner, tool, arguments)
        return _text(result)
'''

_FOOTER = '''

def create_plugin(proxy: {cls} | None = None) -> KernelPlugin:
    """The plugin; pass a proxy of your own to be able to `aclose()` it."""
    return KernelPlugin.from_object(
        plugin_name=PLUGIN_NAME,
        plugin_instance=proxy if proxy is not None else {cls}(),
        description=PLUGIN_DESCRIPTION,
    )
'''


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Proxy"


def _tool_method(tool: ToolSpec, ident: str, function_name: str) -> str:
    parameters = _parameters(tool.input_schema if isinstance(tool.input_schema, dict) else {})
    out = ["", "    @kernel_function("]
    out.append(f"        name={_string(function_name, 8, 13, 1)},")
    description = "None" if tool.description is None else _string(tool.description, 8, 20, 1)
    out.append(f"        description={description},")
    out.append("    )")
    if not parameters:
        out.append(f"    async def {ident}(self) -> str:")
    else:
        out.append(f"    async def {ident}(")
        # Keyword-only: the schema's property order is kept whichever are required.
        out.append("        self,")
        out.append("        *,")
        for p in parameters:
            default = "" if p.required else " = None"
            if p.description is None:
                out.append(f"        {p.ident}: {p.annotation}{default},")
                continue
            head = f"        {p.ident}: Annotated[{p.annotation}, "
            tail = f"]{default},"
            out.append(head + _string(p.description, 8, _width(head), len(tail)) + tail)
        out.append("    ) -> str:")
    required = [(p.key, p.ident) for p in parameters if p.required]
    optional = [(p.key, p.ident) for p in parameters if not p.required]
    out.append("        return await self._call(")
    out.append(f"            {_string(tool.name, 12, 12, 1)},")
    out.append(f"            {_string_dict(required, 12)},")
    out.append(f"            {_string_dict(optional, 12)},")
    out.append("        )")
    return "\n".join(out) + "\n"


def generate_proxy(launch: ServerLaunch, tools: list[ToolSpec]) -> str:
    """The proxy module's source: the same input always gives the same text."""
    if not isinstance(launch.name, str) or not NAME.fullmatch(launch.name):
        raise InvalidArgument(f"server name {launch.name!r} must match ^[a-z][a-z0-9_]{{0,39}}$")
    cls = _class_name(launch.name)
    parts = []
    parts.append(f"PLUGIN_NAME = {launch.name!r}\n")
    parts.append(f"TOOLS_SHA256 = {tools_hash(tools)!r}\n")
    parts.append(f"PLUGIN_DESCRIPTION = {'Tools of the MCP server ' + launch.name + ', called over stdio.'!r}\n")
    parts.append(f"COMMAND = {_string(launch.command, 0, 10, 0)}\n")
    parts.append(f"ARGS: list[str] = {_string_list(launch.args, 0)}\n")
    # Sorted: the order of environment variables means nothing, and the caller's may vary between runs.
    parts.append(f"ENV: dict[str, str] = {_constant_dict(dict(sorted(launch.env.items())), 0)}\n")
    cwd = "None" if launch.cwd is None else _string(launch.cwd, 0, 17, 0)
    parts.append(f"CWD: str | None = {cwd}\n")
    parts.append(_RUNTIME.format(cls=cls))
    methods: set[str] = set()
    functions: set[str] = set()
    for tool in tools:
        ident = _identifier(tool.name, methods, _CLASS_NAMES)
        # Semantic Kernel shows the tool's own name when it accepts it; otherwise the (unique) Python name.
        function_name = _unique(tool.name if SK_FUNCTION_NAME.fullmatch(tool.name) else ident, functions)
        parts.append(_tool_method(tool, ident, function_name))
    parts.append(_FOOTER.format(cls=cls))
    body = "".join(parts)
    nodes = list(ast.walk(ast.parse(body)))
    # Read from the syntax tree, not the text: a description may well contain "Annotated[".
    typing = "Annotated, Any" if any(isinstance(n, ast.Name) and n.id == "Annotated" for n in nodes) else "Any"
    return _HEADER.format(name=launch.name, waivers=_waivers(nodes), typing=typing, version=GENERATOR_VERSION,
                          tools_hash=tools_hash(tools)) + body


def tools_hash(tools: list[ToolSpec]) -> str:
    """A fingerprint of what a server publishes: a proxy is stale when its server's tools hash differently."""
    data = [[t.name, t.description, t.input_schema, t.output_schema] for t in tools]
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _waivers(nodes: list[ast.AST]) -> str:
    """The file-level `noqa` for the ruff rules that judge string contents, when some literal trips them.

    Exactly those: ruff reports a waiver that is not needed (RUF100).
    """
    strings = [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    codes = []
    if "0.0.0.0" in strings:  # noqa: S104 - the value ruff's S104 matches
        codes.append("S104")
    if any(s.startswith(("/tmp", "/var/tmp", "/dev/shm")) for s in strings):  # noqa: S108 - the prefixes of S108
        codes.append("S108")
    if not codes:
        return ""
    return "# The server's strings are data here, not addresses or paths this module uses.\n# ruff: noqa: " + (
        ", ".join(codes) + "\n"
    )


# --- files -----------------------------------------------------------------------------------------------------


def _atomic_write_text(path: Path, text: str) -> None:
    """Readers (and importers) see the old file or the whole new one, never a torn write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def proxy_path(directory: Path, launch: ServerLaunch) -> Path:
    return directory / f"{launch.name}_proxy.py"


def write_proxy(directory: Path, launch: ServerLaunch, tools: list[ToolSpec]) -> Path:
    """Write <directory>/<name>_proxy.py atomically and return its path."""
    text = generate_proxy(launch, tools)  # validates the name before it becomes a file name
    path = proxy_path(directory, launch)
    _atomic_write_text(path, text)
    return path


def check_proxy(path: Path, launch: ServerLaunch, tools: list[ToolSpec]) -> bool:
    """True when the file holds exactly what `generate_proxy` gives now (bytes, so line endings count too)."""
    try:
        return path.read_bytes() == generate_proxy(launch, tools).encode("utf-8")
    except FileNotFoundError:
        return False


# --- the spec file ---------------------------------------------------------------------------------------------


def spec_data(launch: ServerLaunch, tools: list[ToolSpec]) -> dict[str, Any]:
    """The JSON-able spec that `load_spec` reads back (what SPEC_JSON holds)."""
    return {
        "launch": {
            "name": launch.name,
            "command": launch.command,
            "args": list(launch.args),
            "env": dict(launch.env),
            "cwd": launch.cwd,
        },
        "tools": [
            {
                "name": t.name,
                "description": t.description,
                "input_schema": t.input_schema,
                "output_schema": t.output_schema,
            }
            for t in tools
        ],
    }


def _str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return value


def load_spec(data: Any) -> tuple[ServerLaunch, list[ToolSpec]]:
    """Parse a spec (as `spec_data` makes it; tools may also use MCP's `inputSchema`/`outputSchema`)."""
    if not (isinstance(data, dict) and isinstance(data.get("launch"), dict) and isinstance(data.get("tools"), list)):
        raise ValueError('the spec must be {"launch": {...}, "tools": [...]}')
    raw = data["launch"]
    env = raw.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError("launch.env must map strings to strings")
    name, command, cwd = raw.get("name"), raw.get("command"), raw.get("cwd")
    if not isinstance(name, str) or not isinstance(command, str) or not (cwd is None or isinstance(cwd, str)):
        raise ValueError("launch needs a string name and command, and cwd a string or null")
    launch = ServerLaunch(name=name, command=command, args=_str_list(raw.get("args", []), "launch.args"), env=env,
                          cwd=cwd)
    tools = []
    for item in data["tools"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError("each tool needs a string name")
        description = item.get("description")
        schema = item.get("input_schema", item.get("inputSchema")) or {}
        output = item.get("output_schema", item.get("outputSchema"))
        if not (description is None or isinstance(description, str)) or not isinstance(schema, dict):
            raise ValueError(f"tool {item['name']!r}: description must be a string or null, input_schema an object")
        tools.append(ToolSpec(name=item["name"], description=description, input_schema=schema,
                              output_schema=output if isinstance(output, dict) else None))
    return launch, tools


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m venom_mcp.services.proxygen",
        description="Write a Semantic Kernel proxy for an MCP server, or check that a written one is up to date.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when TARGET differs from what SPEC_JSON generates")
    parser.add_argument("target", metavar="TARGET", help="the proxy file with --check, else the output directory")
    parser.add_argument("spec", metavar="SPEC_JSON", type=Path)
    args = parser.parse_args(argv)
    try:
        launch, tools = load_spec(json.loads(args.spec.read_text(encoding="utf-8")))
        if args.check:
            if check_proxy(Path(args.target), launch, tools):
                return 0
            print(f"{args.target} is stale or missing; regenerate it from {args.spec}", file=sys.stderr)
            return 1
        target = Path(args.target)
        if target.suffix == ".py":  # the proxy file itself: its name must be the one write_proxy gives
            if target.name != proxy_path(target.parent, launch).name:
                raise ValueError(f"the proxy for {launch.name!r} is named {proxy_path(target.parent, launch).name}")
            target = target.parent
        print(write_proxy(target, launch, tools))
        return 0
    except (OSError, ValueError) as exc:  # JSONDecodeError and InvalidArgument are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
