"""Imported MCP servers (SPEC section 4)."""

from __future__ import annotations

from .vocabulary import Record


class ImportedServer(Record):
    name: str
    source: str
    tools: list[str]
    proxy_path: str


class ImportedServers(Record):
    servers: list[ImportedServer]
    count: int


class RemovedServer(Record):
    name: str
    removed: bool
