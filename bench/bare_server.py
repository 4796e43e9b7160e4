"""Baseline for bench/startup.py: a bare FastMCP server with one echo tool."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("bare")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
