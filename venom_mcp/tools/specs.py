"""The catalog's tools as data, and the call of one by name: the public API every face stands on.

Each tool is built once, by FastMCP's public `Tool.from_function` from the method's signature and docstring, so
its input schema, output schema and argument validation are the very ones the MCP server uses (FastMCP is given
these same Tool objects: `FastMCP(tools=...)`). A call by name validates its arguments and calls the method as
MCP's tools/call does (the tool's `fn_metadata.call_fn_with_arg_validation`, what `Tool.run` runs): strict types,
aliases, JSON text pre-parsed into lists and objects; the result is the output record itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotFound
from .meta import ToolMeta, describe

if TYPE_CHECKING:
    from mcp.server.fastmcp import Context
    from mcp.server.fastmcp.tools import Tool
    from mcp.types import ToolAnnotations


@dataclass(frozen=True)
class ToolInfo:
    """One tool as the faces show it. The schemas are pydantic's, in full (the MCP face trims the input schema it
    sends; the REST API's OpenAPI document and the Semantic Kernel functions use them as they are)."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    annotations: ToolAnnotations

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.readOnlyHint)


def _annotations(meta: ToolMeta) -> ToolAnnotations:
    from mcp.types import ToolAnnotations

    return ToolAnnotations(title=meta.title, readOnlyHint=meta.read_only, destructiveHint=meta.destructive,
                           idempotentHint=meta.idempotent, openWorldHint=meta.open_world)


class ToolIndex:
    """The tools of one catalog by name, built once."""

    def __init__(self, methods: Iterable[tuple[Callable[..., Any], ToolMeta]]) -> None:
        from mcp.server.fastmcp.tools import Tool

        self._tools: dict[str, Tool] = {}
        self._infos: dict[str, ToolInfo] = {}
        for fn, meta in methods:
            annotations = _annotations(meta)
            # The docstring as prose: no source indentation or line wraps (an LLM pays a token for each).
            built = Tool.from_function(fn, title=meta.title, description=describe(fn), annotations=annotations)
            self._tools[built.name] = built
            self._infos[built.name] = ToolInfo(built.name, meta.title, built.description, built.parameters,
                                               built.output_schema, annotations)

    def mcp_tools(self) -> list[Tool]:
        return list(self._tools.values())

    def infos(self) -> list[ToolInfo]:
        return list(self._infos.values())

    def info(self, name: str) -> ToolInfo:
        found = self._infos.get(name)
        if found is None:
            raise NotFound(f"unknown tool {name[:100]!r}; the tools are: {', '.join(self._infos)}")
        return found

    async def call(self, name: str, arguments: dict[str, Any],
                   context: Context[Any, Any, Any] | None = None) -> Any:
        self.info(name)  # NotFound for an unknown name
        tool = self._tools[name]
        # What Tool.run does, without its ToolError wrapper: a caller outside MCP gets the failure itself (pydantic's
        # ValidationError for bad arguments, our errors for the rest), whose class says what went wrong.
        injected = {tool.context_kwarg: context} if tool.context_kwarg is not None else None
        return await tool.fn_metadata.call_fn_with_arg_validation(tool.fn, tool.is_async, arguments, injected)


__all__ = ["ToolIndex", "ToolInfo"]
