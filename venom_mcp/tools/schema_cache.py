"""The tools' JSON schemas kept between runs, so that a new process answers tools/list without building its tools.

Building the tools (FastMCP's `Tool.from_function`: a pydantic model of each tool's arguments, then the input and
output JSON schemas) takes about as long as importing the rest of the server, and an MCP client starts the server at
each launch and asks tools/list first. So the schemas a build produced are written to
`$VENOM_HOME/cache/tool_schemas.json`, under a key made of all they derive from: venom-mcp's own source files (path,
size and modification time of each), Python's version, pydantic's (which pins its core's), and the mcp SDK's files
that turn a function into a tool. A different key, or a file that does not read, means a build (and a new file); the
cache is never trusted past its key. A tool is still built, its argument model with it, when it is first called.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import StateError
from ..store import atomic_write_json, read_json

log = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent.parent  # venom_mcp
FILE = ("cache", "tool_schemas.json")
Schemas = dict[str, tuple[dict[str, Any], dict[str, Any] | None]]  # tool name -> (input schema, output schema)


def source_key() -> str:
    """What the schemas derive from, as one digest. Reading it stats every source file of the package (a few ms)."""
    import pydantic
    from mcp import types
    from mcp.server.fastmcp.tools import base
    from mcp.server.fastmcp.utilities import func_metadata

    digest = hashlib.sha256(f"{sys.version}\0{pydantic.VERSION}\n".encode())  # pydantic pins its core's version
    sdk = [os.path.realpath(module.__file__ or "") for module in (types, base, func_metadata)]
    stats = [*_sources(str(PACKAGE), len(str(PACKAGE))), *((path, os.stat(path)) for path in sdk)]
    digest.update("".join(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n" for path, stat in stats).encode())
    return digest.hexdigest()


def _sources(folder: str, root: int) -> list[tuple[str, os.stat_result]]:
    """Every .py file under `folder` (path relative to the package) with its stat, in a stable order."""
    found: list[tuple[str, os.stat_result]] = []
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if entry.name.endswith(".py"):
            found.append((entry.path[root:], entry.stat()))
        elif entry.name != "__pycache__" and entry.is_dir(follow_symlinks=False):
            found += _sources(entry.path, root)
    return found


def load(path: Path, key: str, names: list[str]) -> Schemas | None:
    """The schemas stored under `key` for exactly these tools; None when there are none (or they do not read)."""
    try:
        stored = read_json(path)
    except (StateError, OSError) as exc:
        log.debug("tool schemas not read from %s: %s", path, exc)
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("tools"), dict):
        return None
    tools: dict[str, Any] = stored["tools"]
    if sorted(tools) != sorted(names):
        return None
    schemas: Schemas = {}
    for name in names:
        entry = tools[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("input"), dict):
            return None
        output = entry.get("output")
        schemas[name] = (entry["input"], output if isinstance(output, dict) else None)
    return schemas


def save(path: Path, key: str, schemas: Schemas) -> None:
    """Store them (atomically); a home that cannot be written only costs the next start a build."""
    tools = {name: {"input": given, "output": output} for name, (given, output) in schemas.items()}
    try:
        atomic_write_json(path, {"key": key, "tools": tools})
    except OSError as exc:
        log.debug("tool schemas not written to %s: %s", path, exc)
