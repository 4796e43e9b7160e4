"""MCP prompts: the chat slash commands as prompts, so an MCP client's slash menu shows `/gpt`, `/gem`, `/ollama`,
`/vllm`, `/llamacpp`, `/status` and `/models`; getting one does what `run_slash_command` does and returns a message
that says what is active now. `install` walks an agent through choosing, fitting and installing a model.
Completions offer installed model names for the `model` arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .services.slash import SLASH_TARGETS

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP
    from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

    from .app import App

SWITCHES = {
    "gpt": "Switch the active runtime to OpenAI (optionally one of its models, e.g. gpt-4o-mini).",
    "gem": "Switch the active runtime to Google Gemini (optionally one of its models, e.g. gemini-2.0-flash).",
    "ollama": "Make an installed Ollama model the active one.",
    "vllm": "Make an installed Hugging Face model the active one, served by vLLM.",
    "llamacpp": "Make an installed GGUF model the active one, served by llama.cpp.",
}
INSTALL_STEPS = """Help me install a language model{about}, step by step, with the venom-mcp tools:
1. Find candidates: list_models(provider={provider!r}{query}) and trending_models; show name, size and downloads.
2. For the one I pick, check_fit(name=...) and tell me the verdict (gpu, gpu_partial, cpu or no) and the numbers;
   if it is `no`, suggest what check_fit says would fit (a smaller quantization or a shorter context).
3. Install it with install_model(name=..., provider=..., wait=true) and report the progress and the result.
4. Make it the active model with activate_model(name=..., runtime=...) and confirm with runtime_status."""


def register(server: FastMCP, app: App) -> None:
    """Add the prompts and the completion handler to the server (public FastMCP API only). The prompts are built
    as FastMCP's Prompt records with their arguments named here, not derived by `Prompt.from_function` (a pydantic
    model per prompt at every start, for arguments that MCP sends as plain strings anyway)."""
    from mcp.server.fastmcp.prompts import Prompt
    from mcp.server.fastmcp.prompts.base import PromptArgument

    for command, description in SWITCHES.items():
        local = command in ("ollama", "vllm", "llamacpp")
        model = PromptArgument(name="model", description=LOCAL_MODEL if local else CLOUD_MODEL, required=local)
        server.add_prompt(Prompt(name=command, title=f"/{command}", description=description, arguments=[model],
                                 fn=_switch(app, command), context_kwarg=None))
    for command, description in (("status", "Which runtime and model are active, and whether they answer."),
                                 ("models", "The installed models and the runtime of each.")):
        server.add_prompt(Prompt(name=command, title=f"/{command}", description=description, arguments=[],
                                 fn=_plain(app, command), context_kwarg=None))
    server.add_prompt(Prompt(
        name="install", title="Install a model", fn=_install, context_kwarg=None,
        description="A guided install: search, check the fit, install, activate.",
        arguments=[PromptArgument(name="query", description="What to look for, e.g. 'qwen coder'.", required=False),
                   PromptArgument(name="provider", description="huggingface or ollama.", required=False)]))

    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion | None:
        from mcp.types import Completion

        if argument.name not in ("model", "name"):
            return None
        installed = await app.registry.installed()
        runtime = SLASH_TARGETS.get(getattr(ref, "name", ""), None)
        names = sorted(m.name for m in installed.models if runtime in (None, m.runtime))
        found = [n for n in names if n.startswith(argument.value)][:100]
        return Completion(values=found, total=len(found), hasMore=False)


LOCAL_MODEL = "An installed model (installed_models lists them)."
CLOUD_MODEL = "A model name; omit for the runtime's default."


def _switch(app: App, command: str) -> Callable[..., Awaitable[str]]:
    async def switch(model: str | None = None) -> str:
        return await _run(app, f"/{command} {model}" if model else f"/{command}")

    return switch


def _plain(app: App, command: str) -> Callable[[], Awaitable[str]]:
    async def show() -> str:
        return await _run(app, f"/{command}")

    return show


async def _run(app: App, text: str) -> str:
    result = await app.runtimes.slash(text)
    return f"venom-mcp {result.command}: {result.message}"


def _install(query: str | None = None, provider: str | None = None) -> str:
    provider = provider or "ollama"
    return INSTALL_STEPS.format(about=f" ({query})" if query else "", provider=provider,
                                query=f", query={query!r}" if query else "")


__all__ = ["SWITCHES", "register"]
