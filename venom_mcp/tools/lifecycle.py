"""A model's life here: install, follow, cancel, remove, activate, check fit and capabilities."""

from __future__ import annotations

from typing import Annotated

from mcp.server.fastmcp import Context
from pydantic import Field

from ..errors import VenomError
from ..records import (
    ActiveRuntime,
    Fit,
    InstalledModels,
    ModelCapabilities,
    Operation,
    OperationList,
    ProviderName,
    RuntimeName,
)
from .arguments import Name, OperationId, OptionalRuntime, Provider
from .meta import ToolBase, tool


class LifecycleTools(ToolBase):
    @tool("Installed models", read_only=True)
    async def installed_models(self, runtime: OptionalRuntime = None) -> InstalledModels:
        """The models installed locally, with the active one marked: what venom-mcp installed, plus (status
        "external") what Ollama holds and the Hugging Face snapshots already in MODELS_CACHE_DIR.

        Use this before activate_model or remove_model to see exact names. `warnings` says when part of
        the list could not be read (Ollama down, a corrupt manifest moved aside).
        """
        return await self.app.registry.installed(runtime)

    @tool("Install a model", open_world=True)
    async def install_model(
        self,
        name: Name,
        provider: Provider,
        ctx: Context,  # type: ignore[type-arg]
        runtime: OptionalRuntime = None,
        wait: Annotated[
            bool, Field(strict=True, description="Return only when the install ends, reporting progress.")
        ] = False,
        force: Annotated[bool, Field(strict=True, description="Install although check_fit says it will not fit "
                                                              "in memory (verdict no).")] = False,
        confirm: Annotated[bool, Field(strict=True, description="Confirm a large install (over 20 GB) for a "
                                                                "client that cannot be asked (later use).")] = False,
    ) -> Operation:
        """Download a model: `ollama pull` for Ollama, or the Hub files a runtime needs for Hugging Face.

        Returns the Operation at once (poll operation_status) unless wait=true. Progress is in real bytes.
        A Hugging Face install is checked against MODELS_MAX_DISK_GB before anything is written, resumes
        partial downloads, and verifies sha256. Installing a model that is already being installed returns
        the running operation. It is checked against the free memory first (with what check_fit read, else the
        files' sizes): a model that will not fit is refused with the numbers and what would fit, unless
        force=true; one that runs only on the CPU or partly on the GPU is installed with a warning in the
        operation's message.
        """
        op = await self.app.registry.install(name, provider, runtime, force)
        if not wait:
            return op
        return await self._wait(op, ctx)

    async def _wait(self, op: Operation, ctx: Context) -> Operation:  # type: ignore[type-arg]
        async def relay(current: Operation) -> None:
            await ctx.report_progress(current.progress, 100, current.message)

        # Called without an MCP request (the Semantic Kernel face), there is no client to tell.
        done = await self.app.operations.wait(op.operation_id, relay if ctx is not None else None)
        if done.status != "completed":
            raise VenomError(
                f"{done.operation_type} of {done.model_name} {done.status}: {done.error or done.message} "
                f"(operation {done.operation_id})"
            )
        return done

    @tool("Operation status", read_only=True)
    async def operation_status(self, operation_id: OperationId) -> Operation:
        """The state of one install or removal: status, progress (0..100), bytes done/total, error."""
        return self.app.operations.get(operation_id)

    @tool("Recent operations", read_only=True)
    async def list_operations(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=200, description="How many, newest first.")] = 10
    ) -> OperationList:
        """Recent installs and removals, newest first, including ones from before a restart."""
        operations = self.app.operations.recent(limit)
        return OperationList(operations=operations, count=len(operations))

    @tool("Cancel an operation", destructive=True)
    async def cancel_operation(self, operation_id: OperationId) -> Operation:
        """Stop a running install; nothing half-written enters the manifest, and a later install resumes."""
        return await self.app.operations.cancel(operation_id)

    @tool("Remove a model", destructive=True)
    async def remove_model(self, name: Name, provider: Annotated[
        ProviderName | None, Field(default=None, description="huggingface or ollama; omit to look it up.")
    ] = None) -> Operation:
        """Delete an installed model (Ollama delete, or the Hub cache's revisions of the repo).

        The active model cannot be removed: activate another one first. Returns the finished Operation.
        """
        op = await self.app.registry.remove(name, provider)
        return await self.app.operations.wait(op.operation_id)

    @tool("Activate a model", idempotent=True)
    async def activate_model(
        self, name: Name, runtime: RuntimeName,
        force: Annotated[bool, Field(strict=True, description="Activate although check_fit says it will not fit "
                                                              "in memory (verdict no).")] = False,
    ) -> ActiveRuntime:
        """Make an installed model the active one of a local runtime (ollama, vllm, llamacpp), verified.

        Waits for running requests and installs on the runtimes involved, stops the other local servers
        venom-mcp runs (and unloads an outside Ollama's models), starts or restarts the runtime with the model,
        and confirms that it lists the model and answers a 1-token completion; otherwise it rolls back and says
        why. Runs as an Operation (operation_type "activate"). Pairings: Ollama models on ollama; Hugging Face
        models on vllm, or llamacpp for GGUF. A model that will not fit in the free memory (check_fit) is refused
        unless force=true; CPU-only or partial GPU placement comes back as a warning in the message.
        """
        return await self.app.runtimes.activate(name, runtime, force)

    @tool("Will it fit?", read_only=True, open_world=True)
    async def check_fit(
        self,
        name: Name,
        provider: Annotated[ProviderName | None, Field(
            default=None, description="huggingface or ollama; omit to tell by the name (org/repo is the Hub).")] = None,
        runtime: OptionalRuntime = None,
        context_length: Annotated[int | None, Field(
            default=None, strict=True, ge=1, le=10_485_760,
            description="Tokens of context; omit for what the runtime would use (Ollama's profile, the "
                        "llama.cpp or vLLM command's setting, else its default).")] = None,
    ) -> Fit:
        """Will a model fit in this machine's memory, installed or not? An estimate from its metadata only.

        Reads a GGUF file's header with HTTP Range requests (never the weights), Ollama's /api/show, or a repo's
        config.json and safetensors parameter counts, and compares weights + KV cache + overhead with the VRAM
        and RAM free now. verdict: gpu (every layer in VRAM), gpu_partial (gpu_layers of them), cpu (RAM only)
        or no, with suggestions (a shorter context, a smaller quantization) when it does not fit.
        """
        return await self.app.fit.check(name, provider, runtime, context_length)

    @tool("Model capabilities", read_only=True)
    async def model_capabilities(self, name: Name) -> ModelCapabilities:
        """What an installed model supports: system role, tools, vision, context length, quantization.

        Works for models found outside venom-mcp too (read from Ollama's /api/show or the snapshot's files).
        Use it to adapt prompts (e.g. fold the system prompt into the user turn when system role is false).
        """
        entry = await self.app.registry.resolve(name)
        return ModelCapabilities(model_name=entry.name, capabilities=await self.app.registry.capabilities(name))
