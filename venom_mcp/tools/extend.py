"""Other MCP servers imported as tools and skills."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..records import (
    ImportedServer,
    ImportedServers,
    RemovedServer,
)
from .meta import ToolBase, tool


class ExtendTools(ToolBase):
    @tool("Import an MCP server", open_world=True)
    async def import_mcp_server(
        self,
        name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
        source: Annotated[str, Field(min_length=1, max_length=1000, description="Git URL or local path.")],
        command: Annotated[str | None, Field(default=None, max_length=1000,
                                             description="Start command, if not its console script.")] = None,
    ) -> ImportedServer:
        """Import an MCP server into its own virtual environment; a generated proxy makes its tools Semantic
        Kernel skills. Importing a name again updates it."""
        record = await self.app.mcp_import.import_server(name, source, command)
        return ImportedServer.model_validate(record)

    @tool("Imported MCP servers", read_only=True)
    async def list_imported_mcp_servers(self) -> ImportedServers:
        """The MCP servers imported so far, with their tools and proxy files."""
        servers = [ImportedServer.model_validate(s) for s in self.app.mcp_import.servers()]
        return ImportedServers(servers=servers, count=len(servers))

    @tool("Remove an imported MCP server", destructive=True)
    async def remove_imported_mcp_server(
        self, name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    ) -> RemovedServer:
        """Delete what an import created (folder, virtual environment, proxy, record), nothing else."""
        return RemovedServer(name=name, removed=await self.app.mcp_import.remove(name))
