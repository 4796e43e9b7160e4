"""The runtimes: their status, start/stop, unloading, switching and slash commands."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.fastmcp import Context
from pydantic import Field

from ..records import (
    ActiveRuntime,
    ModelName,
    RuntimeStatus,
    ServerName,
    ServerStatus,
    SlashResult,
    UnloadResult,
)
from .confirm import ConfirmFlag, asker
from .meta import ToolBase, tool


class RuntimeTools(ToolBase):
    @tool("Runtime status", read_only=True)
    async def runtime_status(self) -> RuntimeStatus:
        """The active runtime and each local server's health (online, degraded, offline, switching), pid,
        memory, uptime, manager and Ollama tuning; for ray (a Ray Serve cluster) its applications, replicas (node,
        state, pid) and nodes (free CPUs, GPUs, memory)."""
        return await self.app.runtimes.status()

    @tool("Control a runtime server", destructive=True)
    async def control_runtime(
        self,
        server: ServerName,
        action: Literal["start", "stop", "restart"],
        force: Annotated[bool, Field(strict=True, description="stop: also a server venom-mcp did not start.")] = False,
        confirm: ConfirmFlag = False,
        ctx: Context | None = None,  # type: ignore[type-arg]
    ) -> ServerStatus:
        """Start, stop or restart a local runtime server; start waits until it answers. One venom-mcp did not
        start is stopped only with force=true. ray: its Serve application, never the cluster."""
        if action == "stop" and (ask := asker(ctx, confirm, "control_runtime")) is not None:
            await ask(f"Stop the {server} server? Requests to it fail until it is started again.")
        return await self.app.runtimes.control(server, action, force)

    @tool("Unload models", destructive=True)
    async def unload_models(
        self, runtime: Annotated[ServerName | None, Field(
            default=None, description="Omit for all.")] = None,
        confirm: ConfirmFlag = False,
        ctx: Context | None = None,  # type: ignore[type-arg]
    ) -> UnloadResult:
        """Free memory: unload Ollama's models, stop the vLLM/llama.cpp servers and delete the Ray Serve
        applications venom-mcp runs (others are named in `errors`). activate_model loads one again."""
        if (ask := asker(ctx, confirm, "unload_models")) is not None:
            where = runtime or "every local runtime"
            await ask(f"Unload the models of {where}? Answers wait for a model to load again (activate_model).")
        return await self.app.runtimes.unload(runtime)

    @tool("Switch the active runtime")
    async def switch_runtime(
        self,
        provider: Annotated[str, Field(max_length=40, description="ollama, vllm, llamacpp, openai (gpt) or google "
                                                                  "(gem, gemini).")],
        model: Annotated[ModelName | None, Field(default=None, description="The model to use there.")] = None,
    ) -> ActiveRuntime:
        """Make a local runtime (activating `model`) or a cloud provider (OPENAI_API_KEY, GOOGLE_API_KEY) the one
        chat and translate use."""
        return await self.app.runtimes.switch(provider, model)

    @tool("Run a slash command")
    async def run_slash_command(
        self, text: Annotated[str, Field(min_length=1, max_length=300, description="e.g. '/gem gemini-2.0-flash'.")]
    ) -> SlashResult:
        """Chat commands: /gpt [model], /gem [model], /ollama|/vllm|/llamacpp <model>, /status, /models."""
        return await self.app.runtimes.slash(text)
