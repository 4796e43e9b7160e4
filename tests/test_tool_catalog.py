"""The tool catalog's public API (tools/specs.py), which every face stands on: its listing is what MCP lists, a call
by name validates and answers as MCP's tools/call does, and no face reaches into a library's private attributes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from pydantic import ValidationError

from tests.fakes.ollama import FakeOllama
from venom_mcp.app import App
from venom_mcp.errors import NotFound
from venom_mcp.records.wire_schema import lean_input
from venom_mcp.tools import ToolCatalog

ROOT = Path(__file__).resolve().parent.parent
# FastMCP's private attributes, and the hand-made lifespan replacement the HTTP app used to need.
PRIVATE = re.compile(r"\._(tool|resource|prompt|session)_manager\b|\._mcp_server\b|router\.lifespan_context")


async def test_the_listing_is_what_mcp_lists(app: App, client: ClientSession) -> None:
    listed = (await client.list_tools()).tools
    infos = ToolCatalog(app).infos()
    assert [t.name for t in infos] == [t.name for t in listed] and len(infos) >= 20
    for info, tool in zip(infos, listed, strict=True):
        assert (tool.title, tool.description, tool.annotations) == (info.title, info.description, info.annotations)
        assert tool.inputSchema == lean_input(info.input_schema), info.name  # MCP sends the lean form of it
        assert tool.outputSchema == info.output_schema, info.name
        assert info.read_only == bool(tool.annotations and tool.annotations.readOnlyHint)


async def test_a_call_by_name_validates_and_answers_as_mcp_does(app: App, client: ClientSession,
                                                               ollama: FakeOllama) -> None:
    catalog = ToolCatalog(app)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("trending_models", {"provider": "ollama", "limit": 2}),
        ("list_models", {"provider": "hf", "limit": 1}),  # hf: an alias the tool accepts
        ("trending_models", {"provider": "ollama", "limit": "2"}),  # strict: text is no integer (textargs)
        ("trending_models", {"provider": "bogus"}),
        ("trending_models", {}),  # provider is required
        ("installed_models", {}),
        ("operation_status", {"operation_id": "nope"}),  # the tool's own error: NotFound
        ("model_news", {"month": "2025-13"}),  # the argument's own validator
    ]
    for name, arguments in cases:
        over_mcp = await client.call_tool(name, dict(arguments))
        try:
            result = await catalog.call(name, dict(arguments))
        except (ValidationError, NotFound) as exc:
            text = " ".join(getattr(block, "text", "") for block in over_mcp.content)
            assert over_mcp.isError and str(exc).split("\n")[0] in text, (name, arguments, text)
            continue
        assert not over_mcp.isError, (name, arguments, over_mcp.content)
        assert result.model_dump(mode="json") == over_mcp.structuredContent, (name, arguments)


async def test_an_unknown_tool_is_refused_with_the_names(app: App) -> None:
    catalog = ToolCatalog(app)
    with pytest.raises(NotFound, match="installed_models"):
        catalog.info("no_such_tool")
    with pytest.raises(NotFound, match="no_such_tool"):
        await catalog.call("no_such_tool", {})


def test_no_face_reaches_into_private_attributes() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for folder in ("venom_mcp", "skills", "proxies", "bench", "tests")
             for path in sorted((ROOT / folder).rglob("*.py")) if path != Path(__file__).resolve()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if PRIVATE.search(line)]
    assert found == []
