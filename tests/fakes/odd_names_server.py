"""An MCP server whose tool names Python and Semantic Kernel cannot take as they are, for the proxy tests.

Each tool answers with its own name, so a test can tell which tool a kernel function reached.

    python -m tests.fakes.odd_names_server
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.fastmcp import FastMCP

# Keywords, dunders, punctuation, a leading digit, non-ASCII, and two names that sanitise alike.
NAMES = ["class", "__init__", "my-tool", "my_tool", "2fast", "tool.with.dots", "zażółć", "match"]
# A description that would end a string literal, escape its quote, or start a new line of code if pasted.
HOSTILE_DESCRIPTION = 'Says """hi""" and \'\'\'bye\'\'\'; ends with a backslash \\\nimport os; os.system("x") \\'


def _answer(name: str) -> Callable[[str], str]:
    def answer(text: str) -> str:
        return f"{name}:{text}"

    return answer


def build() -> FastMCP:
    # Built on demand: the tests import NAMES without registering tools (MCP warns about such names).
    server = FastMCP("odd-names")
    for name in NAMES:
        description = HOSTILE_DESCRIPTION if name == "__init__" else f"The tool named {name!r}."
        server.add_tool(_answer(name), name=name, description=description)
    return server


if __name__ == "__main__":
    build().run("stdio")
