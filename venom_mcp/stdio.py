"""stdio for the MCP server without a thread hop per line.

The SDK's stdio transport reads and writes through `anyio.wrap_file`, which runs every readline, write and
flush in a worker thread: about 1-2 ms a round trip on a 2-core machine, more than venom-mcp's own work on a
cached call. When stdin and stdout are pipes or sockets (as an MCP client spawns us), the same transport is
fed from asyncio pipe streams instead; anything else (a terminal, a file) keeps the SDK's default.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP

LINE_LIMIT = 64 * 1024 * 1024  # one JSON-RPC message per line; tool results can be large


class _Lines:
    """`async for line in stdin`, as the SDK's transport reads it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _Writer:
    """`await stdout.write(text)` and `await stdout.flush()`, as the SDK's transport writes."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def run_stdio(server: FastMCP) -> None:
    if not (_is_pipe(sys.stdin.fileno()) and _is_pipe(sys.stdout.fileno())):
        await server.run_stdio_async()
        return
    from mcp.server.stdio import stdio_server

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(0), "rb", 0))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(os.dup(1), "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    lowlevel = server._mcp_server
    try:
        async with stdio_server(stdin=_Lines(reader), stdout=_Writer(writer)) as (read, write):  # type: ignore[arg-type]
            await lowlevel.run(read, write, lowlevel.create_initialization_options())
    finally:
        writer.close()
