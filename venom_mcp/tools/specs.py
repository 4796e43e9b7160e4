"""The catalog's tools as data, and the call of one by name: the public API every face stands on.

Each tool is built by FastMCP's public `Tool.from_function` from the method's signature and docstring, once and only
when first needed, so its input schema, output schema and argument validation are the very ones the MCP server uses
(the MCP face lists these infos and runs these Tool objects, with `Tool.run`). The schemas of all tools are kept
between runs (schema_cache.py): a new process lists the tools without building them, and builds one when it is first
called. A call by name validates its arguments and calls the method as MCP's tools/call does (the tool's
`fn_metadata.call_fn_with_arg_validation`, what `Tool.run` runs): strict types, aliases, JSON text pre-parsed into
lists and objects; the result is the output record itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotFound
from .meta import ToolMeta, describe

if TYPE_CHECKING:
    from pathlib import Path

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
    """The tools of one catalog by name. `cache`: where their schemas are kept between runs (None: not kept)."""

    def __init__(self, methods: Iterable[tuple[Callable[..., Any], ToolMeta]], cache: Path | None = None) -> None:
        self._methods = {fn.__name__: (fn, meta) for fn, meta in methods}
        self._cache = cache
        self._tools: dict[str, Tool] = {}
        self._infos: dict[str, ToolInfo] | None = None

    def tool(self, name: str) -> Tool:
        """The FastMCP Tool, built on first use; NotFound names the tools."""
        built = self._tools.get(name)
        if built is None:
            from mcp.server.fastmcp.tools import Tool

            if name not in self._methods:
                raise NotFound(f"unknown tool {name[:100]!r}; the tools are: {', '.join(self._methods)}")
            fn, meta = self._methods[name]
            # The docstring as prose: no source indentation or line wraps (an LLM pays a token for each).
            built = self._tools[name] = Tool.from_function(fn, title=meta.title, description=describe(fn),
                                                           annotations=_annotations(meta))
        return built

    def infos(self) -> list[ToolInfo]:
        return list(self._all().values())

    def info(self, name: str) -> ToolInfo:
        found = self._all().get(name)
        if found is None:
            raise NotFound(f"unknown tool {name[:100]!r}; the tools are: {', '.join(self._methods)}")
        return found

    def _all(self) -> dict[str, ToolInfo]:
        if self._infos is None:
            self._infos = self._load()
        return self._infos

    def _load(self) -> dict[str, ToolInfo]:
        """Every tool's info: the schemas from the cache when its key still holds, else from building every tool
        (and then into the cache)."""
        from .schema_cache import load, save, source_key

        key = source_key() if self._cache is not None else ""
        schemas = load(self._cache, key, list(self._methods)) if self._cache is not None else None
        if schemas is None:
            schemas = {}
            for name in self._methods:
                tool = self.tool(name)
                schemas[name] = (tool.parameters, tool.output_schema)
            if self._cache is not None:
                save(self._cache, key, schemas)
        infos = {}
        for name, (fn, meta) in self._methods.items():
            given, output = schemas[name]
            infos[name] = ToolInfo(name, meta.title, describe(fn), given, output, _annotations(meta))
        return infos

    async def call(self, name: str, arguments: dict[str, Any],
                   context: Context[Any, Any, Any] | None = None) -> Any:
        tool = self.tool(name)  # NotFound for an unknown name
        # What Tool.run does, without its ToolError wrapper: a caller outside MCP gets the failure itself (pydantic's
        # ValidationError for bad arguments, our errors for the rest), whose class says what went wrong.
        injected = {tool.context_kwarg: context} if tool.context_kwarg is not None else None
        return await tool.fn_metadata.call_fn_with_arg_validation(tool.fn, tool.is_async, arguments, injected)


__all__ = ["ToolIndex", "ToolInfo"]
