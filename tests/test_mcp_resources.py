"""MCP resources through the SDK's own client: the installed models, the runtime status, an operation and a
model's capabilities, as JSON, the same records the tools return."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from mcp import ClientSession
from mcp.shared.exceptions import McpError
from mcp.types import TextResourceContents
from pydantic import AnyUrl

from tests.conftest import build, mcp_session
from tests.fakes.hub import TINY_CHAT
from tests.test_catalog_tools import call


@pytest.fixture
async def session(runtime_settings: dict[str, Any]) -> AsyncIterator[ClientSession]:
    async with mcp_session(build(runtime_settings)) as client:
        yield client


async def read(session: ClientSession, uri: str) -> Any:
    (content,) = (await session.read_resource(AnyUrl(uri))).contents
    assert isinstance(content, TextResourceContents) and content.mimeType == "application/json"
    return json.loads(content.text)


async def test_resources_are_the_tools_records(session: ClientSession) -> None:
    listed = {str(r.uri) for r in (await session.list_resources()).resources}
    assert listed == {"venom://models/installed", "venom://runtime/status"}
    templates = {t.uriTemplate for t in (await session.list_resource_templates()).resourceTemplates}
    assert templates == {"venom://operations/{operation_id}", "venom://models/{name}/capabilities"}
    op = await call(session, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
    op_hf = await call(session, "install_model", name=TINY_CHAT, provider="huggingface", wait=True)
    installed = await read(session, "venom://models/installed")
    assert {m["name"] for m in installed["models"]} >= {"llama3.2:1b", TINY_CHAT}
    assert installed == await call(session, "installed_models")
    assert (await read(session, f"venom://operations/{op['operation_id']}"))["status"] == "completed"
    assert (await read(session, f"venom://operations/{op_hf['operation_id']}"))["model_name"] == TINY_CHAT
    caps = await read(session, f"venom://models/{quote(TINY_CHAT, safe='')}/capabilities")
    assert caps == await call(session, "model_capabilities", name=TINY_CHAT)
    status = await read(session, "venom://runtime/status")
    assert set(status) == {"active", "servers"}
    with pytest.raises(McpError) as missing:
        await session.read_resource(AnyUrl("venom://operations/nope"))
    assert missing.value.error.code == -32002 and "nope" in missing.value.error.message
