"""The tool catalog: one typed async function per tool of SPEC section 4, thin over the services.

Every face stands on the catalog's public API: `infos()` lists the tools with their schemas and annotations,
`call(name, arguments)` calls one with the validation MCP applies, and `tool(name)` is the FastMCP Tool the MCP server
runs for it (specs.py). The MCP server, the REST API and its OpenAPI document, the Semantic Kernel skills and the CLI
therefore cannot drift apart.

Each group of tools is a class of its own module; ToolCatalog joins them in the order clients list them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .browse import BrowseTools
from .extend import ExtendTools
from .inference import InferenceTools
from .lifecycle import LifecycleTools
from .meta import ToolMeta, describe, tool
from .observe import ObserveTools
from .runtimes import RuntimeTools
from .schema_cache import FILE as SCHEMA_FILE
from .specs import ToolIndex, ToolInfo

if TYPE_CHECKING:
    from mcp.server.fastmcp import Context
    from mcp.server.fastmcp.tools import Tool

__all__ = ["ToolCatalog", "ToolInfo", "ToolMeta", "describe", "tool"]


class ToolCatalog(BrowseTools, LifecycleTools, RuntimeTools, InferenceTools, ObserveTools, ExtendTools):
    def tools(self) -> Iterator[tuple[Callable[..., Any], ToolMeta]]:
        """The bound tool methods with their metadata, group by group in declaration order."""
        seen: set[str] = set()
        for klass in type(self).__mro__:
            for name, member in vars(klass).items():
                meta = getattr(member, "__venom_tool__", None)
                if isinstance(meta, ToolMeta) and name not in seen:
                    seen.add(name)
                    yield getattr(self, name), meta

    @cached_property
    def _index(self) -> ToolIndex:
        return ToolIndex(self.tools(), self.app.settings.path(*SCHEMA_FILE))

    def infos(self) -> list[ToolInfo]:
        """Every tool with its title, description, input and output schemas and MCP annotations."""
        return self._index.infos()

    def info(self, name: str) -> ToolInfo:
        """One tool; NotFound names the others."""
        return self._index.info(name)

    async def call(self, name: str, arguments: dict[str, Any], context: Context[Any, Any, Any] | None = None) -> Any:
        """Call a tool by name as MCP does: arguments validated strictly (pydantic's ValidationError when they are
        wrong), the result record as the tool returns it. Without an MCP `context` nobody is asked to confirm or
        told of progress (the caller's call is its confirmation)."""
        return await self._index.call(name, arguments, context)

    def tool(self, name: str) -> Tool:
        """The FastMCP Tool of one tool (built on first use), as the MCP server runs it; NotFound names the others."""
        return self._index.tool(name)
