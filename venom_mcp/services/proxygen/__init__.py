"""Generate the Semantic Kernel plugin module ("proxy") for an imported MCP server.

The module has one `@kernel_function` per tool; each calls the server over one persistent MCP stdio session.
Tool names, descriptions and schemas come from the imported server and are untrusted: they reach the generated
source only as `repr()` of plain strings (split into short literals), and Python names are derived from them by
sanitising (names.py), so no input can become code. The output depends only on the launch and the set of tools
(sorted by name, schemas read in sorted key order), never on their order or on hashing, so a re-import of an
unchanged server leaves the file untouched and a proxy can be checked against its spec:

    python -m venom_mcp.services.proxygen DIRECTORY SPEC_JSON            # write DIRECTORY/<name>_proxy.py
    python -m venom_mcp.services.proxygen --check PROXY_FILE SPEC_JSON   # exit 1 when the file is stale

SPEC_JSON holds {"launch": {name, command, args, env, cwd}, "tools": [{name, description, input_schema,
output_schema}, ...]} (`spec_text` writes it). Neither file holds a time: when a server was imported is recorded
in $VENOM_HOME/mcp/servers.json.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InvalidArgument
from ...schema_types import python_type
from ...store import atomic_write_text
from .names import KERNEL_NAME, kernel_names, python_names
from .spec import ServerLaunch, ToolSpec, load_spec, sorted_tools, spec_data, spec_text, tools_hash
from .template import FOOTER, HEADER, RUNTIME

__all__ = [
    "GENERATOR_VERSION",
    "KERNEL_NAME",
    "ServerLaunch",
    "ToolSpec",
    "check_proxy",
    "generate_proxy",
    "load_spec",
    "proxy_path",
    "spec_data",
    "spec_path",
    "spec_text",
    "tools_hash",
    "write_proxy",
    "write_spec",
]

# fullmatch, not `$`: `$` also matches before a trailing newline.
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
LINE = 120

# Names the class body reads after tool methods are bound (decorator, annotations) or defines itself: a tool
# method with one of these names would shadow it.
_CLASS_NAMES = frozenset(
    {"kernel_function", "Annotated", "Any", "str", "int", "float", "bool", "list", "dict", "None"}
    | {"aclose", "_session", "_serve", "_shutdown", "_drop", "_call", "_request", "_client", "_runner"}
    | {"_stop", "_lock"}
)
# `self`, plus the parameter names Semantic Kernel fills itself instead of from the arguments.
_PARAMETER_NAMES = frozenset({"self", "kernel", "service", "execution_settings", "arguments"})


GENERATOR_VERSION = "3"  # bump when the generated code changes shape


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
    parameters = []
    # JSON object members have no order: required ones first, each group by name (keyword-only parameters, so
    # the order is only for the reader).
    ordered = sorted(properties.items(), key=lambda item: (str(item[0]) not in required_names, str(item[0])))
    idents = python_names([str(key) for key, _ in ordered], _PARAMETER_NAMES)
    for (key, prop), ident in zip(ordered, idents, strict=True):
        is_required = key in required_names
        # The mapping the skills use too (schema_types): one JSON type, else Any; `| None` when null or optional.
        annotation = python_type(prop).annotation_source(optional=not is_required)
        description = prop.get("description") if isinstance(prop, dict) else None
        parameters.append(
            _Parameter(
                key=str(key),
                ident=ident,
                annotation=annotation,
                description=description if isinstance(description, str) else None,
                required=is_required,
            )
        )
    return parameters


# --- the module ------------------------------------------------------------------------------------------------


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
    # The original name, as data: it is what the server knows the tool by.
    out.append(f"            {_string(tool.name, 12, 12, 1)},")
    out.append(f"            {_string_dict(required, 12)},")
    out.append(f"            {_string_dict(optional, 12)},")
    out.append("        )")
    return "\n".join(out) + "\n"


def generate_proxy(launch: ServerLaunch, tools: Sequence[ToolSpec]) -> str:
    """The proxy module's source: the same launch and set of tools always give the same text."""
    if not isinstance(launch.name, str) or not NAME.fullmatch(launch.name):
        raise InvalidArgument(f"server name {launch.name!r} must match ^[a-z][a-z0-9_]{{0,39}}$")
    cls = _class_name(launch.name)
    tools = sorted_tools(tools)
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
    parts.append(RUNTIME.format(cls=cls))
    functions = kernel_names([t.name for t in tools])
    # A method may not take a name the class body uses (`aclose`, `str`): then it differs from its function's.
    methods = python_names(functions, _CLASS_NAMES)
    for tool, function_name, method in zip(tools, functions, methods, strict=True):
        parts.append(_tool_method(tool, method, function_name))
    parts.append(FOOTER.format(cls=cls))
    body = "".join(parts)
    nodes = list(ast.walk(ast.parse(body)))
    # Read from the syntax tree, not the text: a description may well contain "Annotated[".
    typing = "Annotated, Any" if any(isinstance(n, ast.Name) and n.id == "Annotated" for n in nodes) else "Any"
    return HEADER.format(name=launch.name, waivers=_waivers(nodes), typing=typing, version=GENERATOR_VERSION,
                          tools_hash=tools_hash(tools)) + body


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


def proxy_path(directory: Path, launch: ServerLaunch) -> Path:
    return directory / f"{launch.name}_proxy.py"


def spec_path(directory: Path, launch: ServerLaunch) -> Path:
    return directory / f"{launch.name}_proxy.json"


def _write_if_changed(path: Path, text: str) -> bool:
    """Write `text` atomically unless the file already holds exactly its bytes; True when it wrote."""
    try:
        if path.read_bytes() == text.encode("utf-8"):
            return False  # untouched: no new mtime for watchers and reloaders, no churn in a checked-in copy
    except FileNotFoundError:
        pass
    atomic_write_text(path, text)
    return True


def write_proxy(directory: Path, launch: ServerLaunch, tools: Sequence[ToolSpec]) -> Path:
    """Write <directory>/<name>_proxy.py (atomically, and only when its bytes change) and return its path."""
    text = generate_proxy(launch, tools)  # validates the name before it becomes a file name
    path = proxy_path(directory, launch)
    _write_if_changed(path, text)
    return path


def write_spec(directory: Path, launch: ServerLaunch, tools: Sequence[ToolSpec]) -> Path:
    """Write the spec beside the proxy, <directory>/<name>_proxy.json, like `write_proxy`; return its path."""
    if not NAME.fullmatch(launch.name):
        raise InvalidArgument(f"server name {launch.name!r} must match ^[a-z][a-z0-9_]{{0,39}}$")
    path = spec_path(directory, launch)
    _write_if_changed(path, spec_text(launch, tools))
    return path


def check_proxy(path: Path, launch: ServerLaunch, tools: Sequence[ToolSpec]) -> bool:
    """True when the file holds exactly what `generate_proxy` gives now (bytes, so line endings count too)."""
    try:
        return path.read_bytes() == generate_proxy(launch, tools).encode("utf-8")
    except FileNotFoundError:
        return False
