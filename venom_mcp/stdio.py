"""The stdio transport of the MCP server: one JSON-RPC message a line, each screened before the SDK sees it.

It takes the place of the SDK's `stdio_server`, which hands a line it cannot parse to the server session as an
exception: the client gets a log notification or nothing, and waits for its answer until its own timeout. Here
every line gets one verdict (`jsonrpc.screen`): forwarded to the session, answered at once with the JSON-RPC error
it deserves, or dropped (a notification or a response, which are never answered). A line longer than
`jsontext.MAX_BYTES` is skipped without being held in memory and answered -32600; a blank line is not a message.

When stdin and stdout are pipes or sockets (as an MCP client spawns us), lines are read and written through
asyncio pipe streams: no thread hop per line (the SDK's `anyio.wrap_file` costs 1-2 ms a round trip on a 2-core
machine, more than venom-mcp's own work on a cached call). Anything else (a terminal, a file) is read and written
in a worker thread, as the SDK does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, BinaryIO

import anyio

from .jsonrpc import Drop, Forward, Reply, oversized, screen
from .jsontext import MAX_BYTES

if TYPE_CHECKING:
    from .server import VenomMCP

log = logging.getLogger(__name__)

Line = bytes | int  # a line, or the size of one over the limit (skipped)


class _PipeLines:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def next(self) -> Line | None:
        skipped = 0
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:  # the end: a last line without '\n', or nothing
                line = exc.partial
                if not line and not skipped:
                    return None
            except asyncio.LimitOverrunError as exc:  # over the limit: let go of what is buffered, read on
                skipped += len(await self._reader.readexactly(exc.consumed))
                continue
            return skipped + len(line) if skipped else line


class _FileLines:
    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    async def next(self) -> Line | None:
        skipped = 0
        while True:
            line = await anyio.to_thread.run_sync(self._file.readline, MAX_BYTES + 1)
            if line.endswith(b"\n") or len(line) <= MAX_BYTES:
                if not line and not skipped:
                    return None
                return skipped + len(line) if skipped else line
            skipped += len(line)


class _Out:
    """Whole lines to stdout, one at a time: the session's messages and this transport's own answers."""

    def __init__(self, write: Callable[[bytes], Awaitable[None]]) -> None:
        self._write = write
        self._lock = anyio.Lock()

    async def send(self, message: bytes) -> None:
        async with self._lock:
            await self._write(message + b"\n")


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def _open() -> tuple[_PipeLines | _FileLines, _Out, Callable[[], None]]:
    if not (_is_pipe(sys.stdin.fileno()) and _is_pipe(sys.stdout.fileno())):
        stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

        def write_file(data: bytes) -> None:
            stdout.write(data)
            stdout.flush()

        async def write_threaded(data: bytes) -> None:
            await anyio.to_thread.run_sync(write_file, data)

        return _FileLines(stdin), _Out(write_threaded), lambda: None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_BYTES + 1)  # a whole line with its '\n'
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(0), "rb", 0))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(os.dup(1), "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)

    async def write_pipe(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    return _PipeLines(reader), _Out(write_pipe), writer.close


async def run_stdio(server: VenomMCP) -> None:
    from mcp.shared.message import SessionMessage

    lines, out, close = await _open()
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def read() -> None:
        async with read_writer:
            while (line := await lines.next()) is not None:
                if isinstance(line, bytes) and not line.strip():
                    continue  # a blank line is not a message
                verdict = oversized(line, MAX_BYTES) if isinstance(line, int) else screen(line)
                if isinstance(verdict, Forward):
                    try:
                        await read_writer.send(SessionMessage(verdict.message))
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return  # the session has ended
                elif isinstance(verdict, Reply):
                    await out.send(verdict.body())
                elif isinstance(verdict, Drop):
                    log.warning("dropped a message from the client: %s", verdict.reason)

    async def write() -> None:
        async with write_reader:
            async for message in write_reader:
                await out.send(message.message.model_dump_json(by_alias=True, exclude_none=True).encode())

    # FastMCP serves stdio only over the SDK's own reader (`run_stdio_async`); the low-level server it made is run
    # here over our screened streams, as `run_stdio_async` runs it (VenomMCP.lowlevel: through public attributes).
    lowlevel = server.lowlevel
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read)
            tasks.start_soon(write)
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    finally:
        close()
