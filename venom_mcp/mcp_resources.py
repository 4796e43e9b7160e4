"""MCP resources: what an MCP client can attach or watch, as JSON, over the same services as the tools:
`venom://models/installed`, `venom://runtime/status`, `venom://operations/{operation_id}` and
`venom://models/{name}/capabilities` (a model name with '/' is URL-encoded: `venom://models/org%2Frepo/...`)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP
    from mcp.types import Resource

    from .app import App

JSON = "application/json"


def register(server: FastMCP, app: App) -> None:
    """Add the resources and the resource templates (public FastMCP API only)."""
    from .records import ModelCapabilities, check_model_name

    async def installed() -> str:
        return (await app.registry.installed()).model_dump_json()

    async def status() -> str:
        return (await app.runtimes.status()).model_dump_json()

    async def operation(operation_id: str) -> str:
        return app.operations.get(unquote(operation_id)).model_dump_json()

    async def capabilities(name: str) -> str:
        model = check_model_name(unquote(name))
        entry = await app.registry.resolve(model)
        found = await app.registry.capabilities(model)
        return ModelCapabilities(model_name=entry.name, capabilities=found).model_dump_json()

    for uri, fn, title, description in (
        ("venom://models/installed", installed, "Installed models", "The installed models, as installed_models."),
        ("venom://runtime/status", status, "Runtime status", "The active runtime and every server, as runtime_status."),
        ("venom://operations/{operation_id}", operation, "An operation", "An install or removal, as operation_status."),
        ("venom://models/{name}/capabilities", capabilities, "Model capabilities",
         "A model's capabilities, as model_capabilities (URL-encode a '/' in the name)."),
    ):
        server.resource(uri, title=title, description=description, mime_type=JSON)(fn)


async def installed_resources(app: App) -> list[Resource]:
    """The capabilities of each model venom-mcp installed, as a resource of its own (a client lists and attaches
    them; `list_changed` tells it when the set changes). Models found in Ollama or the cache only are reached
    through the template."""
    from mcp.types import Resource

    from .mcp_subscriptions import capabilities_uri

    return [Resource(uri=capabilities_uri(m.name), name=f"{m.name} capabilities",  # type: ignore[arg-type]
                     title=f"Capabilities of {m.name}", mimeType=JSON,
                     description=f"What {m.name} supports, as model_capabilities.")
            for m in app.registry.manifest()]


__all__ = ["installed_resources", "register"]
