"""A bare JSON-RPC client over a server's stdio: one request line out, its response line back.

Benchmarks use it to time the server itself; the Python SDK's ClientSession re-validates every structured
result with jsonschema, which would add the client's cost to the server's."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class StdioRpc:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc, self._stdin, self._stdout = proc, proc.stdin, proc.stdout
        self._next = 0

    @classmethod
    async def spawn(cls, argv: list[str], env: dict[str, str], cwd: str | None = None) -> StdioRpc:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=2**24,
        )
        rpc = cls(proc)
        await rpc.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "bench", "version": "0"}})
        rpc._stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        return rpc

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self._stdin.write((json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}) + "\n")
                          .encode())
        await self._stdin.drain()
        while True:
            reply = json.loads(await self._stdout.readline())
            if reply.get("id") == ident:
                return dict(reply)

    async def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        reply = await self.request("tools/call", {"name": name, "arguments": arguments})
        result = dict(reply["result"])
        if result.get("isError"):
            raise RuntimeError(f"{name} failed: {result['content'][0]['text']}")
        return result

    async def close(self) -> None:
        self._stdin.close()
        await self.proc.wait()
