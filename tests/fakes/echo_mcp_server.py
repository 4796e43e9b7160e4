"""A small MCP server for the proxy tests and the checked-in example proxy (proxies/examples/echo_proxy.py)."""

from __future__ import annotations

from mcp.server.fastmcp import FastMCP

server = FastMCP("echo")


@server.tool()
def echo(text: str, times: int = 1) -> str:
    """Repeat the text."""
    return " ".join([text] * times)


@server.tool()
def stats(numbers: list[float]) -> dict[str, float]:
    """Count, sum and mean of some numbers."""
    if not numbers:
        raise ValueError("give at least one number")
    return {"count": len(numbers), "sum": sum(numbers), "mean": sum(numbers) / len(numbers)}


if __name__ == "__main__":
    server.run("stdio")
