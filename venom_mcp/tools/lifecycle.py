"""A model's life here: install, follow, cancel, remove, activate, check fit and capabilities."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from .arguments import Name, NewName, OperationId, OptionalRuntime, Provider
from .confirm import ConfirmFlag, asker
from .meta import ToolBase, tool


class LifecycleTools(ToolBase):
    @tool("Installed models", read_only=True)
    async def installed_models(self, runtime: OptionalRuntime = None) -> InstalledModels:
        """Installed models (the active one marked), also those found in Ollama or MODELS_CACHE_DIR (status
        external): the names for activate_model and remove_model."""
        return await self.app.registry.installed(runtime)

    @tool("Install a model", open_world=True)
    async def install_model(
        self,
        name: NewName,
        provider: Provider,
        ctx: Context,  # type: ignore[type-arg]
        runtime: OptionalRuntime = None,
        wait: Annotated[
            bool, Field(strict=True, description="Return when it ends, reporting progress.")
        ] = False,
        force: Annotated[bool, Field(strict=True, description="Install even if check_fit says no.")] = False,
        confirm: Annotated[bool, Field(strict=True, description="Go ahead with an install over 20 GB without "
                                                                "asking (clients that cannot ask).")] = False,
    ) -> Operation:
        """Download a model (ollama pull, or Hub files) with byte progress; returns the Operation (poll
        operation_status) unless wait=true. Refused over MODELS_MAX_DISK_GB, or when check_fit says no unless
        force=true."""
        op = await self.app.registry.install(name, provider, runtime, force, asker(ctx, confirm, "install_model"))
        if not wait:
            return op
        return await self._wait(op, ctx)

    async def _wait(self, op: Operation, ctx: Context) -> Operation:  # type: ignore[type-arg]
        async def relay(current: Operation) -> None:
            await ctx.report_progress(current.progress, 100, current.message)

        # Called without an MCP request (the Semantic Kernel face), there is no client to tell.
        return await self.finished(op.operation_id, relay if ctx is not None else None)

    async def finished(self, operation_id: str,
                       on_change: Callable[[Operation], Awaitable[None]] | None = None) -> Operation:
        """The operation once it ended, as install_model with wait=true answers: raises unless it completed."""
        done = await self.app.operations.wait(operation_id, on_change)
        if done.status != "completed":
            raise VenomError(
                f"{done.operation_type} of {done.model_name} {done.status}: {done.error or done.message} "
                f"(operation {done.operation_id})"
            )
        return done

    @tool("Operation status", read_only=True)
    async def operation_status(self, operation_id: OperationId) -> Operation:
        """One install, removal or activation: status, progress 0..100, bytes, error."""
        return self.app.operations.get(operation_id)

    @tool("Recent operations", read_only=True)
    async def list_operations(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=200)] = 10
    ) -> OperationList:
        """Recent operations, newest first (also from before a restart)."""
        operations = self.app.operations.recent(limit)
        return OperationList(operations=operations, count=len(operations))

    @tool("Cancel an operation", destructive=True)
    async def cancel_operation(self, operation_id: OperationId) -> Operation:
        """Stop a running install; nothing half-written enters the manifest, and a later install resumes."""
        return await self.app.operations.cancel(operation_id)

    @tool("Remove a model", destructive=True)
    async def remove_model(self, name: Name, provider: Annotated[
        ProviderName | None, Field(default=None)
    ] = None, confirm: ConfirmFlag = False, ctx: Context | None = None) -> Operation:  # type: ignore[type-arg]
        """Delete an installed model (Ollama delete, or its Hub cache revisions); returns the finished Operation.
        The active model cannot be removed.
        """
        op = await self.app.registry.remove(name, provider, asker(ctx, confirm, "remove_model"))
        return await self.app.operations.wait(op.operation_id)

    @tool("Activate a model", idempotent=True)
    async def activate_model(
        self, name: Name, runtime: RuntimeName,
        force: Annotated[bool, Field(strict=True, description="Activate even if check_fit says no.")] = False,
    ) -> ActiveRuntime:
        """Serve an installed model: restarts its runtime with it (Ollama models on ollama; Hub models on vllm,
        GGUF on llamacpp, or on ray as a Serve application at RAY_ADDRESS), stops the other local servers, and
        rolls back unless it answers. Refused when check_fit says no, unless force=true."""
        return await self.app.runtimes.activate(name, runtime, force)

    @tool("Will it fit?", read_only=True, open_world=True)
    async def check_fit(
        self,
        name: Name,
        provider: Annotated[ProviderName | None, Field(default=None)] = None,
        runtime: OptionalRuntime = None,
        context_length: Annotated[int | None, Field(
            default=None, strict=True, ge=1, le=10_485_760,
            description="Omit for what the runtime would use.")] = None,
    ) -> Fit:
        """Will a model fit in the free VRAM and RAM, installed or not? Estimated from its metadata (weights + KV
        cache + overhead): verdict gpu, gpu_partial, cpu or no, with what would fit."""
        return await self.app.fit.check(name, provider, runtime, context_length)

    @tool("Model capabilities", read_only=True)
    async def model_capabilities(self, name: Name) -> ModelCapabilities:
        """What an installed model supports (system role, tools, vision, thinking, context length, quantization),
        also for models venom-mcp did not install."""
        entry = await self.app.registry.resolve(name)
        return ModelCapabilities(model_name=entry.name, capabilities=await self.app.registry.capabilities(name))
