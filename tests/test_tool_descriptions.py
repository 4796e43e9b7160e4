"""What an agent reads before it calls anything: tool descriptions without source indentation, and server
instructions that tell it what every tool is for."""

from __future__ import annotations

import inspect
import re

from mcp import ClientSession

from venom_mcp.app import App
from venom_mcp.server import build_server
from venom_mcp.tools import ToolCatalog


async def test_descriptions_are_docstrings_as_prose(client: ClientSession, app: App) -> None:
    # The docstring's words, without its source indentation and line wraps: every "\n" costs an LLM a token on
    # every turn (issue 16); blank lines still part paragraphs.
    tools = (await client.list_tools()).tools
    docs = {fn.__name__: fn.__doc__ or "" for fn, _ in ToolCatalog(app).tools()}
    assert {t.name for t in tools} == set(docs)
    for listed in tools:
        description = listed.description or ""
        assert description.split() == inspect.cleandoc(docs[listed.name]).split(), listed.name
        assert not re.search(r"[^\n]\n[^\n]", description), f"{listed.name} keeps the source's line wraps"
        assert not re.search(r"^[ \t]+\S", description, re.MULTILINE), f"{listed.name} keeps source indentation"
        assert description == description.strip()


async def test_instructions_name_every_tool(app: App) -> None:
    server = build_server(app)
    instructions = server.instructions or ""
    missing = [fn.__name__ for fn, _ in ToolCatalog(app).tools() if not re.search(rf"\b{fn.__name__}\b",
                                                                                  instructions)]
    assert missing == [], f"the server instructions say nothing of {missing}"
