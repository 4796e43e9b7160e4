"""What a proxy is generated from: how to start the server and the tools it lists, in a canonical order.

The same tools in any order, with object members in any order, give the same sorted list, the same hash, the same
spec text and so the same proxy bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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


def _canonical(data: Any) -> str:
    # ASCII and sorted keys: independent of the server's member order, and encodable whatever the strings hold
    # (a lone surrogate from a JSON escape cannot be written as UTF-8). These are json's default separators.
    return json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(", ", ": "))


def sorted_tools(tools: Sequence[ToolSpec]) -> list[ToolSpec]:
    """The tools by name; a server that lists one name twice has those ordered by their content."""
    return sorted(tools, key=lambda t: (t.name, _canonical([t.description, t.input_schema, t.output_schema])))


def tools_hash(tools: Sequence[ToolSpec]) -> str:
    """A fingerprint of what a server publishes: a proxy is stale when its server's tools hash differently."""
    data = [[t.name, t.description, t.input_schema, t.output_schema] for t in sorted_tools(tools)]
    return hashlib.sha256(_canonical(data).encode()).hexdigest()


def spec_data(launch: ServerLaunch, tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """The JSON-able spec that `load_spec` reads back (what SPEC_JSON holds), tools sorted by name."""
    return {
        "launch": {
            "name": launch.name,
            "command": launch.command,
            "args": list(launch.args),
            "env": dict(sorted(launch.env.items())),
            "cwd": launch.cwd,
        },
        "tools": [
            {
                "name": t.name,
                "description": t.description,
                "input_schema": t.input_schema,
                "output_schema": t.output_schema,
            }
            for t in sorted_tools(tools)
        ],
    }


def spec_text(launch: ServerLaunch, tools: Sequence[ToolSpec]) -> str:
    """The spec file's text: canonical JSON (sorted keys, ASCII, fixed indent, one final newline)."""
    return json.dumps(spec_data(launch, tools), sort_keys=True, ensure_ascii=True, indent=1) + "\n"


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
    launch = ServerLaunch(
        name=name, command=command, args=_str_list(raw.get("args", []), "launch.args"), env=env, cwd=cwd
    )
    tools = []
    for item in data["tools"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError("each tool needs a string name")
        description = item.get("description")
        schema = item.get("input_schema", item.get("inputSchema")) or {}
        output = item.get("output_schema", item.get("outputSchema"))
        if not (description is None or isinstance(description, str)) or not isinstance(schema, dict):
            raise ValueError(f"tool {item['name']!r}: description must be a string or null, input_schema an object")
        tools.append(
            ToolSpec(
                name=item["name"],
                description=description,
                input_schema=schema,
                output_schema=output if isinstance(output, dict) else None,
            )
        )
    return launch, tools
