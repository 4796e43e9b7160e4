"""The runtimes: their status, start/stop, unloading, switching and slash commands."""

from __future__ import annotations

from typing import Annotated, Literal

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
from .meta import ToolBase, tool


class RuntimeTools(ToolBase):
    @tool("Runtime status", read_only=True)
    async def runtime_status(self) -> RuntimeStatus:
        """The active runtime and the health of each local server the profile exposes.

        Each server reports online / degraded (answers, but serves another model name than configured, or
        slowly) / offline / switching, with pid, memory of its process tree, uptime and who manages it
        (systemd, process, or external: a process on its port that venom-mcp did not start, with its command).
        Ollama shows its tuning profile and where each value applies.
        """
        return await self.app.runtimes.status()

    @tool("Start, stop or restart a runtime server", destructive=True)
    async def control_runtime(
        self,
        server: Annotated[ServerName, Field(description="ollama, vllm or llamacpp.")],
        action: Annotated[Literal["start", "stop", "restart"], Field(description="start, stop or restart.")],
        force: Annotated[bool, Field(strict=True, description="stop: also stop a process on the port that venom-mcp "
                                                              "did not start (that pid only).")] = False,
    ) -> ServerStatus:
        """Start, stop or restart a local runtime server (systemd unit or managed process).

        Start waits until the server answers and reports the log tail if it fails; a server answering under
        another model name returns at once as degraded. A server started outside venom-mcp is stopped only
        with force=true. Starting a running server or stopping a stopped one changes nothing.
        """
        return await self.app.runtimes.control(server, action, force)

    @tool("Unload models and free memory", destructive=True)
    async def unload_models(
        self, runtime: Annotated[ServerName | None, Field(
            default=None, description="ollama, vllm or llamacpp; omit for all local runtimes.")] = None,
    ) -> UnloadResult:
        """Free the memory local runtimes hold: every model Ollama has loaded is unloaded (keep_alive 0, confirmed
        gone from /api/ps), and the vLLM/llama.cpp servers venom-mcp runs are stopped. Servers venom-mcp did not
        start are named in `errors`, not touched. The active model stays recorded; activate_model loads it again.
        """
        return await self.app.runtimes.unload(runtime)

    @tool("Switch the active runtime")
    async def switch_runtime(
        self,
        provider: Annotated[str, Field(max_length=40, description="ollama, vllm, llamacpp, openai (gpt) or google "
                                                                  "(gem, gemini).")],
        model: Annotated[ModelName | None, Field(default=None, description="The model to use there.")] = None,
    ) -> ActiveRuntime:
        """Make a local runtime or a cloud provider the one chat and translate use.

        Cloud providers need their API key (OPENAI_API_KEY, GOOGLE_API_KEY); a local runtime needs an installed
        model, which is activated (vLLM and llama.cpp are restarted with it).
        """
        return await self.app.runtimes.switch(provider, model)

    @tool("Run a slash command")
    async def run_slash_command(
        self, text: Annotated[str, Field(min_length=1, max_length=300, description="e.g. '/gem gemini-2.0-flash'.")]
    ) -> SlashResult:
        """Chat-style commands: /gpt [model], /gem [model], /ollama <model>, /vllm <model>, /llamacpp <model>,
        /status, /models. Anything else comes back with handled=false and the list of commands."""
        return await self.app.runtimes.slash(text)
