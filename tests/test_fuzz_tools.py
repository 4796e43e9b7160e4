"""Fuzzing every tool from its published input schema, as a hostile or careless client would.

For each tool, hypothesis draws argument objects: arbitrary JSON (wrong types, strings for numbers, booleans for
integers, unknown keys, nesting) and, for the read-only tools, objects valid for the schema
(hypothesis-jsonschema). Each call must get exactly one answer, never a traceback; an argument object that the
published schema refuses (checked with jsonschema) must be refused by the server too, so a client can trust the
schema it reads; and a refused call writes nothing, in $VENOM_HOME or in $HOME. A fixed seed and a bounded number
of examples keep it the same on every CI run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp import ClientSession
from mcp.types import CallToolResult, TextContent, Tool

from tests.conftest import make_settings, mcp_session
from venom_mcp.app import App

SEED_SETTINGS = settings(
    max_examples=12, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
# Values that lax parsing used to let through: numbers as strings, booleans as numbers, other spellings.
TRICKY = st.sampled_from(["5", "1", "true", "OLLAMA", "Ollama", " ollama", "HF", "", "null", True, False, 1.5, -1, 0,
                          10**6, [], {}, None])


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()} if folder.exists() else {}


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


class Caller:
    """Calls tools on a server whose event loop runs in a portal thread, so hypothesis can drive it synchronously."""

    def __init__(self, portal: BlockingPortal, session: ClientSession, home: Path, user_home: Path) -> None:
        self.portal, self.session, self.home, self.user_home = portal, session, home, user_home
        self.calls = 0

    def call(self, tool: Tool, arguments: dict[str, Any]) -> CallToolResult:
        self.calls += 1
        result: CallToolResult = self.portal.call(self.session.call_tool, tool.name, arguments)
        text = _text(result)
        assert "Traceback" not in text and 'File "' not in text, (tool.name, arguments, text)
        return result

    def refused_and_nothing_written(self, tool: Tool, arguments: dict[str, Any]) -> None:
        before = (_tree(self.home), _tree(self.user_home))
        result = self.call(tool, arguments)
        assert result.isError, f"{tool.name} accepted {arguments!r}, which its published schema refuses"
        assert _text(result).strip(), (tool.name, arguments)
        assert (_tree(self.home), _tree(self.user_home)) == before, f"{tool.name} wrote files for {arguments!r}"


@pytest.fixture
def caller(home: Path, hub_url: str, library_url: str, ollama_url: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Caller]:
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full"))
        session = stack.enter_context(portal.wrap_async_context_manager(mcp_session(app)))
        yield Caller(portal, session, home, user_home)


def _arguments(tool: Tool) -> st.SearchStrategy[dict[str, Any]]:
    names = list(tool.inputSchema.get("properties", {}))
    keys = st.sampled_from(names) | st.text(max_size=8) if names else st.text(max_size=8)
    return st.dictionaries(keys, JSON | TRICKY, max_size=4)


def test_every_tool_refuses_what_its_schema_refuses_and_answers_the_rest(caller: Caller) -> None:
    tools: list[Tool] = caller.portal.call(caller.session.list_tools).tools
    assert len(tools) >= 20
    for tool in tools:
        _fuzz(caller, tool)
    assert caller.calls > 10 * len(tools)


def _fuzz(caller: Caller, tool: Tool) -> None:
    validator = jsonschema.Draft202012Validator(tool.inputSchema)
    read_only = bool(tool.annotations and tool.annotations.readOnlyHint)

    @SEED_SETTINGS
    @given(arguments=_arguments(tool))
    def hostile(arguments: dict[str, Any]) -> None:
        if not validator.is_valid(arguments):
            caller.refused_and_nothing_written(tool, arguments)
        elif read_only:
            caller.call(tool, arguments)  # valid: any answer, but one, and clean

    @SEED_SETTINGS
    @given(arguments=from_schema(tool.inputSchema))
    def valid(arguments: dict[str, Any]) -> None:
        result = caller.call(tool, arguments)
        if not result.isError and tool.outputSchema:
            jsonschema.validate(result.structuredContent, tool.outputSchema)

    hostile()
    if read_only:
        valid()


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_models", {"provider": "ollama", "limit": True}),
        ("list_models", {"provider": "ollama", "limit": "5"}),
        ("list_models", {"provider": "OLLAMA"}),
        ("trending_models", {"provider": "ollama", "refresh": 1}),
        ("list_operations", {"limit": 2.5}),
        ("install_model", {"name": ".", "provider": "ollama"}),
        ("install_model", {"name": "llama3.2:1b", "provider": "ollama", "wait": "yes"}),
    ],
)
def test_loose_spellings_are_refused(caller: Caller, tool: str, arguments: dict[str, Any]) -> None:
    (published,) = [t for t in caller.portal.call(caller.session.list_tools).tools if t.name == tool]
    caller.refused_and_nothing_written(published, json.loads(json.dumps(arguments)))
